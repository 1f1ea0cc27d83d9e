"""An idempotency key's claim is a lease: a request that died holding it leaves it to a retry once the lease
ends, and the work is done once all the same, because a request's work commits together with the mark on its
claim; claims from before the upgrade that brought leases are never done twice either (SQLite file and
PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import column, func, insert, select, table

from engine import service
from engine.definitions.packages import Package
from engine.storage.tables import TaskEvent
from engine.storage.types import UTCDateTime
from engine.storage.wiring import connect
from engine.work import idempotency, queries
from tests import samples
from tests.integration.test_open_task_indexes import migrate
from tests.integration.test_storage import BOB, race, setup_two_step

ANSWER = idempotency.Answer(200, '{"status": "running"}')


def claimed_review(new_uow) -> tuple[int, int]:
    """A new two-step case whose review task bo1 has claimed: (case, task)."""
    setup_two_step(new_uow)
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    task = queries.list_tasks(new_uow(), instance_id=instance_id)[0]["id"]
    service.claim_task(new_uow(), task, "bo1")
    return instance_id, task


def complete_review(uow, task: int) -> int:
    return service.complete_task(uow, task, "bo1", {"comment": "fine"})


def completions(new_uow, instance_id: int) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(TaskEvent).where(
            TaskEvent.instance_id == instance_id, TaskEvent.type == "task_completed"))


def open_steps(new_uow, instance_id: int) -> list[str]:
    return [t["step_id"] for t in queries.list_tasks(new_uow(), instance_id=instance_id)]


def new_user() -> str:
    return f"portal-{uuid.uuid4().hex[:8]}"  # PostgreSQL's database is shared by the session's tests


def test_a_claim_left_by_a_dead_request_is_taken_over_after_the_lease_and_the_work_done_once(stored_uow, clock):
    instance_id, task = claimed_review(stored_uow)
    user = new_user()
    assert idempotency.claim(stored_uow(), user, "done-1", "hash") == idempotency.Claim(user, "done-1", 1)
    with pytest.raises(idempotency.StillRunning, match="still being handled; ask again in a moment, or after") as held:
        idempotency.claim(stored_uow(), user, "done-1", "hash")
    assert held.value.until == clock.now() + idempotency.LEASE
    clock.advance(idempotency.LEASE)
    retry = idempotency.claim(stored_uow(), user, "done-1", "hash")
    assert retry == idempotency.Claim(user, "done-1", 2)
    complete_review(idempotency.holding(stored_uow(), retry), task)
    idempotency.keep(stored_uow(), retry, ANSWER)
    assert idempotency.claim(stored_uow(), user, "done-1", "hash") == ANSWER
    assert completions(stored_uow, instance_id) == 1 and open_steps(stored_uow, instance_id) == ["approve"]


def test_of_two_retries_at_once_after_the_lease_one_takes_the_claim_over(stored_uow, clock):
    user = new_user()
    idempotency.claim(stored_uow(), user, "k", "hash")
    clock.advance(idempotency.LEASE)
    results = race(lambda: idempotency.claim(stored_uow(), user, "k", "hash"),
                   lambda: idempotency.claim(stored_uow(), user, "k", "hash"))
    assert sorted(map(type, results), key=lambda kind: kind.__name__) == [idempotency.Claim, idempotency.StillRunning]
    assert idempotency.Claim(user, "k", 2) in results


def deploy_new_process(uow) -> None:
    key = f"p_{uuid.uuid4().hex[:8]}"
    service.deploy(uow, Package(key, f"{key}.bpmn", {f"{key}.bpmn": samples.two_step(key)}))


@pytest.mark.parametrize("work", ["a task completed", "a process deployed"])
def test_work_committed_without_an_answer_is_told_lost_after_the_lease_and_never_done_again(work, stored_uow, clock):
    instance_id, task = claimed_review(stored_uow)
    user = new_user()
    first = idempotency.claim(stored_uow(), user, "k", "hash")
    if work == "a task completed":  # on the case store's connection alone
        complete_review(idempotency.holding(stored_uow(), first), task)
    else:  # through the ORM session
        deploy_new_process(idempotency.holding(stored_uow(), first))
    idempotency.give_back(stored_uow(), first)  # its answer failed: a key whose work was done stays claimed
    with pytest.raises(idempotency.StillRunning):
        idempotency.claim(stored_uow(), user, "k", "hash")
    clock.advance(idempotency.LEASE)
    for _ in range(2):
        with pytest.raises(idempotency.AnswerLost, match=r"had its work done at 2026-01-05 09:00:00 UTC, but its "
                                                         r"answer was lost; it is not done again"):
            idempotency.claim(stored_uow(), user, "k", "hash")
    if work == "a task completed":
        assert completions(stored_uow, instance_id) == 1 and open_steps(stored_uow, instance_id) == ["approve"]


def test_a_request_whose_claim_was_taken_over_cannot_commit_its_work(stored_uow, clock):
    instance_id, task = claimed_review(stored_uow)
    user = new_user()
    slow = idempotency.claim(stored_uow(), user, "k", "hash")
    clock.advance(idempotency.LEASE)
    retry = idempotency.claim(stored_uow(), user, "k", "hash")
    with pytest.raises(idempotency.ClaimTakenOver, match="a retry took it over; nothing of this request was saved"):
        complete_review(idempotency.holding(stored_uow(), slow), task)
    assert completions(stored_uow, instance_id) == 0 and open_steps(stored_uow, instance_id) == ["review"]
    idempotency.keep(stored_uow(), slow, idempotency.Answer(409, "{}"))
    idempotency.give_back(stored_uow(), slow)
    with pytest.raises(idempotency.StillRunning):  # neither touched the retry's claim
        idempotency.claim(stored_uow(), user, "k", "hash")
    complete_review(idempotency.holding(stored_uow(), retry), task)
    idempotency.keep(stored_uow(), retry, ANSWER)
    assert idempotency.claim(stored_uow(), user, "k", "hash") == ANSWER
    assert completions(stored_uow, instance_id) == 1


def test_a_commit_that_wrote_nothing_leaves_the_claim_free_to_take_over(stored_uow, clock):
    _, task = claimed_review(stored_uow)
    user = new_user()
    first = idempotency.claim(stored_uow(), user, "k", "hash")
    with idempotency.holding(stored_uow(), first) as uow:
        assert uow.cases.lock_task(task) is not None
        uow.commit()
    clock.advance(idempotency.LEASE)
    assert idempotency.claim(stored_uow(), user, "k", "hash") == idempotency.Claim(user, "k", 2)


def test_the_upgrade_takes_a_claim_left_unanswered_before_it_as_done_and_keeps_the_answers(storage_url, clock):
    new_uow = connect(storage_url, clock, migrate=True)
    migrate(new_uow.engine, "0016_notifications", down=True)
    user = new_user()
    before = table("idempotent_request", column("user_name"), column("key"), column("request_hash"),
                   column("created_at", UTCDateTime()), column("status"), column("response"))
    with new_uow.engine.begin() as connection:
        connection.execute(insert(before), [
            {"user_name": user, "key": key, "request_hash": "hash", "created_at": clock.now(), "status": status,
             "response": response} for key, status, response in (("answered", 201, "{}"), ("left", None, None))])
    migrate(new_uow.engine, "head")
    new_uow.dispose()
    upgraded = connect(storage_url, clock)
    clock.advance(idempotency.LEASE)
    assert idempotency.claim(upgraded(), user, "answered", "hash") == idempotency.Answer(201, "{}")
    with pytest.raises(idempotency.AnswerLost):
        idempotency.claim(upgraded(), user, "left", "hash")
    upgraded.dispose()
