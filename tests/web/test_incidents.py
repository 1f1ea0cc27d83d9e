"""/incidents and /api/v1/incidents: admins and process owners list the cases in error, filter them, page through
them, retry them and cancel them; everyone else is refused, and every bad request changes nothing."""

from __future__ import annotations

import pytest

from engine import service
from engine.work import queries
from tests import samples
from tests.web.conftest import start_loan, text_of
from tests.web.test_api import as_user, assert_error  # noqa: F401 - as_user is a fixture
from tests.web.test_ops import deploy_sample

ADA = service.CustomerRef("c-inc", "Ada Incident", "standard")


def failing(new_uow, key: str, step: str, script: str) -> None:  # type: ignore[no-untyped-def]
    task = f'<bpmn:scriptTask id="{step}" name="Compute"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
    deploy_sample(new_uow, key, '<bpmn:startEvent id="begin"/>' + task + '<bpmn:endEvent id="finish"/>'
                  + samples.chain("begin", step, "finish"))


@pytest.fixture
def in_error(new_uow) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Three cases failing on a division by zero, one on an unknown name, and a loan going on."""
    failing(new_uow, "divides", "divide", "x = 1 / 0")
    failing(new_uow, "looks_up", "look_up", "x = nowhere")
    start_loan(new_uow)
    return {"divides": [service.start_instance(new_uow(), "divides", ADA) for _ in range(3)],
            "looks_up": [service.start_instance(new_uow(), "looks_up", ADA)]}


def test_the_page_lists_every_case_in_error_with_its_step_message_and_attempts(auth, client, in_error):
    auth.login("process-owner")
    page = text_of(client.get("/incidents"))
    for instance_id in in_error["divides"] + in_error["looks_up"]:
        assert f"#{instance_id}" in page
    assert "division by zero" in page and "look_up" in page and "4 cases in error" in page
    assert "Compute look_up" in page  # the step as the diagram names it, with its id beside


def test_the_page_filters_by_process_step_and_message_and_pages(app, auth, client, in_error):
    auth.login("admin")
    assert "3 cases in error" in text_of(client.get("/incidents?process=divides"))
    assert "1 case in error" in text_of(client.get("/incidents?step=look_up"))
    only = text_of(client.get("/incidents?message=DIVISION"))
    assert "3 cases in error" in only and f"#{in_error['looks_up'][0]}" not in only
    assert "No case in error matches" in text_of(client.get("/incidents?message=no+such+words"))
    app.config["PER_PAGE"] = 2
    first, second = (text_of(client.get(f"/incidents?process=divides&page={n}")) for n in (1, 2))
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    shown = [[i for i in in_error["divides"] if f"#{i}" in text] for text in (first, second)]
    assert sorted(shown[0] + shown[1]) == in_error["divides"] and len(shown[1]) == 1


def test_retrying_the_ticked_cases_and_cancelling_one_are_events_of_each_case_by_the_user(auth, client, new_uow,
                                                                                          in_error):
    auth.login("process-owner")
    first, second, third = in_error["divides"]
    answer = auth.post("/incidents/retry", {"instance": [str(first), str(second)], "process": "divides"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/incidents?process=divides")
    page = text_of(client.get("/incidents?process=divides"))
    assert f"failed again (one attempt more): case {first}, {second}" in page
    for instance_id, attempts in ((first, 2), (second, 2), (third, 1)):
        events = queries.instance_view(new_uow(), instance_id)["events"]
        assert sum(e["type"] == "incident_retried" and e["actor"] == "process-owner" for e in events) == attempts - 1
    assert auth.post(f"/incidents/{third}/cancel").status_code == 303
    case = queries.instance_view(new_uow(), third)
    assert case["status"] == "cancelled" and case["events"][-1]["actor"] == "process-owner"
    assert f"#{third}" not in text_of(client.get("/incidents"))


@pytest.mark.parametrize("role", ["manager", "credit-analyst"])
def test_staff_and_managers_are_refused_the_page_and_its_actions(auth, client, new_uow, in_error, role):
    auth.login(role)
    first = in_error["divides"][0]
    assert client.get("/incidents").status_code == 403
    assert auth.post("/incidents/retry", {"instance": str(first)}).status_code == 403
    assert auth.post(f"/incidents/{first}/cancel").status_code == 403
    assert queries.instance_view(new_uow(), first)["status"] == "error"


@pytest.mark.parametrize("address, data, status", [
    ("/incidents/retry", {"instance": "first"}, 400),
    ("/incidents/retry", {"instance": [str(n) for n in range(1, 300)]}, 400),
    ("/incidents/999999/cancel", {}, 404),
])
def test_a_bad_retry_or_cancel_is_refused_and_changes_nothing(auth, new_uow, in_error, address, data, status):
    auth.login("admin")
    assert auth.post(address, data).status_code == status
    assert all(queries.instance_view(new_uow(), i)["status"] == "error" for i in in_error["divides"])


def test_cancelling_a_case_that_is_not_in_error_is_refused_on_the_list_as_filtered(auth, new_uow, in_error):
    auth.login("admin")
    running = start_loan(new_uow, "c-running")
    answer = auth.post(f"/incidents/{running}/cancel", {"process": "divides"}, follow_redirects=True)
    assert answer.request.full_path == "/incidents?process=divides"
    assert f"Case {running} was not cancelled:" in text_of(answer) and "not in error" in text_of(answer)
    assert queries.instance_view(new_uow(), running)["status"] == "running"


def test_retrying_with_nothing_ticked_says_so_on_the_list_as_filtered(auth, new_uow, in_error):
    auth.login("admin")
    answer = auth.post("/incidents/retry", {"process": "divides"}, follow_redirects=True)
    assert answer.request.full_path == "/incidents?process=divides"
    assert "Tick the cases to retry first: nothing was retried." in text_of(answer)
    assert "3 cases in error" in text_of(answer)
    assert all(queries.instance_view(new_uow(), i)["status"] == "error" for i in in_error["divides"])


@pytest.mark.parametrize("query", ["page=0", "page=x", "message=" + "x" * 201])
def test_a_bad_page_or_filter_is_refused_with_a_reason(auth, client, in_error, query):
    auth.login("admin")
    assert client.get(f"/incidents?{query}").status_code == 400


def test_the_api_lists_retries_one_or_many_and_cancels(as_user, new_uow, in_error):
    api = as_user("process-owner")
    listed = api.get("/incidents", process="divides", per_page=2).get_json()
    assert (listed["total"], listed["pages"], len(listed["rows"])) == (3, 2, 2)
    row = listed["rows"][0]
    assert row["step"] == "divide" and "division by zero" in row["message"] and row["attempts"] == 1
    assert row["step_name"] == "Compute"
    assert row["errored_at"].endswith("+00:00")
    first, second, third = in_error["divides"]
    again = api.post(f"/incidents/{first}/retry").get_json()
    assert again == {"instance_id": first, "status": "error", "refusal": None}
    many = api.post("/incidents/retry", {"instances": [second, 999999]}).get_json()["results"]
    assert many[0]["status"] == "error" and many[1]["status"] is None and "no instance" in many[1]["refusal"]
    cancelled = api.post(f"/incidents/{third}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert_error(api.post(f"/incidents/{third}/retry"), 409, "not in error")
    assert_error(api.post("/incidents/999999/cancel"), 404, "no instance")
    assert_error(api.get("/incidents", page=0), 422, fields=("page",))
    assert api.get("/incidents", process="divides").get_json()["total"] == 2


def test_the_api_refuses_incidents_to_managers_and_to_callers_without_a_token(as_user, in_error):
    assert_error(as_user("manager").get("/incidents"), 403, "admins and process owners")
    assert_error(as_user("manager").post(f"/incidents/{in_error['divides'][0]}/retry"), 403)
    assert_error(as_user(None).get("/incidents"), 401)
