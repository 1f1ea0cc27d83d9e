"""A form's ``pattern`` matched against a submitted value under a time limit, by the regex package.

A pattern may backtrack for ages on a hostile value (``^(a|aa)+$`` against a run of "a"s ending in "!"),
holding the server. The regex package (a well-kept, ``re``-compatible engine) stops a match after a timeout,
which bounds every pattern, where refusing nested quantifiers at deploy would miss overlapping alternatives and
refuse harmless patterns. A value not matched within PATTERN_SECONDS is refused (PatternTooSlow).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import regex

from engine.definitions.pattern_size import pattern_too_large

PATTERN_SECONDS = 0.05


class PatternTooSlow(Exception):
    """Matching a value against a pattern took longer than PATTERN_SECONDS."""


def pattern_error(pattern: str) -> Optional[str]:
    """Why ``pattern`` is not a regular expression a form can use; None when it is one."""
    too_large = pattern_too_large(pattern)
    if too_large:
        return too_large
    try:
        _timed(pattern)
    except regex.error as exc:
        return str(exc)
    return None


def matches(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``value``, as JSON Schema's ``pattern`` does; PatternTooSlow when
    the match takes longer than PATTERN_SECONDS."""
    return _timed(pattern).search(value)


class _TimedPattern:
    """A compiled pattern that remembers the last value it gave up on, so a form's quick check and its full
    check spend the time limit once on the same value."""

    def __init__(self, pattern: str) -> None:
        too_large = pattern_too_large(pattern)  # a form stored before the check: its values are refused
        if too_large:
            raise regex.error(too_large)
        self._compiled = regex.compile(pattern)
        self._too_slow: Optional[str] = None

    def search(self, value: str) -> bool:
        if value == self._too_slow:
            raise PatternTooSlow
        try:
            return self._compiled.search(value, timeout=PATTERN_SECONDS) is not None
        except TimeoutError:
            self._too_slow = value
            raise PatternTooSlow from None


@lru_cache(maxsize=1024)
def _timed(pattern: str) -> _TimedPattern:
    return _TimedPattern(pattern)
