"""The demo simulation: real engine calls over simulated days, the loan story, and the command."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine import cli, simulation
from engine.analytics import costs, cycle_times, facts
from engine.analytics.filters import Filters
from engine.cli import main
from engine.definitions.packages import read_package
from engine.storage.tables import (CaseFact, CaseFeedback, HumanTask, ProcessDefinition, ProcessInstance,
                                  TaskEvent, TaskFact)
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from tests.conftest import SHIPPED

MONDAY = datetime(2026, 3, 2, tzinfo=timezone.utc)


def fresh(tmp_path, name: str):
    return connect(f"sqlite:///{tmp_path / name}", FixedClock(MONDAY), migrate=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Three simulated days on a fresh database: the run and its database."""
    new_uow = fresh(tmp_path_factory.mktemp("demo"), "demo.db")
    progress = io.StringIO()
    result = simulation.run_demo(new_uow, days=3, seed=7, start=MONDAY, progress=progress)
    yield result, new_uow, progress.getvalue()
    new_uow.dispose()


def test_the_demo_drives_every_shipped_process(demo):
    result, new_uow, _ = demo
    assert set(result.cases) == {"loan_decision", "order_to_cash", "service_request"}
    assert all(count > 50 for count in result.cases.values())
    assert result.tasks_completed > 400 and result.messages > 0 and result.timers_fired > 0
    assert result.breaches > 0 and result.scores > 0
    with new_uow() as uow:
        kinds = dict(uow.session.execute(select(TaskEvent.type, func.count()).group_by(TaskEvent.type)).all())
        scores = uow.session.scalar(select(func.count()).select_from(CaseFeedback))
        assignees = uow.session.scalar(select(func.count(HumanTask.assignee.distinct())))
    assert kinds["instance_started"] == result.total_cases and kinds["task_completed"] == result.tasks_completed
    assert kinds["timer_fired"] > 0 and kinds["task_breached"] == result.breaches
    assert scores == result.scores and assignees > 12  # the work is spread over several people per role


def test_the_loan_story_runs_the_old_process_then_the_redesign(demo):
    result, new_uow, _ = demo
    assert result.loan_story
    with new_uow() as uow:
        versions = uow.session.execute(select(ProcessDefinition.version, ProcessDefinition.content_hash,
                                              ProcessDefinition.deployed_at)
                                       .where(ProcessDefinition.key == "loan_decision")
                                       .order_by(ProcessDefinition.version)).all()
    assert [v.content_hash for v in versions] == [read_package(simulation.LOAN_BEFORE).content_hash(),
                                                  read_package(SHIPPED / "loan_decision").content_hash()]
    assert MONDAY < versions[1].deployed_at < MONDAY + timedelta(days=3)  # deployed during the demo
    before, after = cycle_times.compare_versions(new_uow(), Filters("loan_decision"), 1, 2)
    assert before.summary.started > 0 and after.summary.started > 0
    assert {s.step_id for s in before.steps} >= {"key_in_application", "verify_documents", "second_signature"}
    assert before.summary.target_seconds == 7 * 86400 and after.summary.target_seconds == 2 * 86400


def test_every_role_gets_an_hourly_rate(demo):
    _, new_uow, _ = demo
    rates = costs.role_rates(new_uow())
    assert rates["underwriter"] == 95.0 and len(rates) == 12


def test_progress_in_a_log_file_is_a_line_for_each_simulated_day(demo):
    *_, progress = demo
    lines = progress.splitlines()
    days = [line.split("] day ")[1].split("/")[0] for line in lines[:-1]]  # the last line: the totals at the end
    assert "\r" not in progress and days == sorted(set(days))  # each day once at most, in order
    assert lines[-1].startswith("demo: [##############################] day 3/3, ") and progress.endswith("tasks done\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_bar_drawn_again_in_place(tmp_path):
    progress = Terminal()
    simulation.run_demo(fresh(tmp_path, "t.db"), days=2, seed=7, start=MONDAY, progress=progress)
    shown = progress.getvalue()
    assert shown.startswith("\rdemo: [") and shown.count("\n") == 1 and shown.endswith("tasks done\n")


def test_the_same_seed_gives_the_same_demo(tmp_path):
    runs = []
    for name in ("a.db", "b.db"):
        new_uow = fresh(tmp_path, name)
        result = simulation.run_demo(new_uow, days=1, seed=3, start=MONDAY, progress=None)
        runs.append((result.cases, result.tasks_completed, result.breaches, result.scores))
        new_uow.dispose()
    assert runs[0] == runs[1]


def test_without_a_fresh_database_the_loan_story_is_left_out(tmp_path):
    new_uow = fresh(tmp_path, "used.db")
    from engine import service
    service.deploy(new_uow(), read_package(SHIPPED / "loan_decision"))
    result = simulation.run_demo(new_uow, days=1, seed=3, start=MONDAY, progress=None)
    assert not result.loan_story and result.cases["loan_decision"] > 0
    new_uow.dispose()


def test_the_demo_needs_a_clock_it_can_move(tmp_path):
    new_uow = connect(f"sqlite:///{tmp_path / 'x.db'}", migrate=True)
    with pytest.raises(simulation.DemoRefused, match="FixedClock"):
        simulation.run_demo(new_uow, days=1)
    new_uow.dispose()


def test_valueflow_demo_reports_what_it_made(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["demo", "--days", "1", "--seed", "5"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("demo: ") and " cases over 1 days " in lines[0]
    assert any(line.startswith("  loan_decision: ") for line in lines) and "tasks completed" in out
    assert "compare them on the dashboard" in out and "demo: [" in err


def test_valueflow_demo_needs_at_least_a_day(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["demo", "--days", "0"]) == 2
    assert capsys.readouterr().err == "valueflow: --days must be 1 or more\n"


def test_the_demo_leaves_the_dashboards_facts_built(demo):
    _, new_uow, _ = demo
    with new_uow() as uow:
        built = [uow.session.scalar(select(func.count()).select_from(table)) for table in (TaskFact, CaseFact)]
        facts.refresh(uow)
        after = [uow.session.scalar(select(func.count()).select_from(table)) for table in (TaskFact, CaseFact)]
    assert built == after and min(built) > 0


def test_init_demo_dates_each_version_before_its_cases_and_in_version_order(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'init.db'}")
    monkeypatch.setattr(cli, "INIT_DEMO_DAYS", 2)
    assert main(["init", "--demo"]) == 0
    new_uow = connect(f"sqlite:///{tmp_path / 'init.db'}")
    with new_uow() as uow:
        versions = uow.session.execute(
            select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.deployed_at,
                   func.min(ProcessInstance.started_at))
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .group_by(ProcessDefinition.id).order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    new_uow.dispose()
    assert [(key, version) for key, version, *_ in versions] == [
        ("loan_decision", 1), ("loan_decision", 2), ("order_to_cash", 1), ("service_request", 1)]
    assert all(deployed_at <= first_case for _, _, deployed_at, first_case in versions)
    loan = [deployed_at for key, _, deployed_at, _ in versions if key == "loan_decision"]
    assert loan == sorted(loan) and loan[0] < loan[1]
