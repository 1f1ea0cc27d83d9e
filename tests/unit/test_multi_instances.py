"""Whatever SpiffWorkflow raises while a case steps, its bare Python errors included, stops that case at the step
it was at with the message, and a retry runs the step again (engine.cases.model): here, a multi-instance step whose
count or collection the case data cannot give."""

from __future__ import annotations

from typing import Any

import pytest

from engine import service
from engine.cases.model import Case
from engine.definitions.packages import Package, compile_package
from engine.work import queries
from tests import samples

KIM = service.CustomerRef("c-1", "Kim Park", "standard")


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


def started(new_uow, sequential: bool, data: dict[str, Any], **loop: str) -> dict[str, Any]:
    service.deploy(new_uow(), package(sequential, **loop))
    return queries.instance_view(new_uow(), service.start_instance(new_uow(), "per_assignee", KIM, data))


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
