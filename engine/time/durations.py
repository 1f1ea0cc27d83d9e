"""ISO 8601 durations (``P2D``, ``PT4H30M``, ``P1W``) as seconds.

Targets are durations, not calendar arithmetic: a year counts 365 days and a
month 30, which is what a cycle-time target means by them.
"""

from __future__ import annotations

import re
from typing import Optional

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
# A date as ISO 8601 writes it (``2026-12-24``, ``20261224T0900Z``), real or not: the timer's check says which.
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:[T ][\d:.,]+(?:Z|[+-][\d:]+)?)?$", re.I)
_SECONDS = {"years": 365 * 86400, "months": 30 * 86400, "weeks": 7 * 86400, "days": 86400,
            "hours": 3600, "minutes": 60, "seconds": 1}


class InvalidDuration(ValueError):
    """The text is not an ISO 8601 duration."""


def is_duration(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 duration such as ``PT4H``."""
    return bool(_DURATION.match(text.strip().upper()))


def duration_seconds(text: str) -> int:
    """The length of an ISO 8601 duration in whole seconds."""
    return round(duration_length(text))


def duration_length(text: str) -> float:
    """The length of an ISO 8601 duration in seconds; infinite for one too long to count (``P1000…0D``)."""
    match = _DURATION.match(text.strip().upper())
    if not match:
        raise InvalidDuration(f"{text!r} is not an ISO 8601 duration (for example PT4H or P2D)")
    total = 0.0
    for part, value in match.groupdict().items():
        if value:
            total += float(value.replace(",", ".")) * _SECONDS[part]
    return total


def is_bare_iso_timer(text: Optional[str]) -> bool:
    """Whether a timer's text is a plain ISO 8601 value as modelers write it: a duration (``P1D``, also signed, as
    ``-P1D``, which the timer's bounds then refuse), a repeating interval (``R3/PT1H``) or a date and time
    (``2026-12-24T09:00:00Z``), rather than an expression."""
    if not text:
        return False
    text = text.strip()
    return (is_duration(text) or (text[:1] in "+-" and is_duration(text[1:]))
            or (text.upper().startswith("R") and "/" in text) or bool(_DATE.match(text)))


def spoken(seconds: float) -> str:
    """A length of time as people read it: ``45 min``, ``2 h 05 min``, ``3 d 4 h``; under a minute ``< 1 min``."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return "< 1 min"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
