"""The ``notify`` job: send a notification's messages, without holding any case or transaction while it waits on
a mail server or a webhook.

A run (1) checks the job is still this worker's, resolves the notification into deliveries the first time
(engine.notify.recipients) and reads those still to send, in a short transaction; (2) sends each, outside any
transaction; (3) marks what went out as sent. A message that no retry can send (a webhook address that is
refused) is kept as failed with the reason at once. When nothing is left to retry, or this was the last attempt,
it takes (deletes) its job in that same transaction, and what is still not sent after the last attempt is kept as
failed with the reason. Otherwise it raises, and the runner (engine.jobs) gives the job back to be retried after
a pause that grows with its attempts; what was sent is not sent again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import insert, select, update

from engine.notify.messages import Message, about, message
from engine.notify.recipients import deliveries
from engine.notify.settings import mail_configured
from engine.outbound.mail import MailFailed, MailNotConfigured, MailSettings, send_mail
from engine.outbound.webhook import WebhookFailed, post_json
from engine.storage.jobs import ClaimedJob
from engine.storage.tables import Job, Notification, NotificationDelivery, NotificationSetting
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory

# A notification still not sent after this many attempts (about 8 minutes of retries) is kept as failed.
MAX_ATTEMPTS = 10
WEBHOOK_TIMEOUT = 10.0


class NotificationNotSent(Exception):
    """Some messages of a notification could not be sent this time; the job is retried later."""


@dataclass(frozen=True)
class _Outgoing:
    delivery_id: int
    channel: str
    address: str
    secret: Optional[str]


@dataclass(frozen=True)
class _Failure:
    """Why a message was not sent, and whether a retry could send it."""

    reason: str
    lasting: bool = False


def send_notification(new_uow: UnitOfWorkFactory, job: ClaimedJob, owner: str) -> bool:
    """Send what the notification of ``job`` still has to send; whether anything was sent or settled."""
    prepared = _prepare(new_uow(), job, owner)
    if prepared is None:
        return False
    notification_id, outgoing, text = prepared
    errors = {item.delivery_id: error for item in outgoing
              if (error := _send(item, text, notification_id)) is not None}
    return _settle(new_uow(), job, owner, notification_id,
                   [item.delivery_id for item in outgoing if item.delivery_id not in errors], errors)


def _prepare(uow: UnitOfWork, job: ClaimedJob, owner: str) -> Optional[tuple[int, list[_Outgoing], Message]]:
    with uow:
        if not _still_ours(uow, job, owner):
            return None  # the lease ran out and another worker took the job over
        item = about(uow, job.id)
        if item is None:
            uow.cases.jobs.take(job, owner)
            uow.commit()
            return None
        if uow.session.execute(update(Notification).where(Notification.id == item.notification_id,
                                                          Notification.fanned_out.is_(False))
                               .values(fanned_out=True)).rowcount:
            made = deliveries(uow, item, mail_configured())
            if made:
                uow.session.execute(insert(NotificationDelivery), [
                    {"notification_id": item.notification_id, "recipient": d.recipient, "channel": d.channel,
                     "address": d.address, "status": "pending"} for d in made])
        D, S = NotificationDelivery, NotificationSetting
        rows = uow.session.execute(select(D.id, D.channel, D.address, D.recipient).where(
            D.notification_id == item.notification_id, D.status == "pending").order_by(D.id)).all()
        signing = {(row.subscriber_kind, row.subscriber): row.webhook_secret for row in uow.session.scalars(
            select(S).where(S.webhook_secret.is_not(None)))} if any(r.channel == "webhook" for r in rows) else {}
        outgoing = [_Outgoing(r.id, r.channel, r.address, signing.get(tuple(r.recipient.split(" ", 1))))
                    for r in rows]
        uow.commit()
    return item.notification_id, outgoing, message(item)


def _still_ours(uow: UnitOfWork, job: ClaimedJob, owner: str) -> bool:
    return uow.session.scalar(select(Job.id).where(Job.id == job.id, Job.locked_by == owner)) is not None


def _send(item: _Outgoing, text: Message, notification_id: int) -> Optional[_Failure]:
    """Send one message; None when it went out, else why not. A webhook call carries the notification's id as its
    delivery id, the same on every retry."""
    try:
        if item.channel == "email":
            send_mail(MailSettings.from_environ(os.environ), item.address, text.subject, text.body)
        elif item.secret is None:
            return _Failure("the webhook has no secret any more: its subscriber removed it")
        else:
            post_json(item.address, text.payload, item.secret, timeout=WEBHOOK_TIMEOUT, delivery=str(notification_id))
    except WebhookFailed as exc:
        return _Failure(str(exc), exc.lasting)
    except (MailFailed, MailNotConfigured) as exc:
        return _Failure(str(exc))
    return None


def _settle(uow: UnitOfWork, job: ClaimedJob, owner: str, notification_id: int, sent: list[int],
            errors: dict[int, _Failure]) -> bool:
    D = NotificationDelivery
    last = job.attempts >= MAX_ATTEMPTS
    retried = [failure.reason for failure in errors.values() if not failure.lasting]
    with uow:
        now = uow.clock.now()
        if sent:
            uow.session.execute(update(D).where(D.id.in_(sent)).values(status="sent", sent_at=now, error=None))
        for delivery_id, failure in errors.items():
            uow.session.execute(update(D).where(D.id == delivery_id).values(
                error=failure.reason, **({"status": "failed"} if last or failure.lasting else {})))
        if not retried or last:
            uow.session.execute(update(Notification).where(Notification.id == notification_id).values(job_id=None))
            uow.cases.jobs.take(job, owner)
        uow.commit()
    if retried and not last:
        raise NotificationNotSent("; ".join(retried))
    return bool(sent or errors)
