"""Checks a BPMN document before a version of it is stored (docs/design.md, "Validation").

Everything here reads the XML itself, so each problem can name the element
(id and name) it is about; whether SpiffWorkflow can parse the document is
checked by ``engine.definitions.packages``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Iterable, Optional

from lxml import etree

from engine.definitions.annotations import TARGET_PREFIX, VALUE_CLASSES
from engine.time.calendar import InvalidCalendar, parse_calendar
from engine.time.durations import is_duration

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
# SpiffWorkflow waits for a person at these; a plain bpmn:task is treated as manual work too.
HUMAN_TASK_TAGS = ("userTask", "manualTask", "task")
# Elements that may wait for a message from outside: a form of theirs is what a person records on arrival.
MESSAGE_CATCHING_TAGS = ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask")
_NOT_FLOW_NODES = {"sequenceFlow", "laneSet", "lane", "extensionElements", "documentation", "textAnnotation",
                   "association", "dataObject", "dataObjectReference", "dataStoreReference", "ioSpecification",
                   "dataInputAssociation", "dataOutputAssociation", "property", "group", "category",
                   "incoming", "outgoing", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, about one element; warnings do not block a deploy."""

    element_id: Optional[str]
    element_name: Optional[str]
    message: str
    warning: bool = False

    def __str__(self) -> str:
        """One line: modelers wrap long labels, so names and messages are joined back onto it."""
        where = ""
        if self.element_id:
            name = " ".join((self.element_name or "").split())
            where = self.element_id + (f" ({name})" if name else "") + ": "
        return ("warning: " if self.warning else "") + where + " ".join(self.message.split())


def local(element: etree._Element) -> str:
    """The tag of an element without its namespace."""
    return etree.QName(element).localname


def read_xml(text: str | bytes, file_name: str) -> etree._Element:
    """Parse XML safely: no DTD, no entities, no network; raises BadDocument."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise BadDocument(Problem(None, None, f"{file_name} is not well-formed XML: {exc}")) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise BadDocument(Problem(None, None, f"{file_name} declares a DTD or entities, which are not allowed"))
    return root


def read_bpmn(text: str | bytes, file_name: str) -> etree._Element:
    """Parse a BPMN document safely; raises BadDocument when it is not BPMN 2.0."""
    root = read_xml(text, file_name)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BadDocument(Problem(None, None, f"{file_name} is not BPMN 2.0 (its root is not bpmn:definitions)"))
    return root


class BadDocument(ValueError):
    """The document cannot be read as BPMN at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def properties_of(element: etree._Element) -> dict[str, str]:
    """The spiffworkflow:property name/value pairs directly on an element."""
    return {
        prop.get("name", ""): prop.get("value", "")
        for prop in element.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    }


def lanes_by_node(process: etree._Element) -> dict[str, str]:
    """The name of the innermost lane of each flow node of a process, by node id."""
    result: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            result[(ref.text or "").strip()] = lane.get("name") or lane.get("id", "")
    return result


def main_process(root: etree._Element, preferred_key: Optional[str]) -> etree._Element:
    """The process a package deploys: the executable one (by the folder's name when there are several)."""
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false").lower() == "true"]
    if preferred_key:
        for process in executable:
            if process.get("id") == preferred_key:
                return process
    if len(executable) == 1:
        return executable[0]
    if not executable:
        raise BadDocument(Problem(None, None, "the document has no executable process "
                                              "(mark one process isExecutable=\"true\")"))
    ids = ", ".join(p.get("id", "?") for p in executable)
    raise BadDocument(Problem(None, None, f"the document has several executable processes ({ids}); "
                                          "name the package folder after the one to deploy"))


def check_process(process: etree._Element) -> list[Problem]:
    """Every annotation and structure problem of one process (see docs/design.md, "Validation")."""
    problems = [_problem(store, "data store has no implementation in Valueflow: keep the data in the case "
                                "or behind a script helper")
                for store in process.getroottree().getroot().iter(f"{{{BPMN_NS}}}dataStore")]
    problems += _check_annotations(process, properties_of(process), is_process=True)
    lanes = lanes_by_node(process)
    for element in process.iter():
        if not isinstance(element.tag, str) or local(element) not in HUMAN_TASK_TAGS:
            continue
        props = properties_of(element)
        if element.get("id") not in lanes:
            problems.append(_problem(element, "user task has no lane, so no role owns it"))
        if not props.get("customerValue"):
            problems.append(_problem(element, "user task has no customerValue: say what it gives the customer",
                                     warning=True))
        problems.extend(_check_annotations(element, props, is_process=False))
    for scope in [process, *process.iter(f"{{{BPMN_NS}}}subProcess")]:
        problems.extend(_check_reachability(scope))
    return problems


def _problem(element: etree._Element, message: str, warning: bool = False) -> Problem:
    return Problem(element.get("id"), element.get("name"), message, warning)


def _check_annotations(element: etree._Element, props: dict[str, str], is_process: bool) -> Iterable[Problem]:
    for key, value in props.items():
        if (key == TARGET_PREFIX or key.startswith(TARGET_PREFIX + ".")) and not is_duration(value):
            yield _problem(element, f"{key} {value!r} is not an ISO 8601 duration (for example PT4H or P2D)")
    value_class = props.get("valueClass")
    if value_class is not None and value_class not in VALUE_CLASSES:
        yield _problem(element, f"valueClass {value_class!r} must be one of {', '.join(VALUE_CLASSES)}")
    if is_process and "processOwner" in props and not props["processOwner"].strip():
        yield _problem(element, "processOwner is empty")
    if "calendar" in props:
        if not is_process:
            yield _problem(element, "calendar belongs on the process, not on one step: "
                                    "every target of a process counts in the same time")
        else:
            try:
                parse_calendar(props["calendar"])
            except InvalidCalendar as exc:
                yield _problem(element, f"calendar {props['calendar']!r}: {exc}")


def _flow_nodes(scope: etree._Element) -> dict[str, etree._Element]:
    return {
        child.get("id", ""): child for child in scope
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{BPMN_NS}}}")
        and local(child) not in _NOT_FLOW_NODES and child.get("id")
    }


def _check_reachability(scope: etree._Element) -> list[Problem]:
    """Steps that no start event reaches, or that reach no end event, inside one process or subprocess."""
    nodes = _flow_nodes(scope)
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)

    def link(source: str, target: str) -> None:
        forward[source].add(target)
        backward[target].add(source)

    for flow in scope.findall("bpmn:sequenceFlow", NS):
        link(flow.get("sourceRef", ""), flow.get("targetRef", ""))
    for node_id, node in nodes.items():
        attached = node.get("attachedToRef")
        if local(node) == "boundaryEvent" and attached:
            link(attached, node_id)
    event_subprocesses = {i for i, n in nodes.items()
                          if local(n) == "subProcess" and n.get("triggeredByEvent", "false").lower() == "true"}
    starts = {i for i, n in nodes.items() if local(n) == "startEvent"} | event_subprocesses
    ends = {i for i, n in nodes.items() if local(n) == "endEvent"} | event_subprocesses
    reached = _walk(starts, forward)
    finishing = _walk(ends, backward)
    problems = []
    for node_id, node in nodes.items():
        if node_id not in reached:
            problems.append(_problem(node, "cannot be reached from a start event"))
        elif node_id not in finishing:
            problems.append(_problem(node, "cannot reach an end event"))
    return problems


def _walk(seeds: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(seeds)
    queue = deque(seeds)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
