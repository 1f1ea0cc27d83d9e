"""The process page: every signed-in user reads a process's versions and why each step exists; its files download."""

from __future__ import annotations

import io
import re
import zipfile

from engine import service
from engine.definitions.package_json import package_to_json
from engine.definitions.packages import Package, read_package
from tests import samples
from tests.conftest import SHIPPED
from tests.web.conftest import start_loan, text_of


def test_staff_read_each_steps_value_class_target_role_and_form_fields(client, auth, new_uow):
    start_loan(new_uow)
    auth.login("credit-analyst")
    response = client.get("/processes/loan_decision")
    assert response.status_code == 200
    text = text_of(response)
    assert "Review credit Someone looks at my whole situation, not just a number BVA" in text
    # a yes/no box is never marked required (ticked or not, it has a value), as on the task's form
    assert ("Business value-adding 4 h 00 min premium: 2 h 00 min Credit analyst Income verified, Affordability "
            "confirmed, Recommendation (required) ,") in text
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


def test_the_catalogue_lists_each_process_with_its_versions_their_cases_and_targets_the_older_folded(
        client, auth, new_uow):
    start_loan(new_uow)
    loan = package_to_json(read_package(SHIPPED / "loan_decision"))
    faster = {**loan, "bpmn": loan["bpmn"].replace('name="targetDuration" value="P2D"',
                                                   'name="targetDuration" value="P1D"', 1)}
    service.deploy_edited(new_uow(), faster, "process-owner")
    auth.login("credit-analyst")  # every signed-in user reads the catalogue
    text = text_of(client.get("/processes"))
    card = text[text.index("Loan decision"):text.index("Order to cash")]
    assert "End-to-end target 1 d" in card and "Owner Head of Retail Lending" in card
    newest, older = card.split("1 older version")
    assert re.search(r"Version Deployed Running Finished Target v2 of Loan decision \d+ \w+ \d{4} by process-owner "
                     r"0 0 1 d$", newest.strip())
    assert re.search(r"^of Loan decision v1 of Loan decision \d+ \w+ \d{4} by tests 1 0 2 d", older.strip())
    html = client.get("/processes").get_data(as_text=True)
    assert '<details class="older-versions">' in html and 'href="/processes/loan_decision?version=1"' in html
    service_desk = text[text.index("Service request"):]
    assert "older version" not in service_desk and "v1 of Service request" in service_desk


def test_a_step_its_diagram_gives_to_a_person_names_them_in_the_role_column(client, auth, new_uow):
    body = ('<bpmn:startEvent id="begin"/>'
            '<bpmn:userTask id="sign" name="Sign" camunda:assignee="katy"/>'
            '<bpmn:userTask id="check" name="Check" camunda:candidateGroups="${reviewers}" camunda:assignee="ann"/>'
            '<bpmn:endEvent id="done"/>' + samples.chain("begin", "sign", "check", "done"))
    xml = samples.document("owned", body, {}).replace(
        "xmlns:bpmn=", 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:bpmn=')
    service.deploy(new_uow(), Package("owned", "owned.bpmn", {"owned.bpmn": xml}))
    auth.login("manager")
    text = text_of(client.get("/processes/owned"))
    assert "Assigned to katy" in text and "Assigned to ann" in text and "no lane" not in text.lower()
