"""Input and output mappings other engines write on a step, run as the step's pre- and post-script.

Camunda 7 writes ``<camunda:inputOutput>`` with ``camunda:inputParameter`` and
``camunda:outputParameter`` (a value: text, or a JUEL ``${...}``), Camunda 8
``<zeebe:ioMapping>`` with ``zeebe:input`` and ``zeebe:output`` (a ``source``:
FEEL when it starts with ``=``, else text). Each becomes an assignment in
SpiffWorkflow's ``spiffworkflow:preScript`` (inputs, before the step) or
``postScript`` (outputs, after it) — in a script task, its own script's first
and last lines — in the parsed document only, translated as conditions are.
Valueflow has no step-local variables: what an input sets stays in the case
data. A mapping Valueflow cannot honour — a list, a map or a script as the
value, a mapping on an event — is refused naming the step; a target path
(``order.status``) sets that entry of the variable's context.

jBPM writes BPMN's own data mapping: the step's ``ioSpecification`` lists its
data inputs and outputs, a ``dataInputAssociation`` gives an input the value of
a process variable (``sourceRef``: a ``bpmn:property``, also a data object or a
data input of the process) or of an ``<assignment><from>`` (text, or
``#{...}``), and a ``dataOutputAssociation`` takes an output back to a process
variable (``targetRef``). These become assignments in the same scripts, by the
inputs' and outputs' names; a variable the case does not have reads as None, as
jBPM reads an unset variable as null. The outputs are the fields of the task's
form (engine.definitions.tool_forms). The inputs that instruct jBPM's task
service rather than carry case data (``_TASK_SERVICE_INPUTS``) demand and set
no data: TaskName and NodeName name the task as the step's name does, GroupId
and ActorId give it its owner (engine.definitions.assignments), Content is the
case data the task page shows, and the deploy warns that the others (priority,
skipping, deadlines, ...) are ignored. A mapping that transforms the value or
maps a part of it, an input reading jBPM's own objects (``processInstance``,
``kcontext``) and an ActorId output (the user jBPM says completed the task)
are refused naming the step. SpiffWorkflow's reading of an ``ioSpecification``
— every input must be in the case data, and the case keeps only the outputs —
stays for steps whose inputs and outputs no association maps (SpiffArena's).
"""

from __future__ import annotations

import keyword
import re
from typing import Iterable, Optional

from lxml import etree

from engine.definitions.expressions import ExpressionNotSupported, condition_to_python
from engine.definitions.feel import is_variable, variable_name
from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS
from engine.definitions.validation import Problem, local

# Steps SpiffWorkflow runs pre- and post-scripts around.
_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction"}
# Events whose mappings run as their pre- and post-script (engine.definitions.service_specs).
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
# The inputs jBPM's task service reads to set a task up, not case data.
_TASK_SERVICE_INPUTS = {"TaskName", "NodeName", "ActorId", "GroupId", "BusinessAdministratorId",
                        "BusinessAdministratorGroupId", "TaskStakeholderId", "ExcludedOwnerId", "RecipientId",
                        "Priority", "Comment", "Description", "Skippable", "Content", "Locale", "CreatedBy",
                        "NotStartedReassign", "NotCompletedReassign", "NotStartedNotify", "NotCompletedNotify"}
# Those Valueflow does without loss: the step's name, its owner, the case data the task page shows.
_TAKEN_OVER = {"TaskName", "NodeName", "ActorId", "GroupId", "Content"}
# An expression reading one of jBPM's own objects, which Valueflow's cases do not have.
_JBPM_OBJECTS = re.compile(r"[#$]\{[^}]*\b(processInstance|nodeInstance|kcontext|workItem)\b")
# Where a process keeps its variables: a data input or output of one of these is one.
_SCOPES = ("process", "subProcess", "adHocSubProcess", "transaction")
# What BPMN references a variable by that SpiffWorkflow resolves itself (Valueflow drops data stores).
_SPIFF_REFERENCES = ("dataObjectReference", "dataStoreReference")


