"""The job table's statements: schedule, claim, take and postpone jobs (engine.storage.tables.Job).

Claiming marks a batch of due, unleased jobs of one lane with the worker's name and a lease end, in one short
transaction. Jobs run in three lanes, each claimed and run by a loop of its own: ``CASES`` (timers, breaches,
at-risk notes), ``CALLING`` (connector calls) and ``SENDING`` (notifications), so that a service, mail server or
webhook that is slow to answer never holds back a case's timer. On PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED``, so that workers claiming at the same moment pass each other's rows by instead of
waiting; SQLite's writers take turns (every write transaction begins ``IMMEDIATE``), which gives the same
result. A job is then taken (deleted) by its run's transaction only while the lease is still the worker's: a
worker whose lease ran out and was claimed again by another changes nothing. Before leasing, a claim reads which
of its jobs it takes over from a worker whose lease ran out: that worker's name and lease end, for the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import (ColumnElement, Integer, ScalarSelect, String, Text, and_, bindparam, delete, func, insert, or_,
                        select, update)

from engine.storage.driver_statements import DriverStatements, Prepared, insert_rows
from engine.storage.tables import HumanTask, Job

_JOB = Job.__table__
TIMER = "timer"
BREACH = "breach"
SERVICE = "service"
AT_RISK = "at_risk"
NOTIFY = "notify"
CASES, CALLING, SENDING = "cases", "calling", "sending"  # the lanes


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds the lease of."""

    id: int
    kind: str
    instance_id: int
    task_id: Optional[int]
    due_at: datetime
    attempts: int
    spiff_task_id: Optional[str] = None  # the service task a ``service`` job calls out for
    lapsed_owner: Optional[str] = None  # the worker whose lease ran out before this claim took the job over
    lapsed_until: Optional[datetime] = None  # and when that lease ran out


def _due(lane: ColumnElement[bool]) -> ScalarSelect[int]:
    """The ids of the first due, unleased jobs ``lane`` selects, locked for this transaction."""
    return (select(_JOB.c.id).where(
        lane, _JOB.c.due_at <= bindparam("now", type_=_JOB.c.due_at.type),
        or_(_JOB.c.locked_until.is_(None), _JOB.c.locked_until <= bindparam("now", type_=_JOB.c.locked_until.type)))
        .order_by(_JOB.c.due_at, _JOB.c.id).limit(bindparam("batch", type_=Integer))
        .with_for_update(skip_locked=True).scalar_subquery())


def _claim(lane: ColumnElement[bool]) -> Prepared:
    """The statement that leases a batch of the due, unleased jobs ``lane`` selects."""
    return Prepared(update(_JOB).where(_JOB.c.id.in_(_due(lane))).values(
        locked_by=bindparam("owner", type_=String), locked_until=bindparam("until", type_=_JOB.c.locked_until.type),
        attempts=_JOB.c.attempts + 1)
        .returning(_JOB.c.id, _JOB.c.kind, _JOB.c.instance_id, _JOB.c.task_id, _JOB.c.due_at, _JOB.c.attempts,
                   _JOB.c.spiff_task_id))


def _lapsed(lane: ColumnElement[bool]) -> Prepared:
    """Of the jobs ``_claim`` is about to lease, those another worker held until its lease ran out: with its
    name and lease end (the claim overwrites both; a job given back to retry has no holder)."""
    return Prepared(select(_JOB.c.id, _JOB.c.locked_by, _JOB.c.locked_until)
                    .where(_JOB.c.id.in_(_due(lane)), _JOB.c.locked_by.is_not(None)))


_LANES = {CASES: and_(_JOB.c.kind != NOTIFY, _JOB.c.kind != SERVICE), CALLING: _JOB.c.kind == SERVICE,
          SENDING: _JOB.c.kind == NOTIFY}
_CLAIM = {lane: _claim(selects) for lane, selects in _LANES.items()}
_LAPSED = {lane: _lapsed(selects) for lane, selects in _LANES.items()}
_TAKE = Prepared(delete(_JOB).where(_JOB.c.id == bindparam("job_id"), _JOB.c.locked_by == bindparam("owner")))
_POSTPONE = Prepared(update(_JOB).where(_JOB.c.id == bindparam("job_id"), _JOB.c.locked_by == bindparam("owner"))
                     .values(locked_by=None, locked_until=bindparam("retry_at", type_=_JOB.c.locked_until.type),
                             last_error=bindparam("error", type_=Text)))
