"""The jsonschema validator a form checks values with: it reads nothing outside the form, and matches its
patterns under a time limit (engine.definitions.form_patterns).

Its registry retrieves nothing, so a ``$ref`` to a file or an address is unresolvable rather than read, whatever
form reaches it. The validator reads the whole form as JSON Schema 2020-12, the draft a deploy checks it
against: it is given the form without its ``$schema`` keywords, since one would hand that part of the form to
jsonschema's own validator of its draft, whose patterns have no time limit.
"""

from __future__ import annotations

from typing import Any, Iterator

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.protocols import Validator

from engine.definitions.form_patterns import PATTERN_SECONDS, PatternTooSlow, matches


def _retrieve_nothing(uri: str) -> referencing.Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)


NOTHING_OUTSIDE: referencing.Registry[Any] = referencing.Registry(retrieve=_retrieve_nothing)


def _pattern(validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
             ) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's ``pattern`` keyword, with the time limit."""
    if not validator.is_type(instance, "string"):
        return
    try:
        if not matches(pattern, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")
    except PatternTooSlow:
        yield jsonschema.ValidationError(f"could not be checked against the pattern {pattern} within "
                                         f"{PATTERN_SECONDS} s: enter a shorter or plainer value")


FormValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def form_validator(schema: dict[str, Any]) -> Validator:
    """The validator of a form (checked by engine.definitions.form_rules), with the format checks."""
    return FormValidator(_without_dialects(schema), registry=NOTHING_OUTSIDE,
                         format_checker=jsonschema.FormatChecker())


def _without_dialects(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_dialects(value) for key, value in node.items() if key != "$schema"}
    if isinstance(node, list):
        return [_without_dialects(item) for item in node]
    return node
