"""Numbers in addresses: record ids in paths, whole numbers in query strings; anything else is refused with a
page that says what the address takes."""

from __future__ import annotations

from typing import Callable

from flask import abort, url_for
from werkzeug.routing import BaseConverter, ValidationError

LARGEST_ID = 2**31 - 1  # the largest id a row can have: ids are INTEGER columns, 32 bits on PostgreSQL


class RecordId(BaseConverter):
    """``<int:task_id>`` in this app: a row id written in ASCII digits, 1 to LARGEST_ID; any other path is not
    found (404). It stands in for Werkzeug's ``int``, which takes any size and other scripts' digits."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= LARGEST_ID:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


def record_addresses(endpoint: str, name: str) -> Callable[[int], str]:
    """``url_for(endpoint, name=id)`` for many ids at the cost of one: the address of record 1, its id swapped.

    For rules that end with their ``<int:name>``, whose ids ``RecordId.to_url`` writes as plain digits."""
    sample = url_for(endpoint, **{name: 1})
    if not sample.endswith("/1"):
        raise ValueError(f"the rule of {endpoint} does not end with its <int:{name}>")
    prefix = sample[:-1]
    return lambda record_id: prefix + str(int(record_id))


def whole_number(name: str, text: str, low: int, high: int) -> int:
    """``text`` as a whole number from ``low`` to ``high``, or a 400 page saying what ``name`` takes."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(high)) and low <= int(text) <= high:
        return int(text)
    shown = text if len(text) <= 40 else text[:40] + "…"
    abort(400, f"The {name} must be a whole number from {low:,} to {high:,}, written in digits, not {shown!r}.")
