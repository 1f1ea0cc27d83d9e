"""Forms other tools write become the step's form at deploy: Camunda 8's form-js forms (linked from the package or
embedded), Flowable's form properties, SpiffArena's JSON Schema files. Each process here was written for these
tests in its tool's dialect (tests/dialects/) and is driven to its end through engine.service."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import service
from engine.definitions.forms import FormInvalid
from engine.definitions.packages import Package, read_package
from engine.work import case_pages, queries
from tests.unit.test_other_tools import CUSTOMER, open_tasks, work_through
from tests.unit.test_packages_of_several_files import files_of, refusal, refused_without

DIALECTS = Path(__file__).resolve().parent.parent / "dialects"
LOAN_REQUEST = DIALECTS / "camunda8_loan_request"
CONTACT = DIALECTS / "spiffarena_contact"


def compiled_forms(new_uow, package: Package) -> dict[str, dict]:
    deployment = service.deploy(new_uow(), package)
    with new_uow() as uow:
        return uow.compiled(deployment.definition_id).forms


def test_a_camunda_8_linked_form_keeps_its_field_keys_labels_types_options_and_required_flags(new_uow):
    forms = compiled_forms(new_uow, read_package(LOAN_REQUEST))
    assert forms["Task_capture"] == {"type": "object", "required": ["applicant", "amount", "purpose"], "properties": {
        "applicant": {"type": "string", "title": "Applicant", "maxLength": 80},
        "amount": {"type": "number", "title": "Amount", "description": "In euros", "minimum": 500,
                   "maximum": 250000},
        "wanted_by": {"type": "string", "format": "date", "title": "Wanted by"},
        "purpose": {"type": "string", "title": "Purpose", "enum": ["car", "home", "other"],
                    "x-labels": {"car": "A car", "home": "A home", "other": "Something else"}},
        "contact_by": {"type": "string", "title": "Contact by", "enum": ["mail", "phone"],
                       "x-labels": {"mail": "E-mail", "phone": "Phone"}, "default": "mail"},
        "existing_customer": {"type": "boolean", "title": "Existing customer"},
        "notes": {"type": "string", "x-widget": "textarea", "title": "Notes"},
    }}
    assert forms["Task_decide"]["properties"] == {  # embedded in the process as zeebe:userTaskForm
        "approved": {"type": "boolean", "title": "Approved"},
        "note": {"type": "string", "x-widget": "textarea", "title": "Note to the customer"}}


@pytest.mark.parametrize("amount, purpose, decided", [(20000, "home", True), (20000, "car", False),
                                                      (900, "home", False)])
def test_a_camunda_8_process_with_forms_and_feel_runs_to_its_end(new_uow, amount, purpose, decided):
    service.deploy(new_uow(), read_package(LOAN_REQUEST))
    service.add_user(new_uow(), "cleo", ["clerks"])
    service.add_user(new_uow(), "uma", ["underwriters"])
    instance_id = service.start_instance(new_uow(), "camunda8_loan_request", CUSTOMER)
    [capture] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), capture["id"], "cleo")
    with pytest.raises(FormInvalid) as invalid:
        service.complete_task(new_uow(), capture["id"], "cleo", {"applicant": "Ada", "amount": 100, "purpose": "boat"})
    assert set(invalid.value.errors) == {"amount", "purpose"}
    filled = {"Task_capture": {"applicant": "Ada", "amount": amount, "purpose": purpose, "wanted_by": "2026-05-01"},
              "Task_decide": {"approved": True, "note": "Welcome"}}
    steps = work_through(new_uow, instance_id, {"clerks": "cleo", "underwriters": "uma"}, filled)
    assert [step for step, _, _ in steps] == ["Task_capture"] + (["Task_decide"] if decided else [])
    assert queries.instance_view(new_uow(), instance_id)["data"]["purpose"] == purpose


def test_a_camunda_8_form_the_package_does_not_hold_is_refused_naming_the_missing_file(new_uow):
    assert refused_without(new_uow, LOAN_REQUEST, "request.form", "camunda8_loan_request", "loan_request.bpmn") == [
        "Task_capture (Capture the request): its form 'loan-request-form' (zeebe:formDefinition) is in no file of "
        "the package: add the form file (loan-request-form.form, or a .form file whose id is 'loan-request-form') "
        "to the package"]


def test_a_form_js_field_valueflow_cannot_show_is_refused_naming_the_form_and_the_field(new_uow):
    files = files_of(LOAN_REQUEST)
    files["request.form"] = files["request.form"].replace(
        '"type": "select", "id": "Field_purpose", "key": "purpose",\n     "values": [{"label": "A car", "value": "car"}, '
        '{"label": "A home", "value": "home"},\n                {"label": "Something else", "value": "other"}],',
        '"type": "select", "id": "Field_purpose", "key": "purpose", "valuesKey": "purposes",')
    assert refusal(new_uow, Package("camunda8_loan_request", "loan_request.bpmn", files)) == [
        "Task_capture (Capture the request): form request.form: its select field 'purpose' takes its options from "
        "the case (purposes), which Valueflow cannot show yet: list the options in the form"]


def test_a_flowable_process_with_form_properties_runs_to_its_end(new_uow):
    forms = compiled_forms(new_uow, read_package(DIALECTS / "flowable_expense.bpmn20.xml"))
    assert forms["enterClaim"] == {"type": "object", "required": ["employee", "amount", "category"], "properties": {
        "employee": {"type": "string", "title": "Employee"},
        "amount": {"type": "integer", "title": "Amount in euros"},
        "category": {"type": "string", "title": "Category", "enum": ["travel", "meals"],
                     "x-labels": {"travel": "Travel", "meals": "Meals"}},
        "spentOn": {"type": "string", "format": "date", "title": "Spent on"},
    }}
    service.add_user(new_uow(), "sue", ["staff"])
    service.add_user(new_uow(), "max", ["management"])
    instance_id = service.start_instance(new_uow(), "flowable_expense", CUSTOMER)
    filled = {"enterClaim": {"employee": "Sue", "amount": 800, "category": "travel", "spentOn": "2026-02-03"},
              "approveClaim": {"approved": True}}
    steps = work_through(new_uow, instance_id, {"staff": "sue", "management": "max"}, filled)
    assert [(step, role) for step, role, _ in steps] == [("enterClaim", "staff"), ("approveClaim", "management")]


def test_a_spiffarena_package_takes_its_forms_from_its_json_schema_files(new_uow):
    package = read_package(CONTACT)
    assert package.bpmn_file == "contact.bpmn"
    deployment = service.deploy(new_uow(), package)
    assert deployment.key == "Process_contact_7fk2x1q"
    service.add_user(new_uow(), "sol", ["support"])
    instance_id = service.start_instance(new_uow(), deployment.key, CUSTOMER)
    [write] = open_tasks(new_uow, instance_id)
    form = case_pages.task_page(new_uow(), write["id"])["form"]
    assert list(form["properties"]) == ["channel", "message", "follow_up"]  # in the UI schema's order
    assert form["properties"]["message"]["x-widget"] == "textarea"
    assert form["required"] == ["channel", "message"]
    service.claim_task(new_uow(), write["id"], "sol")
    with pytest.raises(FormInvalid, match="channel"):
        service.complete_task(new_uow(), write["id"], "sol", {"message": "Hello"})
    service.complete_task(new_uow(), write["id"], "sol", {"message": "Hello", "channel": "phone"})
    case = queries.instance_view(new_uow(), instance_id)
    assert (case["status"], case["data"]["channel_used"]) == ("completed", "phone")


def test_a_spiffarena_form_file_the_package_lacks_is_refused_naming_it(new_uow):
    assert refused_without(new_uow, CONTACT, "contact-schema.json", "contact", "contact.bpmn") == [
        "Activity_write_back (Write back to the customer): its form contact-schema.json (formJsonSchemaFilename) is "
        "not in the package: add the file beside the diagram"]


def test_a_spiffarena_form_whose_options_come_from_the_case_data_is_refused_naming_them(new_uow):
    files = files_of(CONTACT)
    files["contact-schema.json"] = files["contact-schema.json"].replace(
        '"enum": ["email", "phone"]', '"anyOf": ["options_from_task_data_var:channels"]')
    assert refusal(new_uow, Package("contact", "contact.bpmn", files)) == [
        "Activity_write_back (Write back to the customer): its form contact-schema.json takes the options of "
        "channels from the case data, which Valueflow cannot show yet: list the options in the form"]
