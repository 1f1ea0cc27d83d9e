"""Small BPMN documents written for one test each, built from a few lines of XML.

The shipped processes in bpmn/ are tested as they are; these samples isolate
one rule at a time (a lane missing, a bad target, a loop, a timer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from engine.definitions.packages import Package

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n')


def props(**values: str) -> str:
    """spiffworkflow:properties; ``targetDuration__premium`` stands for ``targetDuration.premium``."""
    rows = "".join(f'<spiffworkflow:property name="{k.replace("__", ".")}" value="{v}"/>' for k, v in values.items())
    return f"<bpmn:extensionElements><spiffworkflow:properties>{rows}</spiffworkflow:properties></bpmn:extensionElements>"


def user_task(task_id: str, name: str, value_class: str = "VA", target: str = "PT4H", **extra: str) -> str:
    annotations = props(customerValue=f"{name} for the customer", valueClass=value_class, targetDuration=target,
                        **extra)
    return f'<bpmn:userTask id="{task_id}" name="{name}">{annotations}</bpmn:userTask>'


def flow(flow_id: str, source: str, target: str, condition: Optional[str] = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


def chain(*ids: str) -> str:
    """Sequence flows linking the ids in order."""
    return "".join(flow(f"f_{a}_{b}", a, b) for a, b in zip(ids, ids[1:]))


def document(key: str, body: str, lanes: dict[str, list[str]], process_props: str = "",
             executable: bool = True) -> str:
    lane_xml = "".join(
        f'<bpmn:lane id="lane_{i}" name="{name}">' + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
        + "</bpmn:lane>" for i, (name, nodes) in enumerate(lanes.items()))
    lane_set = f'<bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>' if lanes else ""
    return (HEAD + f'<bpmn:process id="{key}" name="{key.replace("_", " ").title()}" '
            f'isExecutable="{"true" if executable else "false"}">{process_props}{lane_set}{body}</bpmn:process>\n'
            "</bpmn:definitions>\n")


def two_step(key: str = "two_step") -> str:
    """start → Review (Back Office, PT4H, premium PT1H) → Approve (Approver, PT8H) → end."""
    body = ('<bpmn:startEvent id="begin"/>' + user_task("review", "Review", targetDuration__premium="PT1H")
            + user_task("approve", "Approve", value_class="BVA", target="PT8H")
            + '<bpmn:endEvent id="finish"/>' + chain("begin", "review", "approve", "finish"))
    return document(key, body, {"Back Office": ["begin", "review"], "Approver": ["approve", "finish"]},
                    props(customerValue="An answer the same day", targetDuration="P1D", processOwner="ops-lead"))


def laneless(key: str, steps: str, first: str, last: str, definitions: str = "", name: Optional[str] = None
             ) -> Package:
    """A package of the process ``key`` drawn without lanes, as Camunda, Flowable and Zeebe users draw one: its
    start, ``steps`` from the one with the id ``first`` to the one with the id ``last``, its end, and
    ``definitions`` beside the process; the namespaces of those tools and of SpiffWorkflow are declared."""
    named = f' name="{name}"' if name else ""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:flowable="http://flowable.org/bpmn"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  {definitions}
  <bpmn:process id="{key}"{named} isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="{first}"/>
    {steps}
    <bpmn:sequenceFlow id="f_end" sourceRef="{last}" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml})


def write(tmp_path: Path, xml: str, name: str = "sample") -> Path:
    """Write a lone .bpmn file and return its path."""
    path = tmp_path / f"{name}.bpmn"
    path.write_text(xml, encoding="utf-8")
    return path
