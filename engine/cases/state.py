"""SpiffWorkflow's run state as JSON, without the process definition.

SpiffWorkflow's own serializer writes the whole definition into every
instance (two thirds of its JSON). Here the definition stays in
ProcessDefinition, compiled once and cached; an instance stores only its
tasks, data and pending events, and is restored onto the cached spec. The
tasks come one by one, so that saving rewrites only the tasks that changed;
the predicted ones (steps not yet reached, without data) ride in a few fields
each in the header, which a step rewrites anyway.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.cases.workflow import CaseTask, CaseWorkflow
from engine.definitions.timer_events import BOUNDED


class _StateConverter(BpmnWorkflowConverter):
    """Writes and reads a top-level workflow without its spec and subprocess specs."""

    def to_dict(self, workflow: BpmnWorkflow, name: Callable[[UUID], str] = str) -> dict[str, Any]:
        """The workflow-level state, as WorkflowConverter writes it less the tasks (``snapshot`` writes those);
        ``name`` writes a task id (``snapshot`` looks up the text it already has).

        Written here rather than through WorkflowConverter and the registry's
        pass over every part, empty ones included: converting a waiting loan
        case's header took 13 µs that way, 6.6 µs now.
        """
        registry = self.registry
        last = workflow.last_task
        return {
            "data": registry.convert(registry.clean(workflow.data)) if workflow.data else {},
            "correlations": workflow.correlations,
            "last_task": name(last.id) if last is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "root": name(workflow.task_tree.id),
            "subprocesses": self.mapping_to_dict(workflow.subprocesses) if workflow.subprocesses else {},
            "bpmn_events": registry.convert(workflow.bpmn_events) if workflow.bpmn_events else [],
        }

    def from_dict(self, dct: dict[str, Any], spec: WorkflowSpec = None,  # type: ignore[override]
                  subprocess_specs: dict[str, WorkflowSpec] | None = None) -> CaseWorkflow:
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def spiff_registry(workflow_converter: type = BpmnWorkflowConverter) -> DefaultRegistry:
    """SpiffWorkflow's converters, with the kinds of values cases keep; ``_StateConverter`` here leaves specs out.

    A case's workflow (a ``CaseWorkflow``) is written and read with
    ``workflow_converter`` under SpiffWorkflow's own name for it,
    "BpmnWorkflow", as every stored case has it; its tasks are read as
    ``CaseTask``s under the name "Task".
    """
    registry = DefaultRegistry()
    # Form values and script results that plain JSON cannot hold (SPIFFWORKFLOW.md pitfall 5).
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    config = {kind: converter for kind, converter in SPIFF_CONFIG.items() if kind is not BpmnWorkflow}
    BpmnWorkflowSerializer.configure(config, registry)
    for spiff_timer, bounded in BOUNDED.items():  # an event-based gateway keeps the timer event that fired
        TimerConditionalEventDefinitionConverter(bounded, registry, spiff_timer.__name__)
    workflow_converter(CaseWorkflow, registry, BpmnWorkflow.__name__)
    TaskConverter(CaseTask, registry, SpiffTask.__name__)
    return registry


_REGISTRY = spiff_registry(_StateConverter)
# The registry's conversion of a case's workflow (``_StateConverter.to_dict``, its typename added).
_WORKFLOW_TO_DICT = _REGISTRY.convert_to_dict[BpmnWorkflow.__name__]


_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_PREDICTED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE


@dataclass(frozen=True)
class Snapshot:
    """A case's run state as JSON: the workflow-level part and each task on its own, by task id.

    ``reusable`` remembers, for each task whose JSON cannot change unseen,
    what that JSON depends on, so that the next snapshot can reuse it instead
    of converting the task again; ``names`` keeps each task id's text, which
    costs more to write again than to look up (by the id's number: a UUID
    hashes in Python, its number in C).
    """

    header: str
    tasks: dict[str, str]
    reusable: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    predicted: dict[str, list[Any]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def snapshot(workflow: BpmnWorkflow, previous: Optional[Snapshot] = None) -> Snapshot:
    """The workflow's run state (no definition), split so that unchanged tasks need not be rewritten.

    A finished task's JSON is taken from ``previous`` when nothing it depends
    on moved (it changes only when compaction re-attaches it). A predicted
    task (not yet reached: FUTURE, LIKELY, MAYBE) without data of its own is
    kept in the header, in a few fields, instead of a row of its own: it is
    nearly half of the tasks a step adds or changes, and the header is
    written at every step anyway.
    """
    tasks: dict[str, str] = {}
    reusable: dict[str, tuple[Any, ...]] = {}
    predicted: dict[str, list[Any]] = {}
    if previous is not None:
        known, known_names, known_tasks, known_predicted = (previous.reusable, previous.names, previous.tasks,
                                                            previous.predicted)
    else:
        known, known_names, known_tasks, known_predicted = {}, {}, {}, {}
    names: dict[int, str] = {}
    by_id = workflow.tasks

    def name(uuid: UUID) -> str:
        number = uuid.int
        text = names.get(number) or known_names.get(number)
        if text is None:
            text = str(uuid)
        names[number] = text
        return text

    for uuid, task in by_id.items():
        number = uuid.int
        task_id = names.get(number) or known_names.get(number) or name(uuid)
        names[number] = task_id
        state = task._state
        parent = task._parent
        if state & _PREDICTED and parent is not None and not task.data and not task.internal_data:
            children = task._children
            key = (state, task.last_state_change, parent, tuple(children), task.triggered)
            reusable[task_id] = key
            if known.get(task_id) == key and task_id in known_predicted:
                predicted[task_id] = known_predicted[task_id]
            else:
                predicted[task_id] = [name(parent), task.task_spec.name, state, task.last_state_change,
                                      task.triggered, [name(child) for child in children]]
            continue
        if state & _FINISHED:
            key = (state, task.last_state_change, parent, tuple(task._children))
            reusable[task_id] = key
            if known.get(task_id) == key and task_id in known_tasks:
                tasks[task_id] = known_tasks[task_id]
                continue
        tasks[task_id] = _dumps(_task_dict(task, by_id, name))
    header = _WORKFLOW_TO_DICT(workflow, name=name)
    header["predicted"] = predicted
    return Snapshot(_dumps(header), tasks, reusable, predicted, names)


_ABSENT = object()  # a key the parent's data lacks (unequal to any value)
# Values SpiffWorkflow's registry writes as they are: internal data holding only these needs no conversion.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _task_dict(task: Any, by_id: dict[UUID, Any], name: Callable[[UUID], str] = str) -> dict[str, Any]:
    """The task as SpiffWorkflow's own task converter writes it (data as a change to its parent's), only faster."""
    parent = by_id.get(task._parent) if task._parent is not None else None
    data = task.data
    if parent is None:
        own, delta = data, {}
    else:
        above = parent.data
        own = {}
        if data == above:  # most tasks pass their parent's data on as it was: compared in one go
            delta = {"updates": {}, "deletions": []}
        else:
            get = above.get
            delta = {"updates": {k: v for k, v in data.items() if get(k, _ABSENT) != v},
                     "deletions": [] if above.keys() <= data.keys() else [k for k in above if k not in data]}
    internal = task.internal_data
    if internal and not all(type(value) in _PLAIN for value in internal.values()):
        internal = _REGISTRY.convert(internal)
    return {
        "id": name(task.id), "parent": name(task._parent) if parent is not None else None,
        "children": [name(child) for child in task._children], "last_state_change": task.last_state_change,
        "state": task._state, "task_spec": task.task_spec.name, "triggered": task.triggered,
        "internal_data": internal if internal else {},
        "data": own, "delta": delta, "typename": "Task",
    }


def restore(header: str, tasks: Iterable[str], spec: WorkflowSpec,
            subprocess_specs: dict[str, WorkflowSpec]) -> BpmnWorkflow:
    """Rebuild a workflow from a snapshot's header and task bodies onto its (cached) spec."""
    state = json.loads(header)
    predicted = state.pop("predicted", {})  # absent from snapshots stored before predicted tasks moved there
    state["tasks"] = _parents_first(state["root"], {body["id"]: body for body in map(json.loads, tasks)})
    workflow = _REGISTRY.restore(state, spec=spec, subprocess_specs=subprocess_specs)
    _add_predicted(workflow, predicted)
    return workflow


