"""Deploying: versions, annotations, and every validation rule of docs/design.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import service
from engine.definitions.packages import DeploymentRefused, Package, PackageNotFound, read_package
from engine.storage.tables import ProcessDefinition
from tests import samples
from tests.conftest import SHIPPED


def package(xml: str, name: str = "sample", **files: str) -> Package:
    return Package(name, f"{name}.bpmn", {f"{name}.bpmn": xml, **files})


def stored_versions(new_uow) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition))


def refusal(new_uow, xml: str, **files: str) -> list[str]:
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package(xml, **files))
    assert stored_versions(new_uow) == 0
    return [str(p) for p in caught.value.problems if not p.warning]


def test_deploy_stores_numbered_versions_and_identical_content_is_a_no_op(new_uow):
    first = service.deploy(new_uow(), package(samples.two_step()))
    again = service.deploy(new_uow(), package(samples.two_step()))
    changed = service.deploy(new_uow(), package(samples.two_step().replace("Review", "Check")))
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created, again.definition_id) == (1, False, first.definition_id)
    assert (changed.version, changed.created) == (2, True)
    assert stored_versions(new_uow) == 2


def test_annotations_are_extracted_with_roles_and_segment_targets(new_uow):
    result = service.deploy(new_uow(), package(samples.two_step()))
    with new_uow() as uow:
        compiled = uow.compiled(result.definition_id)
    review = compiled.annotations.steps["review"]
    assert review.role == "back-office"
    assert review.customer_value == "Review for the customer"
    assert review.value_class == "VA"
    assert review.target_for("standard") == 4 * 3600
    assert review.target_for("premium") == 3600
    whole = compiled.annotations.process
    assert (whole.target_seconds, whole.owner, whole.customer_value) == (86400, "ops-lead", "An answer the same day")


@pytest.mark.parametrize("xml, expected", [
    ("<bpmn:definitions", "not well-formed XML"),
    ('<?xml version="1.0"?><note>hello</note>', "not BPMN 2.0"),
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "DTD or entities"),
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(7)) + ']><d>&h;</d>',
     "declares a DTD or entities, which are not allowed"),
    ("<d>" * 300 + "</d>" * 300, "nests its elements over 256 levels deep"),
    ("<d>" + "x" * 10_000_001 + "</d>", "holds a text of over 10,000,000 characters in one place"),
    (samples.two_step().replace('isExecutable="true"', 'isExecutable="false"').replace(
        '</bpmn:definitions>', '<bpmn:process id="other" isExecutable="false"/></bpmn:definitions>'),
     "two_step (Two Step): is one of the document's 2 processes, and none is marked executable: mark the one "
     "Valueflow runs executable"),
    (samples.two_step("new"), "new (New): the process id 'new' is a word Valueflow's addresses use where a "
                              "process id goes (/modeler/new, /api/v1/processes/deploy): give the process another id"),
    (samples.two_step().replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', ''),
     "review (Review): user task has no lane"),
    (samples.two_step().replace('value="PT8H"', 'value="8 hours"'),
     "approve (Approve): targetDuration '8 hours' is not an ISO 8601 duration"),
    (samples.two_step().replace('value="BVA"', 'value="XYZ"'),
     "approve (Approve): valueClass 'XYZ' must be one of VA, BVA, NVA"),
    (samples.two_step().replace('value="P1D"', 'value="tomorrow"'),
     "two_step (Two Step): targetDuration 'tomorrow' is not an ISO 8601 duration"),
    (samples.two_step().replace('<bpmn:sequenceFlow id="f_begin_review" sourceRef="begin" targetRef="review"/>', ''),
     "review (Review): cannot be reached from a start event"),
    (samples.two_step().replace('<bpmn:sequenceFlow id="f_approve_finish" sourceRef="approve" targetRef="finish"/>',
                                ''), "approve (Approve): cannot reach an end event"),
    (samples.two_step().replace('<bpmn:userTask id="approve"', '<bpmn:userTask id="approve" bogus:x="1"'),
     "not well-formed XML"),
])
def test_a_broken_document_is_refused_with_the_element_named_and_nothing_stored(new_uow, xml, expected):
    problems = refusal(new_uow, xml)
    assert any(expected in p for p in problems), problems


def test_every_problem_is_listed_not_just_the_first(new_uow):
    xml = (samples.two_step().replace('value="PT8H"', 'value="soon"').replace('value="BVA"', 'value="Q"')
           .replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', ''))
    problems = refusal(new_uow, xml)
    assert len(problems) == 3, problems


def test_a_document_spiffworkflow_rejects_is_refused_in_plain_words(new_uow):
    xml = samples.two_step().replace('<bpmn:endEvent id="finish"/>', '<bpmn:endEvent id="finish"><bpmn:bogus/></bpmn:endEvent>')
    problems = refusal(new_uow, xml)
    assert problems == ["finish: BPMN does not allow a bogus at this place (expected there: documentation, extension "
                        "elements, auditing, monitoring, category value ref, …): move it, or remove it (line 3)"]


def test_a_gateway_branch_without_a_condition_is_refused_naming_the_gateway_and_where_it_leads(new_uow):
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + '<bpmn:exclusiveGateway id="ok" name="Approved?" default="f_yes"/>'
            + samples.user_task("pay", "Pay out") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "review", "ok") + samples.flow("f_yes", "ok", "pay")
            + '<bpmn:sequenceFlow id="f_no" name="No" sourceRef="ok" targetRef="finish"/>'
            + samples.flow("f_maybe", "ok", "finish", condition="  ") + samples.chain("pay", "finish"))
    xml = samples.document("branches", body, {"Back Office": ["begin", "review", "ok", "pay", "finish"]})
    fix = ("has no condition and is not the gateway's default: give it a condition (e.g. approved == True), or make "
           "it the default flow, taken when no other condition holds")
    assert refusal(new_uow, xml) == [f"f_no (No): the flow from the exclusive gateway 'Approved?' to 'finish' {fix}",
                                     f"f_maybe: the flow from the exclusive gateway 'Approved?' to 'finish' {fix}"]


def test_a_receive_task_that_names_no_message_is_refused_instead_of_being_passed_at_once(new_uow):
    body = ('<bpmn:startEvent id="begin"/><bpmn:receiveTask id="papers" name="Wait for papers"/>'
            '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "papers", "finish"))
    xml = samples.document("waits", body, {"Back Office": ["begin", "papers", "finish"]})
    assert refusal(new_uow, xml) == [
        "papers (Wait for papers): receive task names no message to wait for, so a case would pass it at once: give "
        "it a message (its name is what POST /api/v1/messages delivers), or make it a user task if a person records "
        "what arrived"]


def test_missing_customer_value_is_a_warning_that_does_not_block(new_uow):
    xml = samples.two_step().replace('<spiffworkflow:property name="customerValue" value="Review for the customer"/>', '')
    result = service.deploy(new_uow(), package(xml))
    assert result.created
    assert any("review (Review): user task has no customerValue" in w for w in result.warnings)


def test_a_form_that_is_not_json_schema_is_refused(new_uow):
    problems = refusal(new_uow, samples.two_step(), **{"forms/review.json": '{"type": "objekt"}'})
    assert any("form forms/review.json is not a valid JSON Schema" in p for p in problems), problems


def test_a_package_folder_needs_exactly_one_bpmn_file(tmp_path: Path):
    with pytest.raises(PackageNotFound):
        read_package(tmp_path)
    with pytest.raises(PackageNotFound):
        read_package(tmp_path / "missing.bpmn")


@pytest.mark.parametrize("folder", sorted(p.name for p in SHIPPED.iterdir() if p.is_dir()))
def test_every_shipped_package_deploys_without_warnings(new_uow, folder):
    result = service.deploy(new_uow(), read_package(SHIPPED / folder))
    assert result.created and result.key == folder
    assert result.warnings == ()


def parallel_ends(end_id: str) -> str:
    """start → parallel split → Review (Back Office) → end; and straight on to a second end, ``end_id``."""
    body = ('<bpmn:startEvent id="begin"/><bpmn:parallelGateway id="split"/>' + samples.user_task("review", "Review")
            + f'<bpmn:endEvent id="finish"/><bpmn:endEvent id="{end_id}" name="Noted"/>'
            + samples.chain("begin", "split", "review", "finish") + samples.flow("f_noted", "split", end_id))
    return samples.document("ends", body, {"Back Office": ["begin", "split", "review", "finish", end_id]})


def signal_waiting(start_id: str, end_id: str) -> str:
    """``start_id`` → wait for a signal → ``end_id``, a start event with no lane (Flowable's test diagrams)."""
    body = (f'<bpmn:startEvent id="{start_id}"/><bpmn:intermediateCatchEvent id="signal">'
            '<bpmn:signalEventDefinition signalRef="go"/></bpmn:intermediateCatchEvent>'
            f'<bpmn:endEvent id="{end_id}"/>' + samples.chain(start_id, "signal", end_id))
    return samples.document("signalled", body, {}).replace("<bpmn:process", '<bpmn:signal id="go" name="go"/>'
                                                                              "<bpmn:process", 1)


def boundary_join(end_id: str) -> str:
    """start → Review (Back Office) with a timer on it; both lead to ``end_id``."""
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + '<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition>'
              '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            + f'<bpmn:endEvent id="{end_id}"/>' + samples.chain("begin", "review", end_id)
            + samples.flow("f_late", "late", end_id))
    return samples.document("watched", body, {"Back Office": ["begin", "review", "late", end_id]})