def map_io_parameters(process: etree._Element) -> Iterable[Problem]:
    """Turn every step's input and output mappings into its pre- and post-script; name what cannot be turned."""
    ids = {e.get("id"): e for e in process.getroottree().getroot().iter() if isinstance(e.tag, str) and e.get("id")}
    for step in list(process.iter()):
        if isinstance(step.tag, str) and etree.QName(step).namespace == BPMN_NS:
            yield from _map_tool_parameters(step)
            yield from _map_data_associations(step, ids)


def _map_tool_parameters(step: etree._Element) -> Iterable[Problem]:
    camunda = step.find(f"bpmn:extensionElements/{{{CAMUNDA_NS}}}inputOutput", NS)
    zeebe = step.find("bpmn:extensionElements/zeebe:ioMapping", NS)
    if camunda is None and zeebe is None:
        return
    if local(step) not in _ACTIVITIES | _EVENTS:
        yield Problem(step.get("id"), step.get("name"), f"input and output mappings on a {local(step)} do not run "
                      "in Valueflow: set the variables in a script task before or after it")
        return
    inputs: list[str] = []
    outputs: list[str] = []
    try:
        for parameter in camunda if camunda is not None else ():
            kind = etree.QName(parameter).localname
            (inputs if kind == "inputParameter" else outputs).append(_camunda_assignment(parameter))
        for parameter in zeebe if zeebe is not None else ():
            kind = etree.QName(parameter).localname
            (inputs if kind == "input" else outputs).append(_zeebe_assignment(parameter))
    except ExpressionNotSupported as exc:
        yield Problem(step.get("id"), step.get("name"), str(exc))
        return
    _add_script(step, "preScript", inputs, first=True)
    _add_script(step, "postScript", outputs, first=False)


def mapped_associations(step: etree._Element) -> Optional[tuple[list[etree._Element], list[etree._Element]]]:
    """The data input associations of an activity that give a data input of its ioSpecification its value, and
    its data output associations that take one of its data outputs somewhere. None when it is no activity or has
    no ioSpecification, and when no association maps it and none of its inputs is one of jBPM's task service's:
    SpiffWorkflow's reading then."""
    if etree.QName(step).namespace != BPMN_NS or local(step) not in _ACTIVITIES:
        return None
    spec = step.find("bpmn:ioSpecification", NS)
    if spec is None:
        return None
    inputs = {data.get("id"): data.get("name") for data in spec.iterfind("bpmn:dataInput", NS)}
    outputs = {data.get("id") for data in spec.iterfind("bpmn:dataOutput", NS)}
    given = [a for a in step.iterfind("bpmn:dataInputAssociation", NS) if _ref(a, "targetRef") in inputs]
    taken = [a for a in step.iterfind("bpmn:dataOutputAssociation", NS) if _ref(a, "sourceRef") in outputs]
    if given or taken or set(inputs.values()) & _TASK_SERVICE_INPUTS:
        return given, taken
    return None


def data_name(step: etree._Element, data_id: str) -> str:
    """The name of the step's data input or output ``data_id`` (its id when it has none)."""
    data = next((d for d in step.iterfind("bpmn:ioSpecification/*", NS) if d.get("id") == data_id), None)
    return (data.get("name") if data is not None else None) or data_id


def _map_data_associations(step: etree._Element, ids: dict[str, etree._Element]) -> Iterable[Problem]:
    """Turn the step's data associations into assignments before and after it, and take its inputs and outputs
    out of its ioSpecification's sets, so that SpiffWorkflow neither demands them nor replaces the case data."""
    mapped = mapped_associations(step)
    if mapped is None:
        return
    given, taken = mapped
    before: list[str] = []
    after: list[str] = []
    ignored: list[str] = []
    problems: list[Problem] = []
    for association in given:
        name = data_name(step, _ref(association, "targetRef"))
        try:
            if name in _TASK_SERVICE_INPUTS:
                ignored += [name] if name not in _TAKEN_OVER and _sets_up(association) else []
            else:
                before += _input(association, name, ids)
        except ExpressionNotSupported as exc:
            problems.append(Problem(step.get("id"), step.get("name"), str(exc)))
    for association in taken:
        try:
            after += _output(association, data_name(step, _ref(association, "sourceRef")), ids)
        except ExpressionNotSupported as exc:
            problems.append(Problem(step.get("id"), step.get("name"), str(exc)))
    if ignored:
        problems.append(Problem(step.get("id"), step.get("name"), "Valueflow ignores the settings of jBPM's task "
                                f"service among its inputs: {', '.join(ignored)}", warning=True))
    yield from problems
    if any(not p.warning for p in problems):
        return
    for ref in step.findall("bpmn:ioSpecification/*/bpmn:dataInputRefs", NS) + \
            step.findall("bpmn:ioSpecification/*/bpmn:dataOutputRefs", NS):
        ref.getparent().remove(ref)
    _add_script(step, "preScript", before, first=True)
    _add_script(step, "postScript", after, first=False)


