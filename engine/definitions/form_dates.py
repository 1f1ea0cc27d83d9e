"""The dates a form's date field takes.

A field of ``format: date`` (or ``date-time``) takes the dates from its
``formatMinimum`` to its ``formatMaximum`` (ISO dates, under the names
ajv-formats gives date bounds); for each bound the form leaves open, a date
within DEFAULT_YEARS years of today: a ship date of 9999-12-31 or an offer
valid until 0001-01-01 is a slip, not a plan. The form's top-level fields are
checked, the fields a task page draws.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from engine.time import written

DEFAULT_YEARS = 100
DATE_BOUNDS = ("formatMinimum", "formatMaximum")
_DATE_FORMATS = ("date", "date-time")


def date_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The form's date fields by name."""
    fields = schema.get("properties")
    return {name: field for name, field in fields.items()
            if isinstance(field, dict) and field.get("format") in _DATE_FORMATS} if isinstance(fields, dict) else {}


def bound_error(field: dict[str, Any]) -> Optional[str]:
    """Why a date field's own bounds cannot be read (one that is not an ISO date), or None."""
    for keyword in DATE_BOUNDS:
        if keyword in field and _day(field[keyword]) is None:
            return f"{keyword} {field[keyword]!r} is not a date: write it as YYYY-MM-DD"
    return None


def date_range(field: dict[str, Any], today: date) -> tuple[date, date]:
    """The first and last dates a date field takes."""
    low, high = _day(field.get("formatMinimum")), _day(field.get("formatMaximum"))
    return low or _years_from(today, -DEFAULT_YEARS), high or _years_from(today, DEFAULT_YEARS)


def dates_out_of_range(fields: dict[str, dict[str, Any]], data: dict[str, Any], today: date) -> dict[str, str]:
    """Field name → message (which the page puts after the field's label), for each date in ``data`` outside the
    dates its field takes."""
    errors: dict[str, str] = {}
    for name, field in fields.items():
        given = _day(data.get(name))
        if given is None:  # missing, or no date at all: the form's format check says so
            continue
        widest = not all(keyword in field for keyword in DATE_BOUNDS)
        low, high = date_range(field, today)
        if not low <= given <= high:
            errors[name] = (f"must be a date from {written.calendar_date(low)} to {written.calendar_date(high)}"
                            + (f", the widest range a date field takes when its form sets none: {DEFAULT_YEARS} "
                               "years either side of today" if widest else ""))
    return errors


def _day(value: Any) -> Optional[date]:
    """The date an ISO date or date and time gives, or None."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _years_from(today: date, years: int) -> date:
    """The same day ``years`` years away (28 February for a 29 February that year lacks)."""
    try:
        return today.replace(year=today.year + years)
    except ValueError:
        return today.replace(year=today.year + years, day=28)
