"""The timer and breach worker: rounds of ``service.run_worker_round`` until it is told to stop.

``valueflow worker`` runs it in the foreground; ``valueflow serve`` runs it on a
background thread beside the web app, on the app's clock. Any number of workers,
in any number of processes, may share one database: a case's timers fire under
its row lock and only while still due, and each breach is claimed by one worker.
"""

from __future__ import annotations

import threading
from typing import Callable

from engine import service
from engine.storage.uow import UnitOfWorkFactory

Say = Callable[[str], None]


def run_rounds(new_uow: UnitOfWorkFactory, interval: float, stop: threading.Event, say: Say, complain: Say) -> None:
    """A round now and one every ``interval`` seconds until ``stop`` is set.

    A round that fails as a whole (the database away for a moment) is reported and the next one runs.
    """
    while not stop.is_set():
        try:
            result = service.run_worker_round(new_uow)
        except Exception as exc:  # the worker outlives a bad round; the next one retries
            complain(f"valueflow worker: a round failed, trying again in {interval:g} s: {exc}")
        else:
            report(result, say, complain)
        stop.wait(interval)


def report(result: service.WorkerRound, say: Say, complain: Say, always: bool = False) -> None:
    """Each broken case on one line, and what the round did when it did something (or ``always``)."""
    for failure in result.errors:
        complain(f"valueflow worker: {failure}")
    if always or result.timers_fired or result.breaches:
        say(f"timers fired in {result.timers_fired} case(s); {result.breaches} new breach(es)")


class BackgroundWorker:
    """The worker on a thread of its own; ``stop`` lets the round in progress finish and waits for it."""

    def __init__(self, new_uow: UnitOfWorkFactory, interval: float, say: Say, complain: Say) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run_rounds, args=(new_uow, interval, self._stop, say, complain),
                                        name="valueflow-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 60.0) -> bool:
        """Ask the worker to stop and wait for it; whether it stopped within ``timeout`` seconds."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()
