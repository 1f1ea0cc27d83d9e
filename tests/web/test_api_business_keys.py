"""Business keys over the API: a case started with one is found by it, a second case of the process with the
same key is refused, and the customer's messages reach a case by its key."""

from __future__ import annotations

from engine import service
from engine.work import queries
from tests.web.test_case_messages import ask_for_documents
from tests.web.test_api import LOAN, as_user, assert_error  # noqa: F401 (as_user is a fixture)

DOCUMENTS = {"name": "documents_received", "business_key": "APP-1", "data": {"documents": "payslips for May"}}


def waiting_for_documents(api, new_uow, clock, business_key: str = "APP-1") -> int:
    """A loan started over the API with ``business_key``, whose documents were then asked for."""
    return ask_for_documents(new_uow, clock, api.post("/instances", {**LOAN, "business_key": business_key})
                             .get_json()["id"])


def test_a_case_started_with_a_business_key_shows_it_and_a_second_one_with_that_key_is_refused(as_user, new_uow):
    api = as_user("customer-service")
    first = api.post("/instances", {**LOAN, "business_key": "APP-1"})
    assert first.status_code == 201 and first.get_json()["business_key"] == "APP-1"
    case_id = first.get_json()["id"]
    assert api.get(f"/instances/{case_id}").get_json()["business_key"] == "APP-1"
    assert_error(api.post("/instances", {**LOAN, "business_key": "APP-1"}), 409,
                 f"case {case_id} of loan_decision already has the business key 'APP-1'")
    assert as_user("manager").get("/instances").get_json()["total"] == 1
    assert api.post("/instances", {**LOAN, "business_key": "APP-2"}).status_code == 201


def test_a_message_correlated_by_business_key_moves_the_waiting_case_on(as_user, new_uow, clock):
    api = as_user("customer-service")
    instance_id = waiting_for_documents(api, new_uow, clock)
    response = api.post("/messages", DOCUMENTS)
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["id"] == instance_id and [s["role"] for s in case["open_steps"]] == ["credit-analyst"]
    [received] = [e for e in case["events"] if e["type"] == "message_received"]
    assert received["actor"] == "customer-service"


def test_a_message_by_instance_id_reaches_the_case_too(as_user, new_uow, clock):
    api = as_user("manager")
    instance_id = waiting_for_documents(as_user("customer-service"), new_uow, clock)
    body = {"name": "documents_received", "instance_id": instance_id, "data": {"documents": "payslips"}}
    assert api.post("/messages", body).get_json()["waits"] == []


def test_an_unknown_business_key_answers_404_and_changes_nothing(as_user, new_uow, clock):
    api = as_user("customer-service")
    instance_id = waiting_for_documents(api, new_uow, clock)
    before = queries.instance_view(new_uow(), instance_id)
    assert_error(api.post("/messages", {**DOCUMENTS, "business_key": "APP-404"}), 404,
                 "no case has the business key 'APP-404'")
    assert queries.instance_view(new_uow(), instance_id) == before


def test_a_message_the_case_does_not_wait_for_answers_409_with_what_it_waits_for(as_user, new_uow, clock):
    api = as_user("customer-service")
    instance_id = waiting_for_documents(api, new_uow, clock)
    before = queries.instance_view(new_uow(), instance_id)
    found = assert_error(api.post("/messages", {**DOCUMENTS, "name": "payment_received"}), 409,
                         f"case {instance_id} is not waiting for the message 'payment_received'")
    assert "it waits for the message 'documents_received' (Documents received)" in found["message"]
    assert queries.instance_view(new_uow(), instance_id) == before
    api.post("/instances", {**LOAN, "business_key": "APP-2"})
    found = assert_error(api.post("/messages", {**DOCUMENTS, "business_key": "APP-2"}), 409)
    assert "it waits for none: only for its open steps" in found["message"]


def test_a_message_must_name_its_case_once_and_a_key_of_several_processes_needs_the_process(as_user, new_uow,
                                                                                             clock):
    api = as_user("manager")
    assert_error(api.post("/messages", {"name": "documents_received"}), 422, "instance_id or by business_key",
                 ("instance_id",))
    assert_error(api.post("/messages", {**DOCUMENTS, "instance_id": 1}), 422, fields=("instance_id",))
    waiting_for_documents(as_user("customer-service"), new_uow, clock)
    service.start_instance(new_uow(), "order_to_cash", service.CustomerRef("c-9", "Ada Moss", "standard"),
                           {}, business_key="APP-1")
    assert_error(api.post("/messages", DOCUMENTS), 422, "several processes (loan_decision, order_to_cash)")
    assert api.post("/messages", {**DOCUMENTS, "process": "loan_decision"}).status_code == 200
