"""Forms other tools write inside the diagram, turned into the step's JSON Schema form.

Camunda 7's generated forms: ``camunda:formData`` with one ``camunda:formField``
per field (id, label, type string / long / boolean / date / enum with its
``camunda:value`` options, ``defaultValue``, and the ``required``, ``min``,
``max``, ``minlength`` and ``maxlength`` constraints). Field ids, labels, types,
options and required flags are kept. A field of another type is a problem that
names the task and the field.
"""

from __future__ import annotations

from typing import Any, Optional

from lxml import etree

from engine.definitions.namespaces import CAMUNDA_NS
from engine.definitions.validation import Problem

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
}
_CONSTRAINTS = {"min": "minimum", "max": "maximum", "minlength": "minLength", "maxlength": "maxLength"}


def form_data_schema(task: etree._Element) -> tuple[Optional[dict[str, Any]], list[Problem]]:
    """The JSON Schema of a task's ``camunda:formData``, or None when it has none; with the problems found."""
    form = task.find(f"{{*}}extensionElements/{{{CAMUNDA_NS}}}formData")
    if form is None:
        return None, []
    properties: dict[str, Any] = {}
    required: list[str] = []
    problems: list[Problem] = []
    for field in form.iterfind(f"{{{CAMUNDA_NS}}}formField"):
        field_id, kind = field.get("id", ""), field.get("type", "string")
        if kind not in _TYPES:
            problems.append(Problem(task.get("id"), task.get("name"),
                                    f"form field {field_id!r} has the type {kind!r}, which Valueflow cannot show: "
                                    f"use one of {', '.join(_TYPES)}"))
            continue
        spec: dict[str, Any] = {**_TYPES[kind], "title": field.get("label") or field_id}
        if kind == "enum":
            spec["enum"] = [value.get("id") for value in field.iterfind(f"{{{CAMUNDA_NS}}}value")]
        for constraint in field.iterfind(f"{{{CAMUNDA_NS}}}validation/{{{CAMUNDA_NS}}}constraint"):
            name, config = constraint.get("name", ""), constraint.get("config")
            if name == "required":
                required.append(field_id)
            elif name in _CONSTRAINTS and config is not None and _is_number(config):
                whole = name.endswith("length") or kind == "long"
                spec[_CONSTRAINTS[name]] = int(float(config)) if whole else float(config)
        default = field.get("defaultValue")
        if default is not None and "${" not in default:
            spec["default"] = _typed(default, kind)
        properties[field_id] = spec
    return {"type": "object", "properties": properties, "required": required}, problems


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _typed(value: str, kind: str) -> Any:
    if kind == "long" and value.lstrip("-").isdigit():
        return int(value)
    if kind == "boolean":
        return value.strip().lower() == "true"
    return value
