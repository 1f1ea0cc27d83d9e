"""Checks a BPMN document before a version of it is stored (docs/design.md, "Validation").

Everything here reads the XML itself, so each problem can name the element
(id and name) it is about; whether SpiffWorkflow can parse the document is
checked by ``engine.definitions.packages``.
"""

from __future__ import annotations

import codecs
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Iterable, Optional

from lxml import etree

from engine.definitions.annotations import TARGET_PREFIX, VALUE_CLASSES, role_key
from engine.definitions.assignments import assignment_of, initiator_variable, is_initiator
from engine.definitions.namespaces import ACTIVITI_NS, BPMN_NS, DROOLS_NS, FLOWABLE_NS, NS, ZEEBE_NS
from engine.time.calendar import InvalidCalendar, parse_calendar
from engine.time.durations import is_duration

# SpiffWorkflow waits for a person at these; a plain bpmn:task is treated as manual work too.
HUMAN_TASK_TAGS = ("userTask", "manualTask", "task")
# Elements that may wait for a message from outside: a form of theirs is what a person records on arrival.
MESSAGE_CATCHING_TAGS = ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask")
_ID_SPACES = {BPMN_NS, "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DI"}
_HUMAN_TASK_KINDS = {f"{{{BPMN_NS}}}userTask": "user task", f"{{{BPMN_NS}}}manualTask": "manual task",
                     f"{{{BPMN_NS}}}task": "task"}
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


_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_xml(data: bytes, file_name: str) -> str:
    """The text of an XML file in the encoding its byte order mark or prolog declares (UTF-8 when neither does),
    with the prolog then declaring UTF-8, as the text is stored and parsed; raises BadDocument."""
    encoding, start = "utf-8", 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    else:
        if data.startswith((b"<\0?\0", b"\0<\0?")):  # UTF-16 without a byte order mark
            encoding = "utf-16-le" if data[0] == ord("<") else "utf-16-be"
        elif (declared := _DECLARED_ENCODING.match(data)) is not None:
            encoding = declared.group(1).decode("ascii")
    try:
        text = data[start:].decode(codecs.lookup(encoding).name)
    except LookupError:
        raise BadDocument(Problem(None, None, f"{file_name} declares the encoding {encoding}, which is not one "
                                              "Valueflow knows: save it as UTF-8")) from None
    except UnicodeDecodeError as exc:
        raise BadDocument(Problem(None, None, f"{file_name} is not valid {encoding} text (byte {exc.start}): "
                                              "save it as UTF-8, or declare its encoding in the XML prolog")) from None
    return _declaring_utf8(text)


_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)\b")


def _declaring_utf8(text: str) -> str:
    return re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", r"\1\2UTF-8\2", text, count=1)


def read_xml(text: str | bytes, file_name: str) -> etree._Element:
    """Parse XML safely: no DTD, no entities, no network; raises BadDocument."""
    data = _declaring_utf8(text.lstrip("\ufeff")).encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise BadDocument(Problem(None, None, f"{file_name} {_unreadable(data, exc)}")) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise BadDocument(Problem(None, None, f"{file_name} declares a DTD or entities, which are not allowed"))
    return root


def _unreadable(data: bytes, exc: etree.XMLSyntaxError) -> str:
    """Why the parser stopped, in words: libxml2's own limits (entity expansion, depth, a huge text) come first in
    its message, where the cause a person can act on is the DTD or the document's size."""
    said = str(exc)
    if _DTD.search(data):
        return "declares a DTD or entities, which are not allowed"
    if said.startswith("Excessive depth"):
        return "nests its elements over 256 levels deep, more than Valueflow reads (no modelling tool writes that)"
    if "XML_PARSE_HUGE" in said:
        return "holds a text of over 10,000,000 characters in one place, more than Valueflow reads"
    return f"is not well-formed XML: {exc}"


def read_bpmn(text: str | bytes, file_name: str) -> etree._Element:
    """Parse a BPMN document safely; raises BadDocument when it is not BPMN 2.0."""
    root = read_xml(text, file_name)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BadDocument(Problem(None, None, f"{file_name} is not BPMN 2.0 (its root is not bpmn:definitions)"))
    return root


