"""Running due jobs: a worker claims a batch of one lane, then runs each job in a transaction of its own.

Each run locks the job's case, takes (deletes) the job while the worker still holds its lease, does the
job's work and commits both together: a job's state change happens once, whatever the number of workers.
A run that fails (another process changed the case at the same moment, the database went away) gives the
job back, to be claimed again after a pause that grows with its attempts; a worker that dies holding
jobs leaves them to others once their lease ends.

A kind of job is a function in ``HANDLERS``: it gets the unit of work, the job and its locked case, does
its work inside that transaction (the runner commits) and says whether there was any to do (a breach job
of a task completed in time has none). A kind whose work is a call out of the process (a connector's) is a
function in ``CALLS`` instead: it makes the call before any transaction, without holding the case, and returns
the handler that writes what the call gave. A kind whose work touches no case (a notification) is a function in
``UNLOCKED_HANDLERS``: it runs without the case's lock and takes its job itself. Whatever schedules a job writes
its row with ``uow.cases.jobs.add`` in the transaction of the state that causes it.

Connector calls and notifications are claimed in lanes of their own (``CALLING`` and ``SENDING``,
engine.storage.jobs), apart from the other case jobs (``CASES``): a worker runs each lane in its own loop
(engine.worker), so a service or webhook that never answers holds back only the calls or notifications behind it,
never a timer.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional

from engine.connectors import call_service_task
from engine.errors import NotFound
from engine.metrics import JOB_SECONDS, JOBS_RUN, LEASE_TAKEOVERS, timed_step
from engine.notify.sending import send_notification
from engine.storage.casestore import CaseRecord
from engine.storage.jobs import AT_RISK, BREACH, CALLING, CASES, NOTIFY, SENDING, SERVICE, TIMER, ClaimedJob
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.time.clock import running_at

# How long a claimed job stays the claiming worker's: long enough for a batch, short enough to pick up after a crash.
LEASE = timedelta(seconds=60)
BATCH = 200
# The lanes whose jobs call out and may each wait on the network up to their timeout: their worker claims one job
# at a time, so that no claimed job's lease runs out while the calls before it wait (another worker would then
# claim it and make its call again).
ONE_AT_A_TIME = (CALLING, SENDING)
# The pause before a failed job is claimed again: doubled per attempt, up to the cap.
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=10)
NAMED_TAKEOVERS = 10  # the jobs a takeover's warning names; it counts the rest
# How a job's run ended, as engine.metrics counts it: it changed something, it had nothing to do (or another worker
# had taken it over), or it failed and was given back.
DONE, NOTHING_TO_DO, FAILED = "done", "nothing_to_do", "failed"

Handler = Callable[[UnitOfWork, ClaimedJob, CaseRecord], bool]
Call = Callable[[UnitOfWorkFactory, ClaimedJob], Handler]
# A kind whose work touches no case (sending a notification) runs without the case's lock: its handler gets the
# factory of units of work and the worker's name, keeps its transactions short (none open while it waits on the
# network), takes its job itself once done (JobQueue.take) and raises to have it retried later.
UnlockedHandler = Callable[[UnitOfWorkFactory, ClaimedJob, str], bool]
_LOG = logging.getLogger(__name__)


def worker_name() -> str:
    """A name for this worker, unique among the processes sharing the database: host, process and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class JobRound:
    """What one round did: jobs claimed, jobs run by kind, and why those given back to retry later failed."""

    claimed: int = 0
    done: Counter[str] = field(default_factory=Counter)
    errors: tuple[str, ...] = ()

    def __add__(self, other: "JobRound") -> "JobRound":
        return JobRound(self.claimed + other.claimed, self.done + other.done, self.errors + other.errors)

    @property
    def timers_fired(self) -> int:
        return self.done[TIMER]

    @property
    def breaches(self) -> int:
        return self.done[BREACH]


def run_due_jobs(new_uow: UnitOfWorkFactory, owner: str, lease: timedelta = LEASE, batch: int = BATCH,
                 lane: str = CASES) -> JobRound:
    """Claim up to ``batch`` due jobs of ``lane`` for ``owner`` and run each; a failed one is given back to retry
    later."""
    return run_claimed(new_uow, claim_due(new_uow, owner, lease, batch, lane), owner)


def claim_due(new_uow: UnitOfWorkFactory, owner: str, lease: timedelta = LEASE, batch: int = BATCH,
              lane: str = CASES) -> list[ClaimedJob]:
    """Lease up to ``batch`` due jobs of ``lane`` to ``owner`` for ``lease``, in a transaction of their own."""
    uow = new_uow()
    with uow:
        now = uow.clock.now()
        claimed = uow.cases.jobs.claim(owner, now, now + lease, batch, lane)
        uow.commit()
    _report_takeovers(claimed, now)
    return claimed


def _report_takeovers(claimed: list[ClaimedJob], now: datetime) -> None:
    """One warning line for each worker that died or stalled holding jobs of a kind this claim took over (however
    many: a worker killed mid-batch held hundreds), and one count per job."""
    taken: dict[tuple[str, str], list[ClaimedJob]] = {}
    for job in claimed:
        if job.lapsed_owner is not None:
            LEASE_TAKEOVERS.labels(job.kind).inc()
            taken.setdefault((job.lapsed_owner, job.kind), []).append(job)
    for (owner, kind), jobs in taken.items():
        ago = max((now - job.lapsed_until).total_seconds() if job.lapsed_until is not None else 0.0 for job in jobs)
        named = ", ".join(f"{job.id} (case {job.instance_id})" for job in jobs[:NAMED_TAKEOVERS])
        more = f" and {len(jobs) - NAMED_TAKEOVERS} more" if len(jobs) > NAMED_TAKEOVERS else ""
        _LOG.warning("took over %d %s job(s) from worker %s, whose lease ran out %.0f s ago (it died or stalled "
                     "mid-job): %s%s", len(jobs), kind, owner, ago, named, more)


