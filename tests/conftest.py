"""Shared fixtures: a moving clock, databases with the real schema, units of work.

Storage tests run on SQLite always and on PostgreSQL too when
VALUEFLOW_TEST_POSTGRES names a server (``.ci/run`` sets it): each test
session gets a database of its own there, dropped at the end, and each test
finds its tables empty.
"""

from __future__ import annotations

import gc
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import create_engine, literal, select, text

from engine.cases.workflow import CaseWorkflow
from engine.storage.tables import Base
from engine.storage.uow import UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.time.clock import FixedClock

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "bpmn"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday morning


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def new_uow(clock: FixedClock) -> Iterator[UnitOfWorkFactory]:
    """Units of work on a fresh in-memory SQLite database with the migrated schema."""
    factory = connect("sqlite://", clock, migrate=True)
    yield factory
    factory.dispose()


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Only reference counting frees memory while the test runs, as between a busy server's rare full collections."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


class SessionDatabase(NamedTuple):
    url: str
    empty_at_start: tuple[str, ...]  # the tables the migrations left empty (not the accounts' generation)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[SessionDatabase]:
    """A PostgreSQL database with the schema for this test session (skips when VALUEFLOW_TEST_POSTGRES is unset)."""
    server = os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if not server:
        pytest.skip("VALUEFLOW_TEST_POSTGRES is not set")
    with empty_postgres_database(server, f"valueflow_test_{uuid.uuid4().hex[:10]}") as url:
        factory = connect(url, migrate=True)
        with factory.engine.connect() as connection:
            empty = tuple(table.name for table in Base.metadata.sorted_tables
                          if connection.execute(select(literal(1)).select_from(table).limit(1)).first() is None)
        factory.dispose()
        yield SessionDatabase(url, empty)


@pytest.fixture
def postgres_url(postgres_database: SessionDatabase) -> str:
    """The session's PostgreSQL database with the tables a new one has empty emptied, as a new SQLite file has
    them: no test meets the rows another left, whatever order the tests run in. Ids go on from where they were,
    so that none is used twice in the session (a process caches definitions and cases by id)."""
    engine = create_engine(postgres_database.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            tables = ", ".join(f'"{name}"' for name in postgres_database.empty_at_start)
            connection.exec_driver_sql(f"TRUNCATE {tables}")
    finally:
        engine.dispose()
    return postgres_database.url


@contextmanager
def empty_postgres_database(server: str, name: str) -> Iterator[str]:
    """A new database ``name`` on the PostgreSQL server of the URL ``server``, dropped at the end; its URL."""
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real database on disk: a SQLite file, then (when configured) PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'valueflow.db'}"


@pytest.fixture
def stored_uow(storage_url: str, clock: FixedClock) -> Iterator[UnitOfWorkFactory]:
    factory = connect(storage_url, clock, migrate=True)
    yield factory
    factory.dispose()


@pytest.fixture
def table_answers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every task query a case's workflow answers from its task table is asked of SpiffWorkflow's own tree walk
    too, and must get the same tasks in the same order. The list counts the table's answers (one element)."""
    answered = [0]
    from_table = CaseWorkflow._from_table

    def checked(workflow, state, spec_name, manual):  # type: ignore[no-untyped-def]
        found = from_table(workflow, state, spec_name, manual)
        if found is not None:
            walked = list(BpmnWorkflow.get_tasks_iterator(workflow, state=state, spec_name=spec_name, manual=manual))
            assert [task.id for task in found] == [task.id for task in walked], \
                f"tasks in state {state}, spec {spec_name}, manual {manual}: the table and the walk differ"
            answered[0] += 1
        return found

    monkeypatch.setattr(CaseWorkflow, "_from_table", checked)
    return answered
