"""How SpiffWorkflow holds a service step that runs outside the engine loop: it starts, then waits.

``WaitingServiceTask`` runs no code of its own: when the case reaches it, the task is left STARTED (SpiffWorkflow's
state for work begun elsewhere), so the case waits there until a worker's result completes it
(engine.cases.model). ``ServiceStepParser`` parses every ``bpmn:serviceTask`` into one; steps of other kinds that
run as service steps (a send task fetched by workers) are turned into service tasks before they are parsed.
"""

from __future__ import annotations

from typing import Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask as ServiceTaskMixin
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask
from SpiffWorkflow.task import Task as SpiffTask

from engine.definitions.namespaces import BPMN_NS


class WaitingServiceTask(ServiceTaskMixin, SpiffBpmnTask):  # type: ignore[misc]
    """A service task whose work is done outside the engine loop: running it leaves it STARTED."""

    def _execute(self, task: SpiffTask) -> None:
        return None


class ServiceStepParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser, with service tasks that wait for their worker."""

    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("serviceTask"): (SpiffTaskParser, WaitingServiceTask)}


def as_service_tasks(document: etree._Element, step_ids: Iterable[str]) -> None:
    """Make the elements of ``step_ids`` in ``document`` service tasks, whatever kind of task they were drawn as."""
    wanted = set(step_ids)
    for element in document.iter():
        if isinstance(element.tag, str) and element.get("id") in wanted:
            element.tag = f"{{{BPMN_NS}}}serviceTask"