def run_claimed(new_uow: UnitOfWorkFactory, claimed: list[ClaimedJob], owner: str) -> JobRound:
    """Run each job ``owner`` claimed, each in its own transaction; a failed one is given back to retry later."""
    done: Counter[str] = Counter()
    failures = []
    for job in claimed:
        began = time.perf_counter()
        outcome = NOTHING_TO_DO
        try:
            if _run_one(new_uow, job, owner):
                done[job.kind] += 1
                outcome = DONE
        except Exception as exc:  # one failing job must not stop the others; it is retried later
            outcome = FAILED
            failures.append(f"{job.kind} job {job.id} of instance {job.instance_id} "
                            f"(attempt {job.attempts}): {exc}")
            _give_back(new_uow(), job, owner, str(exc))
        finally:
            JOB_SECONDS.labels(job.kind).observe(time.perf_counter() - began)
            JOBS_RUN.labels(job.kind, outcome).inc()
    return JobRound(len(claimed), done, tuple(failures))


def run_until_idle(new_uow: UnitOfWorkFactory, owner: str, lease: timedelta = LEASE,
                   batch: int = BATCH) -> JobRound:
    """Rounds of ``run_due_jobs`` of the case jobs, then of the connector calls, then of the notifications (those
    the others made included), each lane until a round finds fewer than ``batch`` jobs due; what they did
    together."""
    total = JobRound()
    for lane in (CASES, CALLING, SENDING):
        claimed_at_once = lane_batch(lane, batch)
        while True:
            found = run_due_jobs(new_uow, owner, lease, claimed_at_once, lane)
            total += found
            if found.claimed < claimed_at_once:
                break
    return total


def lane_batch(lane: str, batch: int) -> int:
    """How many jobs of ``lane`` a worker claims at a time, given its ``batch`` (see ``ONE_AT_A_TIME``)."""
    return 1 if lane in ONE_AT_A_TIME else batch


def _run_one(new_uow: UnitOfWorkFactory, job: ClaimedJob, owner: str) -> bool:
    """Run one claimed job by its kind's way of running; whether it changed anything."""
    unlocked = UNLOCKED_HANDLERS.get(job.kind)
    if unlocked is not None:
        return unlocked(new_uow, job, owner)
    call = CALLS.get(job.kind)
    return _run(new_uow(), job, owner, call(new_uow, job) if call is not None else HANDLERS.get(job.kind))


def _run(uow: UnitOfWork, job: ClaimedJob, owner: str, handler: Optional[Handler]) -> bool:
    """Run the job's handler if the job is still ``owner``'s; whether it changed anything."""
    if handler is None:
        raise UnknownJobKind(f"no worker of this version runs {job.kind!r} jobs")
    with uow:
        record = uow.cases.lock_case(job.instance_id)  # the case first, as every writer of it locks it first
        if record is None:
            raise NotFound(f"no instance {job.instance_id}")
        if not uow.cases.jobs.take(job, owner):
            return False  # the lease ran out and another worker claimed the job: it runs there
        changed = handler(uow, job, record)
        uow.commit()
    return changed


def _give_back(uow: UnitOfWork, job: ClaimedJob, owner: str, error: str) -> None:
    pause = min(FIRST_RETRY * 2 ** max(job.attempts - 1, 0), LONGEST_RETRY)
    with uow:
        uow.cases.jobs.postpone(job, owner, uow.clock.now() + pause, error)
        uow.commit()


class UnknownJobKind(Exception):
    """A job of a kind this version of the worker cannot run (written by a newer version)."""


@timed_step("timer")
def _fire_timers(uow: UnitOfWork, job: ClaimedJob, record: CaseRecord) -> bool:
    """Fire the case's due timers and run it on until it waits; its next timer gets a job of its own."""
    now = uow.clock.now()
    due: Optional[datetime] = record.next_timer_at
    if record.status != "running" or due is None or due > now:  # not due any more: keep its timer scheduled
        uow.cases.jobs.schedule_timer(record.id, due if record.status == "running" else None)
        return False
    loaded = uow.cases.load(record, uow.compiled(record.definition_id))
    with running_at(uow.clock):
        loaded.case.fire_due_timers()
    loaded.timer_job_taken = True
    uow.cases.log(record.id, "timer_fired", None, now, detail={"due": due.isoformat()})
    uow.cases.save(loaded, now, None)
    return True


def _record_breach(uow: UnitOfWork, job: ClaimedJob, record: CaseRecord) -> bool:
    """Record that the task missed its target, if it is still open and not yet recorded as breached."""
    if job.task_id is None or not uow.cases.mark_breached(job.task_id, uow.clock.now()):
        return False
    uow.cases.flush_events()
    return True


def _note_at_risk(uow: UnitOfWork, job: ClaimedJob, record: CaseRecord) -> bool:
    """Note that the task is at risk (engine.storage.outbox), if it is still open and not yet due."""
    if job.task_id is None or not uow.cases.note_at_risk(job.task_id, uow.clock.now()):
        return False
    uow.cases.flush_events()
    return True


HANDLERS: dict[str, Handler] = {TIMER: _fire_timers, BREACH: _record_breach, AT_RISK: _note_at_risk}
CALLS: dict[str, Call] = {SERVICE: call_service_task}
UNLOCKED_HANDLERS: dict[str, UnlockedHandler] = {NOTIFY: send_notification}
KINDS = tuple(sorted({*HANDLERS, *CALLS, *UNLOCKED_HANDLERS}))  # every kind of job this worker runs
