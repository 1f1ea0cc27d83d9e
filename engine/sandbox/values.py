"""Which values a case's data can keep: what a script or expression leaves must survive being saved.

A case's data is written as JSON with each step (engine.cases.state), so a
value that JSON cannot hold would fail at the save, after the step ran, on
every try. The limits below are the writers' own, with room to spare:

- an integer of at most ``MAX_DIGITS`` digits (Python refuses to write one of
  more than 4,300 as text);
- nesting at most ``MAX_DEPTH`` levels deep (the fast JSON writer stops at 255
  levels, the standard one at Python's recursion limit; a snapshot wraps the
  data in three more);
- at most ``MAX_ITEMS`` values and ``MAX_TEXT`` characters in one variable, so
  that a list that holds itself, or the same list many times over (which
  costs a script nothing and JSON all of it), is refused rather than written;
  and as many in all the variables of a case (a ``Tally`` adds them up), since
  every step writes the case's data and every page of the case shows it;
- only JSON's kinds, dates, times, durations, decimals and ids: sets and tuples
  are written as lists; functions, types, ranges, generators and objects are
  refused;
- only finite numbers, and text (keys too) that UTF-8 can write: NaN and
  infinity are not JSON (the writer would put a bare ``NaN``), and a lone
  surrogate character (``chr(0xd800)``) cannot be encoded for a page or an
  answer.

The walk is a loop, not a recursion, so it never raises RecursionError itself.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Optional
from uuid import UUID

MAX_DIGITS = 4_000
MAX_DEPTH = 100
MAX_ITEMS = 1_000_000
MAX_TEXT = 10_000_000

_LARGEST = 10 ** MAX_DIGITS
_PLAIN = (bool, type(None), date, datetime, timedelta, Decimal, UUID)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SEQUENCES = (list, tuple, set, frozenset)


class Tally:
    """The values and characters of text of the variables looked at so far, for a case's whole data."""

    def __init__(self) -> None:
        self.items = self.text = 0

    def too_much(self) -> Optional[str]:
        """What there is too much of in all the variables, or None."""
        if self.items > MAX_ITEMS:
            return f"more than {MAX_ITEMS:,} values"
        if self.text > MAX_TEXT:
            return f"more than {MAX_TEXT:,} characters of text"
        return None


def why_unstorable(value: Any, tally: Optional[Tally] = None) -> Optional[str]:
    """None when a case's data can keep ``value``; else what is wrong with it, e.g. "an integer of 5,000 digits".
    ``tally`` adds its values and characters to those of the case's other variables."""
    items = text = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        items += 1
        if items > MAX_ITEMS:
            return f"more than {MAX_ITEMS:,} values"
        if isinstance(current, str):
            text += len(current)
            if text > MAX_TEXT:
                return f"more than {MAX_TEXT:,} characters of text"
            if has_surrogate(current):
                return "text with a lone surrogate character"
        elif isinstance(current, int) and not isinstance(current, bool):
            if -_LARGEST >= current or current >= _LARGEST:
                return f"an integer of more than {MAX_DIGITS:,} digits"
        elif isinstance(current, float):
            if not math.isfinite(current):
                return f"a number that is not finite ({current})"
        elif isinstance(current, _PLAIN):
            continue
        elif isinstance(current, (dict, *_SEQUENCES)):
            if depth >= MAX_DEPTH:
                return f"lists or dicts nested more than {MAX_DEPTH} levels deep"
            if isinstance(current, dict):
                if not all(isinstance(key, str) for key in current):
                    return "a dict whose keys are not all text"
                if any(has_surrogate(key) for key in current):
                    return "a dict key with a lone surrogate character"
                pending.extend((item, depth + 1) for item in current.values())
            else:
                pending.extend((item, depth + 1) for item in current)
        elif callable(current):
            return "a type" if isinstance(current, type) else "a function"
        else:
            return f"a {type(current).__name__}"
    if tally is not None:
        tally.items += items
        tally.text += text
    return None


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate character, which UTF-8 cannot encode."""
    return not text.isascii() and _SURROGATE.search(text) is not None
