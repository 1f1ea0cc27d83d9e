"""Service tasks, and the work other engines hand to their own code, which Valueflow does not run.

Valueflow runs a step's automatic work as a script task calling a helper (a
Python function registered for the process, docs/authoring.md#helpers). What
other engines write for it — a Java class or bean (``camunda:class``,
``camunda:delegateExpression``, ``camunda:expression``, Flowable's and
Activiti's the same), an external task or connector (``camunda:type``,
``camunda:connector``), a Camunda 8 job for a worker (``zeebe:taskDefinition``),
a SpiffArena connector (``spiffworkflow:serviceTaskOperator``) — or a service
task that says nothing about what runs it, would fail only when a case reaches
it; each is refused at deploy, naming the step, what it asks for and the fix.
"""

from __future__ import annotations

from typing import Iterable, Optional

from lxml import etree

from engine.definitions.namespaces import ACTIVITI_NS, BPMN_NS, CAMUNDA_NS, FLOWABLE_NS, NS
from engine.definitions.validation import Problem, local

_JAVA_DIALECTS = (("camunda", CAMUNDA_NS), ("flowable", FLOWABLE_NS), ("activiti", ACTIVITI_NS))
_ACTIVITIES = ("serviceTask", "sendTask", "businessRuleTask", "task")
_FIX = "replace it with a script task that calls a helper (docs/authoring.md#helpers)"


def check_service_tasks(process: etree._Element) -> Iterable[Problem]:
    """A problem for each step whose work is code of another engine, and for each service task Valueflow cannot
    run."""
    for element in process.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        if local(element) not in _ACTIVITIES:
            continue
        why = _foreign_work(element)
        if why is None and local(element) == "serviceTask":
            why = ("is a service task that names nothing to run, and Valueflow runs service tasks only as scripts: "
                   f"{_FIX}, or make it a user task if a person does the work")
        if why is not None:
            yield Problem(element.get("id"), element.get("name"), why)


def _foreign_work(element: etree._Element) -> Optional[str]:
    """What code of another engine the step asks for, with the fix; None when it asks for none."""
    for prefix, namespace in _JAVA_DIALECTS:
        if element.get(f"{{{namespace}}}class"):
            return (f"runs the Java class {element.get(f'{{{namespace}}}class')} ({prefix}:class): Java delegates do "
                    f"not run in Valueflow: {_FIX}")
        if element.get(f"{{{namespace}}}delegateExpression"):
            return (f"runs the Java bean {element.get(f'{{{namespace}}}delegateExpression')} "
                    f"({prefix}:delegateExpression): Java delegates do not run in Valueflow: {_FIX}")
        if element.get(f"{{{namespace}}}expression"):
            return (f"runs the expression {element.get(f'{{{namespace}}}expression')} ({prefix}:expression), which "
                    f"calls Java beans that do not run in Valueflow: {_FIX}")
        kind = element.get(f"{{{namespace}}}type")
        if kind == "external":
            topic = element.get(f"{{{namespace}}}topic")
            return (f"is an external task{f' (topic {topic})' if topic else ''} for a worker of {prefix.title()} "
                    f"({prefix}:type): external workers do not run in Valueflow yet: {_FIX}")
        if kind:
            return f"is a {kind} task ({prefix}:type), which {prefix.title()} runs and Valueflow does not: {_FIX}"
    connector = element.find(f"bpmn:extensionElements/{{{CAMUNDA_NS}}}connector", NS)
    if connector is not None:
        name = (connector.findtext(f"{{{CAMUNDA_NS}}}connectorId") or "").strip()
        return (f"calls the Camunda connector {name or '(unnamed)'} (camunda:connector), which does not run in "
                f"Valueflow: {_FIX}")
    job = element.find("bpmn:extensionElements/zeebe:taskDefinition", NS)
    if job is not None:
        return (f"is a Camunda 8 job for workers of type {job.get('type') or '(none)'} (zeebe:taskDefinition): "
                f"job workers do not run in Valueflow yet: {_FIX}")
    operator = element.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    if operator is not None:
        return (f"calls the SpiffArena connector {operator.get('id') or '(unnamed)'}, which does not run in "
                f"Valueflow: {_FIX}")
    return None
