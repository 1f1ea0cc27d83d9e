"""Idempotency keys are kept for a day, then pruned a bounded batch at a time by later claims (SQLite file and
PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from engine.storage.tables import IdempotentRequest
from engine.work import idempotency


def kept_keys(new_uow, user: str) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(IdempotentRequest)
                                  .where(IdempotentRequest.user_name == user))


def answered_claim(new_uow, user: str, key: str) -> None:
    claim = idempotency.claim(new_uow(), user, key, "hash")
    assert claim == idempotency.Claim(user, key, 1)
    idempotency.keep(new_uow(), claim, idempotency.Answer(201, '{"id": 1}'))


def test_a_key_is_replayed_within_a_day_and_forgotten_after_it(stored_uow, clock):
    user = f"portal-{uuid.uuid4().hex[:8]}"
    answered_claim(stored_uow, user, "APP-1")
    clock.advance(timedelta(hours=23))
    assert idempotency.claim(stored_uow(), user, "APP-1", "hash") == idempotency.Answer(201, '{"id": 1}')
    answered_claim(stored_uow, user, "APP-2")
    clock.advance(timedelta(hours=2))
    answered_claim(stored_uow, user, "APP-3")  # its claim prunes APP-1, a day old; APP-2 is younger
    assert kept_keys(stored_uow, user) == 2
    again = idempotency.claim(stored_uow(), user, "APP-1", "another request")
    assert again == idempotency.Claim(user, "APP-1", 1)  # a new request now
    assert idempotency.claim(stored_uow(), user, "APP-2", "hash") == idempotency.Answer(201, '{"id": 1}')


def test_one_claim_prunes_at_most_a_batch_of_expired_keys(stored_uow, clock):
    user = f"shop-{uuid.uuid4().hex[:8]}"
    expired = idempotency.PRUNE_BATCH + 20
    for n in range(expired):
        answered_claim(stored_uow, user, f"order-{n}")
    clock.advance(idempotency.RETENTION + timedelta(minutes=1))
    answered_claim(stored_uow, user, "order-new")
    assert kept_keys(stored_uow, user) == expired - idempotency.PRUNE_BATCH + 1
    answered_claim(stored_uow, user, "order-newer")
    assert kept_keys(stored_uow, user) == 2
