"""Input and output mappings other engines write on a step, run as the step's pre- and post-script.

Camunda 7 writes ``<camunda:inputOutput>`` with ``camunda:inputParameter`` and
``camunda:outputParameter`` (a value: text, or a JUEL ``${...}``), Camunda 8
``<zeebe:ioMapping>`` with ``zeebe:input`` and ``zeebe:output`` (a ``source``:
FEEL when it starts with ``=``, else text). Each becomes an assignment in
SpiffWorkflow's ``spiffworkflow:preScript`` (inputs, before the step) or
``postScript`` (outputs, after it) — in a script task, its own script's first
and last lines — in the parsed document only, translated as conditions are. Valueflow has no step-local variables: what an input sets stays
in the case data. A mapping Valueflow cannot honour — a list, a map or a script
as the value, a target path, a mapping on an event — is refused naming the step.
"""

from __future__ import annotations

from typing import Iterable, Optional

from lxml import etree

from engine.definitions.expressions import ExpressionNotSupported, condition_to_python
from engine.definitions.feel import variable_name
from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS
from engine.definitions.validation import Problem, local

# Steps SpiffWorkflow runs pre- and post-scripts around.
_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction"}


def map_io_parameters(process: etree._Element) -> Iterable[Problem]:
    """Turn every step's input and output mappings into its pre- and post-script; name what cannot be turned."""
    for step in process.iter():
        if not isinstance(step.tag, str) or etree.QName(step).namespace != BPMN_NS:
            continue
        camunda = step.find(f"bpmn:extensionElements/{{{CAMUNDA_NS}}}inputOutput", NS)
        zeebe = step.find("bpmn:extensionElements/zeebe:ioMapping", NS)
        if camunda is None and zeebe is None:
            continue
        if local(step) not in _ACTIVITIES:
            yield Problem(step.get("id"), step.get("name"), "input and output mappings on an event do not run in "
                          "Valueflow: set the variables in a script task before or after it")
            continue
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
            continue
        _add_script(step, "preScript", inputs, first=True)
        _add_script(step, "postScript", outputs, first=False)


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
    ``Vacation_Approval``) to what was written: an expression's value, or the text itself."""
    name = variable_name(target)
    if not name.isidentifier():
        raise ExpressionNotSupported(f"its mapping to {target!r} cannot run: Valueflow maps to a variable name, not "
                                     "a path: set the variable in a script task instead")
    if not is_expression:
        return f"{name} = {written!r}" if written else f"{name} = None"
    try:
        return f"{name} = {condition_to_python(written)}"
    except ExpressionNotSupported as exc:
        raise ExpressionNotSupported(f"its mapping of {target!r} to {written!r} cannot run: {exc}") from None


def _add_script(step: etree._Element, kind: str, lines: list[str], first: bool) -> None:
    """Put ``lines`` before (``first``) or after the step's own script of that kind; a script task's own script
    instead, as SpiffWorkflow runs no pre- or post-script around one."""
    if not lines:
        return
    extensions = step.find("bpmn:extensionElements", NS)
    script: Optional[etree._Element] = step.find("bpmn:script", NS) if local(step) == "scriptTask" else \
        extensions.find(f"spiffworkflow:{kind}", NS)
    if script is None:
        script = etree.SubElement(extensions, f"{{{SPIFF_NS}}}{kind}")
    own = [script.text] if (script.text or "").strip() else []
    script.text = "\n".join([*lines, *own] if first else [*own, *lines]) + "\n"
