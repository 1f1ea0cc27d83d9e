"""Steps other engines write as one expression and a result variable, run as Python script tasks.

Camunda 7, Flowable and Activiti let a service task evaluate an expression, its value kept in a result variable
(``camunda:resultVariable``, ``flowable:resultVariableName``). One that reads only the case's data — names,
property access, arithmetic, comparisons, literals — is what a script task does, and becomes one in the parsed
document: ``result = <the expression as Python>``, checked and run as every script is. One that calls a Java
method (``${invoiceService.archive(invoice)}``) stays a service task, and engine.definitions.service_tasks
refuses it with the fix. Camunda 8's script task is a FEEL expression and its result variable
(``<zeebe:script expression="=a + b" resultVariable="total"/>``), and gets its Python script the same way.
"""

from __future__ import annotations

from typing import Iterable, Optional

from lxml import etree

from engine.definitions.expressions import ExpressionNotSupported, condition_to_python, juel_to_python
from engine.definitions.feel import is_variable, variable_name
from engine.definitions.namespaces import BPMN_NS, JAVA_DIALECTS, NS
from engine.definitions.validation import Problem

_STEPS = ("serviceTask", "sendTask")
_RESULT = ("resultVariable", "resultVariableName")


def expression_as_python(element: etree._Element) -> Optional[str]:
    """The Python of the JUEL expression a service task evaluates; None when it has none; raises
    ExpressionNotSupported (with why) when it cannot run here."""
    for _, namespace in JAVA_DIALECTS:
        written = element.get(f"{{{namespace}}}expression")
        if written:
            return juel_to_python(written)
    return None


def expressions_as_scripts(process: etree._Element) -> Iterable[Problem]:
    """Make each service task whose expression reads only the case's data a script task that sets its result
    variable to it, and give each Camunda 8 script task its Python; a result variable that is no plain name, or
    a FEEL expression Valueflow cannot run, is a problem."""
    for element in list(process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _STEPS))):
        try:
            python = expression_as_python(element)
        except ExpressionNotSupported:
            continue  # refused by engine.definitions.service_tasks, saying why
        if python is None:
            continue
        result = next((element.get(f"{{{namespace}}}{attribute}") for _, namespace in JAVA_DIALECTS
                       for attribute in _RESULT if element.get(f"{{{namespace}}}{attribute}")), None)
        if result is not None and not is_variable(result):
            yield Problem(element.get("id"), element.get("name"),
                          f"its result variable {result!r} is not a name a case can keep a value under: use "
                          "letters, digits and _ only")
            continue
        for _, namespace in JAVA_DIALECTS:
            element.attrib.pop(f"{{{namespace}}}expression", None)
        element.tag = f"{{{BPMN_NS}}}scriptTask"
        _set_script(element, f"{result} = {python}" if result else python)
    for element in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        written = element.find("bpmn:extensionElements/zeebe:script", NS)
        if written is None or (element.findtext("bpmn:script", namespaces=NS) or "").strip():
            continue
        expression, result = (written.get("expression") or "").strip(), variable_name(written.get("resultVariable")
                                                                                     or "")
        try:
            if not expression or not is_variable(result):
                raise ExpressionNotSupported("its Camunda 8 script needs an expression and a result variable named "
                                             "with letters, digits and _ (zeebe:script): give it both")
            _set_script(element, f"{result} = {condition_to_python(expression)}")
        except ExpressionNotSupported as exc:
            yield Problem(element.get("id"), element.get("name"), f"its script {expression!r} cannot run: {exc}"
                          if expression and is_variable(result) else str(exc))


def _set_script(element: etree._Element, python: str) -> None:
    """Make the step a Python script task running ``python``."""
    element.set("scriptFormat", "python")
    script = etree.SubElement(element, f"{{{BPMN_NS}}}script")
    script.text = python

