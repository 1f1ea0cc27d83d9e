"""The event log as XES and CSV: its shape, its lifecycle mapping, streaming, the command, and pm4py reading it."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import timedelta

import pytest
from lxml import etree

from engine import service
from engine.analytics import exports
from engine.analytics.filters import Filters
from engine.cli import main
from engine.storage.wiring import connect
from tests.conftest import T0
from tests.histories import HOUR, Story

XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def story(new_uow, clock) -> Story:
    story = Story(new_uow, clock)
    story.first = story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)], customer=story.customer("premium"))
    story.second = story.case(T0 + HOUR, [(3 * HOUR, HOUR), (HOUR, 2 * HOUR)])
    return story


def xes_of(new_uow, filters: Filters) -> etree._Element:
    return etree.fromstring("".join(exports.event_log(new_uow(), filters).xes()).encode("utf-8"))


def attributes(element: etree._Element) -> dict[str, str]:
    return {child.get("key"): child.get("value") for child in element if child.tag != f"{XES}event"}


def test_one_trace_per_case_with_the_customer_and_segment(story, new_uow):
    log = xes_of(new_uow, Filters(story.key))
    assert log.get("xes.version") == "1849-2016"
    traces = log.findall(f"{XES}trace")
    assert [attributes(t)["concept:name"] for t in traces] == [str(story.first), str(story.second)]
    first = attributes(traces[0])
    assert first["segment"] == "premium" and first["customer_id"].startswith("c_") and first["version"] == "1"


def test_each_task_lifecycle_change_is_an_event_with_resource_role_and_time(story, new_uow):
    [first, _] = xes_of(new_uow, Filters(story.key)).findall(f"{XES}trace")
    events = [attributes(e) for e in first.findall(f"{XES}event")]
    assert [(e["concept:name"], e["lifecycle:transition"]) for e in events] == [("Case started", "complete"),
        ("Review", "schedule"), ("Review", "assign"), ("Review", "start"), ("Review", "complete"),
        ("Approve", "schedule"), ("Approve", "assign"), ("Approve", "start"), ("Approve", "complete"),
        ("Case completed", "complete")]
    assert events[0]["time:timestamp"] == "2026-01-05T09:00:00.000+00:00"
    assert events[-1]["time:timestamp"] == "2026-01-05T14:00:00.000+00:00"  # Review 3 h, Approve 2 h
    events = events[1:-1]
    assert [e["time:timestamp"] for e in events[:4]] == [
        "2026-01-05T09:00:00.000+00:00", "2026-01-05T11:00:00.000+00:00", "2026-01-05T11:00:00.000+00:00",
        "2026-01-05T12:00:00.000+00:00"]
    assert "org:resource" not in events[0] and events[1]["org:resource"] == story.users["back-office"]
    assert {e["org:role"] for e in events[:4]} == {f"Back Office {story.tag}"}
    assert events[4]["step_id"] == "approve"


def test_released_and_assigned_tasks_are_withdrawn_and_assigned_to_the_assignee(story, new_uow, clock):
    boss = f"boss_{story.tag}"
    service.add_user(new_uow(), boss, ["manager"])
    other = f"other_{story.tag}"
    service.add_user(new_uow(), other, [story.role("back-office")])
    instance_id = story.start(T0 + timedelta(days=1))
    task = story.open_task(instance_id)
    service.claim_task(new_uow(), task["id"], story.users["back-office"])
    service.release_task(new_uow(), task["id"], story.users["back-office"])
    service.assign_task(new_uow(), task["id"], other, boss)
    rows = list(csv.DictReader(io.StringIO("".join(exports.event_log(new_uow(), Filters(story.key)).csv()))))
    mine = [(r["lifecycle"], r["resource"], r["event_type"]) for r in rows
            if r["case_id"] == str(instance_id) and r["task_id"]]
    assert mine == [("schedule", "", "task_created"), ("assign", story.users["back-office"], "task_claimed"),
                    ("start", story.users["back-office"], "task_claimed"),
                    ("withdraw", story.users["back-office"], "task_released"),
                    ("assign", other, "task_assigned"), ("start", other, "task_assigned")]


def test_a_task_released_and_claimed_again_keeps_its_identity_and_each_trace_says_its_cases_status(
        story, new_uow, clock):
    other = f"other_{story.tag}"
    service.add_user(new_uow(), other, [story.role("back-office")])
    instance_id = story.start(T0 + timedelta(days=1))
    task = story.open_task(instance_id)
    service.claim_task(new_uow(), task["id"], story.users["back-office"])
    clock.advance(HOUR)
    service.release_task(new_uow(), task["id"], story.users["back-office"])
    service.claim_task(new_uow(), task["id"], other)
    traces = {attributes(t)["concept:name"]: t for t in xes_of(new_uow, Filters(story.key)).findall(f"{XES}trace")}
    assert {case: attributes(t)["status"] for case, t in traces.items()} == {
        str(story.first): "completed", str(story.second): "completed", str(instance_id): "running"}
    events = [attributes(e) for e in traces[str(instance_id)].findall(f"{XES}event")]
    assert [(e["concept:name"], e["lifecycle:transition"], e.get("concept:instance")) for e in events] == [
        ("Case started", "complete", None), ("Review", "schedule", str(task["id"])),
        ("Review", "assign", str(task["id"])), ("Review", "start", str(task["id"])),
        ("Review", "withdraw", str(task["id"])), ("Review", "assign", str(task["id"])),
        ("Review", "start", str(task["id"]))]


def test_the_csv_has_a_row_per_xes_event(story, new_uow):
    log = exports.event_log(new_uow(), Filters(story.key))
    rows = list(csv.DictReader(io.StringIO("".join(log.csv()))))
    assert (log.events, log.cases, len(rows)) == (20, 2, 20)  # per case: started, 8 task events, completed
    assert tuple(rows[0]) == exports.CSV_COLUMNS
    assert [(r["activity"], r["timestamp"], r["case_status"]) for r in rows[:2]] == [
        ("Case started", "2026-01-05T09:00:00.000+00:00", "completed"),
        ("Review", "2026-01-05T09:00:00.000+00:00", "completed")]


def test_filters_pick_the_cases_of_a_segment_or_started_in_a_period(story, new_uow):
    assert len(xes_of(new_uow, Filters(story.key, segment="premium")).findall(f"{XES}trace")) == 1
    later = Filters(story.key, start=T0 + timedelta(minutes=30))
    assert [attributes(t)["concept:name"] for t in xes_of(new_uow, later).findall(f"{XES}trace")] == \
        [str(story.second)]


def test_the_log_streams_in_chunks(story, new_uow, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 1000)
    chunks = list(exports.event_log(new_uow(), Filters(story.key)).xes())
    assert len(chunks) > 3 and max(len(c) for c in chunks[:-1]) < 3000
    assert etree.fromstring("".join(chunks).encode("utf-8")) is not None


def test_text_that_xml_cannot_hold_is_dropped_and_the_rest_escaped(new_uow, clock):
    story = Story(new_uow, clock)
    story.case(T0, [(HOUR, HOUR)], customer=service.CustomerRef('c<"&>\x01', "Odd Name", "standard"))
    [trace] = xes_of(new_uow, Filters(story.key)).findall(f"{XES}trace")
    assert attributes(trace)["customer_id"] == 'c<"&>'


def test_an_unknown_process_is_refused_before_anything_streams(new_uow):
    with pytest.raises(service.NotFound, match="no process 'nope'"):
        exports.event_log(new_uow(), Filters("nope"))


def test_the_step_table_downloads_as_csv(story, new_uow):
    from engine.analytics import cycle_times
    text = exports.step_table_csv(cycle_times.step_table(new_uow(), Filters(story.key)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["step_id"] for r in rows] == ["review", "approve"]
    assert rows[0]["median_hours"] == "3.50" and rows[0]["target_hours"] == "4.00" and rows[0]["status"] == "amber"


# -- the command -----------------------------------------------------------------------

@pytest.fixture
def database(tmp_path, monkeypatch, clock):
    url = f"sqlite:///{tmp_path / 'valueflow.db'}"
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", url)
    factory = connect(url, clock, migrate=True)
    yield factory
    factory.dispose()


def test_valueflow_export_writes_the_file_and_says_what_it_wrote(database, clock, tmp_path, capsys):
    story = Story(database, clock)
    story.case(T0, [(HOUR, HOUR), (HOUR, HOUR)])
    target = tmp_path / "log.xes"
    assert main(["export", "--process", story.key, "--format", "xes", "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"exported 10 events of 1 cases of {story.key} as XES to {target}\n"
    assert etree.parse(str(target)).getroot().tag == f"{XES}log"
    assert not (tmp_path / "log.xes.part").exists()
    assert main(["export", "--process", story.key, "--format", "csv", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("case_id,customer_id,") and len(out.splitlines()) == 11 and "standard output" in err


@pytest.mark.parametrize("args, message", [
    (["--process", "nope", "--format", "xes", "-o", "x.xes"], "no process 'nope' is deployed"),
    (["--process", "p", "--format", "pdf", "-o", "x"], "invalid choice: 'pdf'"),
    (["--process", "p", "--format", "csv"], "required: -o/--output"),
])
def test_valueflow_export_mistakes_are_one_clear_line(database, capsys, args, message):
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err


def test_valueflow_export_to_a_missing_folder_is_one_clear_line(database, clock, tmp_path, capsys):
    story = Story(database, clock)
    target = tmp_path / "missing" / "log.csv"
    assert main(["export", "--process", story.key, "--format", "csv", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"valueflow: cannot write {target}: No such file or directory\n"


# -- a process-mining tool reads it ------------------------------------------------------

def test_pm4py_reads_the_xes_and_discovers_the_process(story, new_uow, tmp_path):
    path = tmp_path / "log.xes"
    with open(path, "w", encoding="utf-8") as out:
        exports.event_log(new_uow(), Filters(story.key)).write(out, "xes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's own deprecations are not ours to fail on
        import pm4py  # AGPL: used by the tests only, never by Valueflow itself
        frame = pm4py.read_xes(str(path))
        assert set(frame["case:segment"]) == {"premium", "standard"} and len(frame) == 20
        done = frame[(frame["lifecycle:transition"] == "complete") & frame["concept:instance"].notna()]
        net, initial, final = pm4py.discover_petri_net_inductive(done)
        graph, starts, ends = pm4py.discover_dfg(done)
    assert {t.label for t in net.transitions if t.label} == {"Review", "Approve"}
    assert graph == {("Review", "Approve"): 2} and starts == {"Review": 2} and ends == {"Approve": 2}
    assert len(initial) == 1 and len(final) == 1


def test_pm4py_is_imported_by_tests_only():
    from tests.conftest import REPO
    offenders = [str(path.relative_to(REPO)) for folder in ("engine", "web", "workflows", "bench")
                 for path in (REPO / folder).rglob("*.py") if "pm4py" in path.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.fixture(scope="module")
def demo_uow(tmp_path_factory):
    """Twelve simulated days of the demo: every shipped process, messages, timers, breaches, two loan versions."""
    from engine import simulation
    from engine.time.clock import FixedClock
    monday = T0 + timedelta(weeks=8)
    new_uow = connect(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}", FixedClock(monday), migrate=True)
    simulation.run_demo(new_uow, days=12, seed=11, start=monday, progress=None)
    yield new_uow
    new_uow.dispose()


@pytest.mark.parametrize("key, params", [("loan_decision", {}), ("loan_decision", {"version": "all"}),
                                         ("order_to_cash", {}), ("service_request", {})])
def test_pm4py_rebuilds_the_dashboards_lead_time_from_the_xes_alone(demo_uow, tmp_path, key, params):
    from engine.analytics.dashboards import dashboard_page
    page = dashboard_page(demo_uow, key, params)
    filters, summary = page.filters, page.summary
    path = tmp_path / "log.xes"
    with open(path, "w", encoding="utf-8") as out:
        exports.event_log(demo_uow(), filters).write(out, "xes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py  # AGPL: used by the tests only, never by Valueflow itself
        frame = pm4py.read_xes(str(path))
    done = frame[frame["case:status"] == "completed"]
    moments = done[done["concept:name"].isin(["Case started", "Case completed"])].pivot_table(
        index="case:concept:name", columns="concept:name", values="time:timestamp", aggfunc="min")
    lead = (moments["Case completed"] - moments["Case started"]).dt.total_seconds()
    assert len(lead) == summary.finished > 10
    assert abs(lead.median() - summary.lead.median) <= 1  # the dashboard counts whole seconds
    assert abs(lead.quantile(0.9) - summary.lead.p90) <= 1
    activities = set(frame["concept:name"])
    assert any(a.startswith("Target breached: ") for a in activities)
    waits = {"loan_decision": {"Message received: documents_received", "Timer fired"},
             "order_to_cash": {"Message received: payment_received"}, "service_request": {"Timer fired"}}
    assert waits[key] <= activities
