"""Where SpiffWorkflow's parser reads a diagram otherwise than BPMN and the engines diagrams come from.

The parser stops at its first complaint, in its own words, some of them a Python error of its own or the address
of an XML element. The shapes it refuses are found here first, so that the refusal names the element and says how
to fix it (``check_declarations`` for the document, ``check_shapes`` for each process that runs). What BPMN and
those engines accept but the parser or the BPMN schema it validates against does not is rewritten, by
``ready_for_parser``, in the copy of the document it parses (the stored text keeps what was drawn).
"""

from __future__ import annotations

from typing import Iterable, Optional

from lxml import etree

from engine.definitions.io_mappings import mapped_associations
from engine.definitions.namespaces import BPMN_NS, JAVA_DIALECTS, NS, SPIFF_NS
from engine.definitions.validation import Problem, is_executable, local

# The elements events refer to by id, each with the attribute that refers to it.
_REFERRED = {"signal": "signalRef", "message": "messageRef", "error": "errorRef", "escalation": "escalationRef"}
# The triggers the parser knows on a boundary event.
_BOUNDARY_TRIGGERS = ("timer", "message", "signal", "error", "escalation", "conditional", "cancel")
# The namespaces whose types the BPMN schema the parser validates against defines (an xsi:type of another is a
# tool's own, which it cannot resolve).
_SCHEMA_NAMESPACES = {BPMN_NS, SPIFF_NS, "http://www.omg.org/spec/BPMN/20100524/DI",
                      "http://www.omg.org/spec/DD/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
                      "http://www.w3.org/2001/XMLSchema"}
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# What a data association may name besides a data object reference or a data store, as a process owner says it.
_KINDS_OF_DATA = {"property": "the process variable", "dataObject": "the data object", "dataInput": "the data input",
                  "dataOutput": "the data output", "inputDataItem": "the multi-instance input item",
                  "outputDataItem": "the multi-instance output item", "itemDefinition": "the item definition"}


def _referred_id(element: etree._Element, attribute: str) -> Optional[str]:
    """The id a reference attribute names: BPMN writes it as a QName, and one whose prefix stands for the
    document's own namespace (``tns:order``) names the id after the prefix."""
    value = (element.get(attribute) or "").strip()
    prefix, _, rest = value.rpartition(":")
    namespace = element.nsmap.get(prefix) if prefix else None
    if namespace is not None and namespace == element.getroottree().getroot().get("targetNamespace"):
        return rest
    return value or None


def check_declarations(root: etree._Element) -> list[Problem]:
    """Signals, messages, errors and escalations declared without an id, which no event can refer to; each is the
    problem of the document's process (its executable one, else its first)."""
    processes = root.findall("bpmn:process", NS)
    owner = next((p for p in processes if is_executable(p)), processes[0] if processes else root)
    problems = []
    for kind in _REFERRED:
        for declared in root.iter(f"{{{BPMN_NS}}}{kind}"):
            if not declared.get("id"):
                name = f" {declared.get('name')!r}" if declared.get("name") else ""
                problems.append(Problem(owner.get("id"), owner.get("name"),
                                        f"the {kind}{name} declared on line {declared.sourceline} has no id, so no "
                                        f"event can refer to it: give it an id, and choose it in the events that "
                                        f"send or catch it (or remove it)"))
    return problems


def check_shapes(process: etree._Element) -> list[Problem]:
    """What in a process that runs the parser would refuse, each problem naming its element."""
    return [*_check_start_and_end_events(process), *_check_event_references(process), *_check_timers(process),
            *_check_loops(process), *_check_boundary_triggers(process), *_check_data_associations(process)]


def _named(element: etree._Element, message: str) -> Problem:
    """A problem about ``element``; about the nearest element holding it that has an id when it has none, with the
    line it is on."""
    holder: Optional[etree._Element] = element
    while holder is not None and not holder.get("id"):
        holder = holder.getparent()
    if holder is not element:
        message = f"{message} (line {element.sourceline})"
    return Problem(None, None, message) if holder is None else Problem(holder.get("id"), holder.get("name"), message)


