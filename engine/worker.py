"""The job worker: rounds of ``jobs.run_due_jobs`` until it is told to stop, in three loops: one for the case
jobs (timers, breaches, at-risk notes) and, each on a thread of its own, one for connector calls and one for
sending notifications, so that a service, mail server or webhook slow to answer never holds back a timer.

``valueflow worker`` runs it in the foreground; ``valueflow serve`` runs it on a
background thread beside the web app, on the app's clock. Any number of workers,
in any number of processes, may share one database: each claims its own due
jobs, and each job's change is committed once (engine.jobs).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

from engine import jobs
from engine.metrics import JOB_SECONDS, JOBS_RUN, LEASE_TAKEOVERS, WORKER_ROUNDS
from engine.storage.jobs import CALLING, CASES, SENDING
from engine.storage.uow import UnitOfWorkFactory

Say = Callable[[str], None]


def run_rounds(new_uow: UnitOfWorkFactory, interval: float, stop: threading.Event, say: Say, complain: Say,
               lease: timedelta = jobs.LEASE, batch: int = jobs.BATCH) -> None:
    """The rounds of the case jobs here, and of the connector calls and the notifications each on a thread of its
    own, until ``stop`` is set and every loop has finished its round in progress."""
    owner = jobs.worker_name()
    count_from_zero()
    others = [threading.Thread(target=run_lane, args=(new_uow, lane, owner, interval, stop, say, complain, lease,
                                                      batch), name=f"valueflow-{lane}", daemon=True)
              for lane in (CALLING, SENDING)]
    for thread in others:
        thread.start()
    try:
        run_lane(new_uow, CASES, owner, interval, stop, say, complain, lease, batch)
    finally:
        stop.set()
        for thread in others:
            thread.join()


def count_from_zero() -> None:
    """Every series of the worker's figures shown from the start, at 0, so that an increase counts from the first
    job on (a series that appeared at 1 would count from the second)."""
    for kind in jobs.KINDS:
        LEASE_TAKEOVERS.labels(kind)
        JOB_SECONDS.labels(kind)
        for outcome in (jobs.DONE, jobs.NOTHING_TO_DO, jobs.FAILED):
            JOBS_RUN.labels(kind, outcome)
    for lane in (CASES, CALLING, SENDING):
        for outcome in ("ok", "failed"):
            WORKER_ROUNDS.labels(lane, outcome)


def run_lane(new_uow: UnitOfWorkFactory, lane: str, owner: str, interval: float, stop: threading.Event, say: Say,
             complain: Say, lease: timedelta = jobs.LEASE, batch: int = jobs.BATCH) -> None:
    """Rounds of ``lane``'s jobs: one now, the next at once while rounds find full batches (of one job in the lanes
    that call out: engine.jobs.ONE_AT_A_TIME), else every ``interval`` seconds, until ``stop`` is set.

    A job that fails is reported and retried later; a round that fails as a whole (the database away for a
    moment) is reported and the next one runs: the worker never stops on its own.
    """
    batch = jobs.lane_batch(lane, batch)
    while not stop.is_set():
        try:
            result = jobs.run_due_jobs(new_uow, owner, lease, batch, lane)
        except Exception as exc:  # the worker outlives a bad round; the next one retries
            WORKER_ROUNDS.labels(lane, "failed").inc()
            complain(f"valueflow worker: a round failed, trying again in {interval:g} s: {exc}")
        else:
            WORKER_ROUNDS.labels(lane, "ok").inc()
            report(result, say, complain)
            if result.claimed == batch:
                continue
        stop.wait(interval)


def report(result: jobs.JobRound, say: Say, complain: Say, always: bool = False) -> None:
    """Each job given back on one line, and what the round did when it did something (or ``always``)."""
    for failure in result.errors:
        complain(f"valueflow worker: {failure}; it is retried later")
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
