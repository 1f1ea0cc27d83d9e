"""Outside workers through the API: a worker loop written with urllib, as docs/authoring.md shows it, against the
app served on a local port, with an API token of an ``external-worker`` account; and every bad request answered
with a clear error that changes nothing."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any, Iterator, Optional

import pytest
from flask import Flask
from werkzeug.serving import make_server

from engine import service
from engine.definitions.packages import Package
from engine.work import queries, tokens
from tests import samples
from tests.web.conftest import text_of

SCORING = samples.document("scoring", '<bpmn:startEvent id="begin"/>'
                           '<bpmn:serviceTask id="score" name="Score the applicant">'
                           + samples.props(topic="credit-score") + "</bpmn:serviceTask>"
                           + samples.user_task("review", "Review the score")
                           + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "score", "review", "finish"),
                           {"Credit Analyst": ["begin", "score", "review", "finish"]})
TOPIC = [{"topicName": "credit-score", "lockDuration": 30_000}]


class Worker:
    """An outside worker: the few lines of urllib a real one needs (docs/authoring.md#external-tasks)."""

    def __init__(self, base: str, token: str, worker_id: str = "scorer-1") -> None:
        self.base, self.token, self.worker_id = base, token, worker_id

    def call(self, path: str, body: Any, raw: Optional[bytes] = None) -> tuple[int, Any]:
        request = urllib.request.Request(f"{self.base}/api/v1/external-tasks/{path}",
                                         data=raw if raw is not None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as refused:
            return refused.code, json.load(refused)

    def fetch(self, most: int = 10, **extra: Any) -> list[dict[str, Any]]:
        status, tasks = self.call("fetch-and-lock", {"workerId": self.worker_id, "maxTasks": most, "topics": TOPIC,
                                                     **extra})
        assert status == 200, tasks
        return tasks

    def complete(self, task_id: int, variables: Any) -> tuple[int, Any]:
        return self.call(f"{task_id}/complete", {"workerId": self.worker_id, "variables": variables})

    def fail(self, task_id: int, retries: int, pause_ms: int = 0) -> tuple[int, Any]:
        return self.call(f"{task_id}/failure", {"workerId": self.worker_id, "errorMessage": "bureau unreachable",
                                                "retries": retries, "retryTimeout": pause_ms})


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def worker(new_uow, served) -> Worker:
    service.deploy(new_uow(), Package("scoring", "scoring.bpmn", {"scoring.bpmn": SCORING}), actor="tests")
    service.add_user(new_uow(), "scoring-service", ["external-worker"])
    return Worker(served, tokens.create_token(new_uow(), "scoring-service", "scorer"))


def start(new_uow, data: Optional[dict[str, Any]] = None) -> int:
    return service.start_instance(new_uow(), "scoring", service.CustomerRef("c-7", "Ada Moss", "standard"),
                                  data or {"amount": 250000})


def case(new_uow, instance_id: int) -> dict[str, Any]:
    return queries.instance_view(new_uow(), instance_id)


def test_a_worker_fetches_the_waiting_step_completes_it_and_the_case_moves_on_to_its_person(new_uow, worker):
    instance_id = start(new_uow)
    assert case(new_uow, instance_id)["status"] == "running"
    assert case(new_uow, instance_id)["open_steps"] == []  # nobody's inbox holds the service step
    [task] = worker.fetch()
    assert task["topicName"] == "credit-score" and task["processInstanceId"] == instance_id
    assert (task["processDefinitionKey"], task["processDefinitionVersion"]) == ("scoring", 1)
    assert (task["activityId"], task["activityName"]) == ("score", "Score the applicant")
    assert task["variables"]["amount"] == 250000 and task["workerId"] == "scorer-1"
    assert task["lockExpirationTime"].startswith("2026-01-05T09:00:30")
    assert worker.fetch() == []  # locked: not given out again
    status, outcome = worker.complete(task["id"], {"score": 720})
    assert (status, outcome["status"]) == (200, "running")
    after = case(new_uow, instance_id)
    assert after["data"]["score"] == 720
    assert [step["step_id"] for step in after["open_steps"]] == ["review"]
    assert "service_task_completed" in [event["type"] for event in after["events"]]
    assert worker.complete(task["id"], {"score": 1})[0] == 404  # done once; never twice
    assert case(new_uow, instance_id)["data"]["score"] == 720


def test_a_late_completion_of_a_done_task_is_a_404_and_never_completes_the_next_case_s_task(new_uow, worker):
    first = start(new_uow)
    [done] = worker.fetch()
    assert worker.complete(done["id"], {"score": 720})[0] == 200
    second = start(new_uow, {"amount": 9})
    [waiting] = worker.fetch()
    assert waiting["processInstanceId"] == second
    status, answer = worker.complete(done["id"], {"score": 720})  # the first answer was lost: sent again
    assert status == 404, answer
    assert "score" not in case(new_uow, second)["data"] and case(new_uow, second)["open_steps"] == []
    assert worker.complete(waiting["id"], {"score": 610})[0] == 200
    assert (case(new_uow, first)["data"]["score"], case(new_uow, second)["data"]["score"]) == (720, 610)


def test_a_fetch_sends_only_the_variables_asked_for(new_uow, worker):
    start(new_uow, {"amount": 5, "purpose": "car"})
    [task] = worker.fetch(variables=["purpose"])
    assert task["variables"] == {"purpose": "car"}


def test_a_failure_with_retries_comes_back_after_its_pause_and_with_none_left_is_an_incident_to_retry(
        new_uow, worker, clock, client):
    instance_id = start(new_uow)
    [task] = worker.fetch()
    status, outcome = worker.fail(task["id"], retries=2, pause_ms=60_000)
    assert (status, outcome["status"]) == (200, "running")
    assert worker.fetch() == []  # pausing
    clock.advance(timedelta(seconds=61))
    [again] = worker.fetch()
    assert (again["id"], again["retries"], again["errorMessage"]) == (task["id"], 2, "bureau unreachable")
    status, outcome = worker.fail(again["id"], retries=0)
    assert (status, outcome["status"]) == (200, "error")
    assert worker.fetch() == []
    admin = {"Authorization": f"Bearer {tokens.create_token(new_uow(), 'admin', 'ops')}"}
    [incident] = client.get("/api/v1/incidents", headers=admin).get_json()["rows"]
    assert (incident["instance_id"], incident["step"]) == (instance_id, "score")
    assert incident["message"] == "bureau unreachable" and incident["attempts"] == 2
    events = [event["type"] for event in case(new_uow, instance_id)["events"]]
    assert events.count("service_task_failed") == 2
    retried = client.post(f"/api/v1/incidents/{instance_id}/retry", headers=admin)
    assert retried.get_json()["status"] == "running"
    [fresh] = worker.fetch()
    assert fresh["activityId"] == "score" and fresh["retries"] is None  # fresh retries
    assert worker.complete(fresh["id"], {"score": 640})[0] == 200
    assert [step["step_id"] for step in case(new_uow, instance_id)["open_steps"]] == ["review"]


def test_a_lock_that_ended_lets_another_worker_take_the_task_and_refuses_the_first(new_uow, worker, clock):
    start(new_uow)
    [task] = worker.fetch()
    clock.advance(timedelta(seconds=31))
    status, refusal = worker.complete(task["id"], {"score": 1})
    assert status == 409 and "ended" in refusal["error"]["message"]
    other = Worker(worker.base, worker.token, "scorer-2")
    [taken] = other.fetch()
    assert taken["id"] == task["id"]
    status, refusal = worker.complete(task["id"], {"score": 1})
    assert status == 409 and "locked by worker scorer-2" in refusal["error"]["message"]
    assert worker.fail(task["id"], retries=0)[0] == 409
    assert other.complete(task["id"], {"score": 2})[0] == 200


@pytest.mark.parametrize("path, body, status", [
    ("999999/complete", {"workerId": "scorer-1", "variables": {}}, 404),
    ("999999/failure", {"workerId": "scorer-1", "retries": 0}, 404),
    ("{id}/complete", {"workerId": "scorer-1", "variables": [1, 2]}, 422),
    ("{id}/complete", {"variables": {}}, 422),
    ("{id}/failure", {"workerId": "scorer-1", "retries": -1}, 422),
    ("{id}/failure", {"workerId": "scorer-1", "retries": 1, "retryTimeout": -5}, 422),
    ("fetch-and-lock", {"workerId": "scorer-1", "topics": []}, 422),
    ("fetch-and-lock", {"workerId": "scorer-1", "maxTasks": 0, "topics": TOPIC}, 422),
    ("fetch-and-lock", {"workerId": "scorer-1", "topics": [{"topicName": "credit-score", "lockDuration": 0}]}, 422),
])
def test_a_bad_request_gets_a_clear_error_and_changes_nothing(new_uow, worker, path, body, status):
    instance_id = start(new_uow)
    [task] = worker.fetch()
    before = case(new_uow, instance_id)
    answer, refusal = worker.call(path.format(id=task["id"]), body)
    assert answer == status and refusal["error"]["message"]
    assert case(new_uow, instance_id) == before
    assert worker.complete(task["id"], {"score": 700})[0] == 200  # still the worker's, still completable


@pytest.mark.parametrize("raw", [b'{"workerId": "scorer-1", "variables": ',
                                 b'{"workerId": "scorer-1", "variables": {"deep": ' + b"[" * 5000 + b"]" * 5000
                                 + b"}}"])
def test_a_body_that_is_no_json_or_cannot_be_stored_is_refused_and_changes_nothing(new_uow, worker, raw):
    instance_id = start(new_uow)
    [task] = worker.fetch()
    before = case(new_uow, instance_id)
    status, refusal = worker.call(f"{task['id']}/complete", None, raw=raw)
    assert status in (400, 422) and refusal["error"]["message"]
    assert case(new_uow, instance_id) == before
    assert worker.complete(task["id"], {"score": 700})[0] == 200


def test_variables_nested_deeper_than_a_case_keeps_are_refused_by_name(new_uow, worker):
    instance_id = start(new_uow)
    [task] = worker.fetch()
    deep: Any = []
    for _ in range(150):
        deep = [deep]
    status, refusal = worker.complete(task["id"], {"deep": deep})
    assert status == 422 and "nested more than 100 levels" in refusal["error"]["message"]
    assert "deep" not in case(new_uow, instance_id)["data"]


def test_only_outside_workers_and_admins_call_the_external_task_api(new_uow, worker, client):
    start(new_uow)
    clerk = Worker(worker.base, tokens.create_token(new_uow(), "customer-service", "clerk"))
    status, refusal = clerk.call("fetch-and-lock", {"workerId": "x", "topics": TOPIC})
    assert status == 403 and "external-worker" in refusal["error"]["message"]
    assert client.post("/api/v1/external-tasks/fetch-and-lock", json={"workerId": "x", "topics": TOPIC}
                       ).status_code == 401
    admin = Worker(worker.base, tokens.create_token(new_uow(), "admin", "ops"))
    assert len(admin.fetch()) == 1


def test_the_case_page_says_the_case_waits_for_the_topics_workers_and_tells_what_they_did(new_uow, worker, auth,
                                                                                          client):
    instance_id = start(new_uow)
    auth.login("manager")
    page = text_of(client.get(f"/instances/{instance_id}"))
    assert "Score the applicant — workers of the topic credit-score, waiting since" in page
    [task] = worker.fetch()
    worker.fail(task["id"], retries=1)
    [task] = worker.fetch()
    worker.complete(task["id"], {"score": 700})
    page = text_of(client.get(f"/instances/{instance_id}"))
    # (the step column is left out: the diagram's names are kept per definition id, which every test's copy of
    # the seeded database gives to a process of its own)
    assert re.search(r"Service task failed: bureau unreachable \S.* scoring-service", page)
    assert re.search(r"Service task completed \S.* scoring-service", page)
