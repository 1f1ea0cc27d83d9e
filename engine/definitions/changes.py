"""What changed between two versions of a process, in the words a process owner uses.

Compares the annotations (see ``engine.definitions.annotations``) and the form
schemas of the steps people work on: steps added, removed and renamed; their
customer value, value class, target and segment overrides, role and form
fields; the process's own customer value, end-to-end target, owner and business calendar; and its decision tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from engine.definitions.annotations import ProcessAnnotations, StepAnnotation


@dataclass(frozen=True)
class Change:
    """One difference; ``element_id`` is the step's id, or None for the process itself."""

    element_id: Optional[str]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        return self.message


def changes_between(before: Optional[ProcessAnnotations], before_forms: dict[str, dict[str, Any]],
                    after: ProcessAnnotations, after_forms: dict[str, dict[str, Any]]) -> list[Change]:
    """Every difference from ``before`` (None: nothing deployed yet) to ``after``, process first, then by step."""
    if before is None:
        return [Change(None, f"first version of the process, with {len(after.steps)} step(s) for people")]
    changes = _annotation_changes(None, "the process", before.process, after.process)
    for step_id in sorted(before.steps.keys() - after.steps.keys()):
        changes.append(Change(step_id, f"step removed: {_quoted(before.steps[step_id].name)}"))
    for step_id in sorted(after.steps.keys() - before.steps.keys()):
        step = after.steps[step_id]
        changes.append(Change(step_id, f"step added: {_quoted(step.name)}"
                                       + (f" ({step.role})" if step.role else "")))
    for step_id in sorted(before.steps.keys() & after.steps.keys()):
        old, new = before.steps[step_id], after.steps[step_id]
        if old.name != new.name:
            changes.append(Change(step_id, f"step renamed: {_quoted(old.name)} → {_quoted(new.name)}"))
        label = f"step {_quoted(new.name)}"
        changes += _annotation_changes(step_id, label, old, new)
        if old.role != new.role:
            changes.append(Change(step_id, f"{label}: role {old.role or 'none'} → {new.role or 'none'}"))
        changes += _form_changes(step_id, label, before_forms.get(step_id), after_forms.get(step_id))
    return changes


def _annotation_changes(element_id: Optional[str], label: str, old: StepAnnotation,
                        new: StepAnnotation) -> list[Change]:
    changes = []
    for title, was, now in (("customer value", old.customer_value, new.customer_value),
                            ("value class", old.value_class, new.value_class),
                            ("owner", old.owner, new.owner),
                            ("business calendar", old.calendar, new.calendar)):
        if was != now:
            changes.append(Change(element_id, f"{label}: {title} {_quoted(was)} → {_quoted(now)}"))
    if old.target_seconds != new.target_seconds:
        changes.append(Change(element_id, f"{label}: target {_span(old.target_seconds)} → "
                                          f"{_span(new.target_seconds)}"))
    for segment in sorted(old.segment_targets.keys() | new.segment_targets.keys()):
        was, now = old.segment_targets.get(segment), new.segment_targets.get(segment)
        if was != now:
            changes.append(Change(element_id, f"{label}: target for {segment} customers {_span(was)} → "
                                              f"{_span(now)}"))
    return changes


def _form_changes(step_id: str, label: str, old: Optional[dict[str, Any]],
                  new: Optional[dict[str, Any]]) -> list[Change]:
    if old == new:
        return []
    if old is None or new is None:
        return [Change(step_id, f"{label}: form {'added' if old is None else 'removed'}")]
    old_fields, new_fields = _fields(old), _fields(new)
    changes = [Change(step_id, f"{label}: form field removed: {name}") for name in old_fields
               if name not in new_fields]
    changes += [Change(step_id, f"{label}: form field added: {name}" + (" (required)" if field["required"] else ""))
                for name, field in new_fields.items() if name not in old_fields]
    changes += [Change(step_id, f"{label}: form field changed: {name}") for name in new_fields
                if name in old_fields and old_fields[name] != new_fields[name]]
    return changes or [Change(step_id, f"{label}: form changed")]


def _fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field of a form schema with whether it is required, in the schema's order."""
    properties = schema.get("properties")
    required = set(schema.get("required") or ())
    if not isinstance(properties, dict):
        return {}
    return {name: {"schema": spec, "required": name in required} for name, spec in properties.items()}


def _quoted(text: Optional[str]) -> str:
    return f"“{text}”" if text else "none"


def _span(seconds: Optional[int]) -> str:
    """``2 d 4 h``, ``1 h 30 min``, ``none``: how a target reads in a summary."""
    if seconds is None:
        return "none"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (rest, "s")) if n]
    return " ".join(parts) or "0 min"


def table_changes(before: dict[str, str], after: dict[str, str]) -> list[Change]:
    """The decision tables (``.dmn`` files of the package, by name) added, removed or changed."""
    names = sorted(n for n in before.keys() | after.keys() if n.endswith(".dmn"))
    return [Change(None, f"decision table {name} " + ("added" if name not in before else
                                                       "removed" if name not in after else "changed"))
            for name in names if before.get(name) != after.get(name)]
