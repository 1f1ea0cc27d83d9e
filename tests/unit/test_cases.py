"""Cases through the service layer: start, claim, complete, forms, timers, scripts, events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import service
from engine.definitions.forms import FormInvalid
from engine.definitions.packages import Package
from engine.work import queries
from tests import samples

ANN = service.CustomerRef("c-1", "Ann Lee", "premium")
BOB = service.CustomerRef("c-2", "Bob Stone", "standard")


def deploy(new_uow, xml: str, name: str, **files: str) -> None:
    service.deploy(new_uow(), Package(name, f"{name}.bpmn", {f"{name}.bpmn": xml, **files}))


@pytest.fixture
def staff(new_uow):
    service.add_user(new_uow(), "bo1", ["back-office"])
    service.add_user(new_uow(), "ap1", ["approver"])
    service.add_user(new_uow(), "boss", ["manager"])


def open_tasks(new_uow, instance_id: int) -> list[dict]:
    return queries.list_tasks(new_uow(), instance_id=instance_id)


def events(new_uow, instance_id: int) -> list[str]:
    return [e["type"] for e in queries.instance_view(new_uow(), instance_id)["events"]]


def test_a_started_case_waits_at_its_first_task_with_annotations_and_due_time(new_uow, clock, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    instance_id = service.start_instance(new_uow(), "two_step", ANN, {"amount": 1200})
    [task] = open_tasks(new_uow, instance_id)
    assert (task["step_id"], task["role"], task["assignee"]) == ("review", "back-office", None)
    assert task["customer_value"] == "Review for the customer"
    assert task["target_seconds"] == 3600  # the premium override
    assert task["created_at"] == clock.now().isoformat()
    assert task["due_at"] == (clock.now() + timedelta(hours=1)).isoformat()
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "running"
    assert view["data"]["amount"] == 1200 and view["data"]["customer"]["segment"] == "premium"
    assert events(new_uow, instance_id) == ["instance_started", "task_created"]


def test_a_standard_customer_gets_the_default_target(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    assert open_tasks(new_uow, instance_id)[0]["target_seconds"] == 4 * 3600


def test_claim_then_complete_moves_the_case_to_the_next_role_and_logs_every_change(new_uow, clock, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    review = open_tasks(new_uow, instance_id)[0]["id"]
    started = clock.now()
    clock.advance(timedelta(minutes=30))
    service.claim_task(new_uow(), review, "bo1")
    clock.advance(timedelta(minutes=15))
    service.complete_task(new_uow(), review, "bo1", {"comment": "looks fine"})
    [approve] = open_tasks(new_uow, instance_id)
    assert approve["step_id"] == "approve" and approve["role"] == "approver"
    [done] = queries.list_tasks(new_uow(), instance_id=instance_id, status="completed")
    assert done["completed_by"] == "bo1"
    assert done["claimed_at"] == (started + timedelta(minutes=30)).isoformat()
    service.claim_task(new_uow(), approve["id"], "ap1")
    service.complete_task(new_uow(), approve["id"], "ap1", {})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "completed" and view["open_steps"] == []
    assert view["data"]["comment"] == "looks fine"
    assert events(new_uow, instance_id) == [
        "instance_started", "task_created", "task_claimed", "task_completed", "task_created",
        "task_claimed", "task_completed", "instance_completed"]


def test_only_holders_of_the_role_can_claim_and_only_the_assignee_can_complete(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    task = open_tasks(new_uow, service.start_instance(new_uow(), "two_step", BOB))[0]["id"]
    with pytest.raises(service.NotAllowed, match="does not hold the role 'back-office'"):
        service.claim_task(new_uow(), task, "ap1")
    with pytest.raises(service.NotAllowed, match="not claimed by anyone"):
        service.complete_task(new_uow(), task, "bo1", {})
    service.claim_task(new_uow(), task, "bo1")
    with pytest.raises(service.NotAllowed, match="assigned to bo1"):
        service.complete_task(new_uow(), task, "ap1", {})
    with pytest.raises(service.NotFound, match="no user named 'ghost'"):
        service.claim_task(new_uow(), task, "ghost")


def test_a_second_completion_is_refused_and_changes_nothing(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    task = open_tasks(new_uow, instance_id)[0]["id"]
    service.claim_task(new_uow(), task, "bo1")
    service.complete_task(new_uow(), task, "bo1", {})
    before = queries.instance_view(new_uow(), instance_id)
    with pytest.raises(service.TaskClosed, match="already completed by bo1"):
        service.complete_task(new_uow(), task, "bo1", {})
    assert queries.instance_view(new_uow(), instance_id) == before


def test_release_puts_a_task_back_and_a_manager_can_assign_only_to_a_role_holder(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    task = open_tasks(new_uow, service.start_instance(new_uow(), "two_step", BOB))[0]["id"]
    service.claim_task(new_uow(), task, "bo1")
    service.release_task(new_uow(), task, "bo1")
    assert queries.list_tasks(new_uow(), role="back-office")[0]["assignee"] is None
    with pytest.raises(service.NotAllowed, match="not a manager"):
        service.assign_task(new_uow(), task, "bo1", "ap1")
    with pytest.raises(service.NotAllowed, match="ap1 does not hold the role"):
        service.assign_task(new_uow(), task, "ap1", "boss")
    service.assign_task(new_uow(), task, "bo1", "boss")
    assert queries.list_tasks(new_uow(), user="bo1")[0]["id"] == task


FORM = """{"type": "object", "title": "Review",
  "properties": {"amount": {"type": "number", "title": "Amount", "minimum": 1},
                 "decision": {"type": "string", "enum": ["approve", "decline"]},
                 "note": {"type": "string"}},
  "required": ["amount", "decision"]}"""


def test_a_wrong_form_value_is_refused_per_field_and_changes_nothing(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step", **{"forms/review.json": FORM})
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    task = open_tasks(new_uow, instance_id)[0]["id"]
    service.claim_task(new_uow(), task, "bo1")
    before = queries.instance_view(new_uow(), instance_id)
    with pytest.raises(FormInvalid) as caught:
        service.complete_task(new_uow(), task, "bo1", {"amount": "lots", "decision": "maybe", "risk": "LOW"})
    assert caught.value.errors == {"amount": "must be a number", "decision": "must be one of approve, decline",
                                   "risk": "is not a field of this form"}
    with pytest.raises(FormInvalid) as caught:
        service.complete_task(new_uow(), task, "bo1", {"amount": 0})
    assert caught.value.errors == {"amount": "must be at least 1", "decision": "is required"}
    assert queries.instance_view(new_uow(), instance_id) == before
    service.complete_task(new_uow(), task, "bo1", {"amount": 250.5, "decision": "approve"})
    assert queries.instance_view(new_uow(), instance_id)["data"]["decision"] == "approve"


def test_cancelling_a_case_cancels_its_open_tasks(new_uow, staff):
    deploy(new_uow, samples.two_step(), "two_step")
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    service.cancel_instance(new_uow(), instance_id, "boss")
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "cancelled" and view["open_steps"] == []
    assert events(new_uow, instance_id)[-2:] == ["task_cancelled", "instance_cancelled"]
    with pytest.raises(service.TaskClosed):
        service.cancel_instance(new_uow(), instance_id, "boss")


def test_an_unknown_process_task_or_instance_is_a_clear_error(new_uow, staff):
    with pytest.raises(service.NotFound, match="no process 'nope' is deployed"):
        service.start_instance(new_uow(), "nope", BOB)
    with pytest.raises(service.NotFound, match="no task 99"):
        service.claim_task(new_uow(), 99, "bo1")
    with pytest.raises(service.NotFound, match="no instance 42"):
        queries.instance_view(new_uow(), 42)


def test_a_plain_bpmn_task_is_work_for_its_lane_like_a_user_task(new_uow, staff):
    body = ('<bpmn:startEvent id="begin"/><bpmn:task id="call" name="Call the customer"/>'
            '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "call", "finish"))
    deploy(new_uow, samples.document("plain", body, {"Back Office": ["begin", "call", "finish"]}), "plain")
    instance_id = service.start_instance(new_uow(), "plain", BOB)
    [task] = open_tasks(new_uow, instance_id)
    assert (task["step_id"], task["role"]) == ("call", "back-office")
    service.claim_task(new_uow(), task["id"], "bo1")
    service.complete_task(new_uow(), task["id"], "bo1", {})
    assert queries.instance_view(new_uow(), instance_id)["status"] == "completed"


def counting_loop(limit: str) -> str:
    """start → script n = n + 1 → gateway: again while n < limit → end (no person, no timer in the loop)."""
    body = ('<bpmn:startEvent id="begin"/>'
            '<bpmn:scriptTask id="count" name="Count"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>'
            '<bpmn:exclusiveGateway id="more" default="f_done"/><bpmn:endEvent id="finish"/>'
            + samples.flow("f_in", "begin", "count") + samples.flow("f_check", "count", "more")
            + samples.flow("f_again", "more", "count", f"n &lt; {limit}") + samples.flow("f_done", "more", "finish"))
    return samples.document("counting", body, {"Back Office": ["begin", "count", "more", "finish"]})


def test_an_automatic_loop_of_a_thousand_passes_runs_to_its_end(new_uow):
    deploy(new_uow, counting_loop("1000"), "counting")
    instance_id = service.start_instance(new_uow(), "counting", BOB, {"n": 0})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["n"]) == ("completed", 1000)


def test_an_endless_automatic_loop_stops_the_case_with_a_clear_error(new_uow):
    deploy(new_uow, counting_loop("10**9"), "counting")
    instance_id = service.start_instance(new_uow(), "counting", BOB, {"n": 0})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error"
    assert view["error"]["step"] == "count"
    assert "loops without end" in view["error"]["message"]
