"""Process owners edit processes: validation, the change summary of a deploy, drafts with revisions, permissions."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from lxml import etree

from engine import service
from engine.definitions.package_json import (MalformedPackage, package_from_json, package_json_from_zip,
                                             package_to_json)
from engine.definitions.packages import read_package
from engine.errors import NotAllowed, NotFound
from tests.conftest import SHIPPED

LOAN = SHIPPED / "loan_decision"
REVIEW_PROPERTIES = '''<spiffworkflow:property name="customerValue" value="Someone looks at my whole situation, not just a number"/>
          <spiffworkflow:property name="valueClass" value="BVA"/>
          <spiffworkflow:property name="targetDuration" value="PT4H"/>
          <spiffworkflow:property name="targetDuration.premium" value="PT2H"/>'''


@pytest.fixture
def loan() -> dict:
    return package_to_json(read_package(LOAN))


@pytest.fixture
def editors(new_uow):
    service.add_user(new_uow(), "olivia", ["process-owner"])
    service.add_user(new_uow(), "oscar", ["process-owner"])
    service.add_user(new_uow(), "carl", ["credit-analyst"])
    service.deploy(new_uow(), read_package(LOAN), actor="tests")


def edited(loan: dict) -> dict:
    """The loan package with "Review credit" redesigned: faster, new words, no premium override, new lane,
    a required field added and the notes field removed."""
    xml = loan["bpmn"].replace(REVIEW_PROPERTIES, '''<spiffworkflow:property name="customerValue" value="A person checks I can afford it"/>
          <spiffworkflow:property name="valueClass" value="VA"/>
          <spiffworkflow:property name="targetDuration" value="PT2H"/>''')
    xml = xml.replace('name="Review credit"', 'name="Review affordability"')
    xml = xml.replace('<bpmn:lane id="lane_underwriter" name="Underwriter">',
                      '<bpmn:lane id="lane_underwriter" name="Senior Underwriter">')
    form = dict(loan["forms"]["credit_review"])
    properties = {k: v for k, v in form["properties"].items() if k != "review_notes"}
    properties["budget_checked"] = {"type": "boolean", "title": "Budget checked"}
    form.update(properties=properties, required=[*form.get("required", []), "budget_checked"])
    return {**loan, "bpmn": xml, "forms": {**loan["forms"], "credit_review": form}}


def test_a_deploy_lists_what_changed_against_the_previous_version(new_uow, editors, loan):
    result = service.deploy_edited(new_uow(), edited(loan), "olivia")
    assert (result.key, result.version, result.created) == ("loan_decision", 2, True)
    assert [str(c) for c in result.changes] == [
        "step renamed: “Review credit” → “Review affordability”",
        "step “Review affordability”: customer value “Someone looks at my whole situation, not just a number”"
        " → “A person checks I can afford it”",
        "step “Review affordability”: value class “BVA” → “VA”",
        "step “Review affordability”: target 4 h → 2 h",
        "step “Review affordability”: target for premium customers 2 h → none",
        "step “Review affordability”: form field removed: review_notes",
        "step “Review affordability”: form field added: budget_checked (required)",
        "step “Decide on the loan”: role underwriter → senior-underwriter",
    ]
    assert {c.element_id for c in result.changes} == {"credit_review", "underwriting_decision"}


def test_steps_added_and_removed_are_listed(new_uow, editors, loan):
    xml = loan["bpmn"].replace('id="credit_review"', 'id="affordability_review"').replace(
        "<bpmn:flowNodeRef>credit_review<", "<bpmn:flowNodeRef>affordability_review<").replace(
        'targetRef="credit_review"', 'targetRef="affordability_review"').replace(
        'sourceRef="credit_review"', 'sourceRef="affordability_review"').replace(
        'bpmnElement="credit_review"', 'bpmnElement="affordability_review"')
    forms = {("affordability_review" if k == "credit_review" else k): v for k, v in loan["forms"].items()}
    result = service.deploy_edited(new_uow(), {**loan, "bpmn": xml, "forms": forms}, "olivia")
    assert [str(c) for c in result.changes] == ["step removed: “Review credit”",
                                                "step added: “Review credit” (credit-analyst)"]


def test_the_same_package_again_is_no_new_version_and_no_change(new_uow, editors, loan):
    result = service.deploy_edited(new_uow(), loan, "olivia")
    assert (result.version, result.created, result.changes) == (1, False, ())


def rewritten(loan: dict) -> dict:
    """The loan package as a modeler saves it unchanged: no indentation or comments, the drawing's shapes in
    another order, attributes in another order, the forms' JSON laid out differently."""
    root = etree.fromstring(loan["bpmn"].encode("utf-8"))
    plane = root.find(".//{http://www.omg.org/spec/BPMN/20100524/DI}BPMNPlane")
    plane[:] = list(reversed(plane))
    for element in root.iter():
        if isinstance(element.tag, str):
            attributes = list(reversed(element.attrib.items()))
            element.attrib.clear()
            element.attrib.update(attributes)
            element.tail = None
            if element.text is not None and not element.text.strip():
                element.text = None
    xml = etree.tostring(root, encoding="unicode")
    assert xml != loan["bpmn"] and "<!--" not in xml
    return {**loan, "bpmn": xml}


