"""What each step gives the customer, read from the BPMN's extension properties.

See docs/design.md, "Step annotations": ``customerValue``, ``valueClass``,
``targetDuration`` and ``targetDuration.<segment>`` on user tasks and on the
process; ``processOwner`` and ``calendar`` (targets in business time, see
engine.time.calendar) on the process. The owning role is the lane; outside lanes, the
candidate group another tool wrote on the task (engine.definitions.assignments),
whose assignee, if any, gets the task when it opens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

from engine.time.durations import duration_seconds

VALUE_CLASSES = ("VA", "BVA", "NVA")
TARGET_PREFIX = "targetDuration"


def role_key(lane_name: str) -> str:
    """The role that owns a lane, in any script: "Credit Analyst" → ``credit-analyst``, "Käufer" → ``käufer``,
    "Отдел продаж" → ``отдел-продаж`` (letters and digits kept, lower-cased, anything else one dash)."""
    return re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", lane_name).lower()).strip("-")


@dataclass(frozen=True)
class StepAnnotation:
    """The customer-facing facts of one step (or, with step_id None, of the whole process)."""

    step_id: Optional[str]
    name: str
    lane: Optional[str] = None
    customer_value: Optional[str] = None
    value_class: Optional[str] = None
    target_seconds: Optional[int] = None
    segment_targets: dict[str, int] = field(default_factory=dict)
    owner: Optional[str] = None
    calendar: Optional[str] = None
    group: Optional[str] = None
    assignee: Optional[str] = None
    computed_groups: Optional[str] = None  # as its tool wrote them, computed from the case data when a task opens
    computed_assignee: Optional[str] = None

    @cached_property  # read for every task a step opens
    def role(self) -> Optional[str]:
        owner = self.lane or self.group
        return role_key(owner) if owner else None

    def target_for(self, segment: Optional[str]) -> Optional[int]:
        """The target in seconds for a customer of ``segment`` (its override, else the default)."""
        if segment and segment in self.segment_targets:
            return self.segment_targets[segment]
        return self.target_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id, "name": self.name, "lane": self.lane,
            "customer_value": self.customer_value, "value_class": self.value_class,
            "target_seconds": self.target_seconds, "segment_targets": dict(self.segment_targets),
            "owner": self.owner, "calendar": self.calendar, "group": self.group, "assignee": self.assignee,
            "computed_groups": self.computed_groups, "computed_assignee": self.computed_assignee,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepAnnotation":
        return cls(**data)


def from_properties(step_id: Optional[str], name: str, lane: Optional[str], properties: dict[str, str],
                    group: Optional[str] = None, assignee: Optional[str] = None,
                    computed_groups: Optional[str] = None, computed_assignee: Optional[str] = None) -> StepAnnotation:
    """Build an annotation from extension properties already checked by validation."""
    segment_targets = {
        key[len(TARGET_PREFIX) + 1:]: duration_seconds(value)
        for key, value in properties.items() if key.startswith(TARGET_PREFIX + ".")
    }
    target = properties.get(TARGET_PREFIX)
    return StepAnnotation(
        step_id=step_id, name=name, lane=lane,
        customer_value=properties.get("customerValue"),
        value_class=properties.get("valueClass"),
        target_seconds=duration_seconds(target) if target else None,
        segment_targets=segment_targets,
        owner=properties.get("processOwner"),
        calendar=properties.get("calendar") if step_id is None else None,
        group=group, assignee=assignee, computed_groups=computed_groups, computed_assignee=computed_assignee,
    )


@dataclass(frozen=True)
class ProcessAnnotations:
    """The process's own annotation and one per user task, by step id."""

    process: StepAnnotation
    steps: dict[str, StepAnnotation]

    def role_origins(self) -> dict[str, str]:
        """Each role that owns a step, with the lane or candidate group it comes from, as a process owner reads it."""
        return {step.role: f"lane {step.lane!r}" if step.lane else f"candidate group {step.group!r}"
                for step in sorted(self.steps.values(), key=lambda s: s.role or "") if step.role}

    def to_dict(self) -> dict[str, Any]:
        return {"process": self.process.to_dict(), "steps": {k: v.to_dict() for k, v in self.steps.items()}}

    def roles(self) -> set[str]:
        """The roles that own a step of the process."""
        return {step.role for step in self.steps.values() if step.role}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProcessAnnotations":
        return cls(StepAnnotation.from_dict(data["process"]),
                   {k: StepAnnotation.from_dict(v) for k, v in data["steps"].items()})
