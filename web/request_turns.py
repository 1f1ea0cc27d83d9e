"""Requests taking turns in a waitress server on a SQLite file: one at a time, unless one takes long.

On a SQLite file a request's work is nearly all in this process: Python, and SQLite's calls, each of which
gives up the interpreter's lock. With several requests under way, each such call hands the lock to another
request, and taking it back waits for that one. The more requests run at once, the more CPU each costs: a
completion (with its inbox, page and claim) took 7.5–12 ms of the server's CPU at 1 client and 17–19 ms at 16,
with 3 threads serving at once; in turn, 9.2–9.4 ms at 16 (bench/README.md). So waitress's threads serve
their requests in turn: each waits for the one ahead of it, without the interpreter's lock, and then runs
alone, waitress's own work for the request included.

A request that takes long (an event log export of a big database, a deployment) would hold everyone back,
as it does with one thread. So whoever waits for a request that has held its turn longer than
``PATIENCE_SECONDS`` goes on beside it, as threads did before; quick requests, each holding its turn
briefly, never make anyone go around the queue.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

from waitress.task import ThreadedTaskDispatcher

# How long a request may hold its turn before those waiting go on beside it. A loan dashboard takes about
# 0.1 s on SQLite; a task page or a completion about 2 ms.
PATIENCE_SECONDS = 0.25


class Turns:
    """One holder at a time; a waiter gives up on a holder that has held it past the patience."""

    def __init__(self, patience_seconds: float = PATIENCE_SECONDS) -> None:
        self.patience_seconds = patience_seconds
        self._lock = threading.Lock()
        self._held_since: Optional[float] = None  # when the holder took its turn

    def take(self) -> bool:
        """Wait for the turn; False when the holder has held it past the patience (go on beside it)."""
        while True:
            since = self._held_since
            wait = self.patience_seconds if since is None else since + self.patience_seconds - time.monotonic()
            if wait <= 0:
                return False
            if self._lock.acquire(timeout=wait):
                self._held_since = time.monotonic()
                return True

    def give_up(self) -> None:
        """End the turn ``take`` gave."""
        self._held_since = None
        self._lock.release()


class _InTurn:
    """A waitress task (a connection's pending requests) served in its turn."""

    def __init__(self, task: Any, turns: Turns) -> None:
        self.task = task
        self.turns = turns

    def service(self) -> None:
        took = self.turns.take()
        try:
            self.task.service()
        finally:
            if took:
                self.turns.give_up()

    def cancel(self) -> None:
        self.task.cancel()

    def __repr__(self) -> str:
        return repr(self.task)


class TurnTakingDispatcher(ThreadedTaskDispatcher):  # type: ignore[misc]
    """waitress's thread pool, its threads serving their tasks in turn (see the module)."""

    def __init__(self, threads: int, turns: Optional[Turns] = None) -> None:
        super().__init__()
        self.turns = turns or Turns()
        self.set_thread_count(threads)

    def add_task(self, task: Any) -> None:
        super().add_task(_InTurn(task, self.turns))
