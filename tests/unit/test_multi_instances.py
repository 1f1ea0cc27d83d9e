"""A multi-instance step whose collection or count the case data cannot give stops its case at that step, with a
message that says why, and a retry runs the step again; whatever else SpiffWorkflow raises while a case steps
stops that case the same way (engine.cases.model, engine.definitions.multi_instances)."""

from __future__ import annotations

from typing import Any

import pytest

from engine import incidents, service
from engine.cases.model import Case
from engine.definitions.packages import Package, compile_package
from engine.work import queries
from tests import samples

KIM = service.CustomerRef("c-1", "Kim Park", "standard")
MISSING = ("the multi-instance step 'Reviews' runs once per item of 'assignees', which the case data does not hold: "
           "start the case with 'assignees' as a list, or set it in a step before this one")


def per_assignee(sequential: bool, loop: str = "<bpmn:loopDataInputRef>assignees</bpmn:loopDataInputRef>"
                                                "<bpmn:inputDataItem id=\"assignee\" name=\"assignee\"/>") -> str:
    """start → Reviews (a subprocess run once per item of ``assignees``: its start → Review → its end) → end."""
    inner = ('<bpmn:startEvent id="sub_begin"/>' + samples.user_task("review", "Review")
             + '<bpmn:endEvent id="sub_finish"/>' + samples.chain("sub_begin", "review", "sub_finish"))
    characteristics = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">{loop}'
                       "</bpmn:multiInstanceLoopCharacteristics>")
    body = ('<bpmn:startEvent id="begin"/>'
            + f'<bpmn:subProcess id="reviews" name="Reviews">{characteristics}{inner}</bpmn:subProcess>'
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "reviews", "finish"))
    return samples.document("per_assignee", body, {"Back Office": ["begin", "reviews", "sub_begin", "review",
                                                                   "sub_finish", "finish"]})


def package(sequential: bool, **loop: str) -> Package:
    return Package("per_assignee", "per_assignee.bpmn", {"per_assignee.bpmn": per_assignee(sequential, **loop)})


@pytest.fixture
def owner(new_uow) -> None:
    service.add_user(new_uow(), "owner", ["process-owner"])


def started(new_uow, sequential: bool, data: dict[str, Any], **loop: str) -> dict[str, Any]:
    service.deploy(new_uow(), package(sequential, **loop))
    return queries.instance_view(new_uow(), service.start_instance(new_uow(), "per_assignee", KIM, data))


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_a_missing_collection_stops_the_case_at_the_step_and_a_retry_runs_the_step_again(new_uow, owner, sequential):
    view = started(new_uow, sequential, {})
    assert (view["status"], view["error"], view["open_steps"]) == ("error", {"step": "reviews", "message": MISSING}, [])
    assert [e["type"] for e in view["events"]] == ["instance_started", "instance_errored"]
    assert incidents.retry_incident(new_uow(), view["id"], "owner") == "error"
    [incident] = incidents.list_incidents(new_uow(), "owner").rows
    assert (incident.step, incident.message, incident.attempts) == ("reviews", MISSING, 2)


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_a_collection_that_is_no_list_stops_the_case_saying_what_it_holds(new_uow, sequential):
    view = started(new_uow, sequential, {"assignees": 3})
    assert (view["status"], view["error"]["step"]) == ("error", "reviews")
    assert view["error"]["message"].startswith("the multi-instance step 'Reviews' runs once per item of "
                                               "'assignees', which holds a value of type int, not a collection")


@pytest.mark.parametrize("sequential, reviews", [(False, 2), (True, 1)], ids=["parallel", "sequential"])
def test_a_collection_in_the_case_data_makes_the_instances(new_uow, sequential, reviews):
    view = started(new_uow, sequential, {"assignees": ["ann", "bob"]})
    assert (view["status"], view["error"]) == ("running", None)
    assert [s["step_id"] for s in view["open_steps"]] == ["review"] * reviews


@pytest.mark.parametrize("sequential, fragment", [
    (False, "'str' object cannot be interpreted as an integer"),
    (True, "'<' not supported between instances of 'int' and 'str'"),
], ids=["parallel", "sequential"])
def test_what_else_spiffworkflow_raises_stops_the_case_at_the_step_with_its_kind(new_uow, sequential, fragment):
    view = started(new_uow, sequential, {"count": "2"}, loop="<bpmn:loopCardinality>count</bpmn:loopCardinality>")
    assert (view["status"], view["error"]["step"]) == ("error", "reviews")
    assert view["error"]["message"] == f"SpiffWorkflow failed: TypeError: {fragment}"


def test_a_step_that_failed_before_it_ran_makes_its_instances_on_retry_once_its_collection_is_there():
    compiled = compile_package(package(sequential=False))
    failed = Case.start(compiled, {})
    assert failed.status == "error"
    saved = failed.snapshot()
    case = Case.restore(saved.header, saved.tasks.values(), compiled)  # as an incident's retry loads it
    [reviews] = [t for t in case.workflow.get_tasks() if t.task_spec.bpmn_id == "reviews"]
    reviews.parent.data["assignees"] = ["ann", "bob"]  # what the step reads, now there
    case.retry()
    assert (case.status, case.error) == ("running", None)
    assert [t.task_spec.bpmn_id for t in case.ready_human_tasks()] == ["review", "review"]
