"""A case in memory: SpiffWorkflow's workflow with Valueflow's rules around it.

``Case`` is the only place that drives SpiffWorkflow at run time. It checks
what SpiffWorkflow does not (a task must be READY and a human task to be
completed), turns script failures into an error state with the message
kept (cut to a length a page can show), and keeps the task tree bounded after every step (engine.cases.compaction).

Whatever SpiffWorkflow raises while a case steps stops the case in error at the step it was at, whose retry runs
that step again: its own exceptions, and any other raised in its code (a ``TypeError`` of its internals).
An exception raised in Valueflow's own code propagates, as the bug it is.
"""

from __future__ import annotations

import logging
import traceback
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Optional
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.cases.compaction import compact
from engine.cases.errors import CannotStart, MessageNotExpected, TaskNotReady
from engine.cases.state import Snapshot, restore, snapshot
from engine.cases.workflow import CaseWorkflow, dismantle
from engine.definitions.packages import CompiledDefinition
from engine.definitions.service_specs import keeps_payload_as_data
from engine.definitions.timer_events import event_definitions

# A guard against a process that keeps making engine tasks ready forever.
_MAX_ENGINE_ROUNDS = 10_000
# How many engine tasks may run between two compactions inside one advance.
_COMPACT_EVERY = 100
# How many engine tasks one advance may run before the case is stopped as an endless loop.
_MAX_ENGINE_TASKS = 20_000
_UNFINISHED = TaskState.NOT_FINISHED_MASK
# A task that fails in one of these states failed in SpiffWorkflow's look at whether it may run (its update, e.g. a
# multi-instance step making its instances); its internal data then holds _UPDATE_AGAIN, and retry() updates it anew.
_NOT_RUN_YET = TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.WAITING | TaskState.READY
_UPDATE_AGAIN = "valueflow.update_again"
_SPIFF_PACKAGE = "SpiffWorkflow"
_OWN_PACKAGE = __name__.split(".")[0]
_LOG = logging.getLogger(__name__)


class EndlessLoop(Exception):
    """Automatic steps kept running without the case ever waiting."""


@dataclass(frozen=True)
class Wait:
    """Something outside the case that it waits for: a message (named), a timer (due at a moment), or the worker
    of a service task (outside workers of a topic, or a connector)."""

    kind: str                   # "message", "timer" or "worker"
    step_id: str                # the catching event's (or the service task's) BPMN id
    step_name: str
    message: Optional[str] = None
    due: Optional[datetime] = None
    worker: Optional[str] = None  # e.g. "workers of the topic credit-score", "the http connector (crm)"


# The longest message a failed step keeps: a script may raise one of any length.
MAX_ERROR_MESSAGE = 2_000


@dataclass(frozen=True)
class CaseError:
    """Why a case stopped: the step that failed, the message, and how many runs of it failed (when known)."""

    step_id: Optional[str]
    message: str
    attempts: Optional[int] = None


def kept_message(message: str) -> str:
    """A failed step's message as the case keeps it: without a closing full stop, cut to ``MAX_ERROR_MESSAGE``
    characters (saying so), and with control characters other than line breaks and tabs, and lone surrogates,
    which no page or database could write, as U+FFFD."""
    message = message.rstrip(". ")
    if len(message) > MAX_ERROR_MESSAGE:
        message = f"{message[:MAX_ERROR_MESSAGE]}… (cut: the message has {len(message):,} characters)"
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" else c
                   for c in message)


