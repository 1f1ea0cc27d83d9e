"""The inbox's indexes hold open tasks only (migration 0005), and the inbox's queries read them.

On SQLite and, when configured, PostgreSQL: an older database keeps its tasks
through the upgrade and back, and the queries of open tasks that the inbox and
the breach check run are planned on those indexes, never on a scan of the
table (PostgreSQL is told not to scan, so that its plan shows whether an index
can answer at all).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterator

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text

from engine import jobs, service
from engine.storage.db import MIGRATIONS, make_engine
from engine.storage.driver_statements import DriverStatements
from engine.storage.wiring import connect
from engine.work import queries
from engine.work.inbox import inbox
from tests.integration.test_storage import setup_two_step

QUEUE_INDEXES = {"ix_task_role_queue", "ix_task_assignee", "ix_task_open_due", "ix_task_queue"}
# PostgreSQL's database is shared by the session's tests: a customer of this module's own
CUSTOMER = service.CustomerRef("c-open-task-indexes", "Ann Lee", "standard")


def migrate(engine: Engine, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def human_task_indexes(engine: Engine) -> dict[str, str]:
    """human_task's indexes: name → the SQL that made it."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'human_task' "
                                           "AND type = 'index' AND sql IS NOT NULL"))
        else:
            rows = connection.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'human_task'"))
        return dict(rows.all())


def open_task_indexes(engine: Engine) -> set[str]:
    """The names of human_task's indexes that hold open tasks only."""
    return {name for name, sql in human_task_indexes(engine).items() if "WHERE" in sql and "'open'" in sql}


@pytest.fixture
def engine(storage_url: str) -> Iterator[Engine]:
    engine = make_engine(storage_url)
    yield engine
    engine.dispose()


def test_an_older_database_keeps_its_open_and_completed_tasks_through_the_upgrade_and_back(engine, storage_url, clock):
    migrate(engine, "head")
    new_uow = connect(storage_url, clock)
    setup_two_step(new_uow)
    done, waiting = (service.start_instance(new_uow(), "two_step", CUSTOMER) for _ in range(2))
    [review] = queries.list_tasks(new_uow(), instance_id=done)
    service.claim_task(new_uow(), review["id"], "bo1")
    service.complete_task(new_uow(), review["id"], "bo1", {"comment": "ok"})

    def open_steps() -> set[tuple[int, str]]:
        return {(case, t["step_id"]) for case in (done, waiting)
                for t in queries.list_tasks(new_uow(), instance_id=case)}

    # today's code reads only today's schema: the tasks are read at head, after each trip down and up
    migrate(engine, "0004_daily_sums", down=True)  # PostgreSQL's database is shared by the session's tests
    try:
        assert open_task_indexes(engine) == set()
        migrate(engine, "head")
        assert open_task_indexes(engine) == QUEUE_INDEXES
        # PostgreSQL drops the query's status term as implied by the index: status must not lead there
        queue_columns = ("(assignee, role, due_at, status)" if engine.dialect.name == "postgresql"
                         else "(status, assignee, role, due_at)")
        assert queue_columns in human_task_indexes(engine)["ix_task_queue"]
        assert open_steps() == {(done, "approve"), (waiting, "review")}
        assert [t["step_id"] for t in queries.list_tasks(new_uow(), instance_id=done, status="completed")] == ["review"]

        migrate(engine, "0004_daily_sums", down=True)
        assert open_task_indexes(engine) == set()
    finally:
        migrate(engine, "head")
    assert open_steps() == {(done, "approve"), (waiting, "review")}
    new_uow.dispose()


def test_the_inbox_and_the_breach_check_read_open_tasks_from_their_indexes(engine, storage_url, clock, monkeypatch):
    migrate(engine, "head")
    new_uow = connect(storage_url, clock)
    setup_two_step(new_uow)
    first = service.start_instance(new_uow(), "two_step", CUSTOMER)
    service.start_instance(new_uow(), "two_step", CUSTOMER)
    [review] = queries.list_tasks(new_uow(), instance_id=first)
    service.claim_task(new_uow(), review["id"], "bo1")
    ran: list[tuple[str, object]] = []
    listen = lambda _c, _cursor, statement, parameters, _context, _many: ran.append((statement, parameters))
    event.listen(new_uow.engine, "before_cursor_execute", listen)
    # The inbox runs its statements on the driver: on SQLite's cursor, or queued for PostgreSQL's pipeline.
    run_on_driver, queue_on_driver = DriverStatements._run, DriverStatements._queue

    def seen_on_driver(statements, compiled, method, parameters):
        ran.append((compiled.sql, tuple(parameters)))
        return run_on_driver(statements, compiled, method, parameters)

    def queued_on_driver(statements, compiled, params, **options):
        ran.append((compiled.sql, {**compiled.fixed, **params}))
        return queue_on_driver(statements, compiled, params, **options)
    monkeypatch.setattr(DriverStatements, "_run", seen_on_driver)
    monkeypatch.setattr(DriverStatements, "_queue", queued_on_driver)
    for view in ("mine", "queues", "all"):
        inbox(new_uow(), "bo1", ["back-office"], everyone=True, view=view)
    clock.advance(timedelta(days=3))
    assert jobs.run_until_idle(new_uow, "test-worker").breaches >= 2  # PostgreSQL's database holds other tests' tasks too
    event.remove(new_uow.engine, "before_cursor_execute", listen)
    monkeypatch.undo()

    plans = {}
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # show whether an index can answer at all
        for statement, parameters in ran:
            if "human_task" in statement and "status = 'open'" in statement:
                rows = connection.exec_driver_sql(("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite"
                                                   else "EXPLAIN ") + statement, parameters)
                plans[statement] = " | ".join(str(row[-1]) for row in rows)
    new_uow.dispose()
    assert len(plans) >= 4, "the inbox's page and counts, and the breach check"
    used = {index for index in QUEUE_INDEXES if any(index in plan for plan in plans.values())}
    assert used >= {"ix_task_queue", "ix_task_open_due"}, plans
    table_scans = [plan for plan in plans.values()
                   if re.search(r"SCAN human_task($| \|)", plan) or "Seq Scan on human_task" in plan]
    assert not table_scans
