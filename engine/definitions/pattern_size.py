"""How large a regular expression grows when compiled, checked before it is: a form's ``pattern`` and FEEL's.

The regex package writes a pattern's repeats of a fixed least count out when it compiles it (``(?:ab){3}`` as
``ababab``), so a few characters (``(?:(?:a{1000}){1000}){1000}``) would take gigabytes of the server's memory. A
pattern longer than PATTERN_SIZE once written out is refused instead, with the fix.
"""

from __future__ import annotations

import re
from typing import Optional

PATTERN_SIZE = 10_000  # characters of a pattern, its fixed repeats written out; ~2.5 MB once compiled

_COUNT = re.compile(r"\{(\d+)(?:,\d*)?\}|\{,\d+\}")
_CLASS = re.compile(r"\[\^?\]?(?:\\.|[^\]])*\]?", re.S)


def _written_out(pattern: str) -> int:
    """About how many characters ``pattern`` has once its repeats of a fixed least count are written out, as the
    regex package compiles them (``(?:ab){3}`` as ``ababab``); past PATTERN_SIZE it stops counting."""
    groups = [[0, 0]]  # per open group: its size so far, and the size of its last item
    total = at = 0
    while at < len(pattern) and total <= PATTERN_SIZE:
        count = _COUNT.match(pattern, at) if pattern[at] == "{" else None
        if count:
            times = max(int(count[1] or 1), 1)
            group = groups[-1]
            total += group[1] * (times - 1)
            group[0] += group[1] * (times - 1)
            group[1] *= times
            at = count.end()
            continue
        if pattern[at] == "(":
            groups.append([0, 0])
            at += 1
            continue
        if pattern[at] == ")" and len(groups) > 1:
            item = groups.pop()[0]  # counted already, now as one item of the group around it
        else:
            item = 1
            total += 1
            if pattern[at] == "\\":
                at += 1
            elif pattern[at] == "[":
                at = _CLASS.match(pattern, at).end() - 1
        groups[-1][0] += item
        groups[-1][1] = item
        at += 1
    return total


def pattern_too_large(pattern: str) -> Optional[str]:
    """Why ``pattern`` is too large to compile, with the fix; None when it is not."""
    if len(pattern) > PATTERN_SIZE or _written_out(pattern) > PATTERN_SIZE:
        return (f"the pattern {pattern[:50]!r}… is too large once its repeats are written out (more than "
                f"{PATTERN_SIZE:,} characters): repeat a group a range of times ({{1,1000}}) instead")
    return None
