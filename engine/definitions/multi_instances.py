"""Multi-instance steps that look at their collection before SpiffWorkflow makes their instances.

A multi-instance step with a collection (``loopDataInputRef``) runs once per item of a value of the case data,
which only a running case holds, or lacks. SpiffWorkflow's parallel multi-instance step fails on a missing value
or one that is no collection with Python's bare ``TypeError``, and its sequential one with a message naming
nothing. ``bind_multi_instances`` gives the multi-instance steps of a compiled process the classes below, which
stop the case at the step with a ``WorkflowDataException`` naming the collection and saying what to do.
"""

from __future__ import annotations

from collections.abc import Iterable as IterableValue
from typing import Any, Iterable

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.task import Task as SpiffTask


def _require_collection(spec: Any, task: SpiffTask) -> None:
    """Raise WorkflowDataException unless the case data holds the step's collection, and it is one."""
    name = spec.data_input.bpmn_id
    step = task.workflow.spec.task_specs[spec.task_spec].bpmn_name or spec.bpmn_id  # the step drawn, run per item
    if not spec.data_input.exists(task):
        held = "which the case data does not hold"
    elif not isinstance(spec.data_input.get(task), IterableValue):
        held = f"which holds a value of type {type(spec.data_input.get(task)).__name__}, not a collection"
    else:
        return
    raise WorkflowDataException(f"the multi-instance step {step!r} runs once per item of {name!r}, {held}: start "
                                f"the case with {name!r} as a list, or set it in a step before this one", task,
                                data_input=spec.data_input)


class CheckedParallelMultiInstance(ParallelMultiInstanceTask):  # type: ignore[misc]
    """A parallel multi-instance step that makes its instances only from a collection the case holds."""

    def create_children(self, my_task: SpiffTask) -> None:
        if self.data_input is not None:
            _require_collection(self, my_task)
        super().create_children(my_task)


class CheckedSequentialMultiInstance(SequentialMultiInstanceTask):  # type: ignore[misc]
    """A sequential multi-instance step that takes its items only from a collection the case holds."""

    def init_remaining_items(self, my_task: SpiffTask) -> Any:
        _require_collection(self, my_task)
        return super().init_remaining_items(my_task)


_CHECKED: dict[type, type] = {ParallelMultiInstanceTask: CheckedParallelMultiInstance,
                              SequentialMultiInstanceTask: CheckedSequentialMultiInstance}


def bind_multi_instances(specs: Iterable[WorkflowSpec]) -> None:
    """Give every multi-instance step of the specs its checking class."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            checked = _CHECKED.get(type(task_spec))
            if checked is not None:
                task_spec.__class__ = checked
