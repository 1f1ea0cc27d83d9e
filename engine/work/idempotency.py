"""Idempotent requests: the first request sent with a key claims it, its answer is kept, and a retry with the
same key gets that answer instead of doing the work again.

A claim is a row whose primary key is (user, key), inserted in its own transaction before the work: of two
requests at once only one inserts it, the other finds it. The answer is kept once the work is done; a request
that failed without an answer gives its claim back, so that it can be retried.

A key is kept for ``RETENTION`` (24 hours): a retry later than that is a new request. Each claim first deletes
at most ``PRUNE_BATCH`` of the oldest expired rows (found through the index on ``created_at``) in the same
transaction, so the table holds about one day of requests at a small, bounded cost per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from engine.storage.tables import IdempotentRequest
from engine.storage.uow import UnitOfWork

KEY_LENGTH = 200
RETENTION = timedelta(hours=24)
PRUNE_BATCH = 100


class KeyReused(Exception):
    """The key was sent before with a different request."""


class StillRunning(Exception):
    """The first request with the key has not been answered yet."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def claim(uow: UnitOfWork, user: str, key: str, request_hash: str) -> Optional[Answer]:
    """None when this request claimed the key and should do the work; else the first request's answer.

    KeyReused when the key came with another request; StillRunning while the first has no answer yet.
    """
    if not 0 < len(key) <= KEY_LENGTH:
        raise ValueError(f"an Idempotency-Key has 1 to {KEY_LENGTH} characters")
    with uow:
        _prune(uow)
        uow.session.add(IdempotentRequest(user_name=user, key=key, request_hash=request_hash,
                                          created_at=uow.clock.now()))
        try:
            uow.commit()
            return None
        except IntegrityError:
            pass
    with uow:
        first = uow.session.get(IdempotentRequest, (user, key))
        if first is None:  # given back by a request that failed meanwhile
            raise StillRunning(f"the request first sent with the Idempotency-Key {key!r} failed meanwhile; "
                               "send it again")
        if first.request_hash != request_hash:
            raise KeyReused(f"the Idempotency-Key {key!r} was used for a different request; "
                            "use a new key for a new request")
        if first.status is None or first.response is None:
            raise StillRunning(f"the request first sent with the Idempotency-Key {key!r} is still being "
                               "handled; ask again in a moment")
        return Answer(first.status, first.response)


def keep(uow: UnitOfWork, user: str, key: str, answer: Answer) -> None:
    """Keep the answer of the request that claimed the key."""
    with uow:
        uow.session.execute(update(IdempotentRequest).where(
            IdempotentRequest.user_name == user, IdempotentRequest.key == key).values(
            status=answer.status, response=answer.body))
        uow.commit()


def give_back(uow: UnitOfWork, user: str, key: str) -> None:
    """Forget an unanswered claim, so that the request can be sent again."""
    with uow:
        uow.session.execute(delete(IdempotentRequest).where(
            IdempotentRequest.user_name == user, IdempotentRequest.key == key,
            IdempotentRequest.status.is_(None)))
        uow.commit()


def _prune(uow: UnitOfWork) -> None:
    """Delete up to ``PRUNE_BATCH`` of the oldest keys older than ``RETENTION``, in the caller's transaction;
    rows another request is deleting at the same moment are skipped (PostgreSQL), not waited for."""
    expired = select(IdempotentRequest.user_name, IdempotentRequest.key).where(
        IdempotentRequest.created_at < uow.clock.now() - RETENTION).order_by(
        IdempotentRequest.created_at).limit(PRUNE_BATCH).with_for_update(skip_locked=True)
    uow.session.execute(delete(IdempotentRequest).where(
        tuple_(IdempotentRequest.user_name, IdempotentRequest.key).in_(expired)))
