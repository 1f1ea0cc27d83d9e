"""Cases waiting on a timer, for the job tests: one started by the engine, then as many copies as a test needs."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import func, insert, select

from engine import service
from engine.definitions.packages import Package
from engine.storage.tables import CaseTask, Job, ProcessInstance, TaskEvent
from engine.storage.uow import UnitOfWorkFactory
from tests import samples

WAIT_AN_HOUR = ('<bpmn:intermediateCatchEvent id="wait" name="Wait an hour"><bpmn:timerEventDefinition>'
                '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                '</bpmn:intermediateCatchEvent>')


def deploy_timer_process(new_uow: UnitOfWorkFactory) -> str:
    """A process of its own (start → wait an hour → end), so that a test counts its cases alone; its key."""
    key = f"waits_{uuid.uuid4().hex[:8]}"
    xml = samples.document(key, '<bpmn:startEvent id="begin"/>' + WAIT_AN_HOUR + '<bpmn:endEvent id="finish"/>'
                           + samples.chain("begin", "wait", "finish"), {})
    service.deploy(new_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}))
    return key


def waiting_cases(new_uow: UnitOfWorkFactory, key: str, count: int) -> int:
    """``count`` cases of ``key`` waiting on their timer: one started by the engine, the others copies of its
    stored rows (its case row, task rows and timer job), written in a few statements; returns the definition id.

    Starting each through the engine would take most of a test's minute; the copies are what it would store.
    """
    first = service.start_instance(new_uow(), key, service.CustomerRef("timer-customer", "Timer Customer", "standard"))
    uow = new_uow()
    with uow:
        session = uow.session
        case = session.get(ProcessInstance, first)
        tasks = session.scalars(select(CaseTask).where(CaseTask.instance_id == first)).all()
        [job] = session.scalars(select(Job).where(Job.instance_id == first)).all()
        columns = {c: getattr(case, c) for c in ("definition_id", "customer_id", "segment", "status", "started_at",
                                                  "next_timer_at", "state", "row_version")}
        session.execute(insert(ProcessInstance.__table__), [columns] * (count - 1))
        ids = session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.definition_id == case.definition_id, ProcessInstance.id != first)).all()
        session.execute(insert(CaseTask.__table__), [{"instance_id": i, "task_id": t.task_id, "body": t.body}
                                                     for i in ids for t in tasks])
        session.execute(insert(Job.__table__), [{"kind": job.kind, "instance_id": i, "due_at": job.due_at,
                                                 "attempts": 0} for i in ids])
        uow.commit()
        return case.definition_id


def fired_per_case(new_uow: UnitOfWorkFactory, definition_id: int) -> Counter[int]:
    """How many times a timer fired in each case of the definition."""
    uow = new_uow()
    with uow:
        rows = uow.session.execute(
            select(TaskEvent.instance_id, func.count()).join(ProcessInstance, ProcessInstance.id == TaskEvent.instance_id)
            .where(ProcessInstance.definition_id == definition_id, TaskEvent.type == "timer_fired")
            .group_by(TaskEvent.instance_id)).all()
    return Counter({instance_id: count for instance_id, count in rows})


def jobs_left(new_uow: UnitOfWorkFactory, definition_id: int, leased_only: bool = False) -> int:
    uow = new_uow()
    with uow:
        query = select(func.count()).select_from(Job).join(ProcessInstance, ProcessInstance.id == Job.instance_id) \
            .where(ProcessInstance.definition_id == definition_id)
        if leased_only:
            query = query.where(Job.locked_by.is_not(None))
        return int(uow.session.scalar(query) or 0)