def test_the_same_package_as_a_modeler_rewrites_it_is_no_new_version(new_uow, editors, loan):
    result = service.deploy_edited(new_uow(), rewritten(loan), "olivia")
    assert (result.version, result.created, result.changes) == (1, False, ())


def test_a_moved_shape_is_a_new_version_without_other_changes(new_uow, editors, loan):
    xml = rewritten(loan)["bpmn"]
    at = xml.index("<dc:Bounds", xml.index('bpmnElement="credit_review"'))
    moved = xml[:at] + xml[at:].replace('x="', 'x="1', 1)
    result = service.deploy_edited(new_uow(), {**loan, "bpmn": moved}, "olivia")
    assert (result.version, result.created, result.changes) == (2, True, ())


def test_validation_lists_errors_apart_from_warnings_and_stores_nothing(new_uow, editors, loan):
    xml = loan["bpmn"].replace(REVIEW_PROPERTIES, REVIEW_PROPERTIES.replace('value="BVA"', 'value="GOLD"')).replace(
        '<spiffworkflow:property name="customerValue" value="I tell my story once and my application is on its way"/>',
        "")
    found = service.validate_package(package_from_json({**loan, "bpmn": xml}))
    assert [p.element_id for p in found.errors] == ["credit_review"]
    assert "GOLD" in found.errors[0].message
    assert [p.element_id for p in found.warnings] == ["capture_application"]
    assert service.validate_package(package_from_json(loan)).errors == ()
    with pytest.raises(service.DeploymentRefused):
        service.deploy_edited(new_uow(), {**loan, "bpmn": xml}, "olivia")
    assert service.open_for_editing(new_uow(), "loan_decision", "olivia").version == 1


@pytest.mark.parametrize("data, message", [
    ([], "JSON object"),
    ({"bpmn": 3}, '"bpmn" must be'),
    ({"bpmn": "<x/>", "dmn": {"../etc.dmn": "<x/>"}}, '"dmn" must map'),
    ({"bpmn": "<x/>", "forms": {"review": "not a schema"}}, '"forms" must map'),
    ({"bpmn": "<x/>", "script": "x"}, "not script"),
])
def test_a_package_of_the_wrong_shape_is_refused_with_what_is_wrong(data, message):
    with pytest.raises(MalformedPackage, match=message):
        package_from_json(data)


