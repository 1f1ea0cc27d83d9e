"""A case restored only to be read (a case page, an external task's fetch) is freed when the read ends, without
the garbage collector, and what was read from it stays whole."""

from __future__ import annotations

import gc
from datetime import timedelta

from engine import external_tasks, service
from engine.cases.workflow import CaseWorkflow
from engine.definitions.packages import Package, read_package
from engine.work import queries
from tests.conftest import SHIPPED
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
