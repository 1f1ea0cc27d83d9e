"""The case page says what a case waits for, and staff record the customer's message there."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine import service
from engine.cases.errors import MessageNotExpected
from engine.definitions.packages import Package
from engine.work import queries
from tests.web.conftest import MEDIUM_RISK, open_task, password_of, start_loan, text_of


def waiting_for_documents(new_uow, clock) -> int:
    """A loan whose documents are missing: captured at 09:00, documents requested at 10:00."""
    return ask_for_documents(new_uow, clock, start_loan(new_uow))


def ask_for_documents(new_uow, clock, instance_id: int) -> int:
    """Capture the new loan ``instance_id`` without its documents, then ask the customer for them."""
    for data in ({**MEDIUM_RISK, "documents_complete": False},
                 {"missing_documents": "bank statements for May", "request_channel": "email"}):
        task = open_task(new_uow, instance_id)
        service.claim_task(new_uow(), task["id"], "customer-service")
        clock.advance(timedelta(hours=1))
        service.complete_task(new_uow(), task["id"], "customer-service", data)
    return instance_id


def messages_received(new_uow, instance_id: int) -> list[dict]:
    return [e for e in queries.instance_view(new_uow(), instance_id)["events"] if e["type"] == "message_received"]


def test_the_case_page_says_which_message_and_timer_the_case_waits_for_and_since_when(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    clock.advance(timedelta(hours=3))
    auth.login("customer-service")
    page = text_of(client.get(f"/instances/{instance_id}"))
    assert ("Waiting for Documents received — a message from outside ( documents_received ), "
            "waiting since Mon 5 Jan 2026, 11:00 (3 h 00 min).") in page
    assert "For the customer: “My application moves on the moment my papers arrive”" in page
    assert ("Two days without documents — a timer, due Wed 7 Jan 2026, 11:00 (in 1 d 21 h), "
            "waiting since Mon 5 Jan 2026, 11:00.") in page
    assert "Documents received * (required) What arrived, e.g. 'bank statements for May'. " \
           "(up to 10,000 characters) Record: Documents received" in page


def test_staff_of_the_case_record_the_documents_and_the_case_moves_on_to_credit_review(
        client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    auth.login("customer-service")
    response = auth.post(f"/instances/{instance_id}/messages/documents_received",
                         data={"documents": "bank statements for May"})
    assert response.status_code == 302 and response.headers["Location"] == f"/instances/{instance_id}"
    page = text_of(client.get(response.headers["Location"]))
    assert f"Recorded: Documents received for Ada Moss (case {instance_id})." in page
    assert "Waiting for" not in page and "Record: Documents received" not in page
    assert "Message received Documents received customer-service" in page  # the history names who recorded it
    case = queries.instance_view(new_uow(), instance_id)
    assert case["data"]["received_documents"] == {"documents": "bank statements for May"}
    assert [t["step_id"] for t in case["open_steps"]] == ["credit_review"]
    assert [(e["actor"], e["step_id"]) for e in messages_received(new_uow, instance_id)] == \
        [("customer-service", "catch_documents_received")]


def test_a_required_value_left_out_is_explained_at_its_field_and_nothing_changes(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    auth.login("customer-service")
    response = auth.post(f"/instances/{instance_id}/messages/documents_received", data={"documents": "  "})
    assert response.status_code == 303 and response.headers["Location"] == f"/instances/{instance_id}#form-errors"
    response = client.get(response.headers["Location"])
    assert response.status_code == 400
    page = text_of(response)
    assert "Some values need attention (see below); nothing was recorded yet." in page
    assert "Documents received is required." in page
    assert messages_received(new_uow, instance_id) == []
    assert [w["message"] for w in queries.instance_view(new_uow(), instance_id)["waits"] if w["message"]] == \
        ["documents_received"]


def test_a_message_the_case_no_longer_waits_for_is_a_conflict_that_changes_nothing(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    auth.login("customer-service")
    assert auth.post(f"/instances/{instance_id}/messages/documents_received",
                     data={"documents": "payslips"}).status_code == 302
    again = auth.post(f"/instances/{instance_id}/messages/documents_received", data={"documents": "payslips"},
                      follow_redirects=True)
    assert again.status_code == 409
    assert (f"Case {instance_id} is no longer waiting for “Documents received”; nothing was recorded."
            in text_of(again))
    unknown = auth.post(f"/instances/{instance_id}/messages/payment_received", data={}, follow_redirects=True)
    assert unknown.status_code == 409 and "no longer waiting for “Payment received”" in text_of(unknown)
    assert len(messages_received(new_uow, instance_id)) == 1


def test_a_message_delivered_meanwhile_makes_the_recording_a_conflict(client, auth, new_uow, clock, monkeypatch):
    """The page was read while the case waited; the message arrived (e.g. through the API) before the use case ran."""
    instance_id = waiting_for_documents(new_uow, clock)
    auth.login("customer-service")
    record = service.record_message

    def delivered_first(uow, *args, **kwargs):  # type: ignore[no-untyped-def]
        service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": "by post"}, actor="api")
        return record(uow, *args, **kwargs)

    monkeypatch.setattr(service, "record_message", delivered_first)
    response = auth.post(f"/instances/{instance_id}/messages/documents_received", data={"documents": "payslips"},
                         follow_redirects=True)
    assert response.status_code == 409
    assert (f"Nothing was recorded: case {instance_id} is not waiting for the message 'documents_received'; "
            "it waits for" in text_of(response))
    assert [e["actor"] for e in messages_received(new_uow, instance_id)] == ["api"]


def test_a_message_the_case_does_not_wait_for_is_refused_with_its_timer_due_as_the_pages_write_it(new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    with pytest.raises(MessageNotExpected) as refused:
        service.record_message(new_uow(), instance_id, "payment_received", {}, "customer-service")
    assert str(refused.value).endswith("a timer (Two days without documents, due Wed 7 Jan 2026, 11:00 UTC)")


def test_staff_of_other_processes_neither_see_the_case_nor_record(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    service.add_user(new_uow(), "warehouse-1", ["warehouse"], password_of("warehouse-1"))
    auth.login("warehouse-1")
    page = client.get(f"/instances/{instance_id}")
    assert page.status_code == 403 and "Waiting for Documents received" not in text_of(page)
    refused = auth.post(f"/instances/{instance_id}/messages/documents_received", data={"documents": "payslips"},
                        follow_redirects=True)
    assert refused.status_code == 403
    assert f"case {instance_id} has no step of your roles (warehouse)" in text_of(refused)
    assert messages_received(new_uow, instance_id) == []


def test_a_manager_records_the_message_too(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    auth.login("manager")
    assert "Record: Documents received" in text_of(client.get(f"/instances/{instance_id}"))
    assert auth.post(f"/instances/{instance_id}/messages/documents_received",
                     data={"documents": "ID card"}).status_code == 302
    assert [e["actor"] for e in messages_received(new_uow, instance_id)] == ["manager"]


def test_a_finished_case_waits_for_nothing(client, auth, new_uow, clock):
    instance_id = waiting_for_documents(new_uow, clock)
    service.cancel_instance(new_uow(), instance_id, "manager")
    auth.login("customer-service")
    assert "Waiting for" not in text_of(client.get(f"/instances/{instance_id}"))
    refused = auth.post(f"/instances/{instance_id}/messages/documents_received", data={"documents": "payslips"},
                        follow_redirects=True)
    assert refused.status_code == 409
    assert messages_received(new_uow, instance_id) == []


def test_a_service_request_being_resolved_shows_its_escalation_timer(client, auth, new_uow, clock):
    instance_id = service.start_instance(new_uow(), "service_request",
                                         service.CustomerRef("c-2", "Kim Park", "standard"), {})
    service.add_user(new_uow(), "desk", ["service-desk"])
    triage = open_task(new_uow, instance_id)
    service.claim_task(new_uow(), triage["id"], "desk")
    clock.advance(timedelta(minutes=30))
    service.complete_task(new_uow(), triage["id"], "desk", {"category": "billing", "severity": "low",
                                                             "description": "charged twice"})
    assert open_task(new_uow, instance_id)["step_id"] == "resolve_request"
    auth.login("manager")
    page = text_of(client.get(f"/instances/{instance_id}"))
    assert ("Waiting for Not resolved in 8 hours — a timer, due Mon 5 Jan 2026, 17:30 (in 8 h 00 min), "
            "waiting since Mon 5 Jan 2026, 09:30.") in page
    assert "Record:" not in page


PAYMENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:message id="paid_message" name="paid"/>
  <bpmn:process id="payment" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid"/>
    <bpmn:intermediateCatchEvent id="paid" name="Paid"><bpmn:messageEventDefinition messageRef="paid_message"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
# The message's form: one field named as a function the process's scripts call, the payload kept as case data.
PAID_FORM = {"type": "object", "properties": {"feel_put": {"type": "string", "title": "Reference"}}}


def test_a_message_whose_field_is_named_as_a_scripts_function_is_refused_and_changes_nothing(client, auth, new_uow):
    service.deploy(new_uow(), Package("payment", "payment.bpmn", {"payment.bpmn": PAYMENT,
                                                                   "forms/paid.json": json.dumps(PAID_FORM)}))
    instance_id = service.start_instance(new_uow(), "payment", service.CustomerRef("c-9", "Ida", "standard"))
    auth.login("manager")
    response = auth.post(f"/instances/{instance_id}/messages/paid", data={"feel_put": "R-1"}, follow_redirects=True)
    assert response.status_code == 400
    assert ("Nothing was recorded: the message 'paid' names 'feel_put', which the process's scripts call as "
            "functions") in text_of(response)
    assert messages_received(new_uow, instance_id) == []
    assert queries.instance_view(new_uow(), instance_id)["status"] == "running"
