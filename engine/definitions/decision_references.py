"""The decision a business rule task calls, as Camunda writes it, turned into SpiffWorkflow's own reference.

Camunda 7 writes ``camunda:decisionRef="id"`` on the task and Camunda 8
``<zeebe:calledDecision decisionId="id"/>`` inside it; SpiffWorkflow reads
``<spiffworkflow:calledDecisionId>``. The reference is added to the parsed
document only, where the task has none of its own. The decision's outputs land
in the case data under their names, as SpiffWorkflow writes them (a
``resultVariable`` is not read).
"""

from __future__ import annotations

from lxml import etree

from engine.definitions.namespaces import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS


def map_decision_references(process: etree._Element) -> None:
    """Give every business rule task of ``process`` that names its decision in Camunda's dialect the
    ``spiffworkflow:calledDecisionId`` SpiffWorkflow follows."""
    for task in process.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        if task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS) is not None:
            continue
        called = task.find("bpmn:extensionElements/zeebe:calledDecision", NS)
        decision = task.get(f"{{{CAMUNDA_NS}}}decisionRef") or (called.get("decisionId") if called is not None else None)
        if not decision:
            continue
        extensions = task.find("bpmn:extensionElements", NS)
        if extensions is None:
            extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
            task.insert(0, extensions)
        etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId").text = decision.strip()
