"""The modeler's JSON endpoints: validate, deploy, drafts; the session, the CSRF header, roles, JSON errors."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from engine.definitions.package_json import package_to_json
from engine.definitions.packages import read_package
from tests.conftest import SHIPPED
from tests.web.conftest import open_task, start_loan

API = "/api/v1/processes"


@pytest.fixture
def loan() -> dict[str, Any]:
    return package_to_json(read_package(SHIPPED / "loan_decision"))


def call(client, auth, method: str, url: str, body: Any = None, token: Optional[str] = "") -> Any:
    headers = {"X-CSRF-Token": auth.token() if token == "" else token} if token is not None else {}
    # as a browser sends it: the keys in their order (the test client's json= would sort them, and a form's
    # fields are shown in the order of its schema's properties)
    return client.open(url, method=method, data=json.dumps(body), content_type="application/json", headers=headers)


def faster_review(loan: dict[str, Any]) -> dict[str, Any]:
    xml = loan["bpmn"].replace('<spiffworkflow:property name="targetDuration" value="PT4H"/>\n'
                               '          <spiffworkflow:property name="targetDuration.premium" value="PT2H"/>',
                               '<spiffworkflow:property name="targetDuration" value="PT90M"/>\n'
                               '          <spiffworkflow:property name="targetDuration.premium" value="PT2H"/>')
    assert xml != loan["bpmn"]
    return {**loan, "bpmn": xml}


def test_a_process_owner_deploys_and_gets_the_version_and_the_changes(client, auth, loan, new_uow):
    auth.login("process-owner")
    response = call(client, auth, "POST", f"{API}/deploy", faster_review(loan))
    assert response.status_code == 201
    assert response.json["key"] == "loan_decision" and response.json["version"] == 2
    assert response.json["changes"] == [{"element_id": "credit_review",
                                         "message": "step “Review credit”: target 4 h → 1 h 30 min"}]
    task = open_task(new_uow, start_loan(new_uow))
    assert task["step_id"] == "capture_application"  # new cases run on the new version
    again = call(client, auth, "POST", f"{API}/deploy", faster_review(loan))
    assert (again.status_code, again.json["version"], again.json["created"]) == (200, 2, False)


def test_a_deploy_based_on_a_version_no_longer_the_newest_is_refused_and_undoes_nothing(client, auth, loan, new_uow):
    auth.login("process-owner")
    first = call(client, auth, "POST", f"{API}/deploy", {**faster_review(loan), "base_version": 1})
    assert (first.status_code, first.json["version"]) == (201, 2)
    other_tab = {**loan, "bpmn": loan["bpmn"].replace('value="PT8H"', 'value="PT6H"', 1), "base_version": 1}
    stale = call(client, auth, "POST", f"{API}/deploy", other_tab)
    assert stale.status_code == 409
    assert stale.json["error"]["message"].startswith(
        "loan_decision version 2 was deployed by process-owner on Mon 5 Jan 2026, 09:00 UTC since you opened ")
    assert "since you opened version 1, and deploying your edit would undo it; nothing was stored" in \
        stale.json["error"]["message"]
    with new_uow() as uow:
        assert uow.definitions.latest("loan_decision").version == 2
    assert call(client, auth, "POST", f"{API}/deploy", {**other_tab, "base_version": 2}).json["version"] == 3


def test_a_new_process_whose_key_another_process_has_is_refused(client, auth, loan):
    auth.login("process-owner")
    drawn_new = {**faster_review(loan), "base_version": None}
    refused = call(client, auth, "POST", f"{API}/deploy", drawn_new)
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == (
        "the process key loan_decision is taken by 'Loan decision' (version 1); nothing was stored: give this process "
        "another key, or open loan_decision in the modeler to change that process")
    assert call(client, auth, "POST", f"{API}/deploy", {**loan, "base_version": "1"}).status_code == 422


def test_a_refused_deploy_answers_422_with_every_error_and_stores_nothing(client, auth, loan):
    auth.login("admin")
    broken = {**loan, "bpmn": loan["bpmn"].replace('value="PT4H"', 'value="four hours"')}
    response = call(client, auth, "POST", f"{API}/deploy", broken)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert len(errors) == 3 and ("credit_review", "Review credit") in [(e["element_id"], e["element_name"]) for e in errors]
    assert all("four hours" in e["message"] for e in errors)
    assert response.json["warnings"] == []
    assert call(client, auth, "POST", f"{API}/deploy", loan).json["version"] == 1


def test_validate_lists_errors_and_warnings_apart(client, auth, loan):
    auth.login("process-owner")
    xml = loan["bpmn"].replace(
        '<spiffworkflow:property name="customerValue" value="I tell my story once and my application is on its way"/>',
        "").replace("<bpmn:flowNodeRef>credit_review</bpmn:flowNodeRef>", "")
    response = call(client, auth, "POST", f"{API}/validate", {**loan, "bpmn": xml})
    assert response.status_code == 200
    assert [e["element_id"] for e in response.json["errors"]] == ["credit_review"]
    assert "lane" in response.json["errors"][0]["message"]
    assert [w["element_id"] for w in response.json["warnings"]] == ["capture_application"]
    assert call(client, auth, "POST", f"{API}/validate", loan).json == {"errors": [], "warnings": []}


@pytest.mark.parametrize("duration, words", [
    ("P999999999Y", "longer than 100 years"),
    ("P99999999999999999999D", "longer than 100 years"),
])
def test_validate_and_deploy_refuse_a_timer_out_of_bounds_naming_its_step(client, auth, loan, duration, words):
    auth.login("process-owner")
    hostile = {**loan, "bpmn": loan["bpmn"].replace(">P2D</bpmn:timeDuration>", f">{duration}</bpmn:timeDuration>")}
    assert hostile["bpmn"] != loan["bpmn"]
    errors = call(client, auth, "POST", f"{API}/validate", hostile).json["errors"]
    assert [e["element_id"] for e in errors] == ["timer_document_reminder"] and words in errors[0]["message"]
    response = call(client, auth, "POST", f"{API}/deploy", hostile)
    assert response.status_code == 422 and response.json["errors"] == errors


@pytest.mark.parametrize("body, status, words", [
    ({"bpmn": "<not xml"}, 200, "not well-formed"),
    ({"bpmn": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'}, 200, "DTD"),
    ({"bpmn": 42}, 400, '"bpmn" must be'),
    ("just text", 400, "JSON object"),
])
def test_bad_packages_are_explained(client, auth, body, status, words):
    auth.login("process-owner")
    response = call(client, auth, "POST", f"{API}/validate", body)
    assert response.status_code == status
    assert words in str(response.json)


def test_a_body_over_five_megabytes_is_refused_as_json(client, auth, loan):
    auth.login("process-owner")
    response = call(client, auth, "POST", f"{API}/deploy", {**loan, "bpmn": loan["bpmn"] + " " * (5 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"  # as every other operation of the API says it


def test_other_roles_get_403_and_strangers_401_as_json(client, auth, loan):
    assert call(client, auth, "GET", f"{API}/loan_decision/draft").status_code == 401
    for role in ("manager", "credit-analyst"):
        auth.login(role)
        for method, url in (("POST", "validate"), ("POST", "deploy"), ("GET", "loan_decision/draft"),
                            ("PUT", "loan_decision/draft")):
            response = call(client, auth, method, f"{API}/{url}", {"package": loan, "base_revision": 0})
            assert response.status_code == 403, (role, url)
            assert "process owners and admins" in response.json["error"]["message"]


def test_a_change_without_the_csrf_header_is_refused_and_changes_nothing(client, auth, loan):
    auth.login("process-owner")
    response = call(client, auth, "POST", f"{API}/deploy", faster_review(loan), token=None)
    assert response.status_code == 400
    assert "security token" in response.json["error"]["message"]
    assert call(client, auth, "POST", f"{API}/deploy", faster_review(loan), token="forged").status_code == 400
    assert call(client, auth, "POST", f"{API}/deploy", faster_review(loan)).json["version"] == 2


def test_a_draft_is_saved_reopened_and_a_stale_save_is_refused(client, auth, loan):
    auth.login("process-owner")
    assert call(client, auth, "GET", f"{API}/loan_decision/draft").status_code == 404
    saved = call(client, auth, "PUT", f"{API}/loan_decision/draft", {"package": loan, "base_revision": 0})
    assert saved.status_code == 200
    assert (saved.json["revision"], saved.json["saved_by"]) == (1, "process-owner")
    changed = faster_review(loan)
    assert call(client, auth, "PUT", f"{API}/loan_decision/draft",
                {"package": changed, "base_revision": 1}).json["revision"] == 2
    auth.login("admin")
    stale = call(client, auth, "PUT", f"{API}/loan_decision/draft", {"package": loan, "base_revision": 1})
    assert stale.status_code == 409
    assert "process-owner saved revision 2" in stale.json["error"]["message"]
    reopened = json.loads(call(client, auth, "GET", f"{API}/loan_decision/draft").get_data(as_text=True))
    assert (reopened["revision"], reopened["package"]) == (2, changed)
    assert list(reopened["package"]["forms"]["credit_review"]["properties"]) == list(
        changed["forms"]["credit_review"]["properties"])  # the order staff see the fields in
    wrong = call(client, auth, "PUT", f"{API}/order_to_cash/draft", {"package": loan, "base_revision": 0})
    assert wrong.status_code == 422
    assert call(client, auth, "PUT", f"{API}/loan_decision/draft", {"package": loan}).status_code == 400


def test_a_draft_holding_what_is_deployed_goes_with_the_deploy_and_a_draft_with_other_work_stays(
        client, auth, loan):
    auth.login("process-owner")
    call(client, auth, "PUT", f"{API}/loan_decision/draft", {"package": faster_review(loan), "base_revision": 0})
    other = call(client, auth, "POST", f"{API}/deploy", {**loan, "bpmn": loan["bpmn"].replace(
        'value="PT8H"', 'value="PT6H"', 1)})
    assert (other.status_code, other.json["draft_removed"]) == (201, False)
    assert call(client, auth, "GET", f"{API}/loan_decision/draft").json["revision"] == 1  # its work is kept
    deployed = call(client, auth, "POST", f"{API}/deploy", faster_review(loan))
    assert (deployed.status_code, deployed.json["version"], deployed.json["draft_removed"]) == (201, 3, True)
    assert call(client, auth, "GET", f"{API}/loan_decision/draft").status_code == 404


def test_a_zipped_package_unpacks_for_process_owners_only(client, auth, loan):
    auth.login("process-owner")
    zipped = client.get("/processes/loan_decision/versions/1.zip").get_data()
    headers = {"X-CSRF-Token": auth.token()}
    response = client.post(f"{API}/unpack", data=zipped, content_type="application/zip", headers=headers)
    assert response.status_code == 200 and json.loads(response.get_data(as_text=True)) == loan
    bad = client.post(f"{API}/unpack", data=b"not a zip", content_type="application/zip", headers=headers)
    assert (bad.status_code, bad.json["error"]["message"]) == (400, "the file is not a zip archive")
    auth.login("credit-analyst")
    headers = {"X-CSRF-Token": auth.token()}
    assert client.post(f"{API}/unpack", data=zipped, content_type="application/zip",
                       headers=headers).status_code == 403