def _check_start_and_end_events(process: etree._Element) -> Iterable[Problem]:
    """A process starts at a start event; a subprocess at exactly one, and it ends at an end event."""
    if process.find("bpmn:startEvent", NS) is None:
        yield _named(process, "the process has no start event, so a case of it has nowhere to begin: draw a start "
                              "event, and a sequence flow from it to the first step")
    for scope in [*process.iter(f"{{{BPMN_NS}}}subProcess"), *process.iter(f"{{{BPMN_NS}}}transaction")]:
        event_triggered = scope.get("triggeredByEvent", "false").strip().lower() == "true"
        kind = "event subprocess" if event_triggered else "subprocess" if local(scope) == "subProcess" else \
            "transaction"
        starts = scope.findall("bpmn:startEvent", NS)
        if not starts:
            yield _named(scope, f"the {kind} has no start event: draw one inside it, with a sequence flow to its "
                                "first step" + (" (its start event says what triggers it)" if event_triggered else ""))
        elif len(starts) > 1:
            ids = ", ".join(start.get("id", "?") for start in starts)
            yield _named(scope, f"the {kind} has {len(starts)} start events ({ids}), and Valueflow starts it at "
                                "one: " + ("draw an event subprocess for each trigger" if event_triggered else
                                              "keep one, with sequence flows from it to where the others led"))
        if scope.find("bpmn:endEvent", NS) is None:
            yield _named(scope, f"the {kind} has no end event: draw one inside it, after its last step")


def _check_event_references(process: etree._Element) -> Iterable[Problem]:
    """Events and tasks that refer to a signal, message or escalation the document does not declare (an error is
    declared in the parsed copy: Camunda 7, Flowable and jBPM take the reference as the error code)."""
    root = process.getroottree().getroot()
    for kind in ("signal", "message", "escalation"):
        declared = {element.get("id") for element in root.iter(f"{{{BPMN_NS}}}{kind}")}
        referring = [(definition.getparent(), definition)
                     for definition in process.iter(f"{{{BPMN_NS}}}{kind}EventDefinition")]
        if kind == "message":
            referring += [(task, task) for task in process.iter(f"{{{BPMN_NS}}}sendTask", f"{{{BPMN_NS}}}receiveTask")]
        for element, holder in referring:
            ref = _referred_id(holder, _REFERRED[kind])
            if ref is not None and ref not in declared:
                yield _named(element, f"it refers to the {kind} {holder.get(_REFERRED[kind])!r}, which the document "
                                      f"does not declare: choose one of the document's {kind}s in its properties in "
                                      f"your modeler, or declare it (<bpmn:{kind} id=\"{ref}\" name=\"…\"/>)")


def _check_timers(process: etree._Element) -> Iterable[Problem]:
    """A timer says when it fires: a date, a duration or a cycle."""
    for timer in process.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        if not any(timer.find(f".//bpmn:{when}", NS) is not None for when in ("timeDate", "timeDuration", "timeCycle")):
            yield _named(timer.getparent(), "its timer says not when it fires: give it a date, a duration (e.g. PT4H) "
                                            "or a cycle (e.g. R3/PT1H)")


def _check_loops(process: etree._Element) -> Iterable[Problem]:
    """A multi-instance marker says how many instances run: a number, or one per item of a list, not both; a loop
    marker says when it stops."""
    for marker in process.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        step = marker.getparent()
        has_cardinality = marker.find("bpmn:loopCardinality", NS) is not None
        has_list = marker.find("bpmn:loopDataInputRef", NS) is not None
        if has_cardinality and has_list:
            yield _named(step, "its multi-instance marker gives both a loop cardinality and a list to run one "
                               "instance per item of (loopDataInputRef): keep one of them")
        elif not has_cardinality and not has_list:
            yield _named(step, _unsized(marker))
        own = {data.get("id"): data.get("name") or data.get("id") for data in step.iterfind("bpmn:ioSpecification/*", NS)}
        for written in ("loopDataInputRef", "loopDataOutputRef"):
            ref = (marker.findtext(f"bpmn:{written}", namespaces=NS) or "").strip()
            if ref in own:
                yield _named(step, f"its multi-instance marker runs over its own data {_DATA_SIDE[written]} "
                                   f"{own[ref]!r} ({written}), which Valueflow cannot read there: name the process "
                                   "variable that holds the list instead")
    for marker in process.iter(f"{{{BPMN_NS}}}standardLoopCharacteristics"):
        if marker.get("loopMaximum") is None and marker.find("bpmn:loopCondition", NS) is None:
            yield _named(marker.getparent(), "its loop marker says neither when the loop stops (a loop condition) nor "
                                             "how often it runs at most (loopMaximum): give it a loop condition, or "
                                             "remove the marker")


