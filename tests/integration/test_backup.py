"""The README's backup and restore commands ("Production"), run as written: SQLite's ``.backup`` while a case
is being worked on, and ``pg_dump`` / ``pg_restore`` on PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from engine import service
from engine.definitions.packages import read_package
from engine.storage.health import readiness
from engine.storage.tables import ProcessInstance, TaskEvent
from engine.storage.wiring import connect
from engine.work import queries
from tests.conftest import SHIPPED
from tests.web.conftest import MEDIUM_RISK

ADA = service.CustomerRef("c-backup", "Ada Moss", "standard")


def loans_worked_on(factory, count: int) -> None:
    """Start ``count`` loans and complete each one's capture step, one unit of work after another."""
    for _ in range(count):
        case_id = service.start_instance(factory(), "loan_decision", ADA, {})
        [task] = queries.list_tasks(factory(), instance_id=case_id)
        service.claim_task(factory(), task["id"], "clerk")
        service.complete_task(factory(), task["id"], "clerk", MEDIUM_RISK)


def counts(factory) -> tuple[int, int]:
    with factory() as uow:
        return (uow.session.scalar(select(func.count()).select_from(ProcessInstance)),
                uow.session.scalar(select(func.count()).select_from(TaskEvent)))


def prepared(url: str):
    factory = connect(url, migrate=True)
    service.deploy(factory(), read_package(SHIPPED / "loan_decision"))
    service.add_user(factory(), "clerk", ["customer-service"])
    return factory


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 command is not installed")
def test_sqlite_backup_taken_while_cases_are_worked_on_restores_a_whole_database(tmp_path):
    database = tmp_path / "valueflow.db"
    factory = prepared(f"sqlite:///{database}")
    loans_worked_on(factory, 3)
    writer = threading.Thread(target=loans_worked_on, args=(factory, 30))
    writer.start()
    try:
        subprocess.run(["sqlite3", "valueflow.db", ".backup 'valueflow-backup.db'"], cwd=tmp_path, check=True,
                       timeout=60)
    finally:
        writer.join()
    after_backup = counts(factory)
    factory.dispose()
    subprocess.run("mv valueflow-backup.db valueflow.db && rm -f valueflow.db-wal valueflow.db-shm", shell=True,
                   cwd=tmp_path, check=True)

    restored = connect(f"sqlite:///{database}")
    try:
        with restored.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        assert readiness(restored.engine).ready
        cases, events = counts(restored)
        assert 3 <= cases <= 33 and events < after_backup[1] + 1
        # Every case the copy holds is whole: started, its capture step either done or open, and it goes on.
        loans_worked_on(restored, 1)
        assert counts(restored)[0] == cases + 1
    finally:
        restored.dispose()


def test_postgresql_dump_restores_into_an_empty_database(postgres_url, tmp_path):
    server = postgres_url.rsplit("/", 1)[0]
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    source, target = (f"valueflow_backup_{uuid.uuid4().hex[:8]}" for _ in range(2))
    with admin.connect() as connection:
        for name in (source, target):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        factory = prepared(f"{server}/{source}")
        loans_worked_on(factory, 3)
        before = counts(factory)
        subprocess.run(["pg_dump", "--format=custom", "--file=valueflow.dump", f"{server}/{source}"],
                       cwd=tmp_path, check=True, timeout=120)
        factory.dispose()
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={server}/{target}",
                        "valueflow.dump"], cwd=tmp_path, check=True, timeout=120)
        restored = connect(f"{server}/{target}")
        try:
            assert readiness(restored.engine).ready
            assert counts(restored) == before
            loans_worked_on(restored, 1)  # the sequences came back too: new rows get new ids
            assert counts(restored)[0] == before[0] + 1
        finally:
            restored.dispose()
    finally:
        with admin.connect() as connection:
            for name in (source, target):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
