"""A step whose code runs away, or leaves a value a case cannot keep, errors its own case; the server answers on.

Through the web app: a person completes a task, the step after it runs the
bad code, the case ends in error at that step with a message saying why, and
other requests are answered meanwhile and afterwards.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from engine import service
from engine.definitions.packages import Package
from engine.storage.uow import UnitOfWorkFactory
from engine.work import queries
from tests import samples
from tests.web.conftest import Auth, open_task

CUSTOMER = service.CustomerRef("c-limits", "Ann Lee", "standard")


def reviewed_then_routed(key: str, condition: str) -> str:
    """start → Review (Customer Service) → Route (gateway: ``condition`` → Big, else Small) → end."""
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + '<bpmn:exclusiveGateway id="route" name="Route" default="to_small"/>'
            + samples.user_task("big", "Big order") + samples.user_task("small", "Small order")
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "review", "route")
            + samples.flow("to_big", "route", "big", condition) + samples.flow("to_small", "route", "small")
            + samples.chain("big", "finish") + samples.flow("small_done", "small", "finish"))
    return samples.document(key, body, {"Customer Service": ["begin", "review", "route", "big", "small", "finish"]})


def reviewed_then_scripted(key: str, script: str) -> str:
    """start → Review (Customer Service) → Calculate (script) → Approve (Customer Service) → end."""
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + f'<bpmn:scriptTask id="calculate" name="Calculate" scriptFormat="python">'
            f"<bpmn:script><![CDATA[{script}]]></bpmn:script></bpmn:scriptTask>"
            + samples.user_task("approve", "Approve") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "review", "calculate", "approve", "finish"))
    return samples.document(key, body, {"Customer Service": ["begin", "review", "calculate", "approve", "finish"]})


def claimed_review(new_uow: UnitOfWorkFactory, key: str, xml: str) -> tuple[int, int]:
    """Deploy the process, start a case and claim its review for customer-service: (case id, task id)."""
    service.deploy(new_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}))
    instance_id = service.start_instance(new_uow(), key, CUSTOMER)
    task_id = open_task(new_uow, instance_id)["id"]
    service.claim_task(new_uow(), task_id, "customer-service")
    return instance_id, task_id


def complete_as_customer_service(app: Flask, task_id: int) -> Any:
    auth = Auth(app.test_client())
    auth.login("customer-service")
    return auth.post(f"/tasks/{task_id}/complete", {"comment": "checked"})


def test_while_a_case_computes_a_huge_power_the_server_answers_and_the_case_errors(app, new_uow, auth):
    instance_id, task_id = claimed_review(new_uow, "powered", reviewed_then_routed("powered", "10 ** 10 ** 8 &gt; 1"))
    auth.login("manager")
    outcome: dict[str, Any] = {}
    completing = threading.Thread(target=lambda: outcome.update(response=complete_as_customer_service(app, task_id)))
    completing.start()
    answered = []
    while completing.is_alive():  # with the power computed in the server's process, no request would be answered
        answered.append(auth.client.get("/healthz").status_code)  # signed in: it reads the account too
        completing.join(0.05)
    assert len(answered) > 5 and set(answered) == {200}
    assert outcome["response"].status_code == 302  # the completion stands; the error is the case's
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error"
    assert view["error"] == {"step": "route", "message": "the script of step 'Route' used more than 2 s of CPU"}
    assert auth.client.get(f"/instances/{instance_id}").status_code == 200


@pytest.mark.parametrize("script, message", [
    ("big = 10 ** 5000", "the script left an integer of more than 4,000 digits in 'big'"),
    ("deep = []\nfor i in range(5000):\n    deep = [deep]",
     "the script left lists or dicts nested more than 100 levels deep in 'deep'"),
    ("rules = {'check': lambda x: x}", "the script left a function in 'rules'"),
], ids=["5,000 digits", "5,000 deep", "function"])
def test_a_value_a_case_cannot_keep_errors_the_case_at_its_step_and_the_server_answers_on(
        app, new_uow, auth, script, message):
    instance_id, task_id = claimed_review(new_uow, "keeper", reviewed_then_scripted("keeper", script))
    response = complete_as_customer_service(app, task_id)
    assert response.status_code == 302
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error"
    assert view["error"]["step"] == "calculate" and message in view["error"]["message"]
    assert [t["status"] for t in queries.list_tasks(new_uow(), instance_id=instance_id, status=None)] == ["completed"]
    auth.login("customer-service")
    assert auth.client.get("/inbox").status_code == 200
    assert auth.client.get(f"/instances/{instance_id}").status_code == 200
    other = service.start_instance(new_uow(), "keeper", CUSTOMER)
    assert queries.instance_view(new_uow(), other)["status"] == "running"


@pytest.mark.parametrize("script, kept", [
    ("raise ValueError('E' * 50000000)", "ValueError: " + "E" * 1988 + "… (cut: the message has 50,000,012 characters)"),
    ("raise ValueError(chr(0xdc00) + 'x' + chr(0) + 'y')", "ValueError: \ufffdx\ufffdy"),
], ids=["50 million characters", "lone surrogate and NUL"])
def test_a_failed_steps_message_is_kept_short_and_writable(app, new_uow, auth, script, kept):
    instance_id, task_id = claimed_review(new_uow, "raiser", reviewed_then_scripted("raiser", script))
    assert complete_as_customer_service(app, task_id).status_code == 302
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error"
    assert view["error"] == {"step": "calculate", "message": kept}
    auth.login("admin")
    assert auth.client.get(f"/instances/{instance_id}").status_code == 200
    incidents = auth.client.get("/incidents")
    assert incidents.status_code == 200 and len(incidents.get_data()) < 200_000
