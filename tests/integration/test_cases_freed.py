"""A case no cache keeps is freed when its unit of work ends, without the garbage collector: one restored only to be
read (a case page, an external task's fetch), one whose last step ended it, one whose step was refused. What was
read from it stays whole, and a refused step's case goes on from the database."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest

from engine import external_tasks, service
from engine.cases.errors import MessageNotExpected
from engine.cases.workflow import CaseWorkflow
from engine.definitions.packages import Package, read_package
from engine.work import queries
from tests.conftest import SHIPPED
from tests.integration.test_storage import BOB, setup_two_step
from tests.web.test_external_tasks import SCORING


def workflows_alive() -> int:
    return sum(1 for found in gc.get_objects() if isinstance(found, CaseWorkflow))


def test_a_case_page_frees_the_case_it_restored_and_shows_its_data_and_waits(new_uow, no_collector):
    service.deploy(new_uow(), read_package(SHIPPED / "loan_decision"))
    case_id = service.start_instance(new_uow(), "loan_decision", service.CustomerRef("c-1", "Ann Lee", "premium"),
                                     {"channel": "branch"})
    before = workflows_alive()  # the started case, kept by this process for its next step

    views = [queries.instance_view(new_uow(), case_id) for _ in range(5)]

    assert workflows_alive() == before
    assert views[0]["data"]["channel"] == "branch" and views[0]["status"] == "running"
    assert [step["step_id"] for step in views[0]["open_steps"]] == ["capture_application"]
    assert views[-1] == views[0]


def test_fetching_external_tasks_frees_the_cases_it_read_the_data_of(new_uow, no_collector):
    service.deploy(new_uow(), Package("scoring", "scoring.bpmn", {"scoring.bpmn": SCORING}))
    service.add_user(new_uow(), "scoring-service", ["external-worker"])
    for n in range(3):
        service.start_instance(new_uow(), "scoring", service.CustomerRef(f"c-{n}", "Ada", "standard"), {"n": n})
    before = workflows_alive()

    fetched = external_tasks.fetch_and_lock(new_uow, "worker-1", 3,
                                            [external_tasks.Topic("credit-score", timedelta(minutes=5))],
                                            "scoring-service")

    assert workflows_alive() == before
    assert sorted(task.variables["n"] for task in fetched) == [0, 1, 2]


def test_a_case_its_last_step_ended_is_freed_with_the_step(new_uow, no_collector):
    setup_two_step(new_uow)
    before = workflows_alive()
    case_id = service.start_instance(new_uow(), "two_step", BOB)
    assert workflows_alive() == before + 1  # running: kept by this process for its next step
    for step, user in (("review", "bo1"), ("approve", "ap1")):
        [task] = queries.list_tasks(new_uow(), instance_id=case_id)
        assert task["step_id"] == step
        service.claim_task(new_uow(), task["id"], user)
        service.complete_task(new_uow(), task["id"], user, {"comment": step})

    assert workflows_alive() == before
    view = queries.instance_view(new_uow(), case_id)
    assert view["status"] == "completed" and view["data"]["comment"] == "approve"


def test_a_refused_step_frees_the_case_it_loaded_and_the_case_goes_on(new_uow, no_collector):
    setup_two_step(new_uow)
    before = workflows_alive()
    case_id = service.start_instance(new_uow(), "two_step", BOB)

    with pytest.raises(MessageNotExpected):
        service.deliver_message(new_uow(), case_id, "never_sent")

    assert workflows_alive() == before  # taken from this process's cache for the step, and let go with it
    [task] = queries.list_tasks(new_uow(), instance_id=case_id)
    service.claim_task(new_uow(), task["id"], "bo1")
    service.complete_task(new_uow(), task["id"], "bo1", {"comment": "still here"})
    assert [t["step_id"] for t in queries.list_tasks(new_uow(), instance_id=case_id)] == ["approve"]