class BadDocument(ValueError):
    """The document cannot be read as BPMN at all, or holds no one process to run."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        super().__init__("\n".join(map(str, (problem, *more))))
        self.problem = problem
        self.problems = [problem, *more]


def human_tasks(scope: etree._Element) -> Iterable[etree._Element]:
    """The BPMN user, manual and plain tasks under ``scope`` (not a tool's own elements of the same local name)."""
    return (element for element in scope.iter() if element.tag in _HUMAN_TASK_KINDS)


def kind_of(task: etree._Element) -> str:
    """How a process owner calls a human task: "user task", "manual task" or "task"."""
    return _HUMAN_TASK_KINDS[task.tag]


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


def is_executable(process: etree._Element) -> bool:
    return process.get("isExecutable", "false").strip().lower() == "true"


def main_process(root: etree._Element, preferred_key: Optional[str]) -> etree._Element:
    """The process a package deploys: the executable one (by the folder's name when there are several), or the
    only process of the document even when it is not marked executable (``check_process`` warns)."""
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if is_executable(p)]
    if preferred_key:
        for process in executable:
            if process.get("id") == preferred_key:
                return process
    if len(executable) == 1:
        return executable[0]
    if not executable and len(processes) == 1:
        return processes[0]
    if not processes:
        raise BadDocument(Problem(None, None, "the document has no process: draw one (a pool or a plain diagram)"))
    if not executable:
        raise BadDocument(*(_pool_problem(
            process, f"is one of the document's {len(processes)} processes, and none is marked executable: mark the "
                     "one Valueflow runs executable (isExecutable=\"true\"; in Camunda Modeler, \"Executable\" in "
                     "the pool's properties)") for process in processes))
    raise BadDocument(*(_pool_problem(
        process, f"is one of the document's {len(executable)} executable processes "
                 f"({', '.join(p.get('id', '?') for p in executable)}): name the package folder after the one to "
                 "deploy, or mark only that one executable") for process in executable))


def _pool_problem(process: etree._Element, message: str) -> Problem:
    """A problem about a process, named by the process's name or else by its pool's (a collaboration's
    participant), as the modeler shows it."""
    pool = next((p for p in process.getroottree().getroot().iter(f"{{{BPMN_NS}}}participant")
                 if p.get("processRef") == process.get("id")), None)
    name = process.get("name") or (pool.get("name") if pool is not None else None)
    return Problem(process.get("id"), name, message)


# Words the web app's and the API's addresses use where a process id goes (/modeler/new, /api/v1/processes/deploy,
# …/unpack, …/validate): a process with one of them as its id could not be reached there.
ADDRESS_WORDS = frozenset({"new", "deploy", "unpack", "validate"})


def check_process(process: etree._Element, called: bool = False) -> list[Problem]:
    """Every annotation and structure problem of one process (see docs/design.md, "Validation"); a process that
    a call activity calls need not be executable."""
    problems = [] if is_executable(process) or called else [_problem(
        process, "is not marked executable, and Valueflow runs it as the document's only process: mark it "
                 "executable (isExecutable=\"true\"; in Camunda Modeler, \"Executable\" in its properties)",
        warning=True)]
    if not called and process.get("id") in ADDRESS_WORDS:
        problems.append(_problem(process, f"the process id {process.get('id')!r} is a word Valueflow's addresses "
                                          "use where a process id goes (/modeler/new, /api/v1/processes/deploy): "
                                          "give the process another id"))
    references = list(process.iter(f"{{{BPMN_NS}}}dataStoreReference"))
    referred = {reference.get("dataStoreRef") for reference in references}
    stores = [s for s in process.getroottree().getroot().iter(f"{{{BPMN_NS}}}dataStore") if s.get("id") not in referred]
    problems += [_problem(store, "data store: Valueflow keeps no data stores, so a case neither reads nor writes "
                                 "it (keep the data in the case, or behind a script helper)", warning=True)
                 for store in references + stores]
    problems += [_problem(task, "receive task names no message to wait for, so a case would pass it at once: give "
                                "it a message (its name is what POST /api/v1/messages delivers), or make it a user "
                                "task if a person records what arrived")
                 for task in process.iter(f"{{{BPMN_NS}}}receiveTask")
                 if not task.get("messageRef") and task.find("bpmn:messageEventDefinition", NS) is None]
    problems += _check_annotations(process, properties_of(process), is_process=True)
    lanes = lanes_by_node(process)
    initiator = None if called else initiator_variable(process)  # set when a person starts a case of it
    for element in human_tasks(process):
        props = properties_of(element)
        problems.extend(_check_owner(element, lanes.get(element.get("id", "")), initiator))
        if not props.get("customerValue"):
            problems.append(_problem(element, f"{kind_of(element)} has no customerValue: "
                                              "say what it gives the customer", warning=True))
        problems.extend(_check_annotations(element, props, is_process=False))
    for scope in [process, *process.iter(f"{{{BPMN_NS}}}subProcess")]:
        problems.extend(_check_reachability(scope))
        problems.extend(_check_implicit_splits(scope))
        problems.extend(_check_unguarded_flows(scope))
    return problems


