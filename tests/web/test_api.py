"""The JSON API with a token: cases started, read, listed and cancelled; tasks listed, read, claimed, released,
assigned and completed, with the web app's permissions and errors as ``{"error": {...}}``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional

import pytest

from engine import service
from engine.work import queries, tokens
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan

LOAN = {"process": "loan_decision", "customer": {"id": "c-9", "name": "Ada Moss", "segment": "standard"},
        "data": {"channel": "portal"}}


class Api:
    """A client calling the API as one user, with a token of theirs."""

    def __init__(self, client: Any, new_uow: Any, user: Optional[str]) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {tokens.create_token(new_uow(), user, 'tests')}"} if user else {}

    def get(self, url: str, **query: Any) -> Any:
        return self.client.get(f"/api/v1{url}", query_string=query, headers=self.headers)

    def post(self, url: str, body: Any = None, headers: Optional[dict[str, str]] = None, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{url}", json=body, headers={**self.headers, **(headers or {})}, **kwargs)


@pytest.fixture
def as_user(client, new_uow):
    return lambda user: Api(client, new_uow, user)


def assert_error(response: Any, status: int, fragment: str = "", fields: tuple[str, ...] = ()) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    found = response.get_json()["error"]
    assert set(found) == {"code", "message", "fields"}
    assert fragment.lower() in found["message"].lower(), found
    assert set(fields) <= set(found["fields"]), found
    return found


def cases_of(new_uow: Any) -> int:
    with new_uow() as uow:
        return len(queries.list_tasks(uow, status=None))


def test_a_case_started_over_the_api_answers_201_with_its_id_status_and_open_steps(as_user, new_uow):
    response = as_user("customer-service").post("/instances", LOAN)
    assert response.status_code == 201
    case = response.get_json()
    assert response.headers["Location"] == f"/api/v1/instances/{case['id']}"
    assert case["status"] == "running" and case["process"] == "loan_decision"
    assert case["customer"] == LOAN["customer"] and case["data"]["channel"] == "portal"
    [step] = case["open_steps"]
    assert step["instance_id"] == case["id"] and step["role"] == "customer-service"
    assert datetime.fromisoformat(step["created_at"]).utcoffset() is not None
    assert queries.instance_view(new_uow(), case["id"])["events"][0]["actor"] == "customer-service"


@pytest.mark.parametrize("user, body, status, fragment, fields", [
    ("credit-analyst", LOAN, 403, "started by the role customer-service", ()),
    ("customer-service", {**LOAN, "process": "no_such"}, 404, "no process 'no_such'", ()),
    ("customer-service", {"process": "loan_decision"}, 422, "customer", ("customer",)),
    ("customer-service", {**LOAN, "customer": {"id": "c 9!", "name": ""}}, 422, "customer id", ("customer",)),
    ("customer-service", {**LOAN, "customer": {**LOAN["customer"], "segment": "gold"}}, 422, "segment",
     ("customer.segment",)),
    ("customer-service", {**LOAN, "data": [1]}, 422, "data", ("data",)),
    ("customer-service", {**LOAN, "customer": {"id": "c-9", "name": "Ada\u202e Moss"}}, 422,
     "A customer's name cannot hold the invisible character U+202E", ()),
    ("customer-service", {**LOAN, "customer": {"id": "c-9", "name": "Ada\x07Moss"}}, 422, "U+0007", ()),
    ("customer-service", {**LOAN, "data": {"credit_score": 1}}, 422,
     "the initial data names 'credit_score', which the process's scripts call as functions", ()),
    ("customer-service", {**LOAN, "data": {"__builtins__": {"open": 1}, "feel_date": 2}}, 422,
     "names '__builtins__', 'feel_date'", ()),
    ("process-owner", LOAN, 403, "front-line staff and managers", ()),
    (None, LOAN, 401, "Authorization: Bearer", ()),
])
def test_a_refused_start_says_why_with_its_status_and_starts_nothing(as_user, new_uow, user, body, status,
                                                                     fragment, fields):
    before = cases_of(new_uow)
    assert_error(as_user(user).post("/instances", body), status, fragment, fields)
    assert cases_of(new_uow) == before


def test_a_body_nested_too_deeply_to_read_is_a_400_that_says_so(as_user, new_uow):
    body = '{"process": "loan_decision", "customer": {"id": "c-9", "name": "Ada"}, "data": {"a": ' + "[" * 5000 \
        + "]" * 5000 + "}}"
    response = as_user("customer-service").post("/instances", data=body, content_type="application/json")
    assert_error(response, 400, "The JSON body nests its lists or objects too deeply to be read")
    assert cases_of(new_uow) == 0


def test_a_body_holding_a_number_too_long_to_read_is_a_400_that_says_so(as_user, new_uow):
    body = '{"process": "loan_decision", "customer": {"id": "c-9", "name": "Ada"}, "data": {"a": ' + "9" * 5000 + "}}"
    response = as_user("customer-service").post("/instances", data=body, content_type="application/json")
    assert_error(response, 400, "The JSON body holds a number too long to read (more than 4,300 digits)")
    assert cases_of(new_uow) == 0


def test_a_body_that_is_not_json_is_a_400(as_user, new_uow):
    response = as_user("customer-service").post("/instances", data="{not json", content_type="application/json")
    assert_error(response, 400)
    assert cases_of(new_uow) == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_json_body_sent_as_another_type_is_a_415_naming_the_header_not_a_list_of_missing_fields(
        as_user, new_uow, content_type):
    body = json.dumps(LOAN)  # curl -d sends it as a form unless told otherwise
    response = as_user("customer-service").post("/instances", data=body, content_type=content_type)
    found = assert_error(response, 415, "Content-Type: application/json")
    assert found["fields"] == {} and "Missing data" not in found["message"]
    assert cases_of(new_uow) == 0


def test_an_action_without_a_body_needs_no_content_type(as_user, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    answer = as_user("customer-service").post(f"/tasks/{task['id']}/claim")
    assert answer.status_code == 200 and answer.get_json()["assignee"] == "customer-service"


def test_a_case_is_read_by_id_and_an_unknown_one_is_a_404(as_user, new_uow):
    instance_id = start_loan(new_uow)
    api = as_user("customer-service")
    assert api.get(f"/instances/{instance_id}").get_json()["id"] == instance_id
    assert_error(api.get("/instances/999999"), 404, "no instance 999999")


def test_staff_read_and_list_only_the_cases_of_their_roles_or_that_they_handled(as_user, new_uow):
    loan = start_loan(new_uow)
    analyst = as_user("credit-analyst")  # the loan waits for customer service; no step is the analyst's yet
    assert_error(analyst.get(f"/instances/{loan}"), 403, "has no step of your roles (credit-analyst)")
    assert analyst.get("/instances").get_json()["total"] == 0
    task = open_task(new_uow, loan)["id"]
    service.claim_task(new_uow(), task, "customer-service")
    service.complete_task(new_uow(), task, "customer-service", MEDIUM_RISK)
    assert analyst.get(f"/instances/{loan}").get_json()["id"] == loan
    assert [r["id"] for r in analyst.get("/instances").get_json()["rows"]] == [loan]
    assert_error(as_user("underwriter").get(f"/instances/{loan}"), 403, "did not handle it")


def test_cases_are_listed_newest_first_in_pages_and_filtered(as_user, new_uow):
    ids = [start_loan(new_uow, f"c-{n}", f"Customer {n}") for n in range(5)]
    api = as_user("manager")
    first = api.get("/instances", per_page=2).get_json()
    assert [r["id"] for r in first["rows"]] == ids[::-1][:2] and first["total"] == 5 and first["pages"] == 3
    third = api.get("/instances", per_page=2, page=3).get_json()
    assert [r["id"] for r in third["rows"]] == [ids[0]]
    assert [r["id"] for r in api.get("/instances", customer="c-3").get_json()["rows"]] == [ids[3]]
    assert api.get("/instances", status="completed").get_json()["total"] == 0
    assert_error(api.get("/instances", status="sleeping"), 422, "status", ("status",))


def test_a_manager_cancels_a_case_staff_may_not_and_a_second_cancel_is_a_conflict(as_user, new_uow):
    instance_id = start_loan(new_uow)
    assert_error(as_user("customer-service").post(f"/instances/{instance_id}/cancel"), 403, "managers")
    manager = as_user("manager")
    assert manager.post(f"/instances/{instance_id}/cancel").get_json()["status"] == "cancelled"
    assert_error(manager.post(f"/instances/{instance_id}/cancel"), 409, "already cancelled")


def test_a_task_is_listed_read_with_its_form_value_and_target_claimed_and_completed(as_user, new_uow):
    instance_id = start_loan(new_uow)
    api = as_user("customer-service")
    queue = api.get("/tasks", view="queues").get_json()
    [row] = [r for r in queue["rows"] if r["instance_id"] == instance_id]
    detail = api.get(f"/tasks/{row['id']}").get_json()
    assert detail["task"]["customer_value"] and detail["task"]["target_seconds"] > 0
    assert detail["form"]["type"] == "object" and detail["customer"]["name"] == "Ada Moss"
    assert api.post(f"/tasks/{row['id']}/claim").get_json()["assignee"] == "customer-service"
    refused = api.post(f"/tasks/{row['id']}/complete", {"data": {"loan_amount": "lots"}})
    assert_error(refused, 422, "not accepted", ("loan_amount",))
    assert open_task(new_uow, instance_id)["id"] == row["id"]
    case = api.post(f"/tasks/{row['id']}/complete", {"data": MEDIUM_RISK}).get_json()
    assert case["id"] == instance_id and [s["role"] for s in case["open_steps"]] == ["credit-analyst"]
    assert_error(api.post(f"/tasks/{row['id']}/complete", {"data": MEDIUM_RISK}), 409, "already completed")


@pytest.mark.parametrize("user", ["manager", "admin"])
def test_the_queues_of_a_user_with_no_staff_role_are_empty(as_user, new_uow, user):
    start_loan(new_uow)
    answer = as_user(user).get("/tasks", view="queues")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["rows"] == [] and answer.get_json()["total"] == 0
    assert len(as_user(user).get("/tasks", view="all").get_json()["rows"]) == 1


def test_the_role_filter_narrows_every_view_of_the_tasks_to_that_role(as_user, new_uow):
    waiting = start_loan(new_uow, "c-1")
    moved_on = start_loan(new_uow, "c-2")
    staff = as_user("customer-service")
    first = open_task(new_uow, moved_on)["id"]
    staff.post(f"/tasks/{first}/claim")
    assert staff.post(f"/tasks/{first}/complete", {"data": MEDIUM_RISK}).status_code == 200
    staff.post(f"/tasks/{open_task(new_uow, waiting)['id']}/claim")
    manager = as_user("manager")
    analysts = manager.get("/tasks", view="all", role="credit-analyst").get_json()
    assert [(row["instance_id"], row["role"]) for row in analysts["rows"]] == [(moved_on, "credit-analyst")]
    assert analysts["total"] == 1
    assert staff.get("/tasks", view="mine", role="credit-analyst").get_json()["rows"] == []
    assert [row["instance_id"] for row in staff.get("/tasks", view="mine", role="customer-service")
            .get_json()["rows"]] == [waiting]
    not_theirs = as_user("credit-analyst").get("/tasks", view="queues", role="underwriter").get_json()
    assert (not_theirs["rows"], not_theirs["total"]) == ([], 0)


def test_task_actions_keep_the_web_apps_permissions(as_user, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    analyst = as_user("credit-analyst")
    assert_error(analyst.get(f"/tasks/{task['id']}"), 403, "which you do not hold")
    assert_error(analyst.post(f"/tasks/{task['id']}/claim"), 403)
    clerk = as_user("customer-service")
    assert_error(clerk.post(f"/tasks/{task['id']}/complete", {"data": MEDIUM_RISK}), 403, "claim it first")
    assert_error(clerk.post(f"/tasks/{task['id']}/assign", {"assignee": "customer-service"}), 403, "not a manager")
    assert_error(clerk.get("/tasks", view="all"), 403, "managers")
    manager = as_user("manager")
    assert manager.post(f"/tasks/{task['id']}/assign", {"assignee": "customer-service"}).get_json()["assignee"] \
        == "customer-service"
    assert manager.post(f"/tasks/{task['id']}/release").get_json()["assignee"] is None
    assert_error(manager.post(f"/tasks/{task['id']}/assign", {}), 422, "assignee", ("assignee",))
    assert_error(as_user(None).get("/tasks"), 401)


def test_a_refusal_naming_a_user_keeps_their_name_as_it_is_written(as_user, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    manager, clerk = as_user("manager"), as_user("customer-service")
    refused = assert_error(manager.post(f"/tasks/{task['id']}/assign", {"assignee": "underwriter"}), 403)
    assert refused["message"] == (f"The user underwriter does not hold the role 'customer-service' that task "
                                  f"{task['id']} needs.")
    refused = assert_error(clerk.post(f"/tasks/{task['id']}/assign", {"assignee": "customer-service"}), 403)
    assert refused["message"] == "The user customer-service is not a manager or admin and cannot assign tasks."


def test_a_signed_in_browser_calling_the_api_still_needs_its_csrf_token(auth, client, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    auth.login("customer-service")
    assert_error(client.post(f"/api/v1/tasks/{task['id']}/claim"), 400, "security token")
    assert open_task(new_uow, task["instance_id"])["assignee"] is None
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 200


def test_an_unknown_address_or_method_under_the_api_answers_json(as_user):
    api = as_user("manager")
    assert_error(api.get("/nothing-here"), 404)
    assert_error(api.get("/tasks/1/claim"), 405)


def test_an_id_too_large_for_the_database_is_a_404_or_a_refused_field_not_a_server_error(as_user):
    api = as_user("manager")
    huge = 2**70
    assert_error(api.get(f"/instances/{huge}"), 404)
    assert_error(api.post(f"/tasks/{huge}/claim"), 404)
    assert_error(api.post("/messages", {"name": "documents_received", "instance_id": huge}), 422,
                 fields=("instance_id",))


def test_every_operation_lists_its_answers_and_the_headers_sent_with_them(client):
    """No catch-all: each status an operation answers is listed, a 401 with its WWW-Authenticate header."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operations = [operation for path in paths.values() for operation in path.values() if "responses" in operation]
    assert len(operations) == 38 and not [o for o in operations if "default" in o["responses"]]
    for operation in operations:
        assert operation["responses"]["401"]["headers"] == {
            "WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}, operation["summary"]
    started = paths["/api/v1/instances"]["post"]["responses"]
    assert set(started) == {"201", "400", "401", "403", "404", "409", "413", "415", "422"}
    assert "Location" in started["201"]["headers"]
    assert "Retry-After" in started["409"]["headers"]
