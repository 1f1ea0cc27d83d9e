"""SQLite writers of one process take turns on a condition instead of sleeping in SQLite's busy handler.

A SQLite file has one writer at a time, and ``BEGIN IMMEDIATE`` waits for its
lock. SQLite's own wait (the busy timeout) sleeps between tries, longer each
time, up to 100 ms, so a lock given up stays idle while its waiters sleep:
with 16 people working through one ``serve`` process, a third of its threads
were found waiting there, and a claim's 99th percentile was most of a second.
Here a writer tries without SQLite's wait; while the file is locked it waits
on a condition that each transaction's end in this process signals, and tries
again then, or after a few milliseconds in any case (for the writers of other
processes, which cannot signal it). Past the busy timeout it gives up as
SQLite would, with "database is locked".

A connection's busy timeout is set to nothing once, by its first writer, and
stays so while writers use it (a writer holding the lock never waits for
another); a reader's begin gives it back first (``restore_timeout``), so that
reads wait as SQLite would. A writer after a writer thus runs no statement
but its ``BEGIN IMMEDIATE`` (each ``PRAGMA`` costs SQLite about as much as a
``BEGIN`` and ``COMMIT``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

# How long a waiting writer sleeps at most before trying again (another process's writer signals nothing).
_RETRY_SECONDS = 0.005
# The key under which a connection's ``info`` notes that its busy timeout is off.
_UNTIMED = "busy timeout off"


class WriteTurns:
    """The writers of one SQLite file in this process; thread-safe."""

    def __init__(self, busy_timeout_seconds: float) -> None:
        self.busy_timeout_seconds = busy_timeout_seconds
        self._turn = threading.Condition()
        self._ended = 0  # transactions ended so far: a writer that saw one end since its try tries at once

    def begin(self, connection: sqlite3.Connection, noted: dict[str, Any]) -> None:
        """``BEGIN IMMEDIATE`` on ``connection``, waiting for the write lock as long as the busy timeout.

        ``noted`` is a dictionary that lives as long as the connection (its pool record's ``info``): it remembers
        that the connection's own busy timeout is off. A writer that gives up leaves it on again.
        """
        if not noted.get(_UNTIMED):
            connection.execute("PRAGMA busy_timeout = 0")
            noted[_UNTIMED] = True
        deadline = None
        while True:
            seen = self._ended
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + self.busy_timeout_seconds
                if connection.in_transaction or not _busy(exc) or now >= deadline:
                    self.restore_timeout(connection, noted)
                    raise
                with self._turn:
                    if self._ended == seen:
                        self._turn.wait(min(_RETRY_SECONDS, deadline - now))

    def restore_timeout(self, connection: sqlite3.Connection, noted: dict[str, Any]) -> None:
        """Give a connection whose busy timeout a writer turned off (see ``begin``) its busy timeout back."""
        if noted.pop(_UNTIMED, False):
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_seconds * 1000)}")

    def ended(self) -> None:
        """A transaction on the file ended in this process (committed, rolled back, or its connection returned):
        the next waiting writer tries now."""
        with self._turn:
            self._ended += 1
            self._turn.notify()


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc)
