"""The outbox: the notifications a change calls for, written in its transaction with the job that sends each.

The case store notes an event that someone may want to hear of (a task assigned to someone, a task at risk or
past its target, a case in error) and writes it here with its events; who hears of it, and how, is decided
by the worker that runs its ``notify`` job (engine.notify), so that the change itself only writes two rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import exists, insert, select

from engine.storage.driver_statements import DriverStatements, Prepared
from engine.storage.jobs import NOTIFY, JobQueue
from engine.storage.tables import Notification, NotificationSetting

# The events of the log that notify, by the name of the notification they make.
NOTIFYING_EVENTS = {"task_assigned": "assigned", "task_breached": "breached", "instance_errored": "incident"}

_INSERT = Prepared(insert(Notification.__table__),
                   ("event", "instance_id", "task_id", "actor", "at", "detail", "job_id", "fanned_out"))
_ANY_SUBSCRIBER = Prepared(select(exists().where(NotificationSetting.__table__.c.id.is_not(None))))


class Outbox:
    """Notifications noted during a unit of work, written by ``flush`` (with the case store's events)."""

    def __init__(self, sql: DriverStatements, jobs: JobQueue) -> None:
        self.sql = sql
        self.jobs = jobs
        self._noted: list[dict[str, Any]] = []

    def note(self, event: str, instance_id: int, task_id: Optional[int], actor: Optional[str], at: datetime,
             detail: Optional[dict[str, Any]]) -> None:
        self._noted.append({"event": event, "instance_id": instance_id, "task_id": task_id, "actor": actor,
                            "at": at, "detail": detail, "fanned_out": False})

    def flush(self) -> None:
        """Write the noted notifications, each with its ``notify`` job, due at once; none while nobody has saved
        any notification settings (no one could hear of them: without an address there is nothing to send)."""
        noted, self._noted = self._noted, []
        if not noted or not self.sql.first(_ANY_SUBSCRIBER, {})[0]:
            return
        for row in noted:
            row["job_id"] = self.jobs.add_returning_id(NOTIFY, row["instance_id"], row["at"], row["task_id"])
        self.sql.execute_many(_INSERT, noted)