class Case:
    """One process instance's run state, loaded from or bound for the database."""

    def __init__(self, workflow: BpmnWorkflow, definition: CompiledDefinition) -> None:
        self.workflow = workflow
        self.definition = definition
        self.error: Optional[CaseError] = None
        workflow.script_engine = definition.script_engine

    @classmethod
    def start(cls, definition: CompiledDefinition, data: dict[str, Any]) -> "Case":
        """A new case with ``data`` as its initial data, run until it waits; CannotStart when SpiffWorkflow cannot
        begin one."""
        try:
            workflow = CaseWorkflow(definition.spec, definition.subprocess_specs,
                                    script_engine=definition.script_engine)
        except Exception as exc:
            if not _raised_by_spiff(exc):
                raise
            raise CannotStart(f"SpiffWorkflow cannot begin a case of {definition.key} ({_said(exc)}); nothing was "
                              "started: deploy a corrected version of the process") from exc
        for task in workflow.get_tasks(state=TaskState.READY):
            task.set_data(**data)
        case = cls(workflow, definition)
        case.advance()
        return case

    @classmethod
    def restore(cls, header: str, tasks: Iterable[str], definition: CompiledDefinition) -> "Case":
        """A case rebuilt from a stored snapshot (see engine.cases.state)."""
        return cls(restore(header, tasks, definition.spec, definition.subprocess_specs), definition)

    def release(self) -> None:
        """Free the case's memory now; for a case no one will use again (engine.cases.workflow.dismantle)."""
        dismantle(self.workflow)

    def snapshot(self, previous: Optional[Snapshot] = None) -> Snapshot:
        """The run state to store; ``previous`` (what is stored now) lets unchanged tasks be reused."""
        return snapshot(self.workflow, previous)

    # -- what the case is doing -------------------------------------------------

    @property
    def status(self) -> str:
        if self.error is not None or any(t._state == TaskState.ERROR for t in self._tasks()):
            return "error"
        # An unfinished task of the top workflow means it runs on: a plain look at its tasks costs a step
        # less than SpiffWorkflow's own check, a walk of the tree, which is left for when it may be done.
        if not self.workflow.completed and any(t._state & _UNFINISHED for t in self.workflow.tasks.values()):
            return "running"
        if self.workflow.is_completed():
            return "completed" if self.workflow.success else "cancelled"
        return "running"

    def ready_human_tasks(self) -> list[SpiffTask]:
        """The user and manual tasks waiting for a person."""
        return [t for t in self._tasks() if t._state == TaskState.READY and t.task_spec.manual]

    def waiting_service_tasks(self) -> list[SpiffTask]:
        """The service tasks waiting for their worker (external or connector): started, not yet done."""
        steps = self.definition.service_steps
        if not steps:
            return []
        return [t for t in self._tasks() if t._state == TaskState.STARTED and t.task_spec.bpmn_id in steps]

    def service_step_id(self, spiff_task_id: str) -> str:
        """The step of a waiting service task; TaskNotReady when the case no longer waits there."""
        return str(self._waiting_service_task(spiff_task_id).task_spec.bpmn_id)

    def service_task_data(self, spiff_task_id: str) -> dict[str, Any]:
        """The case data a waiting service task sees."""
        task = self._waiting_service_task(spiff_task_id)
        return {k: v for k, v in task.data.items() if not callable(v)}

    def _tasks(self) -> Iterator[SpiffTask]:
        """Every task of the case, subprocesses included, in no particular order (cheaper than a tree walk)."""
        yield from self.workflow.tasks.values()
        for subprocess in self.workflow.subprocesses.values():
            yield from subprocess.tasks.values()

    @property
    def data(self) -> dict[str, Any]:
        """The case data as of its latest completed step."""
        last = self.workflow.last_task
        source = last.data if last is not None else self.workflow.task_tree.data
        return {k: v for k, v in source.items() if not callable(v)}

    def next_timer_at(self) -> Optional[datetime]:
        """When the earliest waiting timer of the case is due, if any."""
        # Timers keep their due time here, also behind an event-based gateway, where waiting_events() shows no value.
        due = [_due_time(task.internal_data.get("event_value")) for task in self.workflow.event_manager.tasks.values()]
        return min((moment for moment in due if moment is not None), default=None)

    def waits(self) -> list[Wait]:
        """The messages, timers and service tasks' workers the case waits for now, in diagram order within each
        waiting element.

        An event-based gateway waits for each of its outgoing events at once (SpiffWorkflow keeps their
        definitions on the gateway, in the order of its outputs).
        """
        found = []
        for task in self._tasks():
            spec = task.task_spec
            definition = getattr(spec, "event_definition", None)
            if task.state != TaskState.WAITING or definition is None:
                continue
            gateway = isinstance(definition, MultipleEventDefinition)
            if gateway and len(definition.event_definitions) == len(spec.outputs):
                pairs = list(zip(spec.outputs, definition.event_definitions))
            else:
                pairs = [(spec, definition)]
            due = _due_time(task.internal_data.get("event_value"))
            for catching, event in pairs:
                step = (catching.bpmn_id or catching.name, catching.bpmn_name or catching.bpmn_id or catching.name)
                if isinstance(event, MessageEventDefinition):
                    found.append(Wait("message", *step, message=event.name))
                elif isinstance(event, TimerEventDefinition):
                    found.append(Wait("timer", *step, due=due))
        for task in self.waiting_service_tasks():
            service = self.definition.service_steps[task.task_spec.bpmn_id]
            found.append(Wait("worker", service.step_id, service.name, worker=service.worker_description))
        return found

    # -- what people and time do to it ------------------------------------------

    def complete(self, spiff_task_id: str, data: dict[str, Any]) -> None:
        """Complete a READY human task with (already validated) data and run on until the case waits."""
        task = self._ready_human_task(spiff_task_id)
        self._finish(task, data, task.run)

    def complete_service_task(self, spiff_task_id: str, data: dict[str, Any]) -> None:
        """Complete a waiting service task with its worker's results merged into the case data, and run on."""
        task = self._waiting_service_task(spiff_task_id)
        self._finish(task, data, task.complete)  # begun already: it only completes (its post-script runs)

    def _finish(self, task: SpiffTask, data: dict[str, Any], finish: Callable[[], Any]) -> None:
        """Give the task its data, finish it, and run on until the case waits; a failure puts the case in error."""
        task.set_data(**data)
        if self._stepped(finish, task):  # else the task's own code, or a step it leads to (a timer), failed
            self.advance()

    def fail_service_task(self, spiff_task_id: str, message: str, attempts: int) -> None:
        """Stop the case in error at a waiting service task, after ``attempts`` failed runs of it."""
        task = self._waiting_service_task(spiff_task_id)
        task._set_state(TaskState.ERROR)  # as a failed script leaves its task; retry() makes it READY again
        self.error = CaseError(task.task_spec.bpmn_id, kept_message(message), attempts)

    def receive_message(self, name: str, payload: dict[str, Any]) -> None:
        """Deliver a message (e.g. "documents_received") to the part of the case waiting for it."""
        caught = 0

        def deliver() -> None:
            nonlocal caught
            caught = self.workflow.event_manager.catch(BpmnEvent(MessageEventDefinition(name), payload),
                                                       internal=False)

        if not self._stepped(deliver):
            return
        if caught == 0:
            raise MessageNotExpected(f"the case is not waiting for the message {name!r}")
        self.advance()

    def keeps_payload_as_data(self, name: str) -> bool:
        """Whether a message of ``name`` would leave its payload's entries in the case data: an event waiting for
        it keeps it under no variable (engine.definitions.service_specs)."""
        return any(task.state == TaskState.WAITING and keeps_payload_as_data(definition) and definition.name == name
                   for task in self._tasks() for definition in [getattr(task.task_spec, "event_definition", None)])

    def fire_due_timers(self) -> None:
        """Fire every timer due by now (the clock SpiffWorkflow sees) and run on: each of advance's rounds ends with
        SpiffWorkflow's look at the timers."""
        self.advance()

    def cancel(self) -> None:
        """Stop the case for good; a failed step is cancelled with the rest, so that a case in error ends too."""
        for task in self._tasks():
            if task.state == TaskState.ERROR:
                task._set_state(TaskState.CANCELLED)
        self.error = None
        self.workflow.cancel()

    def retry(self) -> None:
        """Run the steps that failed again (once what made them fail is fixed), and on until the case waits; a timer
        that failed starts waiting again, its value computed anew, and a step that failed before it ran (a
        multi-instance step making its instances, a call activity or subprocess opening its process) is looked at
        anew, as when the case came to it."""
        again = []
        for task in self._tasks():
            if task.state == TaskState.ERROR and _is_timer(task):
                task._set_state(TaskState.WAITING)
                task.workflow.top_workflow.event_manager.add_task(task)  # advance's look at the timers starts it
            elif task.state == TaskState.ERROR and (task.internal_data.pop(_UPDATE_AGAIN, False)
                                                    or _opened_nothing(task)):
                task._set_state(TaskState.FUTURE)
                again.append(task)  # run from READY, SpiffWorkflow would pass it without that work
            elif task.state == TaskState.ERROR:
                task._set_state(TaskState.READY)  # SpiffWorkflow has no public way back from ERROR
        self.error = None
        if self._stepped(lambda: [task.task_spec._update(task) for task in again]):
            self.advance()

    def advance(self) -> None:
        """Run engine tasks (scripts, gateways, fired events) until only people or time can move the case."""
        ran = 0

        def after_each(_task: SpiffTask) -> None:
            # A loop of engine tasks alone (scripts, gateways) runs inside one call: keep the tree bounded
            # as it goes, or SpiffWorkflow would stop finding ready tasks about 500 passes in.
            nonlocal ran
            ran += 1
            if ran % _COMPACT_EVERY == 0:
                compact(self.workflow)
            if ran > _MAX_ENGINE_TASKS:
                raise EndlessLoop(f"{_MAX_ENGINE_TASKS:,} automatic steps ran without the case waiting for a "
                                  "person, a message or a timer: the process loops without end")

        def run() -> None:
            for _ in range(_MAX_ENGINE_ROUNDS):
                self.workflow.do_engine_steps(did_complete_task=after_each)
                if not any(t._state == TaskState.READY and not t.task_spec.manual for t in self._tasks()):
                    break

        self._stepped(run)
        compact(self.workflow)

    def _stepped(self, step: Callable[[], Any], task: Optional[SpiffTask] = None) -> bool:
        """Run ``step``, a call into SpiffWorkflow; when SpiffWorkflow fails in it, stop the case in error at the
        task it was at (else ``task``) and return False."""
        try:
            step()
        except EndlessLoop as exc:
            self._fail(exc, self.workflow.last_task)
        except Exception as exc:
            if not _raised_by_spiff(exc):
                raise
            if not isinstance(exc, SpiffWorkflowException):
                _LOG.warning("SpiffWorkflow failed in a case, which stops in error", exc_info=exc)
            self._fail(exc, _task_at_fault(exc) or task)
        else:
            return True
        return False

    def _task(self, spiff_task_id: str) -> Optional[SpiffTask]:
        try:
            return self.workflow.get_task_from_id(UUID(spiff_task_id))
        except TaskNotFoundException:
            return None

    def _ready_human_task(self, spiff_task_id: str) -> SpiffTask:
        task = self._task(spiff_task_id)
        if task is None or not task.task_spec.manual:
            raise TaskNotReady("the task is not part of this case any more")
        if task.state != TaskState.READY:
            raise TaskNotReady(f"the step {task.task_spec.bpmn_name or task.task_spec.bpmn_id!r} "
                               f"is not ready ({TaskState.get_name(task.state).lower()})")
        return task

    def _waiting_service_task(self, spiff_task_id: str) -> SpiffTask:
        task = self._task(spiff_task_id)
        if task is None or task.task_spec.bpmn_id not in self.definition.service_steps:
            raise TaskNotReady("the service task is not part of this case any more")
        if task.state != TaskState.STARTED:
            raise TaskNotReady(f"the step {task.task_spec.bpmn_name or task.task_spec.bpmn_id!r} "
                               f"is not waiting for its worker ({TaskState.get_name(task.state).lower()})")
        return task

    def _fail(self, exc: Exception, task: Optional[SpiffTask]) -> None:
        if task is not None and _is_timer(task) and not task.has_state(TaskState.FINISHED_MASK):
            # A timer whose value failed waits no more: in ERROR, as a failed script is, the case is in error.
            task._set_state(TaskState.ERROR)
            task.internal_data.pop("event_value", None)
            task.workflow.top_workflow.event_manager.remove_task(task)
        elif task is not None and task.has_state(_NOT_RUN_YET):
            task._set_state(TaskState.ERROR)  # in error, as a failed script is, and retry() updates it anew
            task.internal_data[_UPDATE_AGAIN] = True
        step = task.task_spec.bpmn_id if task is not None else None
        self.error = CaseError(step, kept_message(_said(exc)))


