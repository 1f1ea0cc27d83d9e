"""A process that calls itself behind a condition: a case that stops calling ends, and one whose data keeps the
condition true stops in error at the call."""

from __future__ import annotations

from engine import incidents, service
from engine.definitions.packages import Package
from engine.work import accounts, case_pages, queries
from tests import samples

KIM = service.CustomerRef("c-1", "Kim Park", "standard")


def calling(key: str, body: str) -> str:
    return samples.document(key, body, {})


def call(call_id: str, name: str, called: str) -> str:
    return f'<bpmn:callActivity id="{call_id}" name="{name}" calledElement="{called}"/>'


# start → Count (remaining - 1, levels + 1) → More? (remaining > 0: Count down, the process itself; else end)
COUNTDOWN = calling("countdown", (
    '<bpmn:startEvent id="begin"/>'
    '<bpmn:scriptTask id="count" name="Count" scriptFormat="python">'
    "<bpmn:script>remaining = remaining - 1\nlevels = levels + 1</bpmn:script></bpmn:scriptTask>"
    '<bpmn:exclusiveGateway id="more" name="More?" default="to_finish"/>'
    + call("again", "Count down", "countdown") + '<bpmn:endEvent id="finish"/>'
    + samples.chain("begin", "count", "more") + samples.flow("to_again", "more", "again", "remaining &gt; 0")
    + samples.flow("to_finish", "more", "finish") + samples.flow("back", "again", "finish")))


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
