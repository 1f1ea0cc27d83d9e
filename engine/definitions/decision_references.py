"""The decisions a business rule task calls, as Camunda writes them, turned into what SpiffWorkflow runs.

Camunda 7 writes ``camunda:decisionRef="id"`` on the task and Camunda 8
``<zeebe:calledDecision decisionId="id"/>`` inside it; SpiffWorkflow reads
``<spiffworkflow:calledDecisionId>``, and evaluates one decision table per task.
A decision that requires others (DMN decision requirements,
``<informationRequirement><requiredDecision href="#other"/>``) gets them
evaluated first: a business rule task for each required decision, required
ones before those that need them, is put in front of the task. All of this is
done in the parsed document only. A decision's outputs land in the case data
under their names, as SpiffWorkflow writes them (a ``resultVariable`` is not read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS
from engine.definitions.validation import Problem


def decision_requirements(document: etree._Element) -> dict[str, list[str]]:
    """The ids of the decisions each decision of a DMN document requires, by decision id."""
    model = etree.QName(document).namespace
    return {decision.get("id", ""): [required.get("href", "").lstrip("#")
                                     for required in decision.iterfind(f".//{{{model}}}requiredDecision")]
            for decision in document.iterfind(f"{{{model}}}decision")}


def map_decision_references(process: etree._Element, requirements: Mapping[str, Sequence[str]]) -> list[Problem]:
    """Give every business rule task of ``process`` the ``spiffworkflow:calledDecisionId`` SpiffWorkflow follows,
    and a business rule task before it for each decision its decision requires; returns the requirements that
    cannot be met (a required decision no table defines, a decision requiring itself)."""
    problems: list[Problem] = []
    for task in list(process.iter(f"{{{BPMN_NS}}}businessRuleTask")):
        written = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        called = task.find("bpmn:extensionElements/zeebe:calledDecision", NS)
        decision = (written.text if written is not None else None) or task.get(f"{{{CAMUNDA_NS}}}decisionRef") or (
            called.get("decisionId") if called is not None else None)
        if not decision:
            continue
        decision = decision.strip()
        if written is None:
            _call(task, decision)
        try:
            first = _required_first(decision, requirements, ())
        except _Unmet as unmet:
            problems.append(Problem(task.get("id"), task.get("name"), str(unmet)))
            continue
        for required in first[:-1]:
            _insert_before(process, task, required)
    return problems


class _Unmet(Exception):
    """A decision requirement that cannot be met."""


def _required_first(decision: str, requirements: Mapping[str, Sequence[str]], path: tuple[str, ...]) -> list[str]:
    """``decision`` and every decision it requires, each after those it requires, each once."""
    if decision in path:
        raise _Unmet(f"the decision {decision!r} requires itself (through {' → '.join(path)})")
    order: list[str] = []
    for required in requirements.get(decision, ()):
        if required not in requirements:
            raise _Unmet(f"the decision {decision!r} requires the decision {required!r}, which no decision table "
                         "of the package defines: add its .dmn file")
        order += [d for d in _required_first(required, requirements, (*path, decision)) if d not in order]
    return [*order, decision]


def _call(task: etree._Element, decision: str) -> None:
    extensions = task.find("bpmn:extensionElements", NS)
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        task.insert(0, extensions)
    etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId").text = decision


def _insert_before(process: etree._Element, task: etree._Element, decision: str) -> None:
    """A business rule task calling ``decision`` that the flows into ``task`` reach first."""
    task_id = task.get("id", "")
    step_id = f"{task_id}_requires_{decision}"
    step = etree.Element(f"{{{BPMN_NS}}}businessRuleTask", id=step_id, name=decision)
    _call(step, decision)
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        if flow.get("targetRef") == task_id:
            flow.set("targetRef", step_id)
    for incoming in task.findall("bpmn:incoming", NS):
        task.remove(incoming)
        step.append(incoming)
    task.addprevious(step)
    link = etree.Element(f"{{{BPMN_NS}}}sequenceFlow", id=f"{step_id}_flow", sourceRef=step_id, targetRef=task_id)
    task.addprevious(link)