def _sets_up(association: etree._Element) -> bool:
    """Whether a task service input is given a value that changes what jBPM does (not Skippable false)."""
    value = (association.findtext("bpmn:assignment/bpmn:from", namespaces=NS) or "").strip()
    return bool(_ref(association, "sourceRef")) or (bool(value) and value.lower() != "false")


def _input(association: etree._Element, name: str, ids: dict[str, etree._Element]) -> list[str]:
    """The assignment giving the data input ``name`` the value its association gives it; none when it gives none."""
    source = _ref(association, "sourceRef")
    assignments = association.findall("bpmn:assignment", NS)
    _whole_values_only(association, f"its input {name!r}", bool(assignments) and (
        bool(source) or len(assignments) > 1
        or (assignments[0].findtext("bpmn:to", namespaces=NS) or "").strip() != _ref(association, "targetRef")))
    if source:
        variable = _variable(source, ids)
        return [_copy(name, variable)] if variable else []
    written = assignments[0].find("bpmn:from", NS) if assignments else None
    if written is None:
        return []
    if len(written):
        raise ExpressionNotSupported(f"its input {name!r} is given an XML value, which Valueflow does not map: "
                                     "give it a text or an expression")
    text = (written.text or "").strip()
    jbpm_object = _JBPM_OBJECTS.search(text)
    if jbpm_object:
        raise ExpressionNotSupported(f"its input {name!r} reads {jbpm_object[1]}, jBPM's own object, which "
                                     "Valueflow's cases do not have: give the input a process variable or a text")
    return [_assignment(name, text, "#{" in text or "${" in text)]


def _output(association: etree._Element, name: str, ids: dict[str, etree._Element]) -> list[str]:
    """The assignment taking the data output ``name`` to the variable its association names."""
    if name == "ActorId":
        raise ExpressionNotSupported("its output ActorId, the user who completed the task in jBPM, is not given "
                                     "by Valueflow: remove the output (the case's history shows who completed "
                                     "each task)")
    target = _ref(association, "targetRef")
    _whole_values_only(association, f"its output {name!r}",
                       association.find("bpmn:assignment", NS) is not None or not target)
    variable = _variable(target, ids)
    return [_copy(variable, name)] if variable else []


def _whole_values_only(association: etree._Element, what: str, partial: bool) -> None:
    """Refuse an association that transforms the value, or (``partial``) reads or writes a part of it: Valueflow
    maps whole variables."""
    if association.find("bpmn:transformation", NS) is not None:
        raise ExpressionNotSupported(f"{what} is mapped through a transformation, which Valueflow does not run: "
                                     "map the variable itself, and compute the value in a script task")
    if partial:
        raise ExpressionNotSupported(f"{what} is mapped to or from a part of a value (an assignment with a path), "
                                     "which Valueflow does not map: map the whole variable, and read or set the "
                                     "part in a script task")


def _variable(reference: str, ids: dict[str, etree._Element]) -> Optional[str]:
    """The case variable a data association names: a process variable (a property, a data object, a data input
    or output of the process, by its name; or a name jBPM reads as one), or the data object of a data object
    reference, which SpiffWorkflow's association copies between the object and the step's data under the
    object's id; None for a data store."""
    element = ids.get(reference)
    if element is None:
        return reference
    if local(element) == "dataObjectReference":
        return element.get("dataObjectRef") or reference
    if local(element) == "dataStoreReference":
        return None
    holder = element.getparent().getparent() if local(element) in ("dataInput", "dataOutput") else None
    if local(element) in ("property", "dataObject") or holder is not None and local(holder) in _SCOPES:
        return element.get("name") or reference
    raise ExpressionNotSupported(f"its data association names the {local(element)} {reference!r}, which is no "
                                 "variable: name a process variable (a bpmn:property of the process)")


