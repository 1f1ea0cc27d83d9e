"""Link events: a pair of intermediate events that stands for a sequence flow drawn across the diagram.

A large diagram goes off the page at a throwing link event and comes back at the catching link event of the same
name, on the same process level (BPMN 2.0, 10.5.6). SpiffWorkflow has no link events, so in the parsed document
each pair becomes what it stands for: a sequence flow from the throwing event to the catching one, both passed at
once as plain intermediate events. The stored diagram keeps its link events; a case's path shows both events.
What cannot be paired is refused, naming the event and the fix.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Iterator

from lxml import etree

from engine.definitions.namespaces import BPMN_NS, NS
from engine.definitions.validation import Problem, link_name, local

_THROW, _CATCH = f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}intermediateCatchEvent"


def check_link_events(process: etree._Element) -> Iterable[Problem]:
    """A problem for each link event that does not lead from one place to one other on its process level."""
    for scope, throws, catches in _levels(process):
        where = "process" if local(scope) == "process" else "subprocess"
        for name, caught in catches.items():
            for event in caught[1:]:
                yield _problem(event, f"{len(caught)} catching link events of this {where} are named {name!r}, so a "
                                      "link thrown to it would not know where to go: give each its own name")
        for name, thrown in throws.items():
            for event in thrown:
                if name not in catches:
                    yield _problem(event, f"link event leads to the link {name!r}, which no catching link event of "
                                          f"this {where} is named: add an intermediate catching link event named "
                                          f"{name!r} where the flow goes on, or draw a sequence flow instead")
                elif _flows(scope, "sourceRef", event):
                    yield _problem(event, "throwing link event has a sequence flow going out of it: the flow goes on "
                                          "from its catching link event; remove the flow")


def as_sequence_flows(document: etree._Element) -> None:
    """In each process of the (checked) document, turn every link event pair into a sequence flow between them."""
    for process in document.iterfind("bpmn:process", NS):
        for scope, throws, catches in _levels(process):
            for name, thrown in throws.items():
                [caught] = catches[name]
                for event in thrown:
                    flow = etree.SubElement(scope, f"{{{BPMN_NS}}}sequenceFlow")
                    flow.set("id", f"{event.get('id')}__link__{caught.get('id')}")
                    flow.set("sourceRef", event.get("id", ""))
                    flow.set("targetRef", caught.get("id", ""))
                    _plain(event)
            for caught in catches.values():
                _plain(caught[0])
                caught[0].tag = _THROW  # passed at once, as a throwing event without a definition is


def _levels(process: etree._Element) -> Iterator[tuple[etree._Element, dict[str, list[etree._Element]],
                                                       dict[str, list[etree._Element]]]]:
    """Each process level holding link events (the process, each subprocess), with its throwing and catching link
    events by the link's name."""
    for scope in [process, *process.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction")]:
        throws: dict[str, list[etree._Element]] = defaultdict(list)
        catches: dict[str, list[etree._Element]] = defaultdict(list)
        for event in scope:
            if event.tag in (_THROW, _CATCH) and event.find("bpmn:linkEventDefinition", NS) is not None:
                (throws if event.tag == _THROW else catches)[link_name(event)].append(event)
        if throws or catches:
            yield scope, throws, catches


def _plain(event: etree._Element) -> None:
    for definition in event.findall("bpmn:linkEventDefinition", NS):
        event.remove(definition)


def _flows(scope: etree._Element, end: str, event: etree._Element) -> list[etree._Element]:
    return [f for f in scope.iterfind("bpmn:sequenceFlow", NS) if f.get(end) == event.get("id")]


def _problem(event: etree._Element, message: str) -> Problem:
    return Problem(event.get("id"), event.get("name"), message)
