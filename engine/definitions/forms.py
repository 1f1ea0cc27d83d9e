"""Form data checked against a step's JSON Schema, with one message per field.

Only the fields a form declares reach the case data: a form cannot set a
variable the process computes itself (a risk class, an approval flag).
A step without a form accepts one optional ``comment``.
Text is as long as a field's ``maxLength`` allows, or DEFAULT_MAX_LENGTH
characters when the form sets no limit; a number within the field's
``minimum`` and ``maximum``, or within DEFAULT_LARGEST_NUMBER either side of
zero for each bound the form leaves open (a larger one loses digits as a
float, and the arithmetic of the process's scripts overflows on it); a date
within its form's range, or within a hundred years of today
(engine.definitions.form_dates).

Every completion checks its form, so the usual case is made cheap: a form
of flat fields (the keywords in ``_field_checks``) is compiled once into
plain checks that can only say "valid" when jsonschema would; anything else,
and any data those checks do not pass, goes through jsonschema itself, which
also names the bad fields.

A form that breaks the rules a deploy checks (engine.definitions.form_rules: a ``$ref`` outside it, a
pattern that is no regular expression) checks no value: it can only have been stored before those rules.
Patterns are matched under a time limit (engine.definitions.form_patterns).
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, Callable, Optional, Union

import jsonschema
import referencing.exceptions
from jsonschema.protocols import Validator

from engine.definitions.form_dates import DATE_BOUNDS, date_fields, dates_out_of_range
from engine.definitions.form_patterns import PatternTooSlow, matches
from engine.definitions.form_rules import breaches
from engine.definitions.form_validator import form_validator
from engine.time.clock import current_time

DEFAULT_MAX_LENGTH = 10_000
DEFAULT_LARGEST_NUMBER = 10**15 - 1
COMMENT_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {"comment": {"type": "string", "title": "Comment", "x-widget": "textarea"}},
}


class FormInvalid(Exception):
    """Some fields hold values the form does not accept; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def check_form(schema: Optional[dict[str, Any]], data: Any, today: Optional[date] = None) -> dict[str, Any]:
    """The accepted data, or FormInvalid naming every bad field; dates are held to their range around ``today``
    (by default the engine's clock's)."""
    schema = schema or COMMENT_FORM
    if not isinstance(data, dict):
        raise FormInvalid({"": "the form data must be a JSON object"})
    checkers = _checkers(schema)
    if isinstance(checkers, FormInvalid):
        raise checkers
    validator, surely_valid, capped, dated = checkers
    out_of_range = dates_out_of_range(dated, data, today or current_time().date()) if dated else {}
    if not out_of_range and surely_valid is not None and surely_valid(data):
        return dict(data)
    known = set(schema.get("properties", {}))
    errors = {name: "is not a field of this form" for name in data if name not in known}
    try:
        for error in validator.iter_errors(data):
            if error.validator == "required":
                for name in error.validator_value:
                    if name not in error.instance:
                        errors.setdefault(".".join([*map(str, error.absolute_path), name]), "is required")
                continue
            where = ".".join(str(part) for part in error.absolute_path)
            errors.setdefault(where, _message(error, where in capped))
    except referencing.exceptions.Unresolvable as exc:
        raise FormInvalid({"": f"this form cannot check its values: its $ref {exc.ref!r} leads to no part of the "
                               "form (a form reads no file nor address); the process owner must deploy it "
                               "again"}) from None
    for name, message in out_of_range.items():
        errors.setdefault(name, message)
    if errors:
        raise FormInvalid(errors)
    return dict(data)


Check = Callable[[Any], bool]
Checkers = tuple[Validator, Optional[Check], frozenset[str], dict[str, dict[str, Any]]]
# Validators cost more to build than to run; schemas live as long as their compiled definition.
# Each entry keeps its schema alive, so the id stays that schema's.
_CHECKERS: dict[int, tuple[dict[str, Any], Union[Checkers, FormInvalid]]] = {}