_DATA_SIDE = {"loopDataInputRef": "input", "loopDataOutputRef": "output"}


def _unsized(marker: etree._Element) -> str:
    """Why a multi-instance marker with neither a cardinality nor a list cannot run, and its fix."""
    zeebe = marker.find("bpmn:extensionElements/zeebe:loopCharacteristics", NS)
    written = [(marker.get(f"{{{namespace}}}collection"), f"{prefix}:collection")
               for prefix, namespace in JAVA_DIALECTS]
    written.append((zeebe.get("inputCollection") if zeebe is not None else None, "zeebe:loopCharacteristics"))
    for collection, where in written:
        if collection is not None:
            return (f"its multi-instance marker runs one instance per item of {collection!r} ({where}), "
                    "which Valueflow does not read: write the list as BPMN does, a loopDataInputRef naming the "
                    "variable that holds it and an inputDataItem naming each item, or give it a loop cardinality "
                    "(the number of instances)")
    return ("its multi-instance marker says neither how many instances run nor which list to run one per item of: "
            "give it a loop cardinality (the number of instances; in Camunda Modeler, \"Loop cardinality\"), or a "
            "loopDataInputRef naming the variable that holds the list")


def _check_boundary_triggers(process: etree._Element) -> Iterable[Problem]:
    """A boundary event needs a trigger the parser knows, a cancel event a transaction to be on; compensation the
    parser does not run at all."""
    transactions = {transaction.get("id") for transaction in process.iter(f"{{{BPMN_NS}}}transaction")}
    for event in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        cancels = event.find(".//bpmn:cancelEventDefinition", NS) is not None
        if cancels and event.get("attachedToRef") not in transactions:
            yield _named(event, "a cancel boundary event is on a transaction, and this one is not: attach it to a "
                                "transaction subprocess, or make it an error boundary event")
            continue
        if any(event.find(f".//bpmn:{trigger}EventDefinition", NS) is not None for trigger in _BOUNDARY_TRIGGERS):
            continue
        if event.find("bpmn:compensateEventDefinition", NS) is not None:
            yield _named(event, "compensation is not supported: draw the steps that undo the work on the path the "
                                "process takes when it fails (for example after an error boundary event)")
        else:
            yield _named(event, "the boundary event has no trigger Valueflow knows: give it a timer, message, signal, "
                                "error, escalation or condition, or remove it")


def _check_data_associations(process: etree._Element) -> Iterable[Problem]:
    """A data association reads or writes a data object (through its reference on the diagram) or a data store:
    anything else the parser cannot resolve, except what engine.definitions.io_mappings maps to and from a
    step's own inputs and outputs (jBPM's process variables)."""
    root = process.getroottree().getroot()
    by_id = {element.get("id"): element for element in root.iter() if isinstance(element.tag, str)}
    mapped_by_step: dict[etree._Element, list[etree._Element]] = {}
    for association in process.iter(f"{{{BPMN_NS}}}dataInputAssociation", f"{{{BPMN_NS}}}dataOutputAssociation"):
        reads = local(association) == "dataInputAssociation"
        step = association.getparent()
        if step not in mapped_by_step:
            mapped_by_step[step] = [a for side in mapped_associations(step) or () for a in side]
        mapped = association in mapped_by_step[step]
        for end in association.findall("bpmn:sourceRef" if reads else "bpmn:targetRef", NS):
            ref = (end.text or "").strip()
            target = by_id.get(ref)
            kind = local(target) if target is not None else None
            if mapped and kind not in ("dataObjectReference", "dataStoreReference"):
                continue  # a variable copied to or from the step's own input or output (engine.definitions.io_mappings)
            if kind in ("dataStore", "dataStoreReference") or \
                    kind == "dataObjectReference" and target.get("dataObjectRef") in _visible_data_objects(step):
                continue
            yield _named(step, _unresolved_association(reads, ref, target))


