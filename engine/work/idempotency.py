"""Idempotent requests: the first request sent with a key claims it, its answer is kept, and a retry with the
same key gets that answer instead of doing the work again.

A claim is a row whose primary key is (user, key), inserted in its own transaction before the work: of two
requests at once only one inserts it, the other finds it. The answer is kept once the work is done; a request
that failed without an answer, and without committing any work, gives its claim back, so that it can be retried.

A claim is a lease of ``LEASE`` (60 s): a request killed with its process leaves its claim unanswered, and a
retry after the lease may take the claim over. Nothing is done twice all the same: the units of work of the
request holding a claim (``holding``) mark it as done in the transaction that commits their work, and only
while the claim is still theirs. A retry after the lease so finds the first request's answer, or its work
committed and its answer lost (``AnswerLost``: it is not done again), or no work done, and then takes the
claim over and does it; a request whose claim was taken over cannot commit its work (``ClaimTakenOver``).
The lease sets how long a retry waits after a crash, never whether work is done twice: it is longer than a
request runs (a web process silent for 30 s is restarted, SQLite's writers wait at most 30 s for the lock),
so a slow request keeps its claim, and one overtaken by a retry saves nothing. The mark costs the work's
transaction one more statement (on PostgreSQL, one more round trip before its commit).

A key is kept for ``RETENTION`` (24 hours): a retry later than that is a new request. Each claim first deletes
at most ``PRUNE_BATCH`` of the oldest expired rows (found through the index on ``created_at``) in the same
transaction, so the table holds about one day of requests at a small, bounded cost per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Union

from sqlalchemy import Integer, String, bindparam, delete, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from engine.storage.driver_statements import Prepared
from engine.storage.tables import IdempotentRequest
from engine.storage.uow import UnitOfWork

KEY_LENGTH = 200
RETENTION = timedelta(hours=24)
PRUNE_BATCH = 100
LEASE = timedelta(seconds=60)

_TABLE = IdempotentRequest.__table__
_MARK = Prepared(update(_TABLE).where(
    _TABLE.c.user_name == bindparam("user", type_=String), _TABLE.c.key == bindparam("key", type_=String),
    _TABLE.c.attempt == bindparam("attempt", type_=Integer)).values(
    work_committed_at=bindparam("now", type_=_TABLE.c.work_committed_at.type)))


class KeyReused(Exception):
    """The key was sent before with a different request."""


class StillRunning(Exception):
    """The first request with the key has not been answered yet; its claim lapses at ``until`` (None when that
    is not known)."""

    def __init__(self, message: str, until: Optional[datetime] = None) -> None:
        super().__init__(message)
        self.until = until


class AnswerLost(Exception):
    """The work of a request with the key was committed, but its answer was never kept; it is not done again."""


class ClaimTakenOver(Exception):
    """The request's claim lapsed and a retry took it over: the request's work cannot be committed."""


@dataclass(frozen=True)
class Answer:
    """What the first request was answered: its status, its body, and its ``Location`` header if it had one."""

    status: int
    body: str
    location: Optional[str] = None


@dataclass(frozen=True)
class Claim:
    """A request's hold on its user's key: the ``attempt`` it claimed."""

    user: str
    key: str
    attempt: int


def claim(uow: UnitOfWork, user: str, key: str, request_hash: str) -> Union[Claim, Answer]:
    """The claim, when this request should do the work; else the first request's answer.

    KeyReused when the key came with another request; StillRunning while the request holding the claim has no
    answer and its lease runs; AnswerLost when that request committed its work and its lease ran out without an
    answer. A claim that lapsed before its work was committed is taken over.
    """
    if not 0 < len(key) <= KEY_LENGTH:
        raise ValueError(f"an Idempotency-Key has 1 to {KEY_LENGTH} characters")
    with uow:
        _prune(uow)
        now = uow.clock.now()
        uow.session.add(IdempotentRequest(user_name=user, key=key, request_hash=request_hash, created_at=now,
                                          claimed_at=now, attempt=1))
        try:
            uow.commit()
            return Claim(user, key, 1)
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
        if first.status is not None and first.response is not None:
            return Answer(first.status, first.response, first.location)
        now = uow.clock.now()
        if now < first.claimed_at + LEASE:
            raise _still_running(key, first.claimed_at + LEASE)
        if first.work_committed_at is not None:
            raise AnswerLost(f"the request first sent with the Idempotency-Key {key!r} had its work done at "
                             f"{first.work_committed_at:%Y-%m-%d %H:%M:%S} UTC, but its answer was lost; "
                             "it is not done again")
        taken = uow.session.execute(update(IdempotentRequest).where(
            IdempotentRequest.user_name == user, IdempotentRequest.key == key,
            IdempotentRequest.attempt == first.attempt, IdempotentRequest.status.is_(None),
            IdempotentRequest.work_committed_at.is_(None)).values(
            attempt=first.attempt + 1, claimed_at=now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # answered, done or taken over by another at this moment
            raise _still_running(key, None)
        uow.commit()
        return Claim(user, key, first.attempt + 1)


def _still_running(key: str, until: Optional[datetime]) -> StillRunning:
    later = f", or after {until:%Y-%m-%d %H:%M:%S} UTC if it has no answer by then" if until is not None else ""
    return StillRunning(f"the request first sent with the Idempotency-Key {key!r} is still being handled; "
                        f"ask again in a moment{later}", until)


def holding(uow: UnitOfWork, held: Claim) -> UnitOfWork:
    """``uow``, whose commits that write mark ``held``'s work as committed, in their transaction; while a retry
    holds the claim instead, such a commit raises ClaimTakenOver and saves nothing."""
    uow.before_commit = lambda working: _mark_work_committed(working, held)
    return uow


def _mark_work_committed(uow: UnitOfWork, held: Claim) -> None:
    if uow.cases.sql.execute(_MARK, {"user": held.user, "key": held.key, "attempt": held.attempt,
                                     "now": uow.clock.now()}) != 1:
        raise ClaimTakenOver(f"this request held the Idempotency-Key {held.key!r} past its lease "
                             f"({int(LEASE.total_seconds())} s) and a retry took it over; nothing of this request "
                             "was saved: send it again with the key for the answer of the one that did the work")


def keep(uow: UnitOfWork, held: Claim, answer: Answer) -> None:
    """Keep the answer of the request holding the claim; nothing when a retry took it over."""
    with uow:
        uow.session.execute(update(IdempotentRequest).where(
            IdempotentRequest.user_name == held.user, IdempotentRequest.key == held.key,
            IdempotentRequest.attempt == held.attempt).values(status=answer.status, response=answer.body,
                                                            location=answer.location))
        uow.commit()


def give_back(uow: UnitOfWork, held: Claim) -> None:
    """Forget an unanswered claim whose work was not committed, so that the request can be sent again; one whose
    work was committed stays, and a retry after its lease is told that the answer was lost."""
    with uow:
        uow.session.execute(delete(IdempotentRequest).where(
            IdempotentRequest.user_name == held.user, IdempotentRequest.key == held.key,
            IdempotentRequest.attempt == held.attempt, IdempotentRequest.status.is_(None),
            IdempotentRequest.work_committed_at.is_(None)))
        uow.commit()


def _prune(uow: UnitOfWork) -> None:
    """Delete up to ``PRUNE_BATCH`` of the oldest keys older than ``RETENTION``, in the caller's transaction;
    rows another request is deleting at the same moment are skipped (PostgreSQL), not waited for."""
    expired = select(IdempotentRequest.user_name, IdempotentRequest.key).where(
        IdempotentRequest.created_at < uow.clock.now() - RETENTION).order_by(
        IdempotentRequest.created_at).limit(PRUNE_BATCH).with_for_update(skip_locked=True)
    uow.session.execute(delete(IdempotentRequest).where(
        tuple_(IdempotentRequest.user_name, IdempotentRequest.key).in_(expired)))
