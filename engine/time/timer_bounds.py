"""The bounds a timer's date, duration or cycle is held to before SpiffWorkflow computes its due time.

* A duration (``timeDuration``, e.g. ``PT4H``) waits at most 100 years (``P100Y``; a year counts 365 days, a
  month 30); ``PT0S`` fires at once.
* A cycle (``timeCycle``, e.g. ``R3/PT1H``, ``R/2026-01-05T09:00:00Z/P1W``) repeats at an interval of at least
  one minute and at most 100 years; how many times it repeats is not bounded.
* A date (``timeDate``), and a cycle's start or end, is a real date and time in ISO 8601
  (``2026-12-24T09:00:00Z``; a date without a time is midnight).

SpiffWorkflow adds a duration's years month by month and repeats a cycle for as long as it has repetitions left:
past these bounds it would compute for minutes, loop without end, overflow, or open a task every second.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from engine.time.durations import InvalidDuration, duration_length, spoken

DATE, DURATION, CYCLE = "date", "duration", "cycle"
LONGEST_WAIT = timedelta(days=100 * 365)
SHORTEST_INTERVAL = timedelta(minutes=1)

_REPEAT = re.compile(r"^R\d*$")
_CYCLE_FORMS = "for example R3/PT1H, or R/2026-01-05T09:00:00Z/P1W from a start"


class TimerOutOfBounds(ValueError):
    """A timer's value that is not a real date, duration or cycle, or lies outside the bounds."""


def checked_timer(kind: str, value: object) -> str:
    """``value``, stripped, if it is a ``kind`` (DATE, DURATION or CYCLE) within the bounds; else TimerOutOfBounds
    saying the bound."""
    if not isinstance(value, str):
        raise TimerOutOfBounds(f"the {kind} must be ISO 8601 text, not {type(value).__name__} {value!r}")
    text = value.strip()
    if kind == DATE:
        _check_date(text)
    elif kind == DURATION:
        _check_length(f"the duration {text!r}", text, timedelta(0))
    else:
        _check_cycle(text)
    return text


def _check_cycle(text: str) -> None:
    parts = text.upper().replace("--", "/").split("/")
    intervals = [part for part in parts[1:] if part.startswith("P")]
    if len(parts) not in (2, 3) or not _REPEAT.match(parts[0]) or len(intervals) != 1:
        raise TimerOutOfBounds(f"the cycle {text!r} is not an ISO 8601 repeating interval ({_CYCLE_FORMS})")
    _check_length(f"the interval of the cycle {text!r}", intervals[0], SHORTEST_INTERVAL)
    for part in parts[1:]:
        if part not in intervals:
            _check_date(part)


def _check_length(what: str, text: str, shortest: timedelta) -> None:
    try:
        seconds = duration_length(text)
    except InvalidDuration:
        raise TimerOutOfBounds(f"{what} is not an ISO 8601 duration (for example PT4H or P2D)") from None
    if seconds > LONGEST_WAIT.total_seconds():
        raise TimerOutOfBounds(f"{what} is longer than 100 years, the longest a timer waits")
    if seconds < shortest.total_seconds():
        raise TimerOutOfBounds(f"{what} repeats every {spoken(seconds)}: a timer repeats at most once a minute "
                               "(an interval of PT1M or more)")


def _check_date(text: str) -> None:
    try:
        datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimerOutOfBounds(f"the date {text!r} is not a real date and time in ISO 8601 "
                               f"(for example 2026-12-24T09:00:00Z): {exc}") from None