def _raised_by_spiff(exc: Exception) -> bool:
    """Whether SpiffWorkflow raised ``exc``: one of its exceptions, or another raised in its code rather than in
    Valueflow's (a method of CaseWorkflow, compaction), by the innermost frame of either (a library one of them
    calls fails as the caller)."""
    if isinstance(exc, SpiffWorkflowException):
        return True
    raiser = None
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        package = str(frame.f_globals.get("__name__", "")).split(".")[0]
        if package in (_SPIFF_PACKAGE, _OWN_PACKAGE):
            raiser = package
    return raiser == _SPIFF_PACKAGE


def _task_at_fault(exc: Exception) -> Optional[SpiffTask]:
    """The task SpiffWorkflow was at when it raised ``exc``: the one its exception names, else the innermost one
    its frames work on (its task specs call it ``my_task``, its tasks ``self``)."""
    found = getattr(exc, "task", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        found = next((value for value in map(frame.f_locals.get, ("my_task", "self")) if isinstance(value, SpiffTask)),
                     found)
    return found


def _said(exc: Exception) -> str:
    """Why SpiffWorkflow stopped, without a closing full stop: the message of its exceptions and of ours, which say it
    in words; for another exception, also its kind, without which "'NoneType' object is not iterable" says little."""
    if isinstance(exc, (SpiffWorkflowException, EndlessLoop)):
        return str(exc).rstrip(". ")
    return f"SpiffWorkflow failed: {type(exc).__name__}: {exc}".rstrip(". ")


def _is_timer(task: SpiffTask) -> bool:
    """Whether the task waits for a timer, also one among the events of an event-based gateway."""
    return any(isinstance(each, TimerEventDefinition) for each in event_definitions(task.task_spec))


def _opened_nothing(task: SpiffTask) -> bool:
    """Whether the task is a call activity or subprocess whose process did not open (see CaseWorkflow)."""
    return isinstance(task.task_spec, SubWorkflowTask) and task.workflow.top_workflow.get_subprocess(task) is None


def _due_time(event_value: Any) -> Optional[datetime]:
    """A waiting timer's due time as SpiffWorkflow keeps it (a cycle timer keeps a dict with the next one)."""
    if isinstance(event_value, dict):
        event_value = event_value.get("next")
    if not isinstance(event_value, str):
        return None
    try:
        return datetime.fromisoformat(event_value)
    except ValueError:
        return None
