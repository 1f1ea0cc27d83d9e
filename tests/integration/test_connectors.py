"""Connector steps against real local peers: an HTTP service and an SMTP server started by the test. The case
waits at the step until the worker's job calls out; the answer goes into the case data and the case moves on;
a failing or hanging service is retried with pauses and then becomes an incident, whose retry calls again."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import select

from engine import incidents, jobs, service
from engine.definitions.packages import Package
from engine.storage.jobs import CALLING
from engine.storage.tables import Job, TaskEvent
from engine.work import queries
from engine.worker import BackgroundWorker
from tests import samples
from tests.conftest import T0
from tests.jobs_arrange import deploy_timer_process
from tests.peers import silent_peer, smtp_server  # noqa: F401 (fixtures)


class Service:
    """A local HTTP service: records each request, answers with the status and JSON it is told to."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status, self.answer, self.delay = 200, {"id": "crm-42", "tier": "gold"}, 0.0
        self.on_request: Callable[[], None] = lambda: None  # run as each request arrives
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": json.loads(body) if body else None})
                owner.on_request()
                time.sleep(owner.delay)
                answer = json.dumps(owner.answer).encode()
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the caller gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def crm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    running = Service()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("VALUEFLOW_CONNECTOR_CRM_URL", running.url + "/api")
    monkeypatch.setenv("VALUEFLOW_CONNECTOR_CRM_TOKEN", "s3cret-from-the-environment")
    yield running
    running.server.shutdown()
    running.server.server_close()
    thread.join()


def deploy_connector(new_uow, **settings: str) -> None:
    body = ('<bpmn:startEvent id="begin"/><bpmn:serviceTask id="call" name="Register the customer">'
            + samples.props(**settings) + "</bpmn:serviceTask>" + samples.user_task("welcome", "Welcome call")
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "call", "welcome", "finish"))
    xml = samples.document("onboarding", body, {"Customer Service": ["begin", "call", "welcome", "finish"]})
    service.deploy(new_uow(), Package("onboarding", "onboarding.bpmn", {"onboarding.bpmn": xml}))


HTTP = {"connector": "http", "http__service": "crm", "http__path": "/customers/{customer.id}",
        "http__body": "amount, customer", "http__result": "crm"}


def start(new_uow, customer: str = "c-9") -> int:
    return service.start_instance(new_uow(), "onboarding", service.CustomerRef(customer, "Ada Moss", "premium"),
                                  {"amount": 1200, "note": "not sent"})


def someone() -> str:
    """A customer id of this test's own (PostgreSQL's database is shared by the session's tests)."""
    return f"c-{uuid.uuid4().hex[:8]}"


def view(new_uow, instance_id: int) -> dict[str, Any]:
    return queries.instance_view(new_uow(), instance_id)


def test_an_http_step_calls_the_service_with_the_case_data_and_its_answer_goes_into_the_case(new_uow, crm):
    deploy_connector(new_uow, **HTTP)
    instance_id = start(new_uow)
    assert view(new_uow, instance_id)["status"] == "running" and crm.requests == []  # nobody's request calls out
    done = jobs.run_until_idle(new_uow, "worker")
    assert done.done["service"] == 1 and done.errors == ()
    [request] = crm.requests
    assert request["path"] == "/api/customers/c-9"
    assert request["body"] == {"amount": 1200, "customer": {"id": "c-9", "name": "Ada Moss", "segment": "premium"}}
    assert request["headers"]["Authorization"] == "Bearer s3cret-from-the-environment"
    assert request["headers"]["Idempotency-Key"].startswith("valueflow-job-")
    case = view(new_uow, instance_id)
    assert case["data"]["crm"] == {"id": "crm-42", "tier": "gold"}
    assert [step["step_id"] for step in case["open_steps"]] == ["welcome"]
    assert "service_task_completed" in [event["type"] for event in case["events"]]
    assert jobs.run_until_idle(new_uow, "worker").claimed == 0 and len(crm.requests) == 1  # called once


