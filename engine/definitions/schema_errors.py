"""BPMN schema (XSD) complaints, as SpiffWorkflow passes on libxml2's, rewritten in a process owner's words.

libxml2 writes ``Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}startEvent', attribute 'messageRef':
The attribute 'messageRef' is not allowed.`` and gives a line; ``explain`` says what it means and how to fix
it, and ``element_on_line`` finds the element it is about, so that the problem can name it.
"""

from __future__ import annotations

import re
from typing import Optional

from lxml import etree

_ELEMENT = r"Element '(?:\{(?P<ns>[^}]*)\})?(?P<tag>[^']+)'"
_ATTRIBUTE = _ELEMENT + r", attribute '(?P<attr>[^']+)': "
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_ATTRIBUTE + r"The attribute '[^']+' is not allowed"),
     "BPMN does not allow the attribute {attr} on a {kind}: remove it, or draw the element again in your modeler"),
    (re.compile(_ATTRIBUTE + r"'(?P<value>[^']*)' is not a valid value of the atomic type 'xs:ID'"),
     "{value!r} is not a valid id: an id starts with a letter or '_' and holds only letters, digits, '-', '_' "
     "and '.': give the {kind} another id"),
    (re.compile(_ATTRIBUTE + r"'' is not a valid value of the atomic type 'xs:QName'"),
     "the {kind}'s {attr} is empty: choose the element it refers to, or remove the attribute"),
    (re.compile(_ATTRIBUTE + r"'(?P<value>[^']*)' is not a valid value of the atomic type '(?:xs:)?(?P<type>[^']+)'"),
     "the {kind}'s {attr} {value!r} is not a valid {type}"),
    (re.compile(_ATTRIBUTE + r"The QName value '(?:\{[^}]*\})?(?P<value>[^']*)' of the xsi:type attribute does "
                             r"not resolve to a type definition"),
     "the {kind}'s xsi:type names the type {value!r}, which BPMN does not define: remove the attribute"),
    (re.compile(_ELEMENT + r": The attribute '(?P<attr>[^']+)' is required but missing"),
     "a {kind} lacks its {attr}, which BPMN requires: add it, or draw the element again in your modeler"),
    (re.compile(_ELEMENT + r": This element is not expected\.(?: Expected is (?:one of )?\( (?P<expected>[^)]*) \))?"),
     "BPMN does not allow a {kind} at this place{expected_part}: move it, or remove it"),
    (re.compile(_ELEMENT + r": Missing child element\(s\)\.(?: Expected is (?:one of )?\( (?P<expected>[^)]*) \))?"),
     "a {kind} lacks an element BPMN requires in it{expected_part}"),
]


def _words(tag: str) -> str:
    """``resourceAssignmentExpression`` → "resource assignment expression"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tag).lower()


def explain(message: str) -> Optional[str]:
    """The complaint in plain words with its fix, or None when it is not a schema complaint we know."""
    for pattern, text in _RULES:
        found = pattern.search(message)
        if found is None:
            continue
        parts = found.groupdict()
        expected = [_words(re.sub(r"^\{[^}]*\}", "", name.strip())) for name in (parts.get("expected") or "").split(",")
                    if name.strip()]
        listed = ", ".join(expected[:5]) + (", …" if len(expected) > 5 else "")
        return text.format(kind=_words(parts["tag"]), attr=parts.get("attr"), value=parts.get("value"),
                           type=parts.get("type"), expected_part=f" (expected there: {listed})" if expected else "")
    return None


def element_on_line(root: etree._Element, line: Optional[int], message: str) -> Optional[etree._Element]:
    """The element of the kind the complaint names that starts on ``line``, if there is exactly one."""
    found = re.search(_ELEMENT, message)
    if not line or found is None:
        return None
    tag = f"{{{found['ns']}}}{found['tag']}" if found["ns"] else found["tag"]
    candidates = [e for e in root.iter(tag) if e.sourceline == line]
    return candidates[0] if len(candidates) == 1 else None
