"""Timer events that hold their date, duration or cycle to engine.time.timer_bounds before SpiffWorkflow computes.

SpiffWorkflow evaluates a timer's expression when a case reaches the timer and computes its due time there and
then. ``bind_timers`` gives the timers of a compiled process the classes below, which compute that due time only
for a value within the bounds and one SpiffWorkflow reads; any other value stops the case at the timer step with a
``WorkflowTaskException`` naming the step and the bound. ``timer_refusal`` says the same of a literal value at
deploy.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition, TimeDateEventDefinition,
                                                              TimerEventDefinition)
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.task import Task as SpiffTask

from engine.time.clock import current_time
from engine.time.timer_bounds import CYCLE, DATE, DURATION, TimerOutOfBounds, checked_timer


def timer_refusal(kind: str, value: object) -> Optional[str]:
    """Why a timer of ``kind`` (DATE, DURATION or CYCLE) cannot run with ``value``, or None."""
    try:
        _event_value(kind, value)
    except TimerOutOfBounds as exc:
        return str(exc)
    return None


def _event_value(kind: str, value: object) -> Any:
    """What SpiffWorkflow keeps for a timer that starts waiting now: a date as written, a duration's due time, a
    cycle's repetitions left, next time and interval; TimerOutOfBounds for a value it must not compute with."""
    text = checked_timer(kind, value)
    try:
        if kind == DATE:
            TimerEventDefinition.parse_time_or_duration(text)  # as each look at the timer will
            return text
        if kind == DURATION:
            start = current_time()
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
        cycles, start, interval = TimerEventDefinition.parse_iso_recurring_interval(text)
        return {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
    except Exception as exc:  # SpiffWorkflow raises bare exceptions for what it cannot read
        raise TimerOutOfBounds(f"SpiffWorkflow cannot read the {kind} {value!r}: {exc}") from None


class _BoundedTimer(TimerEventDefinition):  # type: ignore[misc]
    """Keeps the checked value a timer starts waiting with, so that SpiffWorkflow only compares with it."""

    kind: str

    def _start(self, task: SpiffTask) -> None:
        if task._get_internal_data("event_value") is not None:
            return
        value = task.workflow.script_engine.evaluate(task, self.expression)
        try:
            task._set_internal_data(event_value=_event_value(self.kind, value))
        except TimerOutOfBounds as exc:
            spec = task.task_spec
            raise WorkflowTaskException(f"the timer of step {spec.bpmn_name or spec.bpmn_id!r} cannot run: {exc}",
                                        task=task, exception=exc) from exc


class BoundedDateTimer(_BoundedTimer, TimeDateEventDefinition):  # type: ignore[misc]
    """A timer due at a date."""

    kind = DATE

    def has_fired(self, my_task: SpiffTask) -> bool:
        self._start(my_task)
        return bool(super().has_fired(my_task))


class BoundedDurationTimer(_BoundedTimer, DurationTimerEventDefinition):  # type: ignore[misc]
    """A timer due a duration after the case reaches it."""

    kind = DURATION

    def has_fired(self, my_task: SpiffTask) -> bool:
        self._start(my_task)
        return bool(super().has_fired(my_task))


class BoundedCycleTimer(_BoundedTimer, CycleTimerEventDefinition):  # type: ignore[misc]
    """A timer that fires repeatedly, at an interval."""

    kind = CYCLE

    def cycle_complete(self, my_task: SpiffTask) -> bool:
        self._start(my_task)
        return bool(super().cycle_complete(my_task))


BOUNDED: dict[type, type] = {TimeDateEventDefinition: BoundedDateTimer,
                             DurationTimerEventDefinition: BoundedDurationTimer,
                             CycleTimerEventDefinition: BoundedCycleTimer}


def event_definitions(task_spec: Any) -> Iterator[Any]:
    """Every event definition a task spec holds, also those an event-based gateway or a multiple event holds."""
    pending = [getattr(task_spec, "event_definition", None)]
    while pending:
        definition = pending.pop()
        if definition is not None:
            yield definition
            pending.extend(getattr(definition, "event_definitions", None) or [])


def bind_timers(specs: Iterable[WorkflowSpec]) -> None:
    """Give every timer of the specs its bounded class; the definition objects stay, as the specs share them."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            for definition in event_definitions(task_spec):
                bounded = BOUNDED.get(type(definition))
                if bounded is not None:
                    definition.__class__ = bounded
