"""The BPMN MIWG reference diagrams (tests/conformance/miwg, CC-BY 3.0, see its README) as deploy input.

Each diagram either deploys or is refused with problems that name their
elements; never another exception, never a hang, and a refusal stores nothing.
None of the 21 deploys as it is, for these reasons:

=========  ========  ==============================================================================
diagram    outcome   why
=========  ========  ==============================================================================
A.1.0      refused   three plain tasks without a lane or an assignment (its only process is not
                     marked executable: a warning)
A.2.0      refused   four plain tasks without a lane or an assignment (tasks and exclusive gateways)
A.2.1      refused   as A.2.0; and two tasks with two flows out of each and no gateway, and a
                     condition declared as XPath
A.3.0      refused   four plain tasks without a lane or an assignment (subprocess, message and
                     escalation boundary events); a collapsed subprocess drawn without its start and
                     end events
A.4.0      refused   none of its two processes is executable (two pools with lanes, message flows)
A.4.1      refused   none of its two processes is executable (as A.4.0, three lanes)
B.1.0      refused   none of its four processes is executable (call activities, data store, groups)
B.2.0      refused   none of its four processes is executable (every event and gateway type, loops)
C.1.0      refused   archiveInvoice "Archive Invoice": a Java bean (activiti:delegateExpression)
C.1.1      refused   four conditions in XPath (bpmn:getDataObject), which do not run, a Java
                     bean (activiti:delegateExpression), and three user tasks whose outputs are
                     of the types xs:tBool and xs:tString, which no form field takes (its data
                     store is a warning; its user tasks are owned by their potentialOwner
                     resources)
C.2.0      refused   none of its four processes is executable (four pools exchanging messages)
C.3.0      refused   three user tasks without a lane or a potentialOwner; a subprocess drawn without
                     its start and end events; a condition that is not Python (Service Level ==
                     'Premium')
C.4.0      refused   none of its four processes is executable (no isExecutable attribute at all)
C.5.0      refused   none of its two processes is executable (data stores and states)
C.6.0      refused   two compensation boundary events, which do not run; six service tasks that
                     name nothing to run (compensation handlers count as reached through their
                     association)
C.7.0      refused   two service tasks that name nothing to run, one of them multi-instance without
                     a cardinality or a list; two flows out of a gateway without a condition; five
                     tasks whose data associations map data objects whose ids (_f60fe1d9-…) cannot
                     be variables of the case
C.8.0      refused   user task "Manually Approve Vacation" without a lane or an assignment; three
                     conditions that are not Python; two service tasks whose data inputs,
                     outputs and data object have no name a variable can take (its eight Camunda
                     8 jobs wait for workers)
C.8.1      refused   "Fetch Vacation Information" and "Vacation Approval" take outputs through
                     FEEL transformations; "Manually Approve Vacation" has an output of the type
                     ApprovalStatus, which no form field takes (its eight Camunda 8 jobs wait for
                     workers; its FEEL conditions naming Vacation Approval, a name with a space,
                     run)
C.9.0      refused   user task "Handle Timeout" without a lane or an assignment; a call activity
                     calling a process the package lacks; output mappings on a start event and two
                     mappings to a path (from.email) (its seven Camunda 8 jobs wait for workers;
                     its four FEEL conditions, = approved, some … satisfies, run)
C.9.1      refused   user task "Call customer" without a lane or an assignment (its two Camunda 7
                     external tasks wait for workers)
C.9.2      refused   call activity "Document Request" calls a process the package lacks, and runs
                     one instance per item of a Camunda 8 input collection (its send task "Notify
                     customer about delay", a Camunda 8 job, waits for workers; its FEEL condition
                     =fraud runs)
=========  ========  ==============================================================================
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
NOT_EXECUTABLE = "none is marked executable"

# diagram → the ids of the elements its blocking problems name, or NOT_EXECUTABLE: one problem naming each process
REFUSALS: dict[str, list[str | None] | str] = {
    **{name: NOT_EXECUTABLE for name in ("A.4.0", "A.4.1", "B.1.0", "B.2.0", "C.2.0", "C.4.0", "C.5.0")},
    "A.1.0": ["_ec59e164-68b4-4f94-98de-ffb1c58a84af", "_820c21c0-45f3-473b-813f-06381cc637cd",
              "_e70a6fcb-913c-4a7b-a65d-e83adc73d69c"],
    "A.2.0": ["_5a972b87-735d-454a-b31c-f52fb3afc5c7", "_4f7d62d7-f0e6-46bc-be00-69e02da38f65",
              "_e6eb725a-34bc-45c7-aed0-9f9596cd7bee", "_7d399717-1aba-47ac-8d7d-8aaa033255e0",
              "_f1478fb7-98c4-4c01-8c15-68bd04c91535", "_a1570a53-28d2-41b1-a3a2-3e50c00d747e",
              "_20ebb3c1-5178-4c7c-a91d-23e58f2aa73b"],
    "A.2.1": ["_To9ZpzOCEeSknpIVFCxNIQ", "_To9ZtjOCEeSknpIVFCxNIQ", "_To9ZwDOCEeSknpIVFCxNIQ",
              "_To9ZzzOCEeSknpIVFCxNIQ", "_To9ZtjOCEeSknpIVFCxNIQ", "_To9ZzzOCEeSknpIVFCxNIQ",
              "_To9Z-TOCEeSknpIVFCxNIQ", "_To9Z_DOCEeSknpIVFCxNIQ", "_To9Z7TOCEeSknpIVFCxNIQ"],
    "A.3.0": ["_65f5459f-44ae-436d-a089-a91d6d78075b", "_9fad8da5-a28c-4b6b-bb71-fbd5c65b9681",
              "_72204cd7-709c-4656-9554-3ae29b3844ce", "_2d2d0d29-896f-49f9-8109-77a7304309c5",
              "_1ae31d1b-2559-4f78-a3ec-47986a49db48", "_1ae31d1b-2559-4f78-a3ec-47986a49db48"],
    "C.1.0": ["archiveInvoice"],
    "C.1.1": ["invoiceApproved", "invoiceNotApproved", "reviewSuccessful", "reviewNotSuccessful", "archiveInvoice",
              "approveInvoice", "assignApprover", "reviewInvoice"],
    "C.3.0": ["_a92069f7-377b-4dbd-a1fd-1da071aabf6d", "_d034722f-751d-4f37-a3d7-47993822e979",
              "_6a34496f-8cf7-42e5-88a9-d1af98cc3cba", "_b99800c3-c340-460c-a43e-098014a365d0",
              "_437e5969-1e61-4cb9-aa76-4f8854f32eeb", "_ada039b6-94dd-4a15-a6b1-c7fe662c64ee",
              "_cddf9325-a85b-4347-8c57-8b909fa77ae9", "_cf380e47-1401-4e7e-b710-193b626e49eb",
              "_3fb323d5-2c59-487a-af63-804208f6c5cb", "_cd6f230f-13c3-4027-aa3e-57de601a1ab2",
              "_cd6f230f-13c3-4027-aa3e-57de601a1ab2", "_be893987-caec-4605-b078-bd96b7cd6c12"],
    "C.6.0": ["_b25ecc7c-4eff-4a70-96f2-6b2f94cf19b1", "_fe3f9094-097b-416d-adeb-4b7e7e753f3c",
              "_3a2f133c-3ae1-4e21-94b5-6e8cf51acd74", "_b595ec43-0769-4864-8f2e-403c405c8217",
              "_ea5cc55d-bfce-49c6-8a1a-a8a41a85da12", "_0198160d-b56c-4919-9920-db5f32d16b3f",
              "_614d6469-2bb8-4ad6-a20a-db5db6321c6b", "_8afc49f0-42c2-4da9-8e79-e08dbe349776"],
    "C.7.0": ["_d74707c7-6af3-4db7-9403-924bfdf6a7d8", "_1d201a22-d500-4412-a32a-2c7e24ad4d6b",
              "_a36ddf2f-23c1-46c5-86d4-bd2a0eb42535", "_392c86ba-38b5-4dc9-b98d-f97ad4c2add5", "_15b00027-5049-4081-8952-fd398e8b722a",
              "_d3435084-f2c7-43cc-abcc-c679bc4232ac", "_eae674ce-4d6e-48ac-819c-c79e0868e40d",
              "_a36ddf2f-23c1-46c5-86d4-bd2a0eb42535", "_64eabfe9-6947-43eb-ac45-8d331745f86c",
              "_a36ddf2f-23c1-46c5-86d4-bd2a0eb42535", "_eae674ce-4d6e-48ac-819c-c79e0868e40d"],
    "C.8.0": ["_79523269-7444-4b01-90e9-e23957a9d020", *["_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32"] * 4,
              *["_2b960d84-feb1-46a9-a1a1-c300dd996b99"] * 2, "_f2b0da63-d841-4457-ad85-7d86c8b5c1d2",
              "_325973e7-0bc8-4136-b6df-be1e681d8608", "_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9"],
    "C.8.1": ["_2b960d84-feb1-46a9-a1a1-c300dd996b99", *["_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32"] * 2,
              "_79523269-7444-4b01-90e9-e23957a9d020"],
    "C.9.0": ["Activity_ManualCheck", "UserTask_HandleTimeout", "StartEvent_ApplicationReceived",
              "SendTask_SendPolicy", "SendTask_SendRejection", "BusinessRuleTask_CheckApplicationAutomatically"],
    "C.9.1": ["UserTask_CallCustomer"],
    "C.9.2": ["CallActivity_RequestDocument", "CallActivity_RequestDocument"],
}
# Messages that are about the document as a whole, not one element.
DOCUMENT_LEVEL = ("is not well-formed XML", "is not BPMN 2.0", "declares a DTD")

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
    assert str(refusal).startswith(f"deployment refused, {len(blocking)} problem(s):")
    if expected == NOT_EXECUTABLE:
        processes = etree.parse(str(path)).getroot().findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
        assert [p.element_id for p in blocking] == [p.get("id") for p in processes]
        assert all(NOT_EXECUTABLE in p.message for p in blocking)
    else:
        assert [p.element_id for p in blocking] == expected


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