# The names SpiffWorkflow gives steps of its own in every process and subprocess (its start and end, the split and
# join around several start events or a step's boundary events): a step with one of them as its id is taken for
# that step, so a case would not start, would end early or would skip it.
_SPIFF_STEP_IDS = frozenset({"Start", "End", "StartEventSplit", "StartEventJoin"})
_SPIFF_STEP_ID_ENDINGS = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")
_SUBPROCESS_TAGS = ("subProcess", "transaction", "adHocSubProcess")


def check_spiff_step_ids(process: etree._Element) -> list[Problem]:
    """Steps of a process, or of a subprocess in it, whose id SpiffWorkflow gives a step of its own."""
    scopes = [process, *process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _SUBPROCESS_TAGS))]
    return [_problem(node, f"SpiffWorkflow, the engine under Valueflow, gives the id {node_id!r} to a step of its "
                           f"own, so this {_kind(node)} would be taken for that step and a case would not run as "
                           f"drawn: give the {_kind(node)} another id (e.g. {node_id}_1)")
            for scope in scopes for node_id, node in _flow_nodes(scope).items()
            if node_id in _SPIFF_STEP_IDS or node_id.endswith(_SPIFF_STEP_ID_ENDINGS)]


def check_document(root: etree._Element) -> list[Problem]:
    """Problems of the document as a whole: ids that more than one element carries."""
    holders: dict[str, list[etree._Element]] = defaultdict(list)
    for element in root.iter():
        # ids are unique among BPMN's elements and their diagram's; a tool's own elements may reuse them
        if isinstance(element.tag, str) and element.get("id") and etree.QName(element).namespace in _ID_SPACES:
            holders[element.get("id", "")].append(element)
    count = {2: "two", 3: "three"}
    return [_problem(next((e for e in elements if e.get("name")), elements[0]),
                     f"{count.get(len(elements), len(elements))} elements share the id {element_id!r} "
                     f"({', '.join(_readable(local(e)) for e in elements)}): give each its own id")
            for element_id, elements in holders.items() if len(elements) > 1]


def _readable(tag: str) -> str:
    """A BPMN tag as a process owner says it: ``exclusiveGateway`` → "exclusive gateway"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tag).lower()


def _check_implicit_splits(scope: etree._Element) -> Iterable[Problem]:
    """Several sequence flows out of a step that is not a gateway: BPMN's implicit split, which Valueflow refuses."""
    outgoing: dict[str, int] = defaultdict(int)
    for flow in scope.findall("bpmn:sequenceFlow", NS):
        outgoing[flow.get("sourceRef", "")] += 1
    for node_id, node in _flow_nodes(scope).items():
        kind = _kind(node)
        if outgoing[node_id] > 1 and not kind.endswith("gateway"):
            yield _problem(node, f"{outgoing[node_id]} sequence flows leave this {kind} without a gateway: add a "
                                 "parallel gateway after it if all of them are to be taken, or an exclusive gateway "
                                 "if only one is (BPMN tools draw several flows out of a step, which Valueflow "
                                 "runs only through a gateway)")


def _kind(node: etree._Element) -> str:
    """What a flow node is, as a process owner says it: "user task", "exclusive gateway", "end event"."""
    return kind_of(node) if node.tag in _HUMAN_TASK_KINDS else _readable(local(node))