def test_each_call_carries_its_own_idempotency_key_so_the_service_never_drops_a_new_call_as_a_repeat(
        new_uow, crm):
    body = ('<bpmn:startEvent id="begin"/><bpmn:serviceTask id="call" name="Register the customer">'
            + samples.props(**HTTP) + '</bpmn:serviceTask><bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "call", "finish"))
    xml = samples.document("registration", body, {"Customer Service": ["begin", "call", "finish"]})
    service.deploy(new_uow(), Package("registration", "registration.bpmn", {"registration.bpmn": xml}))
    for customer in ("c-1", "c-2"):  # each case's call is done, and its job deleted, before the next case starts
        service.start_instance(new_uow(), "registration", service.CustomerRef(customer, "Ada Moss", "premium"),
                               {"amount": 1200})
        assert jobs.run_until_idle(new_uow, "worker").done["service"] == 1
    first, second = crm.requests
    assert (first["path"], second["path"]) == ("/api/customers/c-1", "/api/customers/c-2")
    assert first["headers"]["Idempotency-Key"] != second["headers"]["Idempotency-Key"]


def test_a_failing_service_is_retried_with_pauses_then_the_case_is_an_incident_whose_retry_calls_again(
        new_uow, crm, clock):
    deploy_connector(new_uow, **HTTP, maxAttempts="3")
    service.add_user(new_uow(), "ops", ["admin"])
    instance_id = start(new_uow)
    crm.status, crm.answer = 500, {"error": "database down"}
    first = jobs.run_until_idle(new_uow, "worker")
    assert "crm answered 500" in first.errors[0] and "attempt 1 of 3" in first.errors[0]
    assert jobs.run_until_idle(new_uow, "worker").claimed == 0  # pausing: 1 s, then 2 s
    clock.advance(timedelta(seconds=1))
    assert "attempt 2 of 3" in jobs.run_until_idle(new_uow, "worker").errors[0]
    clock.advance(timedelta(seconds=2))
    assert jobs.run_until_idle(new_uow, "worker").errors == ()
    assert len(crm.requests) == 3
    case = view(new_uow, instance_id)
    assert case["status"] == "error" and case["open_steps"] == []
    [incident] = incidents.list_incidents(new_uow(), "ops").rows
    assert (incident.step, incident.attempts) == ("call", 3)
    assert "crm answered 500" in incident.message and "database down" in incident.message
    crm.status, crm.answer = 200, {"id": "crm-43"}
    assert incidents.retry_incident(new_uow(), instance_id, "ops") == "running"
    assert jobs.run_until_idle(new_uow, "worker").done["service"] == 1
    assert view(new_uow, instance_id)["data"]["crm"] == {"id": "crm-43"}


def test_a_hanging_service_hits_the_timeout(new_uow, crm, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_CONNECTOR_CRM_TIMEOUT", "0.3")
    deploy_connector(new_uow, **HTTP, maxAttempts="1")
    service.add_user(new_uow(), "ops", ["admin"])
    instance_id = start(new_uow)
    crm.delay = 2.0
    began = time.monotonic()
    jobs.run_until_idle(new_uow, "worker")
    assert time.monotonic() - began < 1.5
    [incident] = incidents.list_incidents(new_uow(), "ops").rows
    assert incident.instance_id == instance_id and "timed out" in incident.message


def test_a_connector_the_installation_has_not_configured_stops_at_once_naming_the_variable(
        new_uow, monkeypatch):
    monkeypatch.delenv("VALUEFLOW_CONNECTOR_CRM_URL", raising=False)
    deploy_connector(new_uow, **HTTP)  # not a deploy error: the setting may come later
    service.add_user(new_uow(), "ops", ["admin"])
    instance_id = start(new_uow)
    jobs.run_until_idle(new_uow, "worker")
    [incident] = incidents.list_incidents(new_uow(), "ops").rows
    assert incident.instance_id == instance_id
    assert incident.message == "connector crm: set VALUEFLOW_CONNECTOR_CRM_URL (the service's address)"


def test_a_request_the_service_refuses_is_an_incident_without_retries(new_uow, crm):
    deploy_connector(new_uow, **HTTP)
    service.add_user(new_uow(), "ops", ["admin"])
    start(new_uow)
    crm.status, crm.answer = 422, {"error": "amount too large"}
    jobs.run_until_idle(new_uow, "worker")
    assert len(crm.requests) == 1
    [incident] = incidents.list_incidents(new_uow(), "ops").rows
    assert "crm answered 422" in incident.message and incident.attempts == 1


def test_an_email_step_sends_its_text_filled_from_the_case_data(new_uow, monkeypatch, smtp_server):
    controller, inbox = smtp_server
    monkeypatch.setenv("VALUEFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VALUEFLOW_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("VALUEFLOW_MAIL_FROM", "loans@bank.test")
    deploy_connector(new_uow, connector="email", email__to="{email}",
                     email__subject="Welcome, {customer.name}",
                     email__body="Your application for {amount} EUR is in. {__class__} stays as written.")
    instance_id = service.start_instance(new_uow(), "onboarding",
                                         service.CustomerRef("c-9", "Ada Moss", "standard"),
                                         {"amount": 1200, "email": "ada@example.test"})
    assert jobs.run_until_idle(new_uow, "worker").done["service"] == 1
    [message] = inbox.messages
    assert message.rcpt_tos == ["ada@example.test"] and message.mail_from == "loans@bank.test"
    text = message.content.decode()
    assert "Subject: Welcome, Ada Moss" in text
    assert "Your application for 1200 EUR is in. {__class__} stays as written." in text
    assert [step["step_id"] for step in view(new_uow, instance_id)["open_steps"]] == ["welcome"]


def test_a_service_that_never_answers_does_not_hold_back_a_due_timer_in_the_same_worker(
        stored_uow, clock, silent_peer, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_CONNECTOR_CRM_URL", silent_peer + "/api")
    monkeypatch.setenv("VALUEFLOW_CONNECTOR_CRM_TIMEOUT", "4")
    deploy_connector(stored_uow, **HTTP)
    calling = start(stored_uow, someone())  # its call is due now
    waiting = service.start_instance(stored_uow(), deploy_timer_process(stored_uow),
                                     service.CustomerRef(someone(), "Bo Lind", "standard"))  # its timer in an hour
    clock.set(T0 + timedelta(hours=1, minutes=1))
    worker = BackgroundWorker(stored_uow, 0.05, lambda line: None, lambda line: None)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not timer_fired(stored_uow, waiting) and not call_errors(stored_uow) and time.monotonic() < deadline:
            time.sleep(0.05)
        fired, why = timer_fired(stored_uow, waiting), call_errors(stored_uow)
    finally:
        assert worker.stop()
    assert fired and why == []  # it fired while the call still waited on the service (4 s before it gives up)
    assert view(stored_uow, waiting)["status"] == "completed"
    assert any("timed out" in error for error in call_errors(stored_uow))  # then the call gave up, to be retried
    assert view(stored_uow, calling)["status"] == "running"


def timer_fired(new_uow, instance_id: int) -> bool:  # type: ignore[no-untyped-def]
    uow = new_uow()
    with uow:
        return uow.session.scalar(select(TaskEvent.id).where(TaskEvent.instance_id == instance_id,
                                                             TaskEvent.type == "timer_fired")) is not None


def call_errors(new_uow) -> list[str]:  # type: ignore[no-untyped-def]
    """Why the connector calls failed so far, as kept on their jobs."""
    uow = new_uow()
    with uow:
        return list(uow.session.scalars(select(Job.last_error).where(Job.kind == "service",
                                                                     Job.last_error.is_not(None))))


def test_calls_waiting_behind_slow_ones_are_not_claimed_again_by_another_worker(stored_uow, clock, crm):
    """Each call takes 20 s of the worker's minute-long lease: a batch of five claimed at once would see the
    leases of the last ones run out while the first calls wait, and another worker would claim and call them again."""
    deploy_connector(stored_uow, **HTTP)
    cases = [start(stored_uow, someone()) for _ in range(5)]
    claimed_by_another: list[list[int]] = []

    def twenty_seconds_a_call() -> None:
        clock.set(clock.now() + timedelta(seconds=20))
        if len(crm.requests) == 5:  # while the last call waits, a second worker looks for due calls
            claimed_by_another.append([job.instance_id for job in jobs.claim_due(
                stored_uow, "worker-b", jobs.LEASE, jobs.BATCH, CALLING)])

    crm.on_request = twenty_seconds_a_call
    done = jobs.run_until_idle(stored_uow, "worker-a")
    assert done.done["service"] == 5 and claimed_by_another == [[]]
    assert len(crm.requests) == 5  # each case's service called once
    assert all(view(stored_uow, case)["open_steps"][0]["step_id"] == "welcome" for case in cases)
