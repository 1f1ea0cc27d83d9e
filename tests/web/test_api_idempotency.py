"""Idempotency-Key on the API's POSTs: a retry is answered exactly as the first request was and does nothing
twice, also when both arrive at once, or when the first one's process was killed before it answered; the same key
with another request is refused."""

from __future__ import annotations

import threading
from datetime import timedelta

from engine import service
from engine.work import idempotency, queries
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan
from tests.web.test_api import LOAN, Api, as_user, assert_error  # noqa: F401 (as_user is a fixture)
from web import idempotency as web_idempotency


def cases(new_uow) -> list[int]:
    return sorted({t["instance_id"] for t in queries.list_tasks(new_uow(), status=None)})


def completions(new_uow, instance_id: int) -> int:
    return [e["type"] for e in queries.instance_view(new_uow(), instance_id)["events"]].count("task_completed")


def test_a_retried_start_answers_what_the_first_answered_location_included_and_starts_one_case(as_user, new_uow):
    api = as_user("customer-service")
    first = api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-17"})
    again = api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-17"})
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] == f"/api/v1/instances/{first.get_json()['id']}"
    assert cases(new_uow) == [first.get_json()["id"]]
    other = api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-18"})
    assert cases(new_uow) == [first.get_json()["id"], other.get_json()["id"]]


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(as_user, new_uow):
    api = as_user("customer-service")
    api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-17"})
    changed = {**LOAN, "customer": {**LOAN["customer"], "name": "Ben Ortiz"}}
    found = assert_error(api.post("/instances", changed, headers={"Idempotency-Key": "portal-17"}),
                         422, "was used for a different request", ("Idempotency-Key",))
    assert found["code"] == "invalid" and len(cases(new_uow)) == 1


def test_keys_are_each_users_own(as_user, new_uow, client):
    clerk = as_user("customer-service")
    manager = as_user("manager")
    task = open_task(new_uow, start_loan(new_uow))
    headers = {"Idempotency-Key": "k-1"}
    assert clerk.post(f"/tasks/{task['id']}/claim", headers=headers).status_code == 200
    released = manager.post(f"/tasks/{task['id']}/release", headers=headers)
    assert released.status_code == 200 and released.get_json()["assignee"] is None


def test_a_retried_completion_answers_the_same_and_completes_once(as_user, new_uow):
    api = as_user("customer-service")
    task = open_task(new_uow, start_loan(new_uow))
    api.post(f"/tasks/{task['id']}/claim")
    headers = {"Idempotency-Key": "done-1"}
    first = api.post(f"/tasks/{task['id']}/complete", {"data": MEDIUM_RISK}, headers=headers)
    again = api.post(f"/tasks/{task['id']}/complete", {"data": dict(reversed(MEDIUM_RISK.items()))}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.get_data() == first.get_data()
    assert completions(new_uow, task["instance_id"]) == 1


def test_a_refusal_is_kept_too_so_a_retry_gets_the_same_refusal(as_user, new_uow):
    api = as_user("customer-service")
    headers = {"Idempotency-Key": "bad-1"}
    body = {**LOAN, "process": "no_such"}
    first = api.post("/instances", body, headers=headers)
    again = api.post("/instances", body, headers=headers)
    assert first.status_code == again.status_code == 404 and again.get_data() == first.get_data()


def test_two_identical_requests_at_once_start_one_case_and_get_the_same_answer(app, new_uow):
    caller = Api(app.test_client(), new_uow, "customer-service")
    callers = [Api(app.test_client(), new_uow, None) for _ in range(2)]
    answers: list = [None, None]
    ready = threading.Barrier(2)

    def call(n: int) -> None:
        ready.wait()
        answers[n] = callers[n].post("/instances", {**LOAN, "business_key": "APP-7"},
                                     headers={**caller.headers, "Idempotency-Key": "at-once"})

    threads = [threading.Thread(target=call, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_data() == answers[1].get_data()
    assert cases(new_uow) == [answers[0].get_json()["id"]]


def test_an_empty_or_overlong_key_is_a_400(as_user, new_uow):
    api = as_user("customer-service")
    for key in ("", "k" * 201):
        assert_error(api.post("/instances", LOAN, headers={"Idempotency-Key": key}), 400,
                     "Idempotency-Key has 1 to 200 characters")
    assert cases(new_uow) == []


def claim_of_a_killed_request(app, new_uow, user: str, path: str, body: dict, key: str) -> idempotency.Claim:
    """The claim the request made before its web process was killed: it is never answered."""
    with app.test_request_context(f"/api/v1{path}", method="POST", json=body):
        return idempotency.claim(new_uow(), user, key, web_idempotency.request_hash())


def test_a_retry_after_the_lease_of_a_request_killed_before_its_work_does_the_work_once(app, as_user, new_uow,
                                                                                         clock):
    api = as_user("customer-service")
    task = open_task(new_uow, start_loan(new_uow))
    api.post(f"/tasks/{task['id']}/claim")
    path, body, headers = f"/tasks/{task['id']}/complete", {"data": MEDIUM_RISK}, {"Idempotency-Key": "done-1"}
    claim_of_a_killed_request(app, new_uow, "customer-service", path, body, "done-1")
    clock.advance(idempotency.LEASE)
    retried = api.post(path, body, headers=headers)
    again = api.post(path, body, headers=headers)
    assert retried.status_code == again.status_code == 200 and again.get_data() == retried.get_data()
    assert again.headers["Idempotent-Replayed"] == "true" and completions(new_uow, task["instance_id"]) == 1


def test_a_request_killed_after_its_work_is_told_to_ask_again_then_that_its_answer_was_lost(app, as_user, new_uow,
                                                                                          clock, monkeypatch):
    monkeypatch.setattr(web_idempotency, "WAIT_SECONDS", 0.2)
    api = as_user("customer-service")
    task = open_task(new_uow, start_loan(new_uow))
    api.post(f"/tasks/{task['id']}/claim")
    path, body, headers = f"/tasks/{task['id']}/complete", {"data": MEDIUM_RISK}, {"Idempotency-Key": "done-1"}
    killed = claim_of_a_killed_request(app, new_uow, "customer-service", path, body, "done-1")
    clock.advance(timedelta(seconds=20))
    service.complete_task(idempotency.holding(new_uow(), killed), task["id"], "customer-service", MEDIUM_RISK)
    waiting = api.post(path, body, headers=headers)
    assert_error(waiting, 409, "is still being handled; ask again in a moment, or after 2026-01-05 09:01:00 UTC "
                               "if it has no answer by then.")
    assert waiting.headers["Retry-After"] == "40"
    clock.advance(timedelta(seconds=40))
    assert_error(api.post(path, body, headers=headers), 409,
                 "had its work done at 2026-01-05 09:00:20 UTC, but its answer was lost; it is not done again. "
                 "See what it did with a GET of the task or case it was about (/api/v1/tasks/<id>, "
                 "/api/v1/instances/<id>).")
    assert completions(new_uow, task["instance_id"]) == 1
