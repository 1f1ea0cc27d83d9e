"""Service tasks: which steps wait for a worker outside Valueflow or a built-in connector, and which are refused.

A service task runs in one of two ways (docs/authoring.md#service-tasks):

- an **external task**: workers outside Valueflow fetch it by topic through the API. The topic is written as
  Camunda 7 writes it (``camunda:type="external" camunda:topic="…"``), as Camunda 8 does
  (``<zeebe:taskDefinition type="…"/>``), as Flowable does (``flowable:type="external-worker"
  flowable:topic="…"``), or as ``<spiffworkflow:property name="topic" value="…"/>``;
- a **connector** step: ``<spiffworkflow:property name="connector" value="http"/>`` (or ``email``) with its
  settings as further properties, called by Valueflow's own worker.

What other engines run themselves — a Java class or bean (``camunda:class``, ``camunda:delegateExpression``, a
``camunda:expression`` that calls a method, Flowable's and Activiti's the same), their own task types
(``flowable:type="mail"``), a Camunda 7 connector, a SpiffArena connector — and a service task that names
nothing to run would fail only when a case reaches it; each is refused at deploy, naming the step, what it asks for and the fix. A connector
whose installation settings are missing is no deploy error: the settings may come later, and a case that
reaches the step meanwhile stops there as an incident naming the variable to set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

from lxml import etree

from engine.definitions.expression_steps import expression_as_python
from engine.definitions.expressions import ExpressionNotSupported
from engine.definitions.feel import is_variable
from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, FLOWABLE_NS, JAVA_DIALECTS, NS
from engine.definitions.validation import Problem, local, properties_of

_ACTIVITIES = ("serviceTask", "sendTask", "businessRuleTask", "task")
# How engines mark a step their outside workers fetch by topic: (prefix, namespace, the type attribute's value).
_EXTERNAL_WORKERS = (("camunda", CAMUNDA_NS, "external"), ("flowable", FLOWABLE_NS, "external-worker"))
_FIX = ("make it an external task (a topic its workers fetch), a connector step (http or email), or a script task "
        "that calls a helper (docs/authoring.md#service-tasks)")
CONNECTORS = ("http", "email")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_ATTEMPTS = 5
MOST_ATTEMPTS = 100
SERVICE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
TOPIC_LENGTH = 200


@dataclass(frozen=True)
class ServiceStep:
    """A service task that runs: fetched by workers of ``topic``, or called by the ``connector`` with ``settings``
    (the step's properties), at most ``max_attempts`` times in a row before its case stops as an incident."""

    step_id: str
    name: str
    topic: Optional[str] = None
    connector: Optional[str] = None
    settings: dict[str, str] = field(default_factory=dict)
    max_attempts: int = DEFAULT_ATTEMPTS

    @property
    def worker_description(self) -> str:
        """Who does the step, in words: "workers of the topic credit-score", "the http connector (crm)"."""
        if self.topic is not None:
            return f"workers of the topic {self.topic}"
        if self.connector == "http":
            return f"the http connector ({self.settings.get('http.service', '').strip()})"
        return f"the {self.connector} connector"


def check_service_tasks(process: etree._Element) -> Iterable[Problem]:
    """A problem for each step whose work is code of another engine, and for each service task Valueflow cannot
    run."""
    for element in _activities(process):
        found = _service_step(element)
        if isinstance(found, str):
            yield Problem(element.get("id"), element.get("name"), found)


def service_steps(process: etree._Element) -> dict[str, ServiceStep]:
    """The process's steps that run as external tasks or connector steps, by step id (checked steps only)."""
    steps = {}
    for element in _activities(process):
        found = _service_step(element)
        if isinstance(found, ServiceStep):
            steps[found.step_id] = found
    return steps


def _activities(process: etree._Element) -> Iterable[etree._Element]:
    for element in process.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == BPMN_NS and \
                local(element) in _ACTIVITIES:
            yield element


def _service_step(element: etree._Element) -> Union[ServiceStep, str, None]:
    """The step as it runs, why it is refused (with the fix), or None when it is no service step at all."""
    step_id = element.get("id", "")
    name = element.get("name") or step_id
    foreign = _foreign_work(element)
    if foreign is not None:
        return foreign
    properties = properties_of(element)
    topic = _written_topic(element)
    if isinstance(topic, str) and topic.startswith("is "):
        return topic
    if topic is None and "topic" in properties:
        topic = properties["topic"].strip()
        if not topic:
            return "has an empty topic property: name the topic its workers fetch"
    connector = properties.get("connector")
    if topic is not None and connector is not None:
        return "has both a topic and a connector: keep the one that runs it"
    attempts = _attempts(properties.get("maxAttempts"))
    if isinstance(attempts, str):
        return attempts
    if topic is not None:
        if len(topic) > TOPIC_LENGTH:
            return f"has a topic of {len(topic)} characters; at most {TOPIC_LENGTH}"
        return ServiceStep(step_id, name, topic=topic, max_attempts=attempts)
    if connector is not None:
        why = _connector_problem(connector.strip(), properties)
        if why is not None:
            return why
        return ServiceStep(step_id, name, connector=connector.strip(), settings=properties, max_attempts=attempts)
    if local(element) == "serviceTask":
        return f"is a service task that names nothing to run: {_FIX}, or make it a user task if a person does the work"
    return None


def _written_topic(element: etree._Element) -> Optional[str]:
    """The topic Camunda 7 or 8 or Flowable wrote for the step's workers; a refusal (starting "is ") when it is
    missing."""
    for prefix, namespace, kind in _EXTERNAL_WORKERS:
        if element.get(f"{{{namespace}}}type") == kind:
            topic = (element.get(f"{{{namespace}}}topic") or "").strip()
            return topic or (f"is an external task without a topic ({prefix}:topic): name the topic its workers "
                             "fetch")
    job = element.find("bpmn:extensionElements/zeebe:taskDefinition", NS)
    if job is not None:
        kind = (job.get("type") or "").strip()
        return kind or ("is a Camunda 8 job without a type (zeebe:taskDefinition): name the type its workers fetch")
    return None


def _attempts(text: Optional[str]) -> Union[int, str]:
    if text is None:
        return DEFAULT_ATTEMPTS
    if not text.strip().isdigit() or not 1 <= int(text) <= MOST_ATTEMPTS:
        return f"has maxAttempts {text!r}; it must be a whole number from 1 to {MOST_ATTEMPTS}"
    return int(text)


def _connector_problem(connector: str, properties: dict[str, str]) -> Optional[str]:
    if connector not in CONNECTORS:
        return (f"names the connector {connector!r}, which Valueflow does not have: use one of "
                f"{', '.join(CONNECTORS)}, or a topic for your own workers (docs/authoring.md#service-tasks)")
    if connector == "http":
        service = properties.get("http.service", "").strip()
        if not SERVICE_NAME.match(service):
            return ("is an http connector step without a valid http.service property: name the service it calls "
                    "(letters, digits and underscores, e.g. crm), whose address the installation sets in "
                    "VALUEFLOW_CONNECTOR_<SERVICE>_URL")
        method = properties.get("http.method", "POST").strip().upper()
        if method not in HTTP_METHODS:
            return f"has http.method {method!r}; it must be one of {', '.join(HTTP_METHODS)}"
        result = properties.get("http.result", "").strip()
        if result and not is_variable(result):
            return f"has http.result {result!r}, which is no name for case data"
    if connector == "email" and not properties.get("email.to", "").strip():
        return "is an email connector step without an email.to property: name the address, e.g. {customer.email}"
    return None


def _foreign_work(element: etree._Element) -> Optional[str]:
    """What code of another engine the step asks for, with the fix; None when it asks for none."""
    for prefix, namespace in JAVA_DIALECTS:
        if element.get(f"{{{namespace}}}class"):
            return (f"runs the Java class {element.get(f'{{{namespace}}}class')} ({prefix}:class): Java delegates do "
                    f"not run in Valueflow: {_FIX}")
        if element.get(f"{{{namespace}}}delegateExpression"):
            return (f"runs the Java bean {element.get(f'{{{namespace}}}delegateExpression')} "
                    f"({prefix}:delegateExpression): Java delegates do not run in Valueflow: {_FIX}")
        if element.get(f"{{{namespace}}}expression"):  # one that reads only the data runs (expression_steps)
            return (f"runs the expression {element.get(f'{{{namespace}}}expression')} ({prefix}:expression), which "
                    f"Valueflow cannot run: {_why_not(element)}: {_FIX}")
        kind = element.get(f"{{{namespace}}}type")
        if kind and (prefix, namespace, kind) not in _EXTERNAL_WORKERS:
            return f"is a {kind} task ({prefix}:type), which {prefix.title()} runs and Valueflow does not: {_FIX}"
    connector = element.find(f"bpmn:extensionElements/{{{CAMUNDA_NS}}}connector", NS)
    if connector is not None:
        name = (connector.findtext(f"{{{CAMUNDA_NS}}}connectorId") or "").strip()
        return (f"calls the Camunda connector {name or '(unnamed)'} (camunda:connector), which does not run in "
                f"Valueflow: {_FIX}")
    operator = element.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    if operator is not None:
        return (f"calls the SpiffArena connector {operator.get('id') or '(unnamed)'}, which does not run in "
                f"Valueflow: {_FIX}")
    return None


def _why_not(element: etree._Element) -> str:
    try:
        expression_as_python(element)
    except ExpressionNotSupported as exc:
        return str(exc).split(": ")[0]  # what in it does not run; the fix for a service task follows
    return "it is not a single ${…} expression"