def _copy(target: str, source: str) -> str:
    """The Python setting the variable ``target`` to the variable ``source``, or to None while the case has none
    (names of several words joined as FEEL names are: ``Days Remaining`` is ``Days_Remaining``)."""
    target, source = variable_name(target), variable_name(source)
    for name in (target, source):
        if not is_variable(name):
            raise ExpressionNotSupported(f"its data mapping names {name!r}, which cannot be a variable of the case: "
                                         "name it with letters, digits and underscores, starting with a letter")
    return f"{target} = {source} if feel_is_defined({source!r}) else None"


def drop_variable_associations(root: etree._Element) -> None:
    """Take the data associations of a document's steps to and from process variables out of the document
    SpiffWorkflow parses (which resolves only data objects and stores there): their values are copied by the
    scripts ``map_io_parameters`` wrote."""
    ids = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for step in list(root.iter()):
        given, taken = (mapped_associations(step) if isinstance(step.tag, str) else None) or ([], [])
        for association, side in [*((a, "sourceRef") for a in given), *((a, "targetRef") for a in taken)]:
            named = ids.get(_ref(association, side))
            if _ref(association, side) and (named is None or local(named) not in _SPIFF_REFERENCES):
                step.remove(association)


def _ref(association: etree._Element, side: str) -> str:
    return (association.findtext(f"bpmn:{side}", namespaces=NS) or "").strip()


def _camunda_assignment(parameter: etree._Element) -> str:
    name = parameter.get("name") or ""
    if len(parameter):
        raise ExpressionNotSupported(f"its parameter {name!r} is a camunda:{etree.QName(parameter[0]).localname}, "
                                     "which Valueflow does not map: compute it in a script task instead")
    text = (parameter.text or "").strip()
    return _assignment(name, text, "${" in text or "#{" in text)


def _zeebe_assignment(parameter: etree._Element) -> str:
    source = (parameter.get("source") or "").strip()
    return _assignment(parameter.get("target") or "", source, source.startswith("="))


def _assignment(target: str, written: str, is_expression: bool) -> str:
    """The Python setting the variable ``target`` names (words joined as FEEL names are: ``Vacation Approval`` is
    ``Vacation_Approval``) to what was written: an expression's value, or the text itself. A target path
    (``order.status``) sets that entry of the variable's context, as Camunda 8 does (``feel_put``)."""
    name, *path = [variable_name(part) for part in target.split(".")]
    if keyword.iskeyword(name):
        raise ExpressionNotSupported(f"its mapping to {target!r} cannot run: {name!r} is a word Python keeps for "
                                     "itself, which no case variable can be named: map to another name")
    if not is_variable(name) or not all(part.isidentifier() for part in path):
        raise ExpressionNotSupported(f"its mapping to {target!r} cannot run: Valueflow maps to a variable or a "
                                     "path of names (order.status): set the variable in a script task instead")
    if not is_expression:
        value = repr(written) if written else "None"
    else:
        try:
            value = condition_to_python(written)
        except ExpressionNotSupported as exc:
            raise ExpressionNotSupported(f"its mapping of {target!r} to {written!r} cannot run: {exc}") from None
    if not path:
        return f"{name} = {value}"
    return f"{name} = feel_put({name} if feel_is_defined({name!r}) else None, {path!r}, {value})"


def _add_script(step: etree._Element, kind: str, lines: list[str], first: bool) -> None:
    """Put ``lines`` before (``first``) or after the step's own script of that kind; a script task's own script
    instead, as SpiffWorkflow runs no pre- or post-script around one."""
    if not lines:
        return
    extensions = step.find("bpmn:extensionElements", NS)
    if extensions is None:  # after the step's documentation, where BPMN's schema puts it
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        step.insert(len(step.findall("bpmn:documentation", NS)), extensions)
    script: Optional[etree._Element] = step.find("bpmn:script", NS) if local(step) == "scriptTask" else \
        extensions.find(f"spiffworkflow:{kind}", NS)
    if script is None:
        script = etree.SubElement(extensions, f"{{{SPIFF_NS}}}{kind}")
    own = [script.text] if (script.text or "").strip() else []
    script.text = "\n".join([*lines, *own] if first else [*own, *lines]) + "\n"
