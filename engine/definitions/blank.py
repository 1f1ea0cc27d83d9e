"""The diagram a new process starts from: one pool, one lane, a start event, with its drawing."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr


def blank_bpmn(key: str, name: str) -> str:
    """A new executable process ``key`` named ``name``, ready to draw on in the modeler."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="definitions_{key}" targetNamespace="http://valueflow.example/bpmn/{key}">
  <bpmn:collaboration id="collaboration_{key}">
    <bpmn:participant id="participant_{key}" name={quoteattr(name)} processRef="{key}"/>
  </bpmn:collaboration>
  <bpmn:process id="{key}" name={quoteattr(name)} isExecutable="true">
    <bpmn:laneSet id="laneset_{key}">
      <bpmn:lane id="lane_{key}" name="Customer Service">
        <bpmn:flowNodeRef>start_{key}</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_{key}" name="Request received"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{key}">
    <bpmndi:BPMNPlane id="plane_{key}" bpmnElement="collaboration_{key}">
      <bpmndi:BPMNShape id="participant_{key}_di" bpmnElement="participant_{key}" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="800" height="250"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_{key}_di" bpmnElement="lane_{key}" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="770" height="250"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_{key}_di" bpmnElement="start_{key}">
        <dc:Bounds x="212" y="187" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
