"""Time, injected: every "now" in Valueflow comes from a Clock.

SpiffWorkflow's timer events read the wall clock themselves
(``datetime.now`` inside ``SpiffWorkflow.bpmn.specs.event_definitions.timer``).
``running_at`` makes that module see the engine's clock for the duration of
one engine call, so tests, the worker's ``--at`` and the demo simulation can
move time for timers as well as for our own timestamps. SpiffWorkflow is
imported by the first engine call, not with this module: a command that only
reads rows never loads it.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timedelta, timezone
from typing import Iterator, Protocol


class Clock(Protocol):
    """Something that tells the time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that stands still until moved; for tests, the worker's --at and the demo."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def as_utc(moment: datetime) -> datetime:
    """The same moment as an aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("valueflow_clock", default=SystemClock())


def current_time() -> datetime:
    """Now as SpiffWorkflow's timers see it: the clock of the engine call under way (``running_at``), else the real
    time."""
    return _current.get().now()


class _SpiffDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same signature as datetime.now
        moment = current_time()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


@contextlib.contextmanager
def running_at(clock: Clock) -> Iterator[None]:
    """Make SpiffWorkflow's timers read ``clock`` inside the block (per thread/context)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

    if spiff_timer.datetime is datetime:  # the first call (a test may have put its own in)
        spiff_timer.datetime = _SpiffDatetime
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
