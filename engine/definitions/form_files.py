"""Form files other tools keep beside their diagrams, turned into the step's JSON Schema form.

- form-js, the forms of Camunda 8 (and of Camunda 7's ``camunda-forms:``):
  ``{"id": …, "components": [{"type": "textfield", "key": "name", "label": …,
  "validate": {"required": true}}, …]}``. Inputs keep their key (the field id),
  label, description, default value and constraints: ``textfield``,
  ``textarea``, ``number``, ``checkbox``, ``datetime`` (date, time or both),
  ``select`` and ``radio`` with their static values (labels kept as
  ``x-labels``). Text, images, buttons and other display parts are left out;
  a group's fields are read as the form's own.
- Flowable's form definitions: ``{"key": …, "fields": [{"id": …, "name": …,
  "type": "text", "required": true}, …]}``.

A field Valueflow cannot show (another type, options computed at run time) is
a problem that names the form and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# form-js components that show something but hold no value.
_DISPLAY_ONLY = {"text", "html", "image", "button", "separator", "spacer", "iframe", "table", "documentPreview"}
_FORM_JS_TYPES: dict[str, dict[str, Any]] = {
    "textfield": {"type": "string"}, "textarea": {"type": "string", "x-widget": "textarea"},
    "number": {"type": "number"}, "checkbox": {"type": "boolean"},
    "select": {"type": "string"}, "radio": {"type": "string"},
}
_DATETIME_FORMATS = {"date": "date", "time": "time", "datetime": "date-time"}
_VALIDATE = {"min": "minimum", "max": "maximum", "minLength": "minLength", "maxLength": "maxLength",
             "pattern": "pattern"}
_FLOWABLE_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"}, "password": {"type": "string"}, "multi-line-text": {"type": "string",
                                                                                   "x-widget": "textarea"},
    "integer": {"type": "integer"}, "decimal": {"type": "number"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "dropdown": {"type": "string"},
    "radio-buttons": {"type": "string"},
}
_FLOWABLE_DISPLAY_ONLY = {"expression", "hyperlink", "spacer", "horizontal-line", "headline",
                          "headline-with-line"}


@dataclass
class ConvertedForm:
    """A form file as a JSON Schema form, and what in it Valueflow cannot show (one message per field)."""

    schema: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def form_ids(document: Any) -> list[str]:
    """The ids a task may link a form file by: form-js's ``id``, Flowable's ``key``."""
    if not isinstance(document, dict):
        return []
    return [value for value in (document.get("id"), document.get("key")) if isinstance(value, str) and value]


def convert_form(document: Any) -> Optional[ConvertedForm]:
    """The JSON Schema form of a form-js or Flowable form document; None when it is neither."""
    if isinstance(document, dict) and isinstance(document.get("components"), list):
        return _from_form_js(document["components"])
    if isinstance(document, dict) and isinstance(document.get("fields"), list):
        return _from_flowable(document["fields"])
    return None


def _from_form_js(components: list[Any]) -> ConvertedForm:
    form = ConvertedForm({"type": "object", "properties": {}, "required": []})
    pending = list(components)
    while pending:
        component = pending.pop(0)
        if not isinstance(component, dict):
            continue
        kind, key = component.get("type"), component.get("key")
        if kind == "group" and isinstance(component.get("components"), list) and not component.get("path"):
            pending[:0] = component["components"]
            continue
        if kind in _DISPLAY_ONLY or (kind not in _FORM_JS_TYPES and kind != "datetime" and not key):
            continue
        name = key or component.get("id") or "?"
        spec = _form_js_field(component, kind, form, name)
        if spec is None:
            continue
        form.schema["properties"][name] = spec
        if isinstance(component.get("validate"), dict) and component["validate"].get("required") is True:
            form.schema["required"].append(name)
    return form


def _form_js_field(component: dict[str, Any], kind: Any, form: ConvertedForm, name: str) -> Optional[dict[str, Any]]:
    """One form-js input as a JSON Schema property; None (with a problem) when Valueflow cannot show it."""
    if not isinstance(component.get("key"), str) or not component["key"]:
        form.problems.append(f"its {kind} field {name!r} has no key to keep its value under")
        return None
    if kind == "datetime":
        spec: dict[str, Any] = {"type": "string", "format": _DATETIME_FORMATS.get(component.get("subtype"), "date")}
    elif kind in _FORM_JS_TYPES:
        spec = dict(_FORM_JS_TYPES[kind])
    else:
        form.problems.append(f"its field {name!r} is a {kind} field, which Valueflow cannot show: use a text "
                             "field, text area, number, checkbox, date and time, select or radio")
        return None
    label = component.get("label") or component.get("dateLabel")
    spec["title"] = label if isinstance(label, str) and label else name
    if isinstance(component.get("description"), str) and component["description"]:
        spec["description"] = component["description"]
    if kind in ("select", "radio"):
        values = component.get("values")
        if not isinstance(values, list) or not values:
            form.problems.append(f"its {kind} field {name!r} takes its options from the case "
                                 f"({component.get('valuesKey') or component.get('valuesExpression') or 'at run time'})"
                                 ", which Valueflow cannot show yet: list the options in the form")
            return None
        options = [str(v.get("value")) for v in values if isinstance(v, dict) and "value" in v]
        labels = [str(v.get("label") or v.get("value")) for v in values if isinstance(v, dict) and "value" in v]
        spec.update({"enum": options, "x-labels": dict(zip(options, labels))})
    validate = component.get("validate") if isinstance(component.get("validate"), dict) else {}
    for written, keyword in _VALIDATE.items():
        value = validate.get(written)
        usable = isinstance(value, str) and bool(value) if keyword == "pattern" else \
            isinstance(value, (int, float)) and not isinstance(value, bool)
        if usable:
            spec[keyword] = value
    if "defaultValue" in component:
        spec["default"] = component["defaultValue"]
    return spec


def _from_flowable(fields: list[Any]) -> ConvertedForm:
    form = ConvertedForm({"type": "object", "properties": {}, "required": []})
    for written in fields:
        if not isinstance(written, dict):
            continue
        kind, name = written.get("type", "text"), written.get("id")
        if kind in _FLOWABLE_DISPLAY_ONLY:
            continue
        if not isinstance(name, str) or not name:
            form.problems.append(f"its {kind} field {written.get('name')!r} has no id to keep its value under")
            continue
        if kind not in _FLOWABLE_TYPES:
            form.problems.append(f"its field {name!r} is a {kind} field, which Valueflow cannot show: use one of "
                                 f"{', '.join(_FLOWABLE_TYPES)}")
            continue
        spec: dict[str, Any] = {**_FLOWABLE_TYPES[kind], "title": written.get("name") or name}
        if kind in ("dropdown", "radio-buttons"):
            options = [str(o.get("id") or o.get("name")) for o in written.get("options") or []
                       if isinstance(o, dict) and (o.get("id") or o.get("name"))]
            labels = [str(o.get("name") or o.get("id")) for o in written.get("options") or []
                      if isinstance(o, dict) and (o.get("id") or o.get("name"))]
            spec.update({"enum": options, "x-labels": dict(zip(options, labels))})
        form.schema["properties"][name] = spec
        if written.get("required") is True:
            form.schema["required"].append(name)
    return form
