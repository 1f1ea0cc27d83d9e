"""The messages that failed, for admins: kept as failed after their job's last attempt, or waiting for a retry
with the error of the last one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import or_, select

from engine.work.accounts import require_admin
from engine.storage.tables import Job, Notification, NotificationDelivery
from engine.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Trouble:
    """A message not sent: ``failed`` for good, or ``retrying`` (then ``attempts`` so far and the next try)."""

    delivery_id: int
    event: str
    instance_id: int
    task_id: Optional[int]
    at: datetime
    recipient: str
    channel: str
    address: str
    status: str
    error: Optional[str]
    attempts: Optional[int]
    retry_at: Optional[datetime]


def troubles(uow: UnitOfWork, actor: str, limit: int = 50) -> list[Trouble]:
    """The messages that failed or wait for a retry after failing, the newest notification first."""
    D, N = NotificationDelivery, Notification
    with uow.reading():
        require_admin(uow, actor, "see the notifications that were not sent")
        rows = uow.session.execute(
            select(D.id, N.event, N.instance_id, N.task_id, N.at, D.recipient, D.channel, D.address, D.status,
                   D.error, Job.attempts, Job.locked_until)
            .join(N, N.id == D.notification_id).outerjoin(Job, Job.id == N.job_id)
            .where(or_(D.status == "failed", (D.status == "pending") & D.error.is_not(None)))
            .order_by(N.at.desc(), D.id.desc()).limit(limit)).all()
    return [Trouble(*row[:8], "failed" if row.status == "failed" else "retrying", row.error,
                    row.attempts, row.locked_until) for row in rows]
