"""Who owns a human task outside a lane: the assignment other BPMN tools write on the task itself.

Read, in this order: ``camunda:candidateGroups`` / ``camunda:assignee`` (Camunda 7),
``zeebe:assignmentDefinition`` (Camunda 8), ``flowable:`` / ``activiti:``
``candidateGroups`` and ``assignee``, BPMN's own ``potentialOwner`` (a
resource assignment expression such as ``group(sales)``, ``user(ada)`` or a
plain name, or a reference to a ``bpmn:resource``), and jBPM's task inputs
``GroupId`` and ``ActorId`` given a value by a data input association. The first candidate group
becomes the step's role; an assignee gives the task to that user when it opens.
An assignee or candidate groups written as an expression (``${approver}``,
``${applicant.owner}``, ``=approver``) are computed from the case data when
the task opens (``engine.cases.owners``). The start event may name a variable for
the person who starts a case (``flowable:initiator="initiator"``, also Camunda 7's
and Activiti's); an assignee computed from that variable alone goes to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from lxml import etree

from engine.definitions.namespaces import BPMN_NS, JAVA_DIALECTS, NS
_RESOURCE_CALL = re.compile(r"^\s*(user|group)\s*\(\s*([^()]*?)\s*\)\s*$")
_BARE_VARIABLE = re.compile(r"^\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*$")


@dataclass(frozen=True)
class Assignment:
    """The owner a tool wrote on a task: its first candidate group, its assignee, and what was not usable."""

    group: Optional[str] = None
    assignee: Optional[str] = None
    source: Optional[str] = None  # the dialect it came from: camunda, zeebe, flowable, activiti, potentialOwner
    others: tuple[str, ...] = ()  # further candidate groups, not used
    computed_groups: Optional[str] = None  # candidate groups written as an expression, computed when the task opens
    computed_assignee: Optional[str] = None  # an assignee written as an expression, computed when the task opens


def _is_expression(text: str) -> bool:
    return text.startswith(("${", "#{", "=")) or "(" in text


def _split(text: Optional[str]) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def assignment_of(task: etree._Element) -> Assignment:
    """The assignment written on ``task`` by the first dialect that names a group or a user, with the computed
    groups and assignee written before it; empty when none is written."""
    written: list[tuple[str, list[str], Optional[str]]] = []  # (dialect, candidate groups, assignee)
    for prefix, namespace in JAVA_DIALECTS:
        written.append((prefix, _split(task.get(f"{{{namespace}}}candidateGroups")),
                        task.get(f"{{{namespace}}}assignee")))
    for definition in task.iterfind("bpmn:extensionElements/zeebe:assignmentDefinition", NS):
        written.append(("zeebe", _split(definition.get("candidateGroups")), definition.get("assignee")))
    written += [_potential_owner(owner) for owner in task.iterfind("bpmn:potentialOwner", NS)]
    written.append(_jbpm_inputs(task))
    computed_groups = computed_assignee = None  # the first of each any dialect wrote
    for dialect, groups, assignee in written:
        computed_groups = computed_groups or next((g for g in groups if _is_expression(g)), None)
        groups = [g for g in groups if not _is_expression(g)]
        if assignee and _is_expression(assignee):
            computed_assignee, assignee = computed_assignee or assignee, None
        if groups or assignee:
            return Assignment(groups[0] if groups else None, assignee or None, dialect, tuple(groups[1:]),
                              computed_groups, computed_assignee)
    return Assignment(computed_groups=computed_groups, computed_assignee=computed_assignee)


def _potential_owner(owner: etree._Element) -> tuple[str, list[str], Optional[str]]:
    """A potentialOwner's group or user: from its expression, else from the name of the resource it refers to."""
    expression = owner.findtext("bpmn:resourceAssignmentExpression/bpmn:formalExpression", namespaces=NS)
    if expression is None:
        reference = (owner.findtext("bpmn:resourceRef", namespaces=NS) or "").strip()
        resource = next((r for r in owner.getroottree().getroot().iter(f"{{{BPMN_NS}}}resource")
                         if r.get("id") == reference), None)
        return "potentialOwner", _split(resource.get("name") if resource is not None else None), None
    call = _RESOURCE_CALL.match(expression)
    if call is None:
        return "potentialOwner", _split(expression), None
    kind, names = call.groups()
    if kind == "user":
        return "potentialOwner", [], (_split(names) or [None])[0]
    return "potentialOwner", _split(names), None


def _jbpm_inputs(task: etree._Element) -> tuple[str, list[str], Optional[str]]:
    """jBPM's candidate groups and assignee: the values its data input associations give the task's inputs named
    ``GroupId`` and ``ActorId`` (``<bpmn:from>HR</bpmn:from>``, or ``#{variable}``, computed when the task opens)."""
    inputs = {data.get("id"): data.get("name") for data in task.iterfind("bpmn:ioSpecification/bpmn:dataInput", NS)}
    given: dict[str, str] = {}
    for association in task.iterfind("bpmn:dataInputAssociation", NS):
        name = inputs.get((association.findtext("bpmn:targetRef", namespaces=NS) or "").strip())
        value = association.findtext("bpmn:assignment/bpmn:from", namespaces=NS)
        if name in ("GroupId", "ActorId") and value and value.strip():
            given[name] = value.strip()
    return "jbpm", _split(given.get("GroupId")), given.get("ActorId")


def initiator_variable(process: etree._Element) -> Optional[str]:
    """The variable the process's start event names for the person who starts a case (Camunda 7's, Flowable's or
    Activiti's ``initiator`` attribute), or None."""
    for start in process.iterfind("bpmn:startEvent", NS):
        for _, namespace in JAVA_DIALECTS:
            name = (start.get(f"{{{namespace}}}initiator") or "").strip()
            if name:
                return name
    return None


def is_initiator(expression: Optional[str], initiator: Optional[str]) -> bool:
    """Whether an assignee computed by ``expression`` is the person who started the case: the expression reads
    the start event's initiator variable and nothing else (``${initiator}``)."""
    found = _BARE_VARIABLE.match(expression or "")
    return initiator is not None and found is not None and found.group(1) == initiator
