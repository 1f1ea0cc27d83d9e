"""The Case wrapper refuses what SpiffWorkflow itself would allow."""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.definitions import Package, compile_package
from engine.model import Case, TaskNotReady
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
