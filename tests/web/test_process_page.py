"""The process page: every signed-in user reads a process's versions and why each step exists; its files download."""

from __future__ import annotations

import io
import zipfile

from engine import service
from engine.definitions.package_json import package_to_json
from engine.definitions.packages import read_package
from tests.conftest import SHIPPED
from tests.web.conftest import start_loan, text_of


def test_staff_read_each_steps_value_class_target_role_and_form_fields(client, auth, new_uow):
    start_loan(new_uow)
    auth.login("credit-analyst")
    response = client.get("/processes/loan_decision")
    assert response.status_code == 200
    text = text_of(response)
    assert "Review credit Someone looks at my whole situation, not just a number BVA" in text
    assert "Business value-adding 4 h 00 min premium: 2 h 00 min Credit analyst Income verified (required) ," in text
    assert "Version 1" in text and "tests" in text
    assert "Edit in the modeler" not in text
    assert "Loan decision" in text_of(client.get("/processes")) and 'href="/processes/loan_decision"' in \
        client.get("/processes").get_data(as_text=True)


def test_versions_list_their_running_and_finished_cases_and_an_old_version_is_shown_on_request(
        client, auth, new_uow):
    start_loan(new_uow)
    loan = package_to_json(read_package(SHIPPED / "loan_decision"))
    changed = {**loan, "bpmn": loan["bpmn"].replace('name="Review credit"', 'name="Review affordability"')}
    service.deploy_edited(new_uow(), changed, "process-owner")
    auth.login("process-owner")
    text = text_of(client.get("/processes/loan_decision"))
    assert "Version 2" in text and "Review affordability" in text
    rows = text[text.index("Versions"):]
    assert "Version 2" in rows and "process-owner 0 0" in rows and "tests 1 0" in rows
    assert "Edit in the modeler" in text
    old = text_of(client.get("/processes/loan_decision?version=1"))
    assert "version 1 (the newest is 2)" in old and "Review credit" in old
    assert client.get("/processes/loan_decision?version=9").status_code == 404
    assert client.get("/processes/nothing_here").status_code == 404


def test_a_version_downloads_as_bpmn_and_as_its_package_zip(client, auth):
    auth.login("manager")
    bpmn = client.get("/processes/loan_decision/versions/1.bpmn")
    assert bpmn.status_code == 200
    assert bpmn.headers["Content-Disposition"] == 'attachment; filename="loan_decision-v1.bpmn"'
    assert bpmn.get_data(as_text=True) == (SHIPPED / "loan_decision" / "loan_decision.bpmn").read_text()
    package = client.get("/processes/loan_decision/versions/1.zip")
    names = zipfile.ZipFile(io.BytesIO(package.get_data())).namelist()
    assert "loan_decision/loan_decision.bpmn" in names and "loan_decision/risk_rating.dmn" in names
    assert "loan_decision/forms/credit_review.json" in names
    assert client.get("/processes/loan_decision/versions/7.bpmn").status_code == 404
