"""``valueflow tasks`` lists what the web app lists (engine.work.queries.list_tasks): every field of every task,
in the same order, most urgent first, as the ORM reads the same rows; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Optional

import pytest
from sqlalchemy import select, update

from engine import service
from engine.cli import main
from engine.storage.tables import HumanTask
from engine.work import queries
from engine.work.task_list import LIMIT, task_view
from tests.integration.test_storage import setup_two_step

# PostgreSQL's database is shared by the session's tests: a customer of this module's own
CUSTOMER = service.CustomerRef("c-task-list", "Tia Lund", "premium")
FILTERS = [
    pytest.param({}, id="open"),
    pytest.param({"status": None}, id="any status"),
    pytest.param({"status": "completed"}, id="completed"),
    pytest.param({"status": "cancelled"}, id="cancelled"),
    pytest.param({"role": "back-office"}, id="a role"),
    pytest.param({"user": "bo2"}, id="an assignee"),
    pytest.param({"role": "approver", "status": None}, id="a role, any status"),
    pytest.param({"instance": 0}, id="a case"),
]


def set_due(new_uow, task_id: int, due: Any) -> None:
    with new_uow() as uow:
        uow.session.execute(update(HumanTask).where(HumanTask.id == task_id).values(due_at=due))
        uow.commit()


@pytest.fixture
def cases(stored_uow, clock) -> list[int]:
    """Five cases: one past its review, one held by bo2, one cancelled, two open whose tasks are due at the
    very moment bo2's is, one of them with no due time; one due time with microseconds."""
    setup_two_step(stored_uow)
    ids = [service.start_instance(stored_uow(), "two_step", CUSTOMER) for _ in range(5)]
    reviews = [queries.list_tasks(stored_uow(), instance_id=i)[0]["id"] for i in ids]
    service.claim_task(stored_uow(), reviews[0], "bo1")
    clock.advance(timedelta(minutes=7, microseconds=250))
    service.complete_task(stored_uow(), reviews[0], "bo1", {"comment": "ok"})
    service.claim_task(stored_uow(), reviews[1], "bo2")
    service.cancel_instance(stored_uow(), ids[2], "bo1")
    with stored_uow() as uow:
        held_due = uow.session.scalar(select(HumanTask.due_at).where(HumanTask.id == reviews[1]))
    set_due(stored_uow, reviews[3], held_due)
    set_due(stored_uow, reviews[4], None)
    set_due(stored_uow, reviews[1], held_due + timedelta(microseconds=1))
    set_due(stored_uow, reviews[3], held_due + timedelta(microseconds=1))
    return ids


def orm_listing(new_uow, *, user: Optional[str] = None, role: Optional[str] = None,
                instance_id: Optional[int] = None, status: Optional[str] = "open") -> list[dict[str, Any]]:
    """What "most urgent first" means, read with the ORM and sorted here: by due time, those without one last,
    then by id."""
    with new_uow() as uow:
        tasks = [t for t in uow.session.scalars(select(HumanTask))
                 if (status is None or t.status == status) and (user is None or t.assignee == user)
                 and (role is None or t.role == role) and (instance_id is None or t.instance_id == instance_id)]
        tasks.sort(key=lambda t: (t.due_at is None, t.due_at or t.created_at, t.id))
        return [task_view(t) for t in tasks[:LIMIT]]


def cli_listing(capsys, **filters: Any) -> list[dict[str, Any]]:
    argv = ["tasks", "--json"]
    for name, value in filters.items():
        argv += [f"--{'instance' if name == 'instance_id' else name}", "all" if value is None else str(value)]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("filters", FILTERS)
def test_the_command_lists_what_the_web_app_lists_as_the_orm_reads_it(cases, stored_uow, storage_url, monkeypatch,
                                                                      capsys, filters):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", storage_url)
    filters = {("instance_id" if k == "instance" else k): (cases[v] if k == "instance" else v)
               for k, v in filters.items()}
    expected = orm_listing(stored_uow, **filters)
    assert cli_listing(capsys, **filters) == expected
    assert queries.list_tasks(stored_uow(), **filters) == expected


def test_the_cases_tasks_cover_each_kind_of_row_the_order_tells_apart(cases, stored_uow):
    mine = [t for case in cases for t in orm_listing(stored_uow, instance_id=case, status=None)]
    assert {t["status"] for t in mine} == {"open", "completed", "cancelled"}
    assert any(t["due_at"] is None for t in mine) and any(t["assignee"] == "bo2" for t in mine)
    due = [t["due_at"] for t in mine if t["due_at"] and t["status"] == "open"]
    assert len(due) > len(set(due))  # two open tasks due at the same moment: their ids decide
    assert any("." in t["completed_at"] for t in mine if t["completed_at"])  # a moment with microseconds


def test_a_database_a_migration_behind_is_refused_with_one_clear_line(stored_uow, storage_url, monkeypatch,
                                                                      capsys):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", storage_url)
    with stored_uow() as uow:
        [current] = uow.connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        uow.connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0015_service_tasks'")
        uow.commit()
    try:
        assert main(["tasks", "--json"]) == 2
    finally:
        with stored_uow() as uow:
            uow.connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{current}'")
            uow.commit()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"valueflow: cannot use the database {storage_url} (its schema is at 0015_service_tasks, "
                            f"this version of Valueflow needs {current}); check VALUEFLOW_DATABASE_URL and run "
                            "`valueflow init`\n")
    assert main(["tasks", "--json"]) == 0
