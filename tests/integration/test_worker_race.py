"""Two workers (two `valueflow serve` processes, each with its worker) on one database fire each timer once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from engine import service
from engine.definitions.packages import read_package
from engine.storage.tables import TaskEvent
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from engine.work import queries
from engine.worker import BackgroundWorker
from tests.conftest import SHIPPED, T0
from tests.web.conftest import MEDIUM_RISK

CASES = 12


def loans_waiting_for_documents(factory, count: int) -> list[int]:
    """Loans whose documents were requested at T0 (a two-day reminder timer each) and loans not yet captured."""
    waiting = []
    for n in range(count):
        instance_id = service.start_instance(factory(), "loan_decision",
                                             service.CustomerRef(f"race-{n}", f"Customer {n}", "standard"), {})
        for data in ({**MEDIUM_RISK, "documents_complete": False},
                     {"missing_documents": "payslips", "request_channel": "email"}):
            task = queries.list_tasks(factory(), instance_id=instance_id)[0]
            service.claim_task(factory(), task["id"], "race-clerk")
            service.complete_task(factory(), task["id"], "race-clerk", data)
        waiting.append(instance_id)
    return waiting


def events_of(factory, kind: str, instance_ids: list[int]) -> Counter:
    uow = factory()
    with uow:
        return Counter(uow.session.scalars(select(TaskEvent.task_id if kind == "task_breached" else TaskEvent.instance_id)
                                           .where(TaskEvent.type == kind, TaskEvent.instance_id.in_(instance_ids))))


def test_two_workers_racing_over_the_same_due_timers_fire_each_once_and_record_each_breach_once(storage_url):
    arrange = connect(storage_url, FixedClock(T0), migrate=True)
    service.deploy(arrange(), read_package(SHIPPED / "loan_decision"))
    service.add_user(arrange(), "race-clerk", ["customer-service"])
    waiting = loans_waiting_for_documents(arrange, CASES)
    unattended = [service.start_instance(arrange(), "loan_decision",
                                         service.CustomerRef(f"late-{n}", f"Late {n}", "standard"), {})
                  for n in range(CASES)]  # their "Capture application" (target 1 h) is breached two days on
    arrange.dispose()

    later = T0 + timedelta(days=2, hours=1)  # every reminder timer is due; the next ones are two days away
    factories = [connect(storage_url, FixedClock(later)) for _ in range(2)]  # each worker its own engine
    complaints: list[str] = []
    workers = [BackgroundWorker(factory, 0.01, lambda line: None, complaints.append) for factory in factories]
    for worker in workers:
        worker.start()
    check = connect(storage_url, FixedClock(later))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(events_of(check, "timer_fired", waiting)) == CASES and \
                    len(events_of(check, "task_breached", unattended)) == CASES:
                break
            time.sleep(0.1)
        time.sleep(0.3)  # both workers go on with rounds over the same cases after the last timer fired
        assert all(worker.running for worker in workers), "a worker died"
    finally:
        stopped = [worker.stop() for worker in workers]
        for factory in factories:
            factory.dispose()
    assert stopped == [True, True]
    ours = {f"instance {i}:" for i in waiting + unattended}
    assert [line for line in complaints if any(mark in line for mark in ours)] == []
    assert events_of(check, "timer_fired", waiting) == Counter({i: 1 for i in waiting})
    breached = events_of(check, "task_breached", unattended)
    assert len(breached) == CASES and set(breached.values()) == {1}
    for instance_id in waiting:  # the reminder went out once, and the case waits for the next one
        case = queries.instance_view(check(), instance_id)
        assert case["data"]["document_reminders"] == 1
        assert case["next_timer_at"] == (later + timedelta(days=2)).isoformat()
    check.dispose()
