"""What operators ask of the database: can it be reached, is its schema current, how much work waits in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.storage.db import migration_scripts, revisions_of_a_newer_version
from engine.storage.tables import HumanTask, Job, ProcessInstance
from engine.storage.uow import UnitOfWork

# A job due this long and still there means no worker is keeping up.
OVERDUE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Readiness:
    """Whether this process can serve requests, and if not, why in one line."""

    database: bool
    schema_current: bool
    problem: Optional[str] = None

    @property
    def ready(self) -> bool:
        return self.database and self.schema_current


def readiness(engine: Engine) -> Readiness:
    """The database answers and its schema is at the newest migration this code knows."""
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            newer = revisions_of_a_newer_version(connection)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        return Readiness(False, False, f"the database cannot be reached: {reason}")
    needed = set(migration_scripts().get_heads())
    if current != needed:
        found = ", ".join(sorted(current)) or "no schema"
        remedy = ("upgrade Valueflow here to the version that wrote it" if newer
                  else "run `valueflow init` to upgrade it")
        return Readiness(True, False, f"the database schema is at {found}, this version needs "
                                      f"{', '.join(sorted(needed))}: {remedy}")
    return Readiness(True, True)


@dataclass(frozen=True)
class Backlog:
    """Work waiting in the database now."""

    jobs_due: dict[str, int]  # by kind (timer, breach, ...), leased or not
    jobs_overdue: dict[str, int]
    incidents_open: int
    tasks_open: int
    tasks_breached: int


def backlog(uow: UnitOfWork) -> Optional[Backlog]:
    """Counted in SQL, on the open-task and case indexes; None when the database cannot be read."""
    now = uow.clock.now()
    I, T = ProcessInstance, HumanTask
    try:
        with uow.reading():
            session = uow.session
            due = _jobs_by_kind(session, now)
            overdue = _jobs_by_kind(session, now - OVERDUE_AFTER)
            incidents = session.scalar(select(func.count()).where(I.status == "error")) or 0
            tasks_open = session.scalar(select(func.count()).where(T.is_open())) or 0
            breached = session.scalar(select(func.count()).where(T.is_open(), T.due_at < now)) or 0
    except SQLAlchemyError:
        return None
    return Backlog(due, overdue, int(incidents), int(tasks_open), int(breached))


def _jobs_by_kind(session: Session, due_by: datetime) -> dict[str, int]:
    """How many jobs of each kind are due by ``due_by``, on the job table's due-time index."""
    return {kind: int(count) for kind, count in
            session.execute(select(Job.kind, func.count()).where(Job.due_at <= due_by).group_by(Job.kind))}
