"""The typed models and the Alembic history describe the same schema: autogenerate finds nothing to do; and
upgrades started at once take turns."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.storage.db import make_engine, upgrade
from engine.storage.tables import Base
from tests.conftest import empty_postgres_database

VALUEFLOW = str(Path(sys.executable).with_name("valueflow"))
# Their column order differs by database and only the migration sets it (engine.storage.tables._open_tasks_index).
OPEN_TASK_INDEXES = ("ix_task_assignee", "ix_task_open_due", "ix_task_queue", "ix_task_role_queue")


def test_autogenerate_against_an_upgraded_database_finds_no_difference(storage_url):
    engine = make_engine(storage_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    if engine.dialect.name == "postgresql":
        reordered = [d for d in differences if d[0] in ("add_index", "remove_index") and d[1].name in OPEN_TASK_INDEXES]
        assert sorted({d[1].name for d in reordered}) == sorted(OPEN_TASK_INDEXES)
        pairs = {}
        for kind, index in reordered:
            pairs.setdefault(index.name, {})[kind] = {c.name for c in index.columns}
        assert all(p["add_index"] == p["remove_index"] for p in pairs.values())
        differences = [d for d in differences if d not in reordered]
    assert differences == []


def test_valueflow_init_on_several_machines_at_once_succeeds_on_each():
    """Three `valueflow init` started together on an empty PostgreSQL database: their upgrades take turns."""
    server = os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if not server:
        pytest.skip("VALUEFLOW_TEST_POSTGRES is not set")
    name = f"{server.rsplit('/', 1)[1]}_init_{uuid.uuid4().hex[:10]}"
    with empty_postgres_database(server, name) as url:
        env = {**os.environ, "VALUEFLOW_DATABASE_URL": url}
        inits = [subprocess.Popen([VALUEFLOW, "init"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for _ in range(3)]
        outputs = [init.communicate(timeout=120)[0] for init in inits]
    assert [init.returncode for init in inits] == [0, 0, 0], outputs
    assert all("Traceback" not in output for output in outputs), outputs