_DROP_TIMERS = Prepared(delete(_JOB).where(_JOB.c.instance_id == bindparam("instance_id"), _JOB.c.kind == TIMER))
_ADD = Prepared(insert(_JOB), ("kind", "instance_id", "task_id", "due_at", "attempts", "spiff_task_id"))
_ADD_RETURNING = Prepared(insert(_JOB).returning(_JOB.c.id), ("kind", "instance_id", "task_id", "due_at", "attempts"))
_SERVICE_JOBS = Prepared(select(_JOB.c.spiff_task_id).where(_JOB.c.instance_id == bindparam("instance_id"),
                                                            _JOB.c.kind == SERVICE))
_DROP_SERVICE = Prepared(delete(_JOB).where(_JOB.c.instance_id == bindparam("instance_id"), _JOB.c.kind == SERVICE,
                                            _JOB.c.spiff_task_id == bindparam("spiff_task_id")))
# On PostgreSQL, the id of the human task this transaction inserted last: the rows that name a task inserted in
# the same batch take it on the server instead of waiting for its RETURNING (engine.storage.casestore).
NEW_HUMAN_TASK_ID = func.currval(func.pg_get_serial_sequence(HumanTask.__tablename__, "id"))
_ADD_FOR_NEW_TASK = insert_rows(_JOB, ("kind", "instance_id", "due_at", "attempts"), task_id=NEW_HUMAN_TASK_ID)


class JobQueue:
    """The job table, on a unit of work's driver connection and inside its transaction."""

    def __init__(self, sql: DriverStatements) -> None:
        self.sql = sql

    def claim(self, owner: str, now: datetime, until: datetime, batch: int, lane: str = CASES) -> list[ClaimedJob]:
        """Lease up to ``batch`` jobs of ``lane`` due at ``now`` to ``owner`` until ``until``, the earliest due
        first; a job taken over from a worker whose lease ran out names it (``lapsed_owner``)."""
        lapsed = {row[0]: tuple(row[1:]) for row in self.sql.all(_LAPSED[lane], {"now": now, "batch": batch})}
        rows = self.sql.all(_CLAIM[lane], {"now": now, "owner": owner, "until": until, "batch": batch})
        return sorted((ClaimedJob(*row, *lapsed.get(row[0], (None, None))) for row in rows),
                      key=lambda job: (job.due_at, job.id))

    def take(self, job: ClaimedJob, owner: str) -> bool:
        """Delete the job if ``owner`` still holds its lease; False when another worker took it over."""
        return self.sql.execute(_TAKE, {"job_id": job.id, "owner": owner}) == 1

    def postpone(self, job: ClaimedJob, owner: str, retry_at: datetime, error: str) -> None:
        """Give the job back, to be claimed again from ``retry_at`` on, with why its run failed."""
        self.sql.execute(_POSTPONE, {"job_id": job.id, "owner": owner, "retry_at": retry_at, "error": error})

    def schedule_timer(self, instance_id: int, due: Optional[datetime]) -> None:
        """The case's one timer job, due at its next timer (none when it waits on no timer)."""
        self.sql.execute(_DROP_TIMERS, {"instance_id": instance_id})
        if due is not None:
            self.add(TIMER, instance_id, due)

    def service_tasks(self, instance_id: int) -> set[str]:
        """The SpiffWorkflow ids of the service tasks the case's ``service`` jobs call out for."""
        return {spiff_id for (spiff_id,) in self.sql.all(_SERVICE_JOBS, {"instance_id": instance_id})}

    def drop_service(self, instance_id: int, spiff_task_id: str) -> None:
        self.sql.execute(_DROP_SERVICE, {"instance_id": instance_id, "spiff_task_id": spiff_task_id})

    def add(self, kind: str, instance_id: int, due: datetime, task_id: Optional[int] = None,
            spiff_task_id: Optional[str] = None) -> None:
        self.sql.execute(_ADD, {"kind": kind, "instance_id": instance_id, "task_id": task_id, "due_at": due,
                                "attempts": 0, "spiff_task_id": spiff_task_id})

    def add_returning_id(self, kind: str, instance_id: int, due: datetime, task_id: Optional[int] = None) -> int:
        """``add``, for a job whose work is kept in a row of its own that names it by id (a notification)."""
        [job_id] = self.sql.first(_ADD_RETURNING, {"kind": kind, "instance_id": instance_id, "task_id": task_id,
                                                   "due_at": due, "attempts": 0})
        return int(job_id)

    def add_for_new_task(self, instance_id: int, due: dict[str, datetime]) -> None:
        """Jobs about the human task just inserted on this PostgreSQL connection (``NEW_HUMAN_TASK_ID``), one of each
        kind ``due`` names, due when it says."""
        self.sql.execute_many(_ADD_FOR_NEW_TASK, [
            {"kind": kind, "instance_id": instance_id, "due_at": at, "attempts": 0} for kind, at in due.items()])
