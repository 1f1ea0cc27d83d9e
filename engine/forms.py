"""Form data checked against a step's JSON Schema, with one message per field.

Only the fields a form declares reach the case data: a form cannot set a
variable the process computes itself (a risk class, an approval flag).
A step without a form accepts one optional ``comment``.
"""

from __future__ import annotations

from typing import Any, Optional

import jsonschema

COMMENT_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {"comment": {"type": "string", "title": "Comment", "x-widget": "textarea"}},
}


class FormInvalid(Exception):
    """Some fields hold values the form does not accept; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def check_form(schema: Optional[dict[str, Any]], data: Any) -> dict[str, Any]:
    """The accepted data, or FormInvalid naming every bad field."""
    schema = schema or COMMENT_FORM
    if not isinstance(data, dict):
        raise FormInvalid({"": "the form data must be a JSON object"})
    known = set(schema.get("properties", {}))
    errors = {name: "is not a field of this form" for name in data if name not in known}
    for error in _validator(schema).iter_errors(data):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance:
                    errors.setdefault(".".join([*map(str, error.absolute_path), name]), "is required")
            continue
        errors.setdefault(".".join(str(part) for part in error.absolute_path), _message(error))
    if errors:
        raise FormInvalid(errors)
    return dict(data)


# Validators cost more to build than to run; schemas live as long as their compiled definition.
# Each entry keeps its schema alive, so the id stays that schema's.
_VALIDATORS: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = (schema, jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()))
        _VALIDATORS[id(schema)] = entry
    return entry[1]


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return "must be one of " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "type":
        return f"must be {_a(error.validator_value)}"
    if error.validator in ("minimum", "exclusiveMinimum"):
        return f"must be at least {error.validator_value}" if error.validator == "minimum" \
            else f"must be more than {error.validator_value}"
    if error.validator in ("maximum", "exclusiveMaximum"):
        return f"must be at most {error.validator_value}" if error.validator == "maximum" \
            else f"must be less than {error.validator_value}"
    if error.validator == "format":
        return f"must be a valid {error.validator_value}"
    if error.validator == "minLength":
        return "must not be empty" if error.validator_value == 1 else \
            f"must be at least {error.validator_value} characters"
    return error.message


def _a(json_type: Any) -> str:
    names = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "yes or no",
             "object": "an object", "array": "a list"}
    if isinstance(json_type, list):
        return " or ".join(names.get(t, t) for t in json_type)
    return names.get(json_type, json_type)