def _check_unguarded_flows(scope: etree._Element) -> Iterable[Problem]:
    """Each flow out of a splitting exclusive or inclusive gateway needs a condition unless it is the default."""
    nodes = _flow_nodes(scope)
    leaving: dict[str, list[etree._Element]] = defaultdict(list)
    for flow in scope.findall("bpmn:sequenceFlow", NS):
        leaving[flow.get("sourceRef", "")].append(flow)
    for gateway_id, flows in leaving.items():
        gateway = nodes.get(gateway_id)
        if gateway is None or local(gateway) not in ("exclusiveGateway", "inclusiveGateway") or len(flows) < 2:
            continue
        for flow in flows:
            if flow.get("id") == gateway.get("default") or \
                    (flow.findtext("bpmn:conditionExpression", namespaces=NS) or "").strip():
                continue
            target = nodes.get(flow.get("targetRef", ""))
            to = (target.get("name") or target.get("id")) if target is not None else flow.get("targetRef")
            yield _problem(flow, f"the flow from the {_readable(local(gateway))} "
                                 f"{' '.join((gateway.get('name') or gateway_id).split())!r} to "
                                 f"{' '.join((to or '').split())!r} has no condition and is not the gateway's "
                                 "default: give it a condition (e.g. approved == True), or make it the default flow, "
                                 "taken when no other condition holds")


def _check_owner(task: etree._Element, lane: Optional[str], initiator: Optional[str]) -> Iterable[Problem]:
    """A human task needs an owner: its lane, else the candidate group or assignee its tool wrote on it; an owner
    computed when the case runs needs one of those too, whose queue the task waits in when it computes no one,
    unless it is the person who started the case (the start event's ``initiator``), whom every case has."""
    kind, written = kind_of(task), assignment_of(task)
    if lane is None and written.group is None and not written.computed_groups \
            and is_initiator(written.computed_assignee, initiator):
        return
    computed = " and ".join(f"{what} {text}" for what, text in (("candidate groups", written.computed_groups),
                                                                 ("assignee", written.computed_assignee)) if text)
    if lane is None and written.group is None and written.assignee is None:
        if computed:
            yield _problem(task, f"{kind} has its {computed} computed when the case runs, and no lane nor candidate "
                                 "group whose queue it waits in when that computes no one: put it in a lane named "
                                 "after the role that does the work, or give it a candidate group as well")
            return
        yield _problem(task, f"{kind} has no lane and no candidate group, so no role owns it: "
                             "put it in a lane named after the role that does the work, "
                             f"or give it a candidate group ({_candidate_groups_as_written(task)})")
        return
    owner = lane if lane is not None else written.group
    if owner is not None and not role_key(owner):
        yield _problem(task, f"its {'lane' if lane is not None else 'candidate group'} {owner!r} has no letter "
                             "or digit to name a role after: rename it")
    if lane is not None and (written.assignee is not None
                             or written.group is not None and role_key(written.group) != role_key(lane)):
        ignored = f"candidate group {written.group!r}" if written.group else f"assignee {written.assignee!r}"
        yield _problem(task, f"its lane {lane!r} gives it the role {role_key(lane)!r}; the {ignored} "
                             f"written by {written.source} is ignored", warning=True)
    if written.others:
        yield _problem(task, f"only its first candidate group {written.group!r} owns it; "
                             f"{', '.join(written.others)} are ignored", warning=True)


def _candidate_groups_as_written(task: etree._Element) -> str:
    """How the tool that drew ``task`` writes a candidate group, read from the namespaces its document declares."""
    declared = set(task.nsmap.values())
    for namespace, written in ((ZEEBE_NS, 'zeebe:assignmentDefinition candidateGroups="…"'),
                               (FLOWABLE_NS, "flowable:candidateGroups"), (ACTIVITI_NS, "activiti:candidateGroups"),
                               (DROOLS_NS, "a GroupId task input")):
        if namespace in declared:
            return written
    return "camunda:candidateGroups"


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


@dataclass(frozen=True)
class _FlowGraph:
    """The steps of one process or subprocess and how a case moves between them: sequence flows, thrown to caught
    link events, an activity to each boundary event attached to it, a compensation event to its handler."""

    nodes: dict[str, etree._Element]
    forward: dict[str, set[str]]
    backward: dict[str, set[str]]
    starts: set[str]  # start events, and event subprocesses, which start on their own
    ends: set[str]  # end events, event subprocesses and compensation handlers