def subprocess_ending(end_id: str) -> str:
    """start → Checks (a subprocess: start → Check → ``end_id``) → end."""
    inner = ('<bpmn:startEvent id="sub_begin"/>' + samples.user_task("check", "Check")
             + f'<bpmn:endEvent id="{end_id}"/>' + samples.chain("sub_begin", "check", end_id))
    body = ('<bpmn:startEvent id="begin"/>' + f'<bpmn:subProcess id="checks" name="Checks">{inner}</bpmn:subProcess>'
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "checks", "finish"))
    return samples.document("checked", body, {"Back Office": ["begin", "checks", "sub_begin", "check", end_id,
                                                              "finish"]})


def own_step(step_id: str, kind: str, name: str = "") -> str:
    return (f"{step_id}{f' ({name})' if name else ''}: SpiffWorkflow, the engine under Valueflow, gives the id "
            f"{step_id!r} to a step of its own, so this {kind} would be taken for that step and a case would not run "
            f"as drawn: give the {kind} another id (e.g. {step_id}_1)")


@pytest.mark.parametrize("xml, expected", [
    pytest.param(signal_waiting("Start", "End"), [own_step("Start", "start event"), own_step("End", "end event")],
                 id="a case could not start"),
    pytest.param(parallel_ends("End"), [own_step("End", "end event", "Noted")], id="a case would end early"),
    pytest.param(parallel_ends("ends.EndJoin"), [own_step("ends.EndJoin", "end event", "Noted")],
                 id="the process's end join"),
    pytest.param(boundary_join("review.BoundaryEventJoin"), [own_step("review.BoundaryEventJoin", "end event")],
                 id="a boundary event's join"),
    pytest.param(subprocess_ending("End"), [own_step("End", "end event")], id="in a subprocess"),
])
def test_a_step_with_an_id_spiffworkflow_gives_a_step_of_its_own_is_refused_naming_it(new_uow, xml, expected):
    assert refusal(new_uow, xml) == expected
