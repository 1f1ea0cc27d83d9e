"""Texts filled from case data: ``{name}`` (or ``{customer.name}``, a key inside a key) becomes the value there.

Nothing else happens: no expressions, no attribute access, no format specifications, no names starting with an
underscore, so a diagram's text cannot run code or read anything but the case data. Braces around anything
that is not such a name stay as they are.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_PLACEHOLDER = re.compile(r"\{([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)\}")


class MissingValue(Exception):
    """A text names case data the case does not have."""


def fill(template: str, data: Mapping[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by that value of ``data``; MissingValue naming the first one the
    data lacks."""

    def value(match: re.Match[str]) -> str:
        found: Any = data
        for key in match.group(1).split("."):
            if not isinstance(found, Mapping) or key not in found:
                raise MissingValue(f"the case data has no {match.group(1)} for {{{match.group(1)}}}")
            found = found[key]
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, template)