def _visible_data_objects(step: etree._Element) -> set[str]:
    """The ids of the data objects the parser finds for a step: those declared in the process or subprocess
    holding it, and in the one around that (it looks no further, and one it does not find there it looks for
    forever)."""
    scopes = [scope for scope in step.iterancestors(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}subProcess",
                                                     f"{{{BPMN_NS}}}transaction")][:2]
    return {data.get("id", "") for scope in scopes for data in scope.findall("bpmn:dataObject", NS)}


def _unresolved_association(reads: bool, ref: str, target: Optional[etree._Element]) -> str:
    """Why a step's data association cannot run, and its fix."""
    verb, direction = ("reads", "input") if reads else ("writes to", "output")
    if target is None:
        return (f"its data {direction} association {verb} {ref!r}, which the document does not declare: connect the "
                "step to a data object instead, or remove the association")
    if local(target) == "dataObjectReference":
        return (f"its data {direction} association {verb} the data object reference {ref!r}, whose data object "
                f"{target.get('dataObjectRef')!r} is not declared where the step is (in the process or subprocess "
                "holding it, or the one around that): draw the reference again from a data object declared there")
    what = f"{_KINDS_OF_DATA.get(local(target), f'the {local(target)}')} {target.get('name') or ref!r}"
    if local(target) == "dataObject":
        return (f"its data {direction} association {verb} {what} itself, which Valueflow {verb} only through a "
                "data object reference: connect the step to a reference of it (as modelers draw data objects), or "
                "remove the association")
    keep = ("a step sees the case's data under each variable's own name" if reads else
            "what a step records stays in the case's data under its own name")
    return (f"its data {direction} association {verb} {what}, which Valueflow does not map "
            f"{'into' if reads else 'out of'} a step: remove the association, as {keep} (a script task "
            f"{'before' if reads else 'after'} the step can copy it to another name)")


def ready_for_parser(root: etree._Element) -> None:
    """Rewrite, in the copy the parser reads, what BPMN and the engines diagrams come from accept and it does not:
    a document without a targetNamespace (bpmn-js and jBPM write such; nothing Valueflow runs reads it); an xsi:type
    of a tool's own namespace, which the schema cannot resolve (jBPM's simulation data; nothing Valueflow runs reads
    it either); a reference written as a QName of the document's namespace; an error that error events name but
    the document does not declare, whose name is its error code (as Camunda 7, Flowable and jBPM read it); a
    sequence flow without an id (Camunda's examples write them so), which the parser would not follow."""
    if not root.get("targetNamespace"):
        root.set("targetNamespace", "urn:valueflow:unnamed")
    taken = {element.get("id") for element in root.iter() if isinstance(element.tag, str)}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if not flow.get("id"):
            named = f"flow_{flow.get('sourceRef', '')}_{flow.get('targetRef', '')}"
            flow_id, count = named, 1
            while flow_id in taken:
                count += 1
                flow_id = f"{named}_{count}"
            taken.add(flow_id)
            flow.set("id", flow_id)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        written = element.get(_XSI_TYPE)
        if written is not None and element.nsmap.get(written.rpartition(":")[0] or None) not in _SCHEMA_NAMESPACES:
            del element.attrib[_XSI_TYPE]
        for attribute in _REFERRED.values():
            if element.get(attribute):
                element.set(attribute, _referred_id(element, attribute) or "")
    errors = {error.get("id") for error in root.iter(f"{{{BPMN_NS}}}error")}
    first_process = root.find("bpmn:process", NS)
    for definition in root.iter(f"{{{BPMN_NS}}}errorEventDefinition"):
        ref = definition.get("errorRef")
        if ref and ref not in errors and first_process is not None:
            errors.add(ref)
            error = etree.Element(f"{{{BPMN_NS}}}error", id=ref, name=ref, errorCode=ref)
            first_process.addprevious(error)
