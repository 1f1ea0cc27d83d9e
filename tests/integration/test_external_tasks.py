"""External tasks on SQLite and PostgreSQL: two workers fetching at the same moment never get the same task, and
a task completed by one is never completed again by the other."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from engine import external_tasks, service
from engine.definitions.packages import Package
from engine.errors import NotFound
from engine.work import queries
from tests.web.test_external_tasks import SCORING

TASKS = 50
TOPIC = [external_tasks.Topic("credit-score", timedelta(minutes=5))]


def customer() -> str:
    """A customer id of its own: PostgreSQL's database is shared by the whole test session."""
    return f"c-{uuid.uuid4().hex[:10]}"


def test_two_workers_fetching_at_once_never_share_a_task_and_each_task_completes_once(stored_uow):
    service.deploy(stored_uow(), Package("scoring", "scoring.bpmn", {"scoring.bpmn": SCORING}))
    service.add_user(stored_uow(), "scoring-service", ["external-worker"])
    cases = [service.start_instance(stored_uow(), "scoring", service.CustomerRef(customer(), "Ada", "standard"),
                                    {"n": n}) for n in range(TASKS)]
    fetched: dict[str, list[int]] = {"one": [], "two": []}
    completed: dict[str, int] = {"one": 0, "two": 0}
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            start.wait()
            while True:
                batch = external_tasks.fetch_and_lock(stored_uow, worker, 3, TOPIC, "scoring-service")
                if not batch:
                    return
                for task in batch:
                    fetched[worker].append(task.id)
                    external_tasks.complete(stored_uow(), task.id, worker, {"scored_by": worker}, "scoring-service")
                    completed[worker] += 1
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in fetched]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not set(fetched["one"]) & set(fetched["two"])
    assert len(fetched["one"]) + len(fetched["two"]) == TASKS == completed["one"] + completed["two"]
    assert fetched["one"] and fetched["two"]  # both workers got work
    views = [queries.instance_view(stored_uow(), instance_id) for instance_id in cases]
    assert {view["data"]["scored_by"] for view in views} == {"one", "two"}
    assert all([step["step_id"] for step in view["open_steps"]] == ["review"] for view in views)
    for worker in fetched:
        for task_id in fetched[worker][:3]:
            with pytest.raises(NotFound):  # done once; never twice
                external_tasks.complete(stored_uow(), task_id, worker, {}, "scoring-service")


def test_a_cancelled_case_takes_its_external_task_with_it(stored_uow):
    service.deploy(stored_uow(), Package("scoring", "scoring.bpmn", {"scoring.bpmn": SCORING}))
    service.add_user(stored_uow(), "scoring-service", ["external-worker"])
    service.add_user(stored_uow(), "boss", ["manager"])
    instance_id = service.start_instance(stored_uow(), "scoring", service.CustomerRef(customer(), "Ada", "standard"))
    [task] = external_tasks.fetch_and_lock(stored_uow, "one", 1, TOPIC, "scoring-service")
    service.cancel_instance(stored_uow(), instance_id, "boss")
    with pytest.raises(NotFound):
        external_tasks.complete(stored_uow(), task.id, "one", {}, "scoring-service")
    assert queries.instance_view(stored_uow(), instance_id)["status"] == "cancelled"
    assert external_tasks.fetch_and_lock(stored_uow, "two", 5, [external_tasks.Topic("credit-score", timedelta(0, 1))],
                                         "scoring-service") == []
