"""Forms drawn from a step's JSON Schema, and posted strings turned back into the schema's types.

Widgets: text, number/integer (typed as text, so a wrong value is kept and
explained rather than dropped by the browser), date (``format: date``), select
(``enum``), checkbox (``boolean``) and textarea (``x-widget: textarea``).
Labels come from ``title``, help from ``description``, a choice's label from ``x-labels`` (else its value);
required fields are marked.
The engine (engine.definitions.forms.check_form) has the last word on every value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Optional

from engine.definitions.form_dates import date_range
from engine.definitions.forms import COMMENT_FORM, DEFAULT_MAX_LENGTH, FormInvalid, check_form
from web.present import choice_label

# Digits in groups of three, parted by one kind of mark throughout: 250,000 or 250 000 (or 250_000).
_GROUPED = re.compile(r"[+-]?\d{1,3}(?P<mark>[, \u00a0_])\d{3}((?P=mark)\d{3})*(\.\d+)?")
_MARKS = re.compile(r"[, \u00a0_]")
_MARKED = re.compile(r"[+-]?\d[\d, \u00a0_]*(\.\d+)?")  # digits with marks among them, grouped or not
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MOST_DIGITS = 400  # characters of a typed number: past any bound a form sets, and past what Python reads


@dataclass
class Field:
    """One input as the template draws it."""

    name: str
    label: str
    widget: str                     # text, number, integer, date, select, checkbox, textarea
    required: bool
    help: str = ""
    value: Any = ""                 # the text shown (a bool for checkboxes)
    error: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    limits: str = ""                # e.g. "1,000 to 5,000,000" or "up to 2,000 characters"
    max_length: Optional[int] = None  # text fields: the most characters the form takes
    earliest: str = ""              # date fields: the first and last dates taken, ISO, for the browser's picker
    latest: str = ""
    autofocus: bool = False         # the first field with an error takes the keyboard focus

    @property
    def input_id(self) -> str:
        return f"field-{self.name}"


def schema_or_comment(schema: Optional[dict[str, Any]]) -> dict[str, Any]:
    """A step without a form gets a comment box."""
    return schema or COMMENT_FORM


def fields_for(schema: dict[str, Any], today: date, values: Optional[Mapping[str, Any]] = None,
               errors: Optional[Mapping[str, str]] = None) -> list[Field]:
    """The fields of a schema, in its order, holding ``values`` as typed and each field's error; a date field's
    picker offers the dates it takes around ``today``."""
    values, errors = values or {}, errors or {}
    required = set(schema.get("required", []))
    fields = []
    for name, spec in schema.get("properties", {}).items():
        widget = _widget(spec)
        value = values.get(name, spec.get("default", False if widget == "checkbox" else ""))
        earliest, latest = date_range(spec, today) if widget == "date" else (None, None)
        fields.append(Field(
            name=name, label=spec.get("title") or name.replace("_", " ").capitalize(), widget=widget,
            required=name in required and widget != "checkbox", help=spec.get("description", ""),
            value=bool(value) if widget == "checkbox" else ("" if value is None else str(value)),
            error=errors.get(name, ""), options=[(str(v), choice_label(v, spec)) for v in spec.get("enum", [])],
            limits=_limits(spec, widget), max_length=_max_length(spec, widget),
            earliest=earliest.isoformat() if earliest else "", latest=latest.isoformat() if latest else ""))
    first_bad = next((f for f in fields if f.error), None)
    if first_bad is not None:
        first_bad.autofocus = True
    return fields


def _widget(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if "enum" in spec:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("number", "integer"):
        return kind
    if spec.get("format") == "date":
        return "date"
    if spec.get("x-widget") == "textarea":
        return "textarea"
    return "text"


def _max_length(spec: dict[str, Any], widget: str) -> Optional[int]:
    return spec.get("maxLength", DEFAULT_MAX_LENGTH) if widget in ("text", "textarea") else None


def _limits(spec: dict[str, Any], widget: str) -> str:
    longest = _max_length(spec, widget)
    if longest is not None:
        return f"up to {longest:,} characters"
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and high is not None:
        return f"{low:,} to {high:,}"
    if low is not None:
        return f"at least {low:,}"
    if high is not None:
        return f"at most {high:,}"
    return ""


def read_submission(schema: dict[str, Any], form: Mapping[str, str], today: date) -> tuple[dict[str, Any],
                                                                                           dict[str, Any]]:
    """(data typed for the engine, values as typed for re-display); raises FormInvalid with every bad field,
    its dates held to their range around ``today``.

    An empty optional field is left out; an unticked checkbox is False; a number that does not parse is an
    error at that field, and the engine's own check still reports the other fields.
    """
    data: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in schema.get("properties", {}).items():
        widget = _widget(spec)
        if widget == "checkbox":
            data[name] = typed[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        raw = form.get(name, "")
        typed[name] = raw
        if not raw.strip():
            continue
        if widget in ("number", "integer"):
            try:
                data[name] = parse_number(raw, whole=widget == "integer", low=spec.get("minimum"),
                                          high=spec.get("maximum"))
            except ValueError as exc:
                errors[name] = str(exc)
        elif widget == "select":
            match = [v for v in spec.get("enum", []) if str(v) == raw]
            if match:
                data[name] = match[0]
            else:
                errors[name] = "must be one of " + ", ".join(choice_label(v, spec) for v in spec.get("enum", []))
        else:
            data[name] = raw if widget == "textarea" else raw.strip()
    try:
        accepted = check_form(schema, data, today)
    except FormInvalid as exc:
        errors = {**{k: v for k, v in exc.errors.items() if k not in errors}, **errors}
        accepted = {}
    if errors:
        raise FormInvalidTyped(errors, typed)
    return accepted, typed


class FormInvalidTyped(FormInvalid):
    """FormInvalid that also carries the values as the user typed them."""

    def __init__(self, errors: dict[str, str], typed: dict[str, Any]) -> None:
        super().__init__(errors)
        self.typed = typed


def parse_number(text: str, whole: bool, low: Optional[float] = None, high: Optional[float] = None) -> int | float:
    """``250000``, ``250,000``, ``250 000`` or ``3.5``; a whole number where the schema wants an integer. Marks
    between digits must part them in threes: ``1 000 0`` is a slip, not ten thousand. A refusal's example lies
    within the field's range (``low`` to ``high``) when it has one."""
    compact = text.strip()
    if len(compact) > MOST_DIGITS:
        raise ValueError(f"has {len(compact):,} characters, more than any number a form takes")
    if _GROUPED.fullmatch(compact):
        compact = _MARKS.sub("", compact)
    elif _MARKED.fullmatch(compact) and _MARKS.search(compact):
        if high is not None and high < 1000:
            raise ValueError(f"must be a number without spaces or commas, like {example_number(whole, low, high)}")
        raise ValueError("must be a number with its digits in groups of three, like 250,000 or 250 000")
    if _INTEGER.fullmatch(compact):
        return int(compact)
    if whole:
        raise ValueError(f"must be a whole number, like {example_number(whole, low, high)}")
    if not _DECIMAL.fullmatch(compact) or not math.isfinite(value := float(compact)):
        raise ValueError(f"must be a number, like {example_number(whole, low, high)}")
    return value


def example_number(whole: bool, low: Optional[float], high: Optional[float]) -> str:
    """Numbers to show as examples of what a field takes: ``3``, or ``250000 or 3.5`` where it takes decimals,
    those of them within its range (``low`` to ``high``); else its middle, or its one bound."""
    def within(number: float) -> bool:
        return (low is None or number >= low) and (high is None or number <= high)

    fitting = [text for text in (("3",) if whole else ("250000", "3.5")) if within(float(text))]
    if fitting:
        return " or ".join(fitting)
    if low is None or high is None:
        bound = low if low is not None else high
        return f"{bound:g}" if not whole else str(math.ceil(bound) if low is not None else math.floor(bound))
    middle = (low + high) / 2
    if not whole and high - low < 10:
        return f"{middle:.1f}"
    return str(min(max(round(middle), math.ceil(low)), math.floor(high)))
