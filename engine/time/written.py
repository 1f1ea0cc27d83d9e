"""Dates and moments as people read them, the same in the pages and in the engine's messages.

A moment reads ``Thu 3 Dec 2026, 14:05`` and a calendar date ``3 Dec 2026``.
The pages write moments in the app's time zone; a message of the engine,
which does not know the reader's, writes UTC and says so (``utc_moment``).
"""

from __future__ import annotations

from datetime import date, datetime

from engine.time.clock import as_utc


def moment(at: datetime) -> str:
    """``Thu 3 Dec 2026, 14:05``, in the time zone ``at`` carries."""
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"


def utc_moment(at: datetime) -> str:
    """``Thu 3 Dec 2026, 14:05 UTC``: a moment in a message that reaches people in any time zone."""
    return f"{moment(as_utc(at))} UTC"


def calendar_date(day: date) -> str:
    """``3 Dec 2026``."""
    return f"{day.day} {day:%b %Y}"
