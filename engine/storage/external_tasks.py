"""The external task table's statements: open, lock, free and close the service tasks outside workers fetch.

Fetching locks a batch of a topic's fetchable, unlocked tasks to a worker in one short transaction, picked
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that workers fetching at the same moment pass each other's
rows by (SQLite's writers take turns, as every write transaction begins ``IMMEDIATE``): no two workers hold
the same task. A task's row is opened and closed by the case's own save (engine.storage.casestore), in the
transaction of the state that makes the case wait at it and of the state that ends the wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import Integer, String, Text, bindparam, delete, insert, or_, select, update

from engine.storage.driver_statements import DriverStatements, Prepared
from engine.storage.tables import ExternalTask

_TASK = ExternalTask.__table__
_COLUMNS = (_TASK.c.id, _TASK.c.instance_id, _TASK.c.spiff_task_id, _TASK.c.step_id, _TASK.c.name, _TASK.c.topic,
            _TASK.c.worker_id, _TASK.c.locked_until, _TASK.c.retries, _TASK.c.failures, _TASK.c.error_message)


@dataclass(frozen=True)
class ExternalTaskRow:
    """A service task waiting for an outside worker, as its row holds it."""

    id: int
    instance_id: int
    spiff_task_id: str
    step_id: str
    name: str
    topic: str
    worker_id: Optional[str]
    locked_until: Optional[datetime]
    retries: Optional[int]
    failures: int
    error_message: Optional[str]


_FETCHABLE = (select(_TASK.c.id).where(
    _TASK.c.topic == bindparam("topic", type_=String),
    _TASK.c.fetchable_at <= bindparam("now", type_=_TASK.c.fetchable_at.type),
    or_(_TASK.c.locked_until.is_(None), _TASK.c.locked_until <= bindparam("now", type_=_TASK.c.locked_until.type)))
    .order_by(_TASK.c.fetchable_at, _TASK.c.id).limit(bindparam("most", type_=Integer))
    .with_for_update(skip_locked=True))
_LOCK = Prepared(update(_TASK).where(_TASK.c.id.in_(_FETCHABLE.scalar_subquery())).values(
    worker_id=bindparam("worker", type_=String), locked_until=bindparam("until", type_=_TASK.c.locked_until.type))
    .returning(*_COLUMNS))
_INSTANCE_OF = Prepared(select(_TASK.c.instance_id).where(_TASK.c.id == bindparam("task_id")))
_ONE = Prepared(select(*_COLUMNS).where(_TASK.c.id == bindparam("task_id")).with_for_update())
_FREE = Prepared(update(_TASK).where(_TASK.c.id == bindparam("task_id")).values(
    worker_id=None, locked_until=None, fetchable_at=bindparam("again", type_=_TASK.c.fetchable_at.type),
    retries=bindparam("retries", type_=Integer), failures=_TASK.c.failures + 1,
    error_message=bindparam("message", type_=Text)))
_OPEN = Prepared(insert(_TASK), ("instance_id", "spiff_task_id", "step_id", "name", "topic", "created_at",
                                 "fetchable_at", "failures"))
_CLOSE = Prepared(delete(_TASK).where(_TASK.c.instance_id == bindparam("instance_id"),
                                      _TASK.c.spiff_task_id == bindparam("spiff_task_id")))
_OF_CASE = Prepared(select(_TASK.c.spiff_task_id).where(_TASK.c.instance_id == bindparam("instance_id")))


class ExternalTasks:
    """The external task table, on a unit of work's driver connection and inside its transaction."""

    def __init__(self, sql: DriverStatements) -> None:
        self.sql = sql

    def lock(self, topic: str, worker: str, now: datetime, until: datetime, most: int) -> list[ExternalTaskRow]:
        """Lock up to ``most`` fetchable tasks of ``topic`` to ``worker`` until ``until``, the longest waiting
        first."""
        rows = self.sql.all(_LOCK, {"topic": topic, "now": now, "worker": worker, "until": until, "most": most})
        return sorted((ExternalTaskRow(*row) for row in rows), key=lambda task: task.id)

    def instance_of(self, task_id: int) -> Optional[int]:
        """The case of a task (read without a lock: the caller locks the case, then the task)."""
        row = self.sql.first(_INSTANCE_OF, {"task_id": task_id})
        return row[0] if row else None

    def locked(self, task_id: int) -> Optional[ExternalTaskRow]:
        """The task, locked against fetches until the unit of work ends; None when it is closed."""
        row = self.sql.first(_ONE, {"task_id": task_id})
        return ExternalTaskRow(*row) if row else None

    def free(self, task_id: int, again: datetime, retries: int, message: str) -> None:
        """Unlock a task after its worker's failure, fetchable again from ``again``."""
        self.sql.execute(_FREE, {"task_id": task_id, "again": again, "retries": retries, "message": message})

    def of_case(self, instance_id: int) -> set[str]:
        """The SpiffWorkflow ids of the case's open external tasks."""
        return {spiff_id for (spiff_id,) in self.sql.all(_OF_CASE, {"instance_id": instance_id})}

    def open(self, instance_id: int, spiff_task_id: str, step_id: str, name: str, topic: str, now: datetime) -> None:
        self.sql.execute(_OPEN, {"instance_id": instance_id, "spiff_task_id": spiff_task_id, "step_id": step_id,
                                 "name": name, "topic": topic, "created_at": now, "fetchable_at": now, "failures": 0})

    def close(self, instance_id: int, spiff_task_id: str) -> None:
        self.sql.execute(_CLOSE, {"instance_id": instance_id, "spiff_task_id": spiff_task_id})