def _checkers(schema: dict[str, Any]) -> Union[Checkers, FormInvalid]:
    """jsonschema's validator for the form with its length caps, its quick check (None when the form is beyond
    it), the fields capped at DEFAULT_MAX_LENGTH or DEFAULT_LARGEST_NUMBER and the date fields; or, for a form that
    breaks a rule of engine.definitions.form_rules, the refusal of every value."""
    entry = _CHECKERS.get(id(schema))
    if entry is None or entry[0] is not schema:
        broken = breaches(schema)
        if broken:
            entry = (schema, FormInvalid({"": "this form cannot check its values: " + "; ".join(broken)
                                               + "; the process owner must deploy it again"}))
        else:
            capped_schema, capped = _with_caps(schema)
            validator = form_validator(capped_schema)
            entry = (schema, (validator, _quick_check(capped_schema, validator), capped, date_fields(schema)))
        _CHECKERS[id(schema)] = entry
    return entry[1]


def _with_caps(schema: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """The schema with ``maxLength: DEFAULT_MAX_LENGTH`` on each field that may hold text and sets no limit, and
    ``DEFAULT_LARGEST_NUMBER`` as the bound of each number field that sets none; and those fields' names."""
    fields = schema.get("properties")
    if not isinstance(fields, dict):
        return schema, frozenset()
    properties, capped = {}, set()
    for name, field in fields.items():
        caps = {}
        if _may_hold_text(field) and "maxLength" not in field:
            caps["maxLength"] = DEFAULT_MAX_LENGTH
        if _is_number(field):
            if "maximum" not in field and "exclusiveMaximum" not in field:
                caps["maximum"] = DEFAULT_LARGEST_NUMBER
            if "minimum" not in field and "exclusiveMinimum" not in field:
                caps["minimum"] = -DEFAULT_LARGEST_NUMBER
        properties[name] = {**field, **caps} if caps else field
        if caps:
            capped.add(name)
    return {**schema, "properties": properties}, frozenset(capped)


# Keywords that say nothing about validity (besides any "x-..." extension).
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "readOnly",
                "writeOnly", "deprecated"}


def _annotation(keyword: str) -> bool:
    return keyword in _ANNOTATIONS or keyword.startswith("x-")


def _is_number(field: Any) -> bool:
    declared = field.get("type") if isinstance(field, dict) else None
    return declared in ("number", "integer") or (isinstance(declared, list) and bool({"number", "integer"} & set(declared)))


def _may_hold_text(field: Any) -> bool:
    if not isinstance(field, dict):
        return False
    declared = field.get("type")
    return declared is None or declared == "string" or (isinstance(declared, list) and "string" in declared)


def _quick_check(schema: dict[str, Any], validator: Validator) -> Optional[Check]:
    """A check of a flat form that is True only for data jsonschema accepts; None for other forms.

    Each field keyword is checked as jsonschema's own keyword function does,
    with the validator's type and format checkers. ``enum`` is stricter (same
    type and equal), which only sends more data to the full check.
    """
    if any(not _annotation(k) and k not in ("type", "properties", "required") for k in schema) \
            or schema.get("type", "object") != "object":
        return None
    fields: dict[str, list[Check]] = {}
    for name, field in schema.get("properties", {}).items():
        checks = _field_checks(field, validator.TYPE_CHECKER.is_type, validator.format_checker)
        if checks is None:
            return None
        fields[name] = checks
    required = tuple(schema.get("required", ()))

    def surely_valid(data: dict[str, Any]) -> bool:  # plain loops: generators would double its cost
        for name in required:
            if name not in data:
                return False
        for name, value in data.items():
            checks = fields.get(name)
            if checks is None:
                return False
            for check in checks:
                if not check(value):
                    return False
        return True

    return surely_valid


