"""Service tasks that evaluate a JUEL expression (``camunda:expression="${approved}"``), run as script tasks.

Camunda 7, Flowable and Activiti let a service task evaluate an expression, its value kept in a result variable
(``camunda:resultVariable``, ``flowable:resultVariableName``). One that reads only the case's data — names,
property access, arithmetic, comparisons, literals — is what a script task does, and becomes one in the parsed
document: ``result = <the expression as Python>``, checked and run as every script is. One that calls a Java
method (``${invoiceService.archive(invoice)}``) stays a service task, and engine.definitions.service_tasks
refuses it with the fix.
"""

from __future__ import annotations

from typing import Iterable, Optional

from lxml import etree

from engine.definitions.expressions import ExpressionNotSupported, juel_to_python
from engine.definitions.namespaces import ACTIVITI_NS, BPMN_NS, CAMUNDA_NS, FLOWABLE_NS
from engine.definitions.validation import Problem

_DIALECTS = (CAMUNDA_NS, FLOWABLE_NS, ACTIVITI_NS)
_STEPS = ("serviceTask", "sendTask")
_RESULT = ("resultVariable", "resultVariableName")


def expression_as_python(element: etree._Element) -> Optional[str]:
    """The Python of the JUEL expression a service task evaluates; None when it has none; raises
    ExpressionNotSupported (with why) when it cannot run here."""
    for namespace in _DIALECTS:
        written = element.get(f"{{{namespace}}}expression")
        if written:
            return juel_to_python(written)
    return None


def expressions_as_scripts(process: etree._Element) -> Iterable[Problem]:
    """Make each service task whose expression reads only the case's data a script task that sets its result
    variable to it; a result variable that is no plain name is a problem."""
    for element in list(process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _STEPS))):
        try:
            python = expression_as_python(element)
        except ExpressionNotSupported:
            continue  # refused by engine.definitions.service_tasks, saying why
        if python is None:
            continue
        result = next((element.get(f"{{{namespace}}}{attribute}") for namespace in _DIALECTS
                       for attribute in _RESULT if element.get(f"{{{namespace}}}{attribute}")), None)
        if result is not None and not result.isidentifier():
            yield Problem(element.get("id"), element.get("name"),
                          f"its result variable {result!r} is not a name a case can keep a value under: use "
                          "letters, digits and _ only")
            continue
        for namespace in _DIALECTS:
            element.attrib.pop(f"{{{namespace}}}expression", None)
        element.tag = f"{{{BPMN_NS}}}scriptTask"
        element.set("scriptFormat", "python")
        script = etree.SubElement(element, f"{{{BPMN_NS}}}script")
        script.text = f"{result} = {python}" if result else python

