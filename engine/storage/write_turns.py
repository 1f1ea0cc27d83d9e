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
"""

from __future__ import annotations

import sqlite3
import threading
import time

# How long a waiting writer sleeps at most before trying again (another process's writer signals nothing).
_RETRY_SECONDS = 0.005


class WriteTurns:
    """The writers of one SQLite file in this process; thread-safe."""

    def __init__(self, busy_timeout_seconds: float) -> None:
        self.busy_timeout_seconds = busy_timeout_seconds
        self._turn = threading.Condition()
        self._ended = 0  # transactions ended so far: a writer that saw one end since its try tries at once

    def begin(self, connection: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE`` on ``connection``, waiting for the write lock as long as the busy timeout."""
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = None
            while True:
                seen = self._ended
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if connection.in_transaction or not _busy(exc):
                        raise
                    now = time.monotonic()
                    deadline = deadline if deadline is not None else now + self.busy_timeout_seconds
                    if now >= deadline:
                        raise
                    with self._turn:
                        if self._ended == seen:
                            self._turn.wait(min(_RETRY_SECONDS, deadline - now))
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_seconds * 1000)}")

    def ended(self) -> None:
        """A transaction on the file ended in this process (committed, rolled back, or its connection returned):
        the next waiting writer tries now."""
        with self._turn:
            self._ended += 1
            self._turn.notify()


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc)
