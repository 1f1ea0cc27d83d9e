"""Forms other tools write inside the diagram, turned into the step's JSON Schema form.

Camunda 7's generated forms: ``camunda:formData`` with one ``camunda:formField``
per field (id, label, type string / long / boolean / date / enum with its
``camunda:value`` options, ``defaultValue``, and the ``required``, ``min``,
``max``, ``minlength`` and ``maxlength`` constraints). Flowable's and
Activiti's form properties: ``flowable:formProperty`` (``activiti:``, and
Camunda 7's older ``camunda:formProperty``) with id, name, type string / long
/ double / boolean / date / enum with its ``value`` options, ``required`` and
``default``; a property that is not ``writable`` is left out. Field ids,
labels, types, options and required flags are kept. A field of another type is
a problem that names the task and the field.
"""

from __future__ import annotations

from typing import Any, Optional

from lxml import etree

from engine.definitions.namespaces import ACTIVITI_NS, CAMUNDA_NS, FLOWABLE_NS
from engine.definitions.validation import Problem

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
}
_PROPERTY_TYPES: dict[str, dict[str, Any]] = {**_TYPES, "double": {"type": "number"}}
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
        spec = _typed_field(task, "form field", field_id, kind, field.get("label"), _TYPES, problems)
        if spec is None:
            continue
        if kind == "enum":
            spec.update(_choices(list(field.iterfind(f"{{{CAMUNDA_NS}}}value"))))
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


def form_properties_schema(task: etree._Element) -> tuple[Optional[dict[str, Any]], list[Problem]]:
    """The JSON Schema of a task's Flowable / Activiti / Camunda ``formProperty`` fields, or None when it has none;
    with the problems found."""
    written = [prop for namespace in (FLOWABLE_NS, ACTIVITI_NS, CAMUNDA_NS)
               for prop in task.iterfind(f"{{*}}extensionElements/{{{namespace}}}formProperty")]
    if not written:
        return None, []
    properties: dict[str, Any] = {}
    required: list[str] = []
    problems: list[Problem] = []
    for prop in written:
        field_id, kind = prop.get("id", ""), prop.get("type", "string")
        if prop.get("writable", "true").strip().lower() == "false":
            continue
        spec = _typed_field(task, "form property", field_id, kind, prop.get("name"), _PROPERTY_TYPES, problems)
        if spec is None:
            continue
        if kind == "enum":
            spec.update(_choices([value for value in prop
                                  if isinstance(value.tag, str) and etree.QName(value).localname == "value"]))
        default = prop.get("default")
        if default is not None and "${" not in default:
            spec["default"] = _typed(default, kind)
        if prop.get("required", "false").strip().lower() == "true":
            required.append(field_id)
        properties[field_id] = spec
    return {"type": "object", "properties": properties, "required": required}, problems


def _typed_field(task: etree._Element, what: str, field_id: str, kind: str, label: Optional[str],
                 types: dict[str, dict[str, Any]], problems: list[Problem]) -> Optional[dict[str, Any]]:
    """A field's JSON Schema of its type and label; None, with a problem, for a type Valueflow cannot show."""
    if kind not in types:
        problems.append(Problem(task.get("id"), task.get("name"), f"{what} {field_id!r} has the type {kind!r}, which "
                                f"Valueflow cannot show: use one of {', '.join(types)}"))
        return None
    return {**types[kind], "title": label or field_id}


def _choices(values: list[etree._Element]) -> dict[str, Any]:
    """An enum field's options: the values' ids, and the names the tool gives them as their labels."""
    return {"enum": [value.get("id") for value in values],
            "x-labels": {value.get("id"): value.get("name") or value.get("id") for value in values}}


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