def _field_checks(field: Any, is_type: Callable[[Any, str], bool],
                  formats: Optional[jsonschema.FormatChecker]) -> Optional[list[Check]]:
    """The checks of one field, its type first; None if it uses a keyword beyond them."""
    if not isinstance(field, dict):
        return None
    checks: list[Check] = []
    declared = field.get("type")
    if declared is not None:
        if isinstance(declared, list):
            checks.append(lambda value: any(is_type(value, name) for name in declared))
        else:
            checks.append(_type_check(declared, is_type))
    # The number and length keywords apply to numbers and strings only; once the type check
    # has passed, a field declared as one of those needs no second look at the value's type.
    numeric = declared in ("number", "integer")
    text = declared == "string"
    for keyword, limit in field.items():
        if keyword == "type" or _annotation(keyword) or keyword in DATE_BOUNDS:  # dates: form_dates checks them
            continue
        if keyword in _BOUNDS:
            checks.append(_applying_to("number", numeric, is_type, partial(_BOUNDS[keyword], limit)))
        elif keyword in _LENGTHS:
            checks.append(_applying_to("string", text, is_type, partial(_LENGTHS[keyword], limit)))
        elif keyword == "pattern":
            checks.append(_applying_to("string", text, is_type, partial(_matches_in_time, limit)))
        elif keyword == "enum":
            members = list(limit)
            checks.append(lambda value: any(type(m) is type(value) and m == value for m in members))
        elif keyword == "format" and formats is not None:
            checks.append(partial(lambda name, value: formats.conforms(value, name), limit))
        else:
            return None
    return checks


def _matches_in_time(pattern: str, value: str) -> bool:
    """Whether the pattern matches the value; False when it takes too long, for the full check to say so."""
    try:
        return matches(pattern, value)
    except PatternTooSlow:
        return False


# The Python types whose values are surely of a JSON type (exactly these: a bool is no integer). Others are
# asked of the validator's type checker.
_EXACT_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}), "integer": frozenset({int}), "number": frozenset({int, float}),
    "boolean": frozenset({bool}), "object": frozenset({dict}), "array": frozenset({list}),
    "null": frozenset({type(None)}),
}


def _type_check(declared: str, is_type: Callable[[Any, str], bool]) -> Check:
    """The check of a field's one declared type: the value's exact Python type first, the type checker otherwise."""
    exact = _EXACT_TYPES.get(declared, frozenset())
    return lambda value: type(value) in exact or is_type(value, declared)


def _applying_to(json_type: str, known: bool, is_type: Callable[[Any, str], bool], check: Check) -> Check:
    """``check`` for values of ``json_type``; any other value passes (``known``: the type check came first)."""
    return check if known else lambda value: not is_type(value, json_type) or check(value)


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda limit, value: not value < limit, "maximum": lambda limit, value: not value > limit,
    "exclusiveMinimum": lambda limit, value: not value <= limit,
    "exclusiveMaximum": lambda limit, value: not value >= limit,
}
_LENGTHS: dict[str, Callable[[Any, Any], bool]] = {
    "minLength": lambda limit, value: not len(value) < limit, "maxLength": lambda limit, value: not len(value) > limit,
}


def _message(error: jsonschema.ValidationError, capped: bool) -> str:
    if error.validator == "enum":
        return "must be one of " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "type":
        return f"must be {_a(error.validator_value)}"
    if capped and error.validator in ("minimum", "maximum") and abs(error.validator_value) == DEFAULT_LARGEST_NUMBER:
        return (f"must be {'at least' if error.validator == 'minimum' else 'at most'} {error.validator_value:,}, "
                "the widest range any number field takes when its form sets no limit")
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
    if error.validator == "maxLength":
        limit = f"must be at most {error.validator_value:,} characters (it has {len(error.instance):,})"
        return limit + ", the most any field takes when its form sets no limit" if capped else limit
    return error.message


def _a(json_type: Any) -> str:
    names = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "yes or no",
             "object": "an object", "array": "a list"}
    if isinstance(json_type, list):
        return " or ".join(names.get(t, t) for t in json_type)
    return names.get(json_type, json_type)
