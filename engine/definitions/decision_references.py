"""The decisions a business rule task calls, as Camunda writes them, turned into what SpiffWorkflow runs.

Camunda 7 writes ``camunda:decisionRef="id"`` on the task and Camunda 8
``<zeebe:calledDecision decisionId="id"/>`` inside it; SpiffWorkflow reads
``<spiffworkflow:calledDecisionId>``, and evaluates one decision table per task.
A decision that requires others (DMN decision requirements,
``<informationRequirement><requiredDecision href="#other"/>``) gets them
evaluated first: a business rule task for each required decision, required
ones before those that need them, is put in front of the task. All of this is
done in the parsed document only. A decision's outputs land in the case data
under their names, as SpiffWorkflow writes them, and also in the task's result
variable when it names one, shaped as its engine shapes it: Camunda 7's
``camunda:resultVariable`` by ``camunda:mapDecisionResult`` (``singleEntry``: the
value, ``singleResult``: the outputs by name, ``collectEntries``: the list of
values, ``resultList``, the default: the list of outputs by name), Camunda 8's
``resultVariable`` as Zeebe does (one output: its value, or the list of values
of a COLLECT table; several: the outputs by name, or a list of them). The
variable is set by a script after the task (``spiffworkflow:postScript``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Optional

from lxml import etree

from engine.definitions.feel import is_variable
from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS
from engine.definitions.service_tasks import check_service_tasks, service_steps
from engine.definitions.validation import Problem


class Decision(NamedTuple):
    """What calling a decision involves: the decisions it requires, its outputs' names, whether it collects."""

    requires: tuple[str, ...]
    outputs: tuple[str, ...]
    collects: bool


def decisions_of(document: etree._Element) -> dict[str, Decision]:
    """The decisions of a DMN document, by id."""
    model = etree.QName(document).namespace
    found = {}
    for decision in document.iterfind(f"{{{model}}}decision"):
        table = decision.find(f"{{{model}}}decisionTable")
        outputs = table.iterfind(f"{{{model}}}output") if table is not None else ()
        found[decision.get("id", "")] = Decision(
            tuple(required.get("href", "").lstrip("#") for required in decision.iterfind(f".//{{{model}}}requiredDecision")),
            tuple(output.get("name") or output.get("label") or "" for output in outputs),
            table is not None and table.get("hitPolicy") == "COLLECT" and not table.get("aggregation"))
    return found


_UNNAMED = ("business rule task names no decision to decide with: add a .dmn file to the package and give the task "
            "the id of its decision (spiffworkflow:calledDecisionId; Camunda 7: decisionRef, Camunda 8: "
            "zeebe:calledDecision)")


def map_decision_references(process: etree._Element, decisions: Mapping[str, Decision]) -> list[Problem]:
    """Give every business rule task of ``process`` the ``spiffworkflow:calledDecisionId`` SpiffWorkflow follows,
    a business rule task before it for each decision its decision requires, and the script that fills its result
    variable; returns what cannot be done (no decision named, a decision or a required one no table defines, a
    decision requiring itself, a result variable of outputs whose names are not variable names)."""
    problems: list[Problem] = []
    run_otherwise = set(service_steps(process)) | {p.element_id for p in check_service_tasks(process)}
    for task in list(process.iter(f"{{{BPMN_NS}}}businessRuleTask")):
        if task.get("id") in run_otherwise:  # by workers of a topic, a connector, or refused as another engine's
            continue
        written = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        called = task.find("bpmn:extensionElements/zeebe:calledDecision", NS)
        decision = (written.text if written is not None else None) or task.get(f"{{{CAMUNDA_NS}}}decisionRef") or (
            called.get("decisionId") if called is not None else None)
        if not (decision or "").strip():
            problems.append(Problem(task.get("id"), task.get("name"), _UNNAMED))
            continue
        decision = decision.strip()
        if decision not in decisions:
            known = ", ".join(sorted(decisions)) or "none"
            problems.append(Problem(task.get("id"), task.get("name"), f"it decides with the decision {decision!r}, "
                                    f"which no .dmn file of the package defines (its decisions: {known}): add the "
                                    "file, or name one of its decisions"))
            continue
        if written is None:
            _call(task, decision)
        try:
            first = _required_first(decision, decisions, ())
            script = _result_script(task, decisions.get(decision))
        except _Unmet as unmet:
            problems.append(Problem(task.get("id"), task.get("name"), str(unmet)))
            continue
        for required in first[:-1]:
            _insert_before(process, task, required)
        if script is not None:
            written = task.find("bpmn:extensionElements/spiffworkflow:postScript", NS)
            if written is None:
                written = etree.SubElement(task.find("bpmn:extensionElements", NS), f"{{{SPIFF_NS}}}postScript")
            written.text = script + (written.text or "")  # the result variable first: output mappings may read it
    return problems


class _Unmet(Exception):
    """A decision requirement that cannot be met."""


def _required_first(decision: str, decisions: Mapping[str, Decision], path: tuple[str, ...]) -> list[str]:
    """``decision`` and every decision it requires, each after those it requires, each once."""
    if decision in path:
        raise _Unmet(f"the decision {decision!r} requires itself (through {' → '.join(path)})")
    order: list[str] = []
    for required in decisions[decision].requires if decision in decisions else ():
        if required not in decisions:
            raise _Unmet(f"the decision {decision!r} requires the decision {required!r}, which no decision table "
                         "of the package defines: add its .dmn file")
        order += [d for d in _required_first(required, decisions, (*path, decision)) if d not in order]
    return [*order, decision]


def _result_script(task: etree._Element, decision: Optional[Decision]) -> Optional[str]:
    """The Python that sets the task's result variable from the outputs the decision left in the data, or None."""
    called = task.find("bpmn:extensionElements/zeebe:calledDecision", NS)
    variable = task.get(f"{{{CAMUNDA_NS}}}resultVariable") or (
        called.get("resultVariable") if called is not None else None)
    if not variable or decision is None:
        return None
    names = decision.outputs
    if not is_variable(variable) or not all(is_variable(name) for name in names):
        raise _Unmet(f"its result variable {variable!r} cannot be filled: it and the outputs of its decision "
                     f"({', '.join(map(repr, names))}) must be variable names")
    shape = (task.get(f"{{{CAMUNDA_NS}}}mapDecisionResult") or "resultList") if called is None else (
        ("collectEntries" if decision.collects else "singleEntry") if len(names) == 1 else
        ("resultList" if decision.collects else "singleResult"))
    one_by_name = "{" + ", ".join(f"{name!r}: {name}" for name in names) + "}"
    each_by_name = "{" + ", ".join(f"{name!r}: {name}[i]" for name in names) + "}"
    value, nothing = {
        "singleEntry": (names[0], "None"),
        "singleResult": (one_by_name, "None"),
        "collectEntries": (names[0] if decision.collects else f"[{names[0]}]", "[]"),
        "resultList": (f"[{each_by_name} for i in range(len({names[0]}))]" if decision.collects else
                       f"[{one_by_name}]", "[]"),
    }.get(shape, (None, None))
    if value is None:
        raise _Unmet(f"its camunda:mapDecisionResult {shape!r} is not one Valueflow knows: use singleEntry, "
                     "singleResult, collectEntries or resultList")
    return f"try:\n    {variable} = {value}\nexcept NameError:\n    {variable} = {nothing}\n"


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
