"""Idempotency-Key on the API's POSTs: a retry is answered exactly as the first request was and does nothing
twice, also when both arrive at once; the same key with another request is refused."""

from __future__ import annotations

import threading

from engine.work import queries
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan
from tests.web.test_api import LOAN, Api, as_user, assert_error  # noqa: F401 (as_user is a fixture)


def cases(new_uow) -> list[int]:
    return sorted({t["instance_id"] for t in queries.list_tasks(new_uow(), status=None)})


def test_a_retried_start_answers_what_the_first_answered_and_starts_one_case(as_user, new_uow):
    api = as_user("customer-service")
    first = api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-17"})
    again = api.post("/instances", LOAN, headers={"Idempotency-Key": "portal-17"})
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"] == "true"
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
    events = queries.instance_view(new_uow(), task["instance_id"])["events"]
    assert [e["type"] for e in events].count("task_completed") == 1


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
