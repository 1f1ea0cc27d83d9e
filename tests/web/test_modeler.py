"""The modeler page: for process owners and admins only, opening the newest version, its draft, or a blank process."""

from __future__ import annotations

import json
import re

import pytest

from engine import service
from engine.definitions.package_json import package_from_json, package_to_json
from engine.definitions.packages import read_package
from tests.conftest import SHIPPED
from tests.web.conftest import text_of
from web.vendor import IMPORT_MAP_HASH


def modeler_data(response) -> dict:
    found = re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>',
                      response.get_data(as_text=True), flags=re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", ["manager", "credit-analyst", "customer-service"])
def test_other_roles_are_refused_the_modeler_in_words(client, auth, role):
    auth.login(role)
    for url in ("/modeler/loan_decision", "/modeler/new"):
        response = client.get(url)
        assert response.status_code == 403
        assert "for process owners and admins" in text_of(response)
    assert "Edit in the modeler" not in text_of(client.get("/processes"))


def test_a_process_owner_opens_the_newest_version_with_segments_roles_and_the_api(client, auth, new_uow):
    auth.login("process-owner")
    assert "Edit in the modeler" in text_of(client.get("/processes"))
    response = client.get("/modeler/loan_decision")
    assert response.status_code == 200
    data = modeler_data(response)
    assert (data["key"], data["version"], data["draft"]) == ("loan_decision", 1, None)
    assert data["package"] == package_to_json(read_package(SHIPPED / "loan_decision"))
    # a form's fields keep their order (it is the order staff see them in)
    assert list(data["package"]["forms"]["credit_review"]["properties"]) == [
        "income_verified", "affordability_confirmed", "recommendation", "review_notes"]
    assert "credit-analyst" in data["roles"]
    assert data["urls"]["deploy"] == "/api/v1/processes/deploy"
    assert set(data["value_classes"]) == {"VA", "BVA", "NVA"}
    # dmn-js needs inline styles here; scripts stay the app's own
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and f"script-src 'self' {IMPORT_MAP_HASH};" in policy


def test_the_modeler_offers_a_saved_draft(client, auth, new_uow):
    loan = package_to_json(read_package(SHIPPED / "loan_decision"))
    service.save_draft(new_uow(), "loan_decision", loan, 0, "admin")
    auth.login("process-owner")
    response = client.get("/modeler/loan_decision")
    assert modeler_data(response)["draft"]["saved_by"] == "admin"
    assert "A draft saved by admin" in text_of(response)


def test_a_new_process_starts_blank_with_a_pool_a_lane_and_a_start_event(client, auth):
    auth.login("admin")
    data = modeler_data(client.get("/modeler/new"))
    assert data["version"] is None
    package = package_from_json(data["package"])
    assert package.name == data["key"]
    found = service.validate_package(package)
    assert [p.element_id for p in found.errors] == [f"start_{data['key']}"]  # nothing drawn after it yet
    assert "end event" in found.errors[0].message


def test_an_unknown_process_is_a_404_in_words(client, auth):
    auth.login("process-owner")
    response = client.get("/modeler/no_such_process")
    assert response.status_code == 404
    assert "no process 'no_such_process'" in text_of(response)


def test_a_process_owner_opens_an_older_version_from_its_page_and_the_countries_for_its_calendar(
        client, auth, new_uow):
    loan = package_to_json(read_package(SHIPPED / "loan_decision"))
    renamed = {**loan, "bpmn": loan["bpmn"].replace('name="Review credit"', 'name="Review affordability"')}
    service.deploy_edited(new_uow(), renamed, "process-owner")
    auth.login("process-owner")
    page = client.get("/processes/loan_decision?version=1").get_data(as_text=True)
    assert '<a class="btn btn-primary" href="/modeler/loan_decision?version=1">Edit version 1 in the modeler</a>' in page
    assert 'href="/modeler/loan_decision">Edit in the modeler</a>' in client.get("/processes/loan_decision").get_data(
        as_text=True)
    older = client.get("/modeler/loan_decision?version=1")
    assert "editing a copy of version 1" in text_of(older)
    assert modeler_data(older)["package"] == loan
    assert 'name="Review affordability"' in modeler_data(client.get("/modeler/loan_decision"))["package"]["bpmn"]
    missing = client.get("/modeler/loan_decision?version=9")
    assert missing.status_code == 404 and "process 'loan_decision' has no version 9" in text_of(missing)
    countries = modeler_data(older)["countries"]
    assert {"code": "DE", "name": "Germany"} in countries and {"code": "GB", "name": "United Kingdom"} in countries