def _add_predicted(workflow: BpmnWorkflow, predicted: dict[str, list[Any]]) -> None:
    """Put the header's predicted tasks back into the tree, with their ids, states and places among siblings.

    A predicted task may hang below another: each is made after the predicted tasks above it, in a loop rather
    than a recursive inner function, whose reference to itself would keep every restored workflow alive until
    the garbage collector's next pass.
    """
    made: dict[str, SpiffTask] = {}
    for wanted in predicted:
        above: list[str] = []  # ``wanted`` and the predicted tasks above it not made yet, lowest first
        task_id = wanted
        while task_id in predicted and task_id not in made:
            if task_id in above:
                raise ValueError(f"the predicted task {task_id} hangs below itself")
            above.append(task_id)
            task_id = predicted[task_id][0]
        for task_id in reversed(above):
            parent_id, spec_name, state, changed, triggered, children = predicted[task_id]
            parent = made[parent_id] if parent_id in predicted else workflow.tasks[UUID(parent_id)]
            order = list(parent._children)  # already names this child, in its place
            task = CaseTask(workflow, workflow.spec.task_specs[spec_name], parent, state=state, id=UUID(task_id))
            parent._children = order
            task._children = [UUID(child) for child in children]
            task.last_state_change, task.triggered, task.thread_id = changed, triggered, parent.thread_id
            made[task_id] = task


def _parents_first(root: str, bodies: dict[str, Any]) -> dict[str, Any]:
    """The tasks in tree order: a task's data is stored as a change to its parent's, so parents come first."""
    ordered: dict[str, Any] = {}
    queue = [root]
    while queue:
        task_id = queue.pop()
        body = bodies.get(task_id)
        if body is not None and task_id not in ordered:
            ordered[task_id] = body
            queue.extend(reversed(body["children"]))
    if len(ordered) != len(bodies):
        raise ValueError("the stored task tree is not connected to its root")
    return ordered


def _converted(value: Any) -> Any:
    """A value JSON has no kind for, as SpiffWorkflow's registry writes it (dates, decimals) or as a list (sets)."""
    typename = _REGISTRY.typenames.get(type(value))
    if typename is not None:
        return _REGISTRY.convert(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"a case cannot keep a {type(value).__name__} in its data")


_standard_dumps = json.JSONEncoder(separators=(",", ":"), default=_converted).encode
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # those go to _converted


def _dumps(value: Any) -> str:
    """Compact JSON of a snapshot part, as the standard library writes it with ``_converted``, only faster.

    orjson writes it unless its output could differ: it writes NaN and
    Infinity as null, and refuses keys that are not strings and integers
    beyond 64 bits; any null, or a refusal, sends the part to the standard
    library instead (which also raises ``_converted``'s error for a value a
    case cannot keep). orjson writes a UUID as a plain string, but no UUID
    reaches case data: forms and messages are JSON and scripts cannot import.
    """
    try:
        encoded = orjson.dumps(value, default=_converted, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _standard_dumps(value)
    if b"null" in encoded:
        return _standard_dumps(value)
    return encoded.decode()
