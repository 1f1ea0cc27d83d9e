"""What each step gives the customer, read from the BPMN's extension properties.

See docs/design.md, "Step annotations": ``customerValue``, ``valueClass``,
``targetDuration`` and ``targetDuration.<segment>`` on user tasks and on the
process; ``processOwner`` and ``calendar`` (targets in business time, see
engine.time.calendar) on the process. The owning role is the lane.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

from engine.time.durations import duration_seconds

VALUE_CLASSES = ("VA", "BVA", "NVA")
TARGET_PREFIX = "targetDuration"


def role_key(lane_name: str) -> str:
    """The role that owns a lane: "Credit Analyst" → ``credit-analyst``."""
    return re.sub(r"[^a-z0-9]+", "-", lane_name.strip().lower()).strip("-")


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

    @cached_property  # read for every task a step opens
    def role(self) -> Optional[str]:
        return role_key(self.lane) if self.lane else None

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
            "owner": self.owner, "calendar": self.calendar,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepAnnotation":
        return cls(**data)


def from_properties(step_id: Optional[str], name: str, lane: Optional[str],
                    properties: dict[str, str]) -> StepAnnotation:
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
    )


@dataclass(frozen=True)
class ProcessAnnotations:
    """The process's own annotation and one per user task, by step id."""

    process: StepAnnotation
    steps: dict[str, StepAnnotation]

    def to_dict(self) -> dict[str, Any]:
        return {"process": self.process.to_dict(), "steps": {k: v.to_dict() for k, v in self.steps.items()}}

    def roles(self) -> set[str]:
        """The roles that own a step of the process."""
        return {step.role for step in self.steps.values() if step.role}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProcessAnnotations":
        return cls(StepAnnotation.from_dict(data["process"]),
                   {k: StepAnnotation.from_dict(v) for k, v in data["steps"].items()})