def _flow_graph(scope: etree._Element) -> _FlowGraph:
    nodes = _flow_nodes(scope)
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)

    def link(source: str, target: str) -> None:
        forward[source].add(target)
        backward[target].add(source)

    for flow in scope.findall("bpmn:sequenceFlow", NS):
        link(flow.get("sourceRef", ""), flow.get("targetRef", ""))
    for thrown in _link_events(nodes, "intermediateThrowEvent"):
        for caught in _link_events(nodes, "intermediateCatchEvent"):
            if link_name(thrown) == link_name(caught):  # a pair runs as a flow (engine.definitions.link_events)
                link(thrown.get("id", ""), caught.get("id", ""))
    for association in scope.findall("bpmn:association", NS):  # a compensation event and its handler
        source, target = nodes.get(association.get("sourceRef", "")), nodes.get(association.get("targetRef", ""))
        if source is not None and target is not None and target.get("isForCompensation", "").lower() == "true":
            link(source.get("id", ""), target.get("id", ""))
    for node_id, node in nodes.items():
        attached = node.get("attachedToRef")
        if local(node) == "boundaryEvent" and attached:
            link(attached, node_id)
    event_subprocesses = {i for i, n in nodes.items()
                          if local(n) == "subProcess" and n.get("triggeredByEvent", "false").lower() == "true"}
    starts = {i for i, n in nodes.items() if local(n) == "startEvent"} | event_subprocesses
    compensation_handlers = {i for i, n in nodes.items() if n.get("isForCompensation", "").lower() == "true"}
    ends = {i for i, n in nodes.items() if local(n) == "endEvent"} | event_subprocesses | compensation_handlers
    return _FlowGraph(nodes, forward, backward, starts, ends)


def _check_reachability(scope: etree._Element) -> list[Problem]:
    """Steps that no start event reaches, or that reach no end event, inside one process or subprocess."""
    graph = _flow_graph(scope)
    reached = reachable(graph.starts, graph.forward)
    finishing = reachable(graph.ends, graph.backward)
    problems = []
    for node_id, node in graph.nodes.items():
        if node_id not in reached:
            problems.append(_problem(node, "cannot be reached from a start event"))
        elif node_id not in finishing:
            problems.append(_problem(node, "cannot reach an end event"))
    return problems


def unavoidable_calls(scope: etree._Element) -> list[etree._Element]:
    """The call activities of a process (or subprocess) that every case of it comes to and leaves only when the
    called process ends: each lies on every path from a start event to an end event, runs once (no loop or
    multi-instance marker) and has no interrupting boundary event to leave by; inside a subprocess, so does the
    subprocess. Parallel branches count as alternative paths here, so a call on one of them is not among these."""
    graph = _flow_graph(scope)
    if not reachable(graph.starts, graph.forward) & graph.ends:
        return []  # refused as unreachable steps already
    found = []
    for node_id, node in graph.nodes.items():
        if local(node) in ("callActivity", "subProcess") and node_id not in graph.starts \
                and _unavoidable(graph, node_id):
            found += [node] if local(node) == "callActivity" else unavoidable_calls(node)
    return found


def _unavoidable(graph: _FlowGraph, node_id: str) -> bool:
    """Whether every case of the graph runs the activity ``node_id`` to its end."""
    node = graph.nodes[node_id]
    loop = node.find("bpmn:standardLoopCharacteristics", NS)
    if node.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None or \
            loop is not None and loop.get("testBefore", "false").lower() == "true":
        return False  # may run no time at all
    for target in graph.forward[node_id]:
        boundary = graph.nodes.get(target)
        if boundary is not None and boundary.get("attachedToRef") == node_id \
                and boundary.get("cancelActivity", "true").lower() != "false":
            return False
    return not reachable(graph.starts, graph.forward, avoiding=node_id) & graph.ends


def _link_events(nodes: dict[str, etree._Element], tag: str) -> list[etree._Element]:
    return [n for n in nodes.values() if local(n) == tag and n.find("bpmn:linkEventDefinition", NS) is not None]


def link_name(event: etree._Element) -> str:
    """The name of the link a link event throws or catches: its definition's, else the event's."""
    return event.find("bpmn:linkEventDefinition", NS).get("name") or event.get("name") or ""


def reachable(seeds: set[str], edges: dict[str, set[str]], avoiding: Optional[str] = None) -> set[str]:
    """The ids reached from ``seeds`` along ``edges`` (a defaultdict), the seeds included, never passing
    ``avoiding``."""
    seen = set(seeds) - {avoiding}
    queue = deque(seen)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen and nxt != avoiding:
                seen.add(nxt)
                queue.append(nxt)
    return seen
