"""A SQLite file's log reaches the database file soon after commits, without a commit doing that copy."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import service
from engine.storage import wal_checkpoints
from engine.storage.wal_checkpoints import WalCheckpointer
from engine.storage.wiring import connect
from tests.integration.test_storage import BOB, setup_two_step


def rows_in_database_file_alone(database: Path, copy: Path) -> int:
    """The cases a copy of the database file holds without its write-ahead log (what a checkpoint put there)."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM process_instance").fetchone()[0]
    except sqlite3.DatabaseError:  # not even the schema has reached the file yet, or copied mid-checkpoint
        return 0
    finally:
        connection.close()


def checkpoint_threads(database: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"wal-checkpoint {database}"]


def test_committed_cases_reach_the_database_file_in_the_background(tmp_path, clock):
    database = tmp_path / "valueflow.db"
    new_uow = connect(f"sqlite:///{database}", clock, migrate=True)
    try:
        setup_two_step(new_uow)
        started = [service.start_instance(new_uow(), "two_step", BOB) for _ in range(3)]
        deadline = time.monotonic() + 10
        while rows_in_database_file_alone(database, tmp_path / "copy.db") < len(started):
            # Far below the commits' own checkpoint threshold: without the thread the file would hold none.
            assert time.monotonic() < deadline, "the committed cases never reached the database file"
            time.sleep(0.05)
        assert len(checkpoint_threads(database)) == 1
    finally:
        new_uow.dispose()
    assert checkpoint_threads(database) == []


def test_commits_after_the_factory_is_disposed_still_work_without_the_thread(tmp_path, clock):
    database = tmp_path / "valueflow.db"
    new_uow = connect(f"sqlite:///{database}", clock, migrate=True)
    new_uow.dispose()
    setup_two_step(new_uow)
    assert service.start_instance(new_uow(), "two_step", BOB)
    assert checkpoint_threads(database) == []
    new_uow.dispose()


def test_the_checkpointer_never_creates_a_database_file_that_is_not_there(tmp_path):
    missing = tmp_path / "gone.db"
    checkpointer = WalCheckpointer(str(missing), pause_seconds=0)
    checkpointer.committed()
    checkpointer.stop()
    assert not missing.exists()


LOG_AFTER_A_BURST_BYTES = 4 * 1024 * 1024


def test_after_a_burst_of_writes_the_log_file_is_cut_back_once_commits_stop(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(wal_checkpoints, "CUT_AFTER_IDLE_SECONDS", 0.3)  # half a minute in a running process
    database = tmp_path / "valueflow.db"
    new_uow = connect(f"sqlite:///{database}", clock, migrate=True)
    try:
        setup_two_step(new_uow)
        big = service.CustomerRef("c-big", "x" * 8_000_000, "standard")  # some 2,000 pages in one commit
        service.start_instance(new_uow(), "two_step", big)
        log = tmp_path / "valueflow.db-wal"
        assert log.stat().st_size > LOG_AFTER_A_BURST_BYTES
        for _ in range(5):  # ordinary small commits go on
            service.start_instance(new_uow(), "two_step", BOB)
        deadline = time.monotonic() + 10
        # Once the commits pause, the burst has been copied and the log file is cut back.
        while log.stat().st_size > LOG_AFTER_A_BURST_BYTES:
            assert time.monotonic() < deadline, f"the log stayed at {log.stat().st_size:,} bytes"
            time.sleep(0.05)
        assert service.start_instance(new_uow(), "two_step", BOB)
    finally:
        new_uow.dispose()


def test_a_short_pause_leaves_the_log_file_in_place_for_the_next_burst_to_overwrite(tmp_path, clock):
    database = tmp_path / "valueflow.db"
    new_uow = connect(f"sqlite:///{database}", clock, migrate=True)
    try:
        setup_two_step(new_uow)
        for _ in range(20):
            service.start_instance(new_uow(), "two_step", BOB)
        log = tmp_path / "valueflow.db-wal"
        size = log.stat().st_size
        deadline = time.monotonic() + 10
        while rows_in_database_file_alone(database, tmp_path / "copy.db") < 20:  # the thread copied the burst
            assert time.monotonic() < deadline, "the burst never reached the database file"
            time.sleep(0.05)
        time.sleep(1.0)  # a pause between people's steps
        assert log.stat().st_size == size
    finally:
        new_uow.dispose()


def test_a_command_leaves_no_log_file_behind(tmp_path):
    valueflow = Path(sys.executable).with_name("valueflow")
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'valueflow.db'}"}
    for command in (["init"], ["user", "add", "ann", "--role", "credit-analyst", "--password", "a-long-secret"]):
        result = subprocess.run([str(valueflow), *command], env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["valueflow.db"], command
