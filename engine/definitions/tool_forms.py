"""Forms other tools write inside the diagram, turned into the step's JSON Schema form.

Camunda 7's generated forms: ``camunda:formData`` with one ``camunda:formField``
per field (id, label, type string / long / boolean / date / enum with its
``camunda:value`` options, ``defaultValue``, and the ``required``, ``min``,
``max``, ``minlength`` and ``maxlength`` constraints). Flowable's and
Activiti's form properties: ``flowable:formProperty`` (``activiti:``, and
Camunda 7's older ``camunda:formProperty``) with id, name, type string / long
/ double / boolean / date / enum with its ``value`` options, ``required`` and
``default``; a property that is not ``writable`` is left out. Field ids,
labels, types, options and required flags are kept. jBPM's generated forms:
a field for each data output a ``dataOutputAssociation`` takes back to the
process (engine.definitions.io_mappings), named as the output and typed as its
item (a Java class as jBPM writes it: String, Integer, Boolean, ...; or an XML
Schema or FEEL type). A field of another type is a problem that names the task
and the field.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from lxml import etree

from engine.definitions.feel import variable_name
from engine.definitions.io_mappings import data_name, mapped_associations
from engine.definitions.namespaces import ACTIVITI_NS, BPMN_NS, CAMUNDA_NS, FLOWABLE_NS, NS
from engine.definitions.validation import Problem

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
}
_PROPERTY_TYPES: dict[str, dict[str, Any]] = {**_TYPES, "double": {"type": "number"}}
# The types of an item (its itemDefinition's structureRef: a Java class as jBPM writes it, an XML Schema or FEEL
# type, without its package or prefix, in lower case) a person can fill in.
_ITEM_TYPES: dict[str, dict[str, Any]] = {
    **dict.fromkeys(("string", "object"), {"type": "string"}),
    **dict.fromkeys(("integer", "int", "long", "short"), {"type": "integer"}),
    **dict.fromkeys(("float", "double", "decimal", "bigdecimal", "number"), {"type": "number"}),
    **dict.fromkeys(("boolean", "bool"), {"type": "boolean"}),
    **dict.fromkeys(("date", "localdate"), {"type": "string", "format": "date"}),
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


def data_outputs_schema(task: etree._Element) -> tuple[Optional[dict[str, Any]], list[Problem]]:
    """The JSON Schema of the form jBPM draws for a task from the data outputs it takes back to the process, or
    None when it takes none; with the problems found. ActorId, which jBPM fills in itself, is no field."""
    taken = (mapped_associations(task) or ([], []))[1]
    if not taken:
        return None, []
    items = {item.get("id"): item.get("structureRef")
             for item in task.getroottree().iter(f"{{{BPMN_NS}}}itemDefinition")}
    outputs = {output.get("id"): output for output in task.iterfind("bpmn:ioSpecification/bpmn:dataOutput", NS)}
    properties: dict[str, Any] = {}
    problems: list[Problem] = []
    for association in taken:
        output = outputs[(association.findtext("bpmn:sourceRef", namespaces=NS) or "").strip()]
        name = data_name(task, output.get("id", ""))
        written = (items.get((output.get("itemSubjectRef") or "").split(":")[-1]) or "String").strip()
        kind = _ITEM_TYPES.get(re.split(r"[.:]", written)[-1].lower())
        if kind is None:
            problems.append(Problem(task.get("id"), task.get("name"), f"output {name!r} has the type {written!r}, "
                                    "which a person cannot fill in on Valueflow's form: make it a text, a number, "
                                    "true or false, or a date (String, Integer, Double, Boolean, Date)"))
        elif name != "ActorId":
            properties[variable_name(name)] = {**kind, "title": name}
    return {"type": "object", "properties": properties, "required": []}, problems


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
