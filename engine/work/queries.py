"""Read-only views of tasks and cases for the CLI, the web app and integrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import bindparam, select

from engine.errors import NotFound
from engine.storage.driver_reads import DriverReader
from engine.storage.driver_statements import Prepared, driver_errors_as_sqlalchemys
from engine.storage.tables import BusinessKey, Customer, HumanTask, ProcessDefinition, ProcessInstance, TaskEvent
from engine.storage.uow import UnitOfWork
from engine.work import task_list
from engine.work.task_list import iso, task_view


def list_tasks(uow: UnitOfWork, *, user: Optional[str] = None, role: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = "open",
               limit: int = task_list.LIMIT) -> list[dict[str, Any]]:
    """Tasks, most urgent first; ``user`` means assigned to that user (engine.work.task_list, the command's
    query, here on the unit of work's driver connection; its errors are SQLAlchemy's, as elsewhere)."""
    with uow.reading():
        connection = uow.connection
        reader = DriverReader(connection.connection.driver_connection, connection.dialect.name)
        with driver_errors_as_sqlalchemys(connection.dialect, None):
            return task_list.list_tasks(reader, user=user, role=role, instance_id=instance_id, status=status,
                                        limit=limit)


def instance_view(uow: UnitOfWork, instance_id: int) -> dict[str, Any]:
    """A case: status, business key, customer, data, open steps and its event history."""
    with uow.reading():
        instance = uow.session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"no instance {instance_id}")
        definition = uow.session.get(ProcessDefinition, instance.definition_id)
        customer = uow.session.get(Customer, instance.customer_id)
        assert definition is not None and customer is not None
        with uow.cases.read(instance.id, uow.compiled(definition.id)) as case:
            data, waits = case.data, case.waits() if instance.status == "running" else []
        open_steps = [task_view(t) for t in uow.tasks.open_of(instance.id)]
        events = uow.session.scalars(
            select(TaskEvent).where(TaskEvent.instance_id == instance.id).order_by(TaskEvent.id)).all()
        return {
            "id": instance.id, "process": definition.key, "version": definition.version,
            "business_key": uow.session.scalar(select(BusinessKey.key).where(BusinessKey.instance_id == instance.id)),
            "status": instance.status, "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
            "customer": {"id": customer.id, "name": customer.name, "segment": customer.segment},
            "data": data, "open_steps": open_steps,
            "error": {"step": instance.error_step, "message": instance.error_message}
            if instance.status == "error" else None,
            "next_timer_at": iso(instance.next_timer_at),
            "waits": [{"kind": w.kind, "step_id": w.step_id, "step_name": w.step_name, "message": w.message,
                       "due": iso(w.due), "worker": w.worker} for w in waits],
            "events": [{"type": e.type, "at": iso(e.at), "actor": e.actor, "step_id": e.step_id,
                        "task_id": e.task_id, "detail": e.detail} for e in events],
        }


@dataclass(frozen=True)
class TaskAtHand:
    """What an action on a task needs: who may act on it, the form it is completed with, the names it is told by."""

    id: int
    instance_id: int
    name: str
    role: Optional[str]
    assignee: Optional[str]
    status: str
    customer_name: str
    form: Optional[dict[str, Any]]


_HUMAN_TASK, _INSTANCE, _CUSTOMER = HumanTask.__table__, ProcessInstance.__table__, Customer.__table__
# Built once and run on the driver's cursor: each action on a task reads this row first.
_TASK_AT_HAND = Prepared(
    select(_HUMAN_TASK.c.instance_id, _HUMAN_TASK.c.step_id, _HUMAN_TASK.c.name, _HUMAN_TASK.c.role,
           _HUMAN_TASK.c.assignee, _HUMAN_TASK.c.status, _CUSTOMER.c.name, _INSTANCE.c.definition_id)
    .join(_INSTANCE, _INSTANCE.c.id == _HUMAN_TASK.c.instance_id)
    .join(_CUSTOMER, _CUSTOMER.c.id == _INSTANCE.c.customer_id)
    .where(_HUMAN_TASK.c.id == bindparam("task_id")))


def task_at_hand(uow: UnitOfWork, task_id: int) -> TaskAtHand:
    """The task's own row with its customer's name and its step's form (from the compiled definition)."""
    with uow.reading():
        row = uow.cases.sql.first(_TASK_AT_HAND, {"task_id": task_id})
        if row is None:
            raise NotFound(f"no task {task_id}")
        instance_id, step_id, name, role, assignee, status, customer_name, definition_id = row
        return TaskAtHand(task_id, instance_id, name, role, assignee, status, customer_name,
                          uow.compiled(definition_id).forms.get(step_id))