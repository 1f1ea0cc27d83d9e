"""SQLite writers of one process take turns on a condition (engine.storage.write_turns)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine.storage.db import begin_transaction, commit_transaction, make_engine
from engine.storage.write_turns import WriteTurns


def test_a_waiting_writer_begins_once_the_holder_commits_and_sees_its_write(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    holder, waiter = engine.raw_connection(), engine.raw_connection()
    holder.driver_connection.execute("CREATE TABLE note (text TEXT)")
    begin_transaction(engine, holder)
    holder.driver_connection.execute("INSERT INTO note VALUES ('first')")
    seen: list[list[tuple[str]]] = []

    def write_after() -> None:
        begin_transaction(engine, waiter)
        seen.append(waiter.driver_connection.execute("SELECT text FROM note").fetchall())
        commit_transaction(engine, waiter)

    thread = threading.Thread(target=write_after)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive(), "the second writer waits while the first holds the lock"
    commit_transaction(engine, holder)
    thread.join(10)
    assert seen == [[("first",)]]
    holder.close(), waiter.close()
    engine.dispose()


def test_a_writer_gives_up_as_sqlite_would_past_the_busy_timeout_and_keeps_it(tmp_path):
    path = str(tmp_path / "locked.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        WriteTurns(0.05).begin(waiter, {})
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (50,)  # reads still wait as long as before
    holder.rollback()
    holder.close(), waiter.close()


def test_a_connection_a_writer_used_waits_for_locks_again_when_it_reads(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'timeout.db'}")
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    waits = driver.execute("PRAGMA busy_timeout").fetchone()
    for _ in range(2):
        begin_transaction(engine, pooled)
        commit_transaction(engine, pooled)
    begin_transaction(engine, pooled, reading=True)
    assert driver.execute("PRAGMA busy_timeout").fetchone() == waits
    driver.rollback()
    pooled.close()
    engine.dispose()
