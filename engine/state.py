"""SpiffWorkflow's run state as JSON, without the process definition.

SpiffWorkflow's own serializer writes the whole definition into every
instance (two thirds of its JSON). Here the definition stays in
ProcessDefinition, compiled once and cached; an instance stores only its
tasks, data and pending events, and is restored onto the cached spec.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec


class _StateConverter(BpmnWorkflowConverter):
    """Writes and reads a top-level workflow without its spec and subprocess specs."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: WorkflowSpec = None,  # type: ignore[override]
                  subprocess_specs: dict[str, WorkflowSpec] | None = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> DefaultRegistry:
    registry = DefaultRegistry()
    # Form values and script results that plain JSON cannot hold (SPIFFWORKFLOW.md pitfall 5).
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateConverter
    return BpmnWorkflowSerializer.configure(config, registry)


_REGISTRY = _registry()


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's run state as compact JSON (no definition)."""
    return json.dumps(_REGISTRY.convert(workflow), separators=(",", ":"))


def load_state(text: str, spec: WorkflowSpec, subprocess_specs: dict[str, WorkflowSpec]) -> BpmnWorkflow:
    """Rebuild a workflow from ``dump_state`` output onto its (cached) spec."""
    return _REGISTRY.restore(json.loads(text), spec=spec, subprocess_specs=subprocess_specs)
