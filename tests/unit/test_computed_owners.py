"""Assignees and candidate groups computed from the case data when a task opens, as Camunda 7, Camunda 8 and
Flowable write them (tests/dialects/camunda7_computed_owners.bpmn), through the restricted engine."""

from __future__ import annotations

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused, Package
from engine.work import accounts, queries
from tests.unit.test_other_tools import CUSTOMER, DIALECTS, open_tasks, work_through

PROCESS = DIALECTS / "camunda7_computed_owners.bpmn"


def deploy(new_uow, replace: tuple[str, str] = ("", "")) -> None:
    """Deploy the process, with one text of it replaced."""
    xml = PROCESS.read_text(encoding="utf-8").replace(*replace)
    service.deploy(new_uow(), Package(PROCESS.stem, PROCESS.name, {PROCESS.name: xml}))


def unresolved(new_uow, instance_id: int) -> list[tuple[str, str]]:
    return [(e["step_id"], e["detail"]["reason"]) for e in queries.instance_view(new_uow(), instance_id)["events"]
            if e["type"] == "assignment_unresolved"]


def test_a_task_goes_to_the_user_and_the_group_the_case_data_names_when_it_opens(new_uow):
    deploy(new_uow)
    service.add_user(new_uow(), "ada", ["accounting"])
    service.add_user(new_uow(), "mia", ["management"])
    instance_id = service.start_instance(new_uow(), "camunda7_computed_owners", CUSTOMER, {
        "applicant": {"owner": "ada"}, "approverGroups": ["Management", "sales"]})
    steps = work_through(new_uow, instance_id, {"management": "mia"})
    assert steps == [("Task_review", "accounting", "ada"), ("Task_approve", "management", None)]
    assert unresolved(new_uow, instance_id) == []


def test_a_computed_owner_that_is_no_user_or_no_group_leaves_the_task_in_its_queue_and_the_case_says_why(new_uow):
    deploy(new_uow)
    service.add_user(new_uow(), "bo", ["accounting", "approvers"])
    instance_id = service.start_instance(new_uow(), "camunda7_computed_owners", CUSTOMER,
                                         {"applicant": {"owner": "nobody"}})
    assert [(t["step_id"], t["role"], t["assignee"]) for t in open_tasks(new_uow, instance_id)] == [
        ("Task_review", "accounting", None)]
    steps = work_through(new_uow, instance_id, {"accounting": "bo", "approvers": "bo"})
    assert steps == [("Task_review", "accounting", None), ("Task_approve", "approvers", None)]
    assert unresolved(new_uow, instance_id) == [
        ("Task_review", "its assignee ${applicant.owner} is 'nobody', who is not a Valueflow user: the task waits "
                        "in the queue of accounting"),
        ("Task_approve", "its candidate groups ${approverGroups} could not be computed (NameError: name "
                         "'approverGroups' is not defined): the task waits in the queue of approvers")]


@pytest.mark.parametrize("dialect, assignee", [("camunda", "${applicant.owner}"), ("flowable", "${applicant.owner}"),
                                               ("camunda", "=applicant.owner")])
def test_an_assignee_written_in_any_dialect_is_computed_by_the_same_engine(new_uow, dialect, assignee):
    xml = PROCESS.read_text(encoding="utf-8").replace(
        'camunda:candidateGroups="accounting"', f'xmlns:flowable="http://flowable.org/bpmn" '
                                               f'{dialect}:candidateGroups="accounting"').replace(
        'camunda:assignee="${applicant.owner}"', f'{dialect}:assignee="{assignee}"')
    service.deploy(new_uow(), Package(PROCESS.stem, PROCESS.name, {PROCESS.name: xml}))
    service.add_user(new_uow(), "ada", ["accounting"])
    instance_id = service.start_instance(new_uow(), "camunda7_computed_owners", CUSTOMER,
                                         {"applicant": {"owner": "ada"}, "approverGroups": "sales"})
    assert [(t["step_id"], t["assignee"]) for t in open_tasks(new_uow, instance_id)] == [("Task_review", "ada")]


def test_a_computed_owner_that_cannot_run_is_refused_at_deploy_naming_the_task(new_uow):
    with pytest.raises(DeploymentRefused) as caught:
        deploy(new_uow, ("${applicant.owner}", "${applicant.getOwner()}"))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "Task_review (Review the application): its assignee '${applicant.getOwner()}', computed when the task "
        "opens, cannot run: calling applicant.getOwner() is not supported in a JUEL expression: Valueflow runs no "
        "Java methods; compute the value in a script task and test it here"]


def test_a_computed_assignee_whose_account_is_disabled_leaves_the_task_in_its_queue(new_uow):
    deploy(new_uow)
    service.add_user(new_uow(), "eve", ["accounting"])
    service.add_user(new_uow(), "root", ["admin"])
    accounts.set_disabled(new_uow(), "eve", True, "root")
    instance_id = service.start_instance(new_uow(), "camunda7_computed_owners", CUSTOMER,
                                         {"applicant": {"owner": "eve"}})
    assert [(t["step_id"], t["assignee"]) for t in open_tasks(new_uow, instance_id)] == [("Task_review", None)]
    assert unresolved(new_uow, instance_id) == [
        ("Task_review", "its assignee ${applicant.owner} is 'eve', whose account is disabled: the task waits in the "
                        "queue of accounting")]
