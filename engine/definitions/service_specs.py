"""How SpiffWorkflow holds a service step that runs outside the engine loop, and events with mappings.

``WaitingServiceTask`` runs no code of its own: when the case reaches it, the task is left STARTED (SpiffWorkflow's
state for work begun elsewhere), so the case waits there until a worker's result completes it
(engine.cases.model). ``ServiceStepParser`` parses every ``bpmn:serviceTask`` into one; steps of other kinds that
run as service steps (a send task fetched by workers) are turned into service tasks before they are parsed.

SpiffWorkflow runs a task's pre- and post-script but not an event's; the events it parses here run theirs too, so
that the input and output mappings other tools write on an event (engine.definitions.io_mappings) run before and
after it as a task's do; and a message caught under no variable leaves its payload in the case data, where an
output mapping reads it (``<zeebe:output source="=amount" target="paid"/>``).
"""

from __future__ import annotations

from typing import Any, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent as EndEventMixin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent as BoundaryEventMixin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import \
    IntermediateCatchEvent as IntermediateCatchEventMixin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import \
    IntermediateThrowEvent as IntermediateThrowEventMixin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventMixin
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask as ServiceTaskMixin
from SpiffWorkflow.spiff.parser.event_parsers import (SpiffBoundaryEventParser, SpiffEndEventParser,
                                                      SpiffIntermediateCatchEventParser,
                                                      SpiffIntermediateThrowEventParser, SpiffStartEventParser)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask
from SpiffWorkflow.task import Task as SpiffTask

from engine.definitions.namespaces import BPMN_NS


class WaitingServiceTask(ServiceTaskMixin, SpiffBpmnTask):  # type: ignore[misc]
    """A service task whose work is done outside the engine loop: running it leaves it STARTED."""

    def _execute(self, task: SpiffTask) -> None:
        return None


def keeps_payload_as_data(definition: Any) -> bool:
    """Whether an event definition is a message's that a catching event keeps under no variable, so that its
    payload's entries become case data (``_PayloadAsData``)."""
    return isinstance(definition, SpiffMessageEventDefinition) and definition.message_var is None


class _PayloadAsData:
    """A message caught under no variable of SpiffArena's (``spiffworkflow:messageVariable``) leaves its payload's
    entries in the case data, as Camunda 7 and 8 merge a message's variables into the process, where the event's
    output mappings (its post-script) read them."""

    event_definition: Any

    def _run_hook(self, my_task: SpiffTask) -> Any:
        definition = self.event_definition
        if keeps_payload_as_data(definition):
            payload = my_task.internal_data.pop(definition.name, None)
            if isinstance(payload, dict):
                my_task.data.update(payload)
        return super()._run_hook(my_task)  # type: ignore[misc]


class ScriptedStartEvent(_PayloadAsData, StartEventMixin, SpiffBpmnTask):  # type: ignore[misc]
    """A start event that runs its pre- and post-script."""


class ScriptedEndEvent(EndEventMixin, SpiffBpmnTask):  # type: ignore[misc]
    """An end event that runs its pre- and post-script."""


class ScriptedCatchEvent(_PayloadAsData, IntermediateCatchEventMixin, SpiffBpmnTask):  # type: ignore[misc]
    """An intermediate catching event that runs its pre- and post-script."""


class ScriptedThrowEvent(IntermediateThrowEventMixin, SpiffBpmnTask):  # type: ignore[misc]
    """An intermediate throwing event that runs its pre- and post-script."""


class ScriptedBoundaryEvent(_PayloadAsData, BoundaryEventMixin, SpiffBpmnTask):  # type: ignore[misc]
    """A boundary event that runs its pre- and post-script."""


def _with_scripts(parser: type) -> type:
    """``parser``, an event parser of SpiffWorkflow's, giving the event it makes its pre- and post-script."""

    def create_task(self: Any) -> Any:
        task = parser.create_task(self)
        extensions = self.parse_extensions()
        task.prescript, task.postscript = extensions.get("preScript"), extensions.get("postScript")
        return task

    return type(f"Scripted{parser.__name__}", (parser,), {"create_task": create_task})


class ServiceStepParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser, with service tasks that wait for their worker and events that run their scripts."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (SpiffTaskParser, WaitingServiceTask),
        full_tag("startEvent"): (_with_scripts(SpiffStartEventParser), ScriptedStartEvent),
        full_tag("endEvent"): (_with_scripts(SpiffEndEventParser), ScriptedEndEvent),
        full_tag("intermediateCatchEvent"): (_with_scripts(SpiffIntermediateCatchEventParser), ScriptedCatchEvent),
        full_tag("intermediateThrowEvent"): (_with_scripts(SpiffIntermediateThrowEventParser), ScriptedThrowEvent),
        full_tag("boundaryEvent"): (_with_scripts(SpiffBoundaryEventParser), ScriptedBoundaryEvent),
    }


def as_service_tasks(document: etree._Element, step_ids: Iterable[str]) -> None:
    """Make the elements of ``step_ids`` in ``document`` service tasks, whatever kind of task they were drawn as."""
    wanted = set(step_ids)
    for element in document.iter():
        if isinstance(element.tag, str) and element.get("id") in wanted:
            element.tag = f"{{{BPMN_NS}}}serviceTask"
