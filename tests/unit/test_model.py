"""The Case wrapper refuses what SpiffWorkflow itself would allow."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

from engine.cases import state
from engine.cases.errors import CannotStart
from engine.cases.model import Case, TaskNotReady
from engine.definitions.packages import Package, compile_package
from tests import samples


@pytest.fixture
def case() -> Case:
    compiled = compile_package(Package("two_step", "two_step.bpmn", {"two_step.bpmn": samples.two_step()}))
    return Case.start(compiled, {})


def test_a_task_that_is_not_ready_cannot_be_completed(case):
    [future] = [t for t in case.workflow.get_tasks(state=TaskState.FUTURE) if t.task_spec.bpmn_id == "approve"]
    before = case.snapshot()
    with pytest.raises(TaskNotReady, match="'Approve' is not ready"):
        case.complete(str(future.id), {})
    assert case.snapshot().tasks == before.tasks
    assert [t.task_spec.bpmn_id for t in case.ready_human_tasks()] == ["review"]


def test_an_unknown_task_id_is_refused(case):
    with pytest.raises(TaskNotReady, match="not part of this case"):
        case.complete("00000000-0000-0000-0000-000000000000", {})


def test_a_snapshot_restores_to_the_same_case(case):
    [review] = case.ready_human_tasks()
    case.complete(str(review.id), {"comment": "fine"})
    saved = case.snapshot()
    again = Case.restore(saved.header, saved.tasks.values(), case.definition)
    assert again.data == case.data
    assert [t.task_spec.bpmn_id for t in again.ready_human_tasks()] == ["approve"]
    assert again.snapshot().tasks == saved.tasks


@pytest.mark.parametrize("value", [
    pytest.param(float("nan"), id="NaN"),
    pytest.param(float("-inf"), id="minus infinity"),
    pytest.param({1: "one", "two": None}, id="a number as key, a null value"),
    pytest.param(2 ** 70, id="an integer beyond 64 bits"),
    pytest.param("Zoë Ångström – 50 €", id="text beyond ASCII"),
    pytest.param(1e16, id="a float written with an exponent"),
    pytest.param([date(2026, 3, 1), Decimal("3.10"), timedelta(hours=36)], id="date, decimal, duration"),
])
def test_every_kind_of_value_comes_back_from_a_snapshot_as_it_was(case, value):
    [review] = case.ready_human_tasks()
    case.complete(str(review.id), {"comment": "fine", "value": value})
    saved = case.snapshot()
    restored = Case.restore(saved.header, saved.tasks.values(), case.definition).data["value"]
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(restored, float) and math.isnan(restored)
    elif isinstance(value, dict):
        assert restored == {"1": "one", "two": None}  # JSON keys are text, as the standard library writes them
    else:
        assert restored == value and type(restored) is type(value)


def test_a_case_stored_with_its_predicted_tasks_as_rows_restores_the_same(case):
    """Snapshots stored before predicted tasks moved into the header keep them as task rows."""
    saved = case.snapshot()
    header = json.loads(saved.header)
    predicted = header.pop("predicted")
    assert predicted, "the two-step process predicts its approval step"
    rows = dict(saved.tasks)
    for task_id in predicted:
        rows[task_id] = state._dumps(state._task_dict(case.workflow.tasks[UUID(task_id)], case.workflow.tasks))
    older = Case.restore(json.dumps(header), rows.values(), case.definition)
    assert (older.snapshot().header, older.snapshot().tasks) == (saved.header, saved.tasks)
    [review] = older.ready_human_tasks()
    older.complete(str(review.id), {"comment": "fine"})
    assert [t.task_spec.bpmn_id for t in older.ready_human_tasks()] == ["approve"]


def with_subprocess() -> str:
    """start → an embedded subprocess (its own start → Check → end) → Approve → end."""
    inner = ('<bpmn:startEvent id="sub_begin"/>' + samples.user_task("check", "Check")
             + '<bpmn:endEvent id="sub_finish"/>' + samples.chain("sub_begin", "check", "sub_finish"))
    body = ('<bpmn:startEvent id="begin"/>' + f'<bpmn:subProcess id="checks" name="Checks">{inner}</bpmn:subProcess>'
            + samples.user_task("approve", "Approve") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "checks", "approve", "finish"))
    return samples.document("with_subprocess", body, {"Back Office": ["begin", "checks", "check", "approve", "finish"]},
                            samples.props(customerValue="An answer", targetDuration="P1D", processOwner="ops-lead"))


def test_the_stored_header_is_what_spiffworkflow_writes_for_the_workflow_and_its_subprocesses():
    compiled = compile_package(Package("with_subprocess", "w.bpmn", {"w.bpmn": with_subprocess()}))
    case = Case.start(compiled, {"amount": Decimal("12.50")})
    case.workflow.data["found"] = date(2026, 3, 1)  # workflow-level data, as a script's result would be
    assert case.workflow.subprocesses, "the check runs in a subprocess of its own"
    own = BpmnWorkflowSerializer(state.spiff_registry()).to_dict(case.workflow)  # SpiffWorkflow's own, whole
    header = json.loads(case.snapshot().header)
    assert header.pop("predicted") is not None
    assert header == json.loads(state._dumps({key: own[key] for key in header}))  # values as cases write them
    assert header["subprocesses"] and header["data"] == {"found": {"value": "2026-03-01", "typename": "date"}}

    restored = Case.restore(case.snapshot().header, case.snapshot().tasks.values(), compiled)
    [check] = restored.ready_human_tasks()
    restored.complete(str(check.id), {})
    assert [t.task_spec.bpmn_id for t in restored.ready_human_tasks()] == ["approve"]
    assert restored.workflow.data["found"] == date(2026, 3, 1)


def test_a_case_spiffworkflow_cannot_begin_is_refused_in_words():
    """A stored version compiles under the rules of its day: here, one whose start event has the id SpiffWorkflow
    gives its own start, which a deploy refuses."""
    body = ('<bpmn:startEvent id="Start"/>' + samples.user_task("review", "Review") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("Start", "review", "finish"))
    xml = samples.document("taken", body, {"Back Office": ["Start", "review", "finish"]})
    compiled = compile_package(Package("taken", "taken.bpmn", {"taken.bpmn": xml}), stored=True)
    with pytest.raises(CannotStart, match=r"^SpiffWorkflow cannot begin a case of taken \(No output task connected\); "
                                          r"nothing was started: deploy a corrected version of the process$"):
        Case.start(compiled, {})
