"""A process that calls itself: refused at deploy when no case could ever stop calling; behind a condition it
deploys, a case whose data keeps the condition true stops in error at the call, and one that stops calling ends."""

from __future__ import annotations

import pytest

from engine import incidents, service
from engine.definitions.packages import DeploymentRefused, Package
from engine.errors import NotFound
from engine.work import accounts, case_pages, queries
from tests import samples

KIM = service.CustomerRef("c-1", "Kim Park", "standard")
ENDLESS = ("call activity calls {what}, and every path from the start to an end goes through it, so a case would "
           "call again and again without end: put the call behind a gateway whose other path ends the process, "
           "taken when there is no more to do")


def calling(key: str, body: str) -> str:
    return samples.document(key, body, {})


def call(call_id: str, name: str, called: str) -> str:
    return f'<bpmn:callActivity id="{call_id}" name="{name}" calledElement="{called}"/>'


def always_calls(key: str, called: str) -> str:
    """start → Call ``called`` → end."""
    return calling(key, '<bpmn:startEvent id="begin"/>' + call(f"call_{called}", f"Call {called}", called)
                   + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", f"call_{called}", "finish"))


# start → Count (remaining - 1, levels + 1) → More? (remaining > 0: Count down, the process itself; else end)
COUNTDOWN = calling("countdown", (
    '<bpmn:startEvent id="begin"/>'
    '<bpmn:scriptTask id="count" name="Count" scriptFormat="python">'
    "<bpmn:script>remaining = remaining - 1\nlevels = levels + 1</bpmn:script></bpmn:scriptTask>"
    '<bpmn:exclusiveGateway id="more" name="More?" default="to_finish"/>'
    + call("again", "Count down", "countdown") + '<bpmn:endEvent id="finish"/>'
    + samples.chain("begin", "count", "more") + samples.flow("to_again", "more", "again", "remaining &gt; 0")
    + samples.flow("to_finish", "more", "finish") + samples.flow("back", "again", "finish")))


def refusal(new_uow, package: Package) -> list[str]:
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    return [str(p) for p in caught.value.problems if not p.warning]


def test_a_call_of_its_own_process_on_every_path_is_refused_naming_the_call(new_uow):
    problems = refusal(new_uow, Package("loop", "loop.bpmn", {"loop.bpmn": always_calls("loop", "loop")}))
    assert problems == ["call_loop (Call loop): " + ENDLESS.format(what="its own process 'loop'")]
    with pytest.raises(NotFound):
        service.start_instance(new_uow(), "loop", KIM)


def test_calls_that_come_back_on_every_path_through_another_diagram_are_refused_naming_each(new_uow):
    files = {"ping.bpmn": always_calls("ping", "pong"), "pong.bpmn": always_calls("pong", "ping")}
    assert refusal(new_uow, Package("ping", "ping.bpmn", files)) == [
        "call_pong (Call pong): " + ENDLESS.format(
            what="the process 'pong', which on every path through it calls this call activity's process 'ping' again "
                 "(directly or through the processes it calls)"),
        "call_ping (Call ping): " + ENDLESS.format(
            what="the process 'ping', which on every path through it calls this call activity's process 'pong' again "
                 "(directly or through the processes it calls)")]


def test_a_case_calling_its_own_process_until_its_condition_fails_ends_with_the_data_of_every_level(new_uow):
    service.deploy(new_uow(), Package("countdown", "countdown.bpmn", {"countdown.bpmn": COUNTDOWN}))
    instance_id = service.start_instance(new_uow(), "countdown", KIM, {"remaining": 3, "levels": 0})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "completed", view["error"]
    assert (view["data"]["remaining"], view["data"]["levels"]) == (0, 3)


def test_a_case_whose_condition_keeps_calling_stops_in_error_at_the_call_and_fails_again_on_retry(new_uow):
    service.deploy(new_uow(), Package("countdown", "countdown.bpmn", {"countdown.bpmn": COUNTDOWN}))
    service.add_user(new_uow(), "owner", ["process-owner"])
    instance_id = service.start_instance(new_uow(), "countdown", KIM, {"remaining": 1_000_000, "levels": 0})
    view = queries.instance_view(new_uow(), instance_id)
    message = ("the call activity 'Count down' would run the process 'countdown' 51 levels deep, past the 50 levels "
               "of processes a case may open inside one another: a process that calls itself, directly or through "
               "the processes it calls, must come to a path that stops calling (a gateway whose other path ends the "
               "process)")
    assert (view["status"], view["error"]) == ("error", {"step": "again", "message": message})
    assert [e["type"] for e in view["events"]] == ["instance_started", "instance_errored"]
    page = case_pages.instance_page(new_uow(), instance_id, accounts.account(new_uow(), "owner"))
    assert page["error"]["step"] == "again"
    [incident] = incidents.list_incidents(new_uow(), "owner").rows
    assert (incident.instance_id, incident.step, incident.step_name, incident.attempts) == (
        instance_id, "again", "Count down", 1)

    assert incidents.retry_incident(new_uow(), instance_id, "owner") == "error"
    [incident] = incidents.list_incidents(new_uow(), "owner").rows
    assert (incident.step, incident.message, incident.attempts) == ("again", message, 2)
    incidents.cancel_incident(new_uow(), instance_id, "owner")
    assert queries.instance_view(new_uow(), instance_id)["status"] == "cancelled"
