"""The BPMN MIWG reference diagrams (tests/conformance/miwg, CC-BY 3.0, see its README) as deploy input.

Each diagram either deploys or is refused with problems that name their
elements; never another exception, never a hang, and a refusal stores nothing.
None of the 21 deploys as it is, for these reasons:

=========  ========  ==============================================================================
diagram    outcome   why
=========  ========  ==============================================================================
A.1.0      refused   no executable process (one descriptive process: three tasks in a row)
A.2.0      refused   no executable process (tasks and exclusive gateways)
A.2.1      refused   no executable process (as A.2.0, with an ioSpecification)
A.3.0      refused   no executable process (subprocess, message and escalation boundary events)
A.4.0      refused   no executable process (two pools with lanes, message flows)
A.4.1      refused   no executable process (as A.4.0, three lanes)
B.1.0      refused   no executable process (four processes: call activities, data store, groups)
B.2.0      refused   no executable process (every event and gateway type, multi-instance, loops)
C.1.0      refused   four conditions in Java EL (${approved}), not Python (then: archiveInvoice
                     "Archive Invoice": a service task without an operator)
C.1.1      refused   data store "Financial Accounting System" has no implementation; four user tasks
                     without a lane; four conditions in Java EL
C.2.0      refused   no executable process (four pools exchanging messages)
C.3.0      refused   four user tasks without a lane; one condition not in Python (then: subprocess
                     "Perform emergency repair" has no start event)
C.4.0      refused   no executable process (no isExecutable attribute at all; four pools)
C.5.0      refused   no executable process (no isExecutable attribute; data stores and states)
C.6.0      refused   no executable process (no isExecutable attribute; compensation, travel booking)
C.7.0      refused   no executable process (no isExecutable attribute; performers, business rule task)
C.8.0      refused   no executable process (vacation request, isExecutable="false")
C.8.1      refused   user task "Manually Approve Vacation" without a lane; three conditions not in
                     Python (then: service task "Fetch Vacation Information" without an operator)
C.9.0      refused   user task "Handle Timeout" without a lane; four conditions not in Python (then:
                     service task "Get credit score" without an operator)
C.9.1      refused   user task "Call customer" without a lane
C.9.2      refused   three user tasks without a lane; one condition not in Python (then: call activity "Document Request": a
                     multi-instance without cardinality or input collection)
=========  ========  ==============================================================================

SpiffWorkflow stops at the first thing it cannot parse and often cannot name
the element, so it is asked only once the engine's own checks pass: "(then:
...)" is what a second deploy, with those fixed, would report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine import service
from engine.definitions.packages import DeploymentRefused, read_package
from engine.storage.tables import ProcessDefinition

MIWG = Path(__file__).resolve().parent.parent / "conformance" / "miwg"
DIAGRAMS = sorted(MIWG.glob("*.bpmn"))
NOT_EXECUTABLE = "the document has no executable process"

# diagram → the ids of the elements its blocking problems name (None: a problem about the whole document)
REFUSALS: dict[str, list[str | None]] = {
    **{name: [None] for name in ("A.1.0", "A.2.0", "A.2.1", "A.3.0", "A.4.0", "A.4.1", "B.1.0", "B.2.0", "C.2.0",
                                 "C.4.0", "C.5.0", "C.6.0", "C.7.0", "C.8.0")},
    # Java EL conditions (${approved}) are not Python: each is refused on its flow.
    "C.1.0": ["invoiceApproved", "invoiceNotApproved", "reviewSuccessful", "reviewNotSuccessful"],
    "C.1.1": ["sid-14ef3d18-7218-4f57-98f0-bb595114754b", "approveInvoice", "assignApprover", "reviewInvoice",
              "prepareBankTransfer", "invoiceApproved", "invoiceNotApproved", "reviewSuccessful",
              "reviewNotSuccessful"],
    "C.3.0": ["_c73a5f4a-72f1-4e11-bb40-2f98da75fb9a", "_a92069f7-377b-4dbd-a1fd-1da071aabf6d",
              "_d034722f-751d-4f37-a3d7-47993822e979", "_6a34496f-8cf7-42e5-88a9-d1af98cc3cba",
              "_be893987-caec-4605-b078-bd96b7cd6c12"],
    "C.8.1": ["_79523269-7444-4b01-90e9-e23957a9d020", "_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9",
              "_325973e7-0bc8-4136-b6df-be1e681d8608", "_f2b0da63-d841-4457-ad85-7d86c8b5c1d2"],
    "C.9.0": ["UserTask_HandleTimeout", "SequenceFlow_Red", "SequenceFlow_ApplicationAccepted",
              "SequenceFlow_ApplicationDeclined", "SequenceFlow_Yellow"],
    "C.9.1": ["UserTask_CallCustomer"],
    "C.9.2": ["UserTask_DecideOnApplication", "UserTask_AccelerateDecision", "UserTask_CheckForFraud",
              "SequenceFlow_Yes"],
}
# Messages that are about the document as a whole, not one element.
DOCUMENT_LEVEL = (NOT_EXECUTABLE, "several executable processes", "is not well-formed XML", "is not BPMN 2.0",
                  "declares a DTD")

def stored_versions(new_uow) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition))


def deploy_outcome(new_uow, path: Path) -> DeploymentRefused | None:
    """None when the diagram deployed, else the refusal; any other exception fails the test."""
    try:
        service.deploy(new_uow(), read_package(path))
    except DeploymentRefused as refusal:
        return refusal
    except Exception as exc:  # pragma: no cover - shown as an engine bug
        pytest.fail(f"deploying {path.name} raised {type(exc).__name__}, not DeploymentRefused: {exc}")
    return None


def element_ids(path: Path) -> set[str]:
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    return {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}


def test_every_reference_diagram_is_here():
    assert [p.stem for p in DIAGRAMS] == sorted(REFUSALS)
    assert "Creative Commons Attribution" in (MIWG.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_a_diagram_deploys_or_is_refused_with_problems_and_nothing_stored(new_uow, path):
    refusal = deploy_outcome(new_uow, path)
    expected = REFUSALS[path.stem]
    if refusal is None:
        assert not expected, f"{path.name} deployed but is listed as refused"
        assert stored_versions(new_uow) == 1
        return
    assert stored_versions(new_uow) == 0
    assert refusal.problems
    for problem in refusal.problems:
        assert problem.message.strip()
    blocking = [p for p in refusal.problems if not p.warning]
    assert [p.element_id for p in blocking] == expected
    assert str(refusal).startswith(f"deployment refused, {len(blocking)} problem(s):")
    if expected == [None]:
        assert NOT_EXECUTABLE in blocking[0].message


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_problem_about_an_element_names_an_element_of_the_diagram(new_uow, path):
    refusal = deploy_outcome(new_uow, path)
    assert refusal is not None
    ids = element_ids(path)
    for problem in refusal.problems:
        if problem.element_id is None:
            assert any(kind in problem.message for kind in DOCUMENT_LEVEL), problem
        else:
            assert problem.element_id in ids, problem
            assert str(problem).startswith("warning: " * problem.warning + problem.element_id)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_problem_prints_on_one_line(new_uow, path):
    refusal = deploy_outcome(new_uow, path)
    assert refusal is not None
    for problem in refusal.problems:
        assert len(str(problem).splitlines()) == 1, repr(str(problem))
    assert len(str(refusal).splitlines()) == 1 + len(refusal.problems)
