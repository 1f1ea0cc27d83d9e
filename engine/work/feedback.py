"""Customer satisfaction: a score from 1 to 5 for a finished case.

Someone who handled the case, or a manager, records a score the customer
gave them (``record_feedback``), or hands the customer a one-time link (``issue_feedback_token``; the web app serves it
at ``/feedback/<token>``) through which the customer scores the case once
(``record_feedback_by_token``). A case has at most one score. Only a SHA-256
of a token is stored, so the table alone does not let anyone answer for a
customer. How scores move with cycle time is engine.analytics.satisfaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import NotFound
from engine.storage.tables import CaseFeedback, Customer, FeedbackToken, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork
from engine.work.visibility import require_may_score

I = ProcessInstance
TOKEN_LIFETIME = timedelta(days=30)
SCORES = range(1, 6)
MAX_COMMENT = 2000


class FeedbackRefused(ValueError):
    """The score cannot be taken: the case is not finished or already scored, the link was used, or the score is bad."""


class BadScore(FeedbackRefused):
    """The score is not 1 to 5, or the comment is too long."""


class CaseNotFinished(FeedbackRefused):
    """Only a completed case can be scored."""


class AlreadyScored(FeedbackRefused):
    """The case has its score already (or the one-time link was used)."""


class LinkExpired(FeedbackRefused):
    """The one-time link is older than its validity."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check(score: int, comment: Optional[str]) -> Optional[str]:
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise BadScore(f"a score is a whole number from 1 to 5, not {score!r}")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise BadScore(f"the comment is longer than {MAX_COMMENT} characters")
    return comment


def _finished_unscored(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    if instance.status != "completed":
        raise CaseNotFinished(f"case {instance_id} is {instance.status}; a score is for a finished case")
    if uow.session.get(CaseFeedback, instance_id) is not None:
        raise AlreadyScored(f"case {instance_id} already has a satisfaction score")
    return instance


def issue_feedback_token(uow: UnitOfWork, instance_id: int, actor: str) -> str:
    """A one-time link token for the customer of a finished, unscored case (valid ``TOKEN_LIFETIME``); made by
    someone who handled the case, or a manager."""
    with uow:
        require_may_score(uow, instance_id, actor)
        _finished_unscored(uow, instance_id)
        token = secrets.token_urlsafe(24)
        now = uow.clock.now()
        uow.session.add(FeedbackToken(token_hash=_digest(token), instance_id=instance_id, issued_at=now,
                                      issued_by=actor, expires_at=now + TOKEN_LIFETIME))
        uow.commit()
        return token


@dataclass(frozen=True)
class FeedbackRequest:
    """What the customer's feedback page shows, and whether the link can still be used."""

    instance_id: int
    process_name: str
    customer_name: str
    ended_at: Optional[datetime]
    answered: bool
    expired: bool

    @property
    def open(self) -> bool:
        return not (self.answered or self.expired)


def feedback_request(uow: UnitOfWork, token: str) -> FeedbackRequest:
    """The case a feedback link is about; NotFound for a link that was never issued."""
    with uow.reading():
        row = uow.session.execute(
            select(FeedbackToken.instance_id, ProcessDefinition.name, Customer.name, I.ended_at,
                   FeedbackToken.used_at, FeedbackToken.expires_at, CaseFeedback.score)
            .join(I, I.id == FeedbackToken.instance_id)
            .join(ProcessDefinition, ProcessDefinition.id == I.definition_id)
            .join(Customer, Customer.id == I.customer_id)
            .outerjoin(CaseFeedback, CaseFeedback.instance_id == I.id)
            .where(FeedbackToken.token_hash == _digest(token))).first()
        if row is None:
            raise NotFound("this feedback link is not valid")
        return FeedbackRequest(row[0], row[1], row[2], row[3], row[4] is not None or row[6] is not None,
                               row[5] <= uow.clock.now())


def record_feedback_by_token(uow: UnitOfWork, token: str, score: int, comment: Optional[str] = None) -> int:
    """The customer scores their case through the link, once; returns the case's id."""
    comment = _check(score, comment)
    with uow:
        link = uow.session.get(FeedbackToken, _digest(token))
        if link is None:
            raise NotFound("this feedback link is not valid")
        now = uow.clock.now()
        if link.used_at is not None:
            raise AlreadyScored("this feedback link was already used; thank you")
        if link.expires_at <= now:
            raise LinkExpired("this feedback link has expired")
        _finished_unscored(uow, link.instance_id)
        used = uow.session.execute(update(FeedbackToken).where(
            FeedbackToken.token_hash == link.token_hash, FeedbackToken.used_at.is_(None)).values(used_at=now))
        if used.rowcount != 1:
            raise AlreadyScored("this feedback link was already used; thank you")
        _store(uow, link.instance_id, score, comment, "customer", None)
        return link.instance_id


def record_feedback(uow: UnitOfWork, instance_id: int, score: int, user: str, comment: Optional[str] = None) -> None:
    """Someone who handled a finished case, or a manager, records the score the customer gave them."""
    comment = _check(score, comment)
    with uow:
        require_may_score(uow, instance_id, user)
        _finished_unscored(uow, instance_id)
        _store(uow, instance_id, score, comment, "staff", user)


def _store(uow: UnitOfWork, instance_id: int, score: int, comment: Optional[str], source: str,
           user: Optional[str]) -> None:
    uow.session.add(CaseFeedback(instance_id=instance_id, score=score, comment=comment, source=source,
                                 recorded_by=user, recorded_at=uow.clock.now()))
    try:
        uow.commit()
    except IntegrityError:  # scored by someone else at the same moment
        raise AlreadyScored(f"case {instance_id} already has a satisfaction score") from None