def test_only_process_owners_and_admins_edit_draft_and_deploy(new_uow, editors, loan):
    for attempt in (lambda: service.deploy_edited(new_uow(), edited(loan), "carl"),
                    lambda: service.save_draft(new_uow(), "loan_decision", loan, 0, "carl"),
                    lambda: service.get_draft(new_uow(), "loan_decision", "carl"),
                    lambda: service.open_for_editing(new_uow(), "loan_decision", "carl")):
        with pytest.raises(NotAllowed, match="not a process owner or admin"):
            attempt()
    assert service.open_for_editing(new_uow(), "loan_decision", "olivia").version == 1


def test_a_draft_is_saved_and_reopened_with_who_saved_it_and_when(new_uow, editors, loan, clock):
    with pytest.raises(NotFound):
        service.get_draft(new_uow(), "loan_decision", "olivia")
    first = service.save_draft(new_uow(), "loan_decision", edited(loan), 0, "olivia")
    clock.advance(timedelta(minutes=5))
    second = service.save_draft(new_uow(), "loan_decision", loan, first.revision, "olivia")
    reopened = service.get_draft(new_uow(), "loan_decision", "oscar")
    assert (first.revision, second.revision) == (1, 2)
    assert (reopened.revision, reopened.saved_by, reopened.saved_at) == (2, "olivia", clock.now())
    assert reopened.package == loan
    assert service.open_for_editing(new_uow(), "loan_decision", "oscar").draft.revision == 2


def test_a_save_based_on_an_older_revision_is_refused_naming_who_saved_and_when(new_uow, editors, loan):
    service.save_draft(new_uow(), "loan_decision", loan, 0, "olivia")
    service.save_draft(new_uow(), "loan_decision", edited(loan), 1, "oscar")
    for base in (1, 0):
        with pytest.raises(service.DraftConflict, match=r"oscar saved revision 2 on Mon 5 Jan 2026, 09:00 UTC\)"):
            service.save_draft(new_uow(), "loan_decision", loan, base, "olivia")
    assert service.get_draft(new_uow(), "loan_decision", "olivia").package == edited(loan)


def test_a_draft_belongs_to_the_process_its_diagram_holds(new_uow, editors, loan):
    with pytest.raises(ValueError, match="not 'order_to_cash'"):
        service.save_draft(new_uow(), "order_to_cash", loan, 0, "olivia")


def zipped(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zipped_package_folder_unpacks_to_the_package_it_holds(loan):
    folder = {f"loan_decision/{path}": text for path, text in read_package(LOAN).files.items()}
    assert package_json_from_zip(zipped({**folder, "loan_decision/README.txt": "ignored"})) == loan
    at_the_top = {path: text for path, text in read_package(LOAN).files.items()}
    assert package_json_from_zip(zipped(at_the_top)) == loan


@pytest.mark.parametrize("data, message", [
    (b"PK not really", "not a zip archive"),
    (zipped({"a.bpmn": "<x/>", "b.bpmn": "<y/>"}), r"a.bpmn is not BPMN 2.0"),
    (zipped({"notes.txt": "hello"}), "this one holds none"),
    (zipped({"p.bpmn": "<x/>", "forms/review.json": "{not json"}), "not valid JSON"),
    (zipped({"p.bpmn": b"\xff\xfe binary"}), "not UTF-8"),
    (zipped({"p.bpmn": "<x/>", "big.dmn": " " * (5 * 1024 * 1024 + 1)}), "more than 5 MB"),
])
def test_a_bad_zip_is_refused_with_the_reason(data, message):
    with pytest.raises(MalformedPackage, match=message):
        package_json_from_zip(data)


def test_a_changed_decision_table_is_listed(new_uow, editors, loan):
    dmn = loan["dmn"]["risk_rating.dmn"].replace('<text>"MEDIUM"</text>', '<text>"HIGH"</text>', 1)
    result = service.deploy_edited(new_uow(), {**loan, "dmn": {"risk_rating.dmn": dmn}}, "olivia")
    assert [str(c) for c in result.changes] == ["decision table risk_rating.dmn changed"]
