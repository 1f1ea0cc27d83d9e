"""What a form may hold beyond being a JSON Schema; a deploy refuses a form that breaks a rule, and a stored
form that breaks one checks no value.

- A ``$ref`` or ``$dynamicRef`` points inside the form (``#/$defs/<name>``, ``#/definitions/<name>``,
  ``#<anchor>``): checking a value never reads a file nor fetches an address.
- A ``pattern`` is a regular expression the forms' matcher compiles (engine.definitions.form_patterns).
- No ``patternProperties``: a form names its fields, and jsonschema would match those patterns against the
  submitted names with no time limit.
- A date field's ``formatMinimum`` and ``formatMaximum`` are dates (engine.definitions.form_dates).

Every object of the form is looked at, its data (``enum``, ``const``, ``default``) too, since a ``$ref`` may
point at any of its parts; only the names of fields and definitions are not taken for keywords.
"""

from __future__ import annotations

from typing import Any, Iterator

from engine.definitions.form_dates import bound_error, date_fields
from engine.definitions.form_patterns import pattern_error

# Keywords whose object maps names to schemas (or to lists of names).
_NAMES_TO_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                               "dependentRequired"})


def breaches(schema: Any) -> list[str]:
    """What in the form breaks a rule, one phrase each that names the keyword first."""
    found: list[str] = []
    for node in _objects(schema):
        for keyword in ("$ref", "$dynamicRef"):
            target = node.get(keyword)
            if isinstance(target, str) and not target.startswith("#"):
                found.append(f"{keyword} {target!r} points outside the form, which Valueflow does not read: "
                             "a form refers only to its own parts; copy the definition under the form's $defs "
                             "and refer to it as \"#/$defs/<name>\"")
        pattern = node.get("pattern")
        problem = pattern_error(pattern) if isinstance(pattern, str) else None
        if problem is not None:
            found.append(f"pattern {pattern!r} is not a valid regular expression: {problem}")
        if isinstance(node.get("patternProperties"), dict):
            found.append("patternProperties are not taken: name each field under properties")
        found += [f"{name}: {problem}" for name, field in date_fields(node).items()
                  if (problem := bound_error(field)) is not None]
    return found


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in ``node``, itself first."""
    if isinstance(node, list):
        for item in node:
            yield from _objects(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in _NAMES_TO_SCHEMAS and isinstance(value, dict):
                for each in value.values():
                    yield from _objects(each)
            else:
                yield from _objects(value)
