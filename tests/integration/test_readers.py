"""Readers never wait for a writer: on SQLite a reading unit of work reads a snapshot without the write lock."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import func, select

from engine import service
from engine.storage.tables import User
from engine.storage.uow import ReadOnlyUnitOfWork
from engine.storage.wiring import connect


def count_users(new_uow, *, reading: bool) -> int:
    uow = new_uow()
    with (uow.reading() if reading else uow):
        return uow.session.scalar(select(func.count()).select_from(User))


def in_a_thread(call, seconds: float):
    """The call's result if it returns within ``seconds``, else None (the thread finishes on its own later)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


@pytest.fixture
def file_uow(tmp_path, clock):
    factory = connect(f"sqlite:///{tmp_path / 'valueflow.db'}", clock, migrate=True)
    yield factory, tmp_path / "valueflow.db"
    factory.dispose()


def test_a_reader_is_not_held_up_by_a_writer_holding_the_lock_and_sees_only_committed_rows(file_uow):
    new_uow, path = file_uow
    service.add_user(new_uow(), "ada", ["back-office"])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO app_user (name, password_hash, created_at) VALUES ('uncommitted', 'x', '2026-01-01')")
    try:
        assert in_a_thread(lambda: count_users(new_uow, reading=True), 5.0) == 1
        # A writer on the same database queues for the lock, as it must.
        assert in_a_thread(lambda: count_users(new_uow, reading=False), 0.5) is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_reader_cannot_commit_and_the_same_unit_of_work_writes_again_afterwards(stored_uow):
    before = count_users(stored_uow, reading=True)  # PostgreSQL's database is shared by the session's tests
    uow = stored_uow()
    with pytest.raises(ReadOnlyUnitOfWork):
        with uow.reading():
            uow.session.add(User(name="reader", password_hash="x", created_at=uow.clock.now()))
            uow.commit()
    assert count_users(stored_uow, reading=True) == before
    with uow:
        uow.session.add(User(name="writer", password_hash="x", created_at=uow.clock.now()))
        uow.commit()
    assert count_users(stored_uow, reading=True) == before + 1


def test_a_writer_after_readers_on_the_same_kept_connections_still_takes_the_lock_first(file_uow):
    new_uow, path = file_uow
    for _ in range(3):
        count_users(new_uow, reading=True)
    uow = new_uow()
    with uow:
        uow.session.scalar(select(func.count()).select_from(User))
        other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
