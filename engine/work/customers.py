"""Customer 360: one customer's cases across every process, as a timeline (``/customers/<id>``).

For each case, newest first: the process and version, its status, how long
it has taken against its end-to-end target, the satisfaction score if any,
and each step with its wait, work, who handled it and whether it was late.
A customer has a bounded number of cases, so the rows of one customer are
read as they are (``limit`` newest cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select

from engine.definitions.annotations import ProcessAnnotations
from engine.errors import NotAllowed, NotFound
from engine.storage.tables import CaseFeedback, Customer, HumanTask, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork
from engine.time.calendar import calendar_for
from engine.work.accounts import Account
from engine.work.visibility import sees_every_case, visible_cases

I, T = ProcessInstance, HumanTask


def _seconds(start: Optional[datetime], end: Optional[datetime]) -> Optional[float]:
    return None if start is None or end is None else round((end - start).total_seconds(), 3)


@dataclass(frozen=True)
class CustomerStep:
    """One task of the customer's case; ``cycle_seconds`` runs to now while the task is open."""

    task_id: int
    step_id: str
    name: str
    role: Optional[str]
    status: str
    handled_by: Optional[str]
    created_at: datetime
    claimed_at: Optional[datetime]
    completed_at: Optional[datetime]
    due_at: Optional[datetime]
    wait_seconds: Optional[float]
    work_seconds: Optional[float]
    cycle_seconds: float
    late: bool


@dataclass(frozen=True)
class CustomerCase:
    """One case: ``lead_seconds`` runs to now while it is open; ``within_target`` is None without a target
    or while it runs within it."""

    instance_id: int
    process: str
    process_name: str
    version: int
    status: str
    started_at: datetime
    ended_at: Optional[datetime]
    lead_seconds: float
    target_seconds: Optional[int]
    due_at: Optional[datetime]
    within_target: Optional[bool]
    late_steps: int
    satisfaction: Optional[int]
    handled_by: tuple[str, ...]
    steps: tuple[CustomerStep, ...]


@dataclass(frozen=True)
class CustomerView:
    id: str
    name: str
    segment: str
    open_cases: int
    finished_cases: int
    late_steps: int
    mean_satisfaction: Optional[float]
    cases: tuple[CustomerCase, ...]


def customer_360(uow: UnitOfWork, customer_id: str, viewer: Account, limit: int = 100) -> CustomerView:
    """The customer and their ``limit`` newest cases that ``viewer`` may see (engine.work.visibility), with
    every step; NotFound for an unknown customer, NotAllowed when ``viewer`` may see none of their cases."""
    with uow.reading():
        customer = uow.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id!r}")
        now = uow.clock.now()
        cases = uow.session.execute(
            select(I.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version,
                   ProcessDefinition.annotations, I.status, I.segment, I.started_at, I.ended_at, CaseFeedback.score)
            .join(ProcessDefinition, ProcessDefinition.id == I.definition_id)
            .outerjoin(CaseFeedback, CaseFeedback.instance_id == I.id)
            .where(I.customer_id == customer_id, visible_cases(viewer))
            .order_by(I.started_at.desc(), I.id.desc()).limit(limit)).all()
        if not cases and not sees_every_case(viewer):
            raise NotAllowed(f"none of the cases of customer {customer_id!r} has a step of your roles or was "
                             "handled by you")
        tasks: dict[int, list[HumanTask]] = {}
        if cases:
            for task in uow.session.scalars(select(T).where(T.instance_id.in_([c.id for c in cases]))
                                            .order_by(T.created_at, T.id)):
                tasks.setdefault(task.instance_id, []).append(task)
        views = tuple(_case(row, tasks.get(row.id, []), now) for row in cases)
        name, segment = customer.name, customer.segment
    scores = [c.satisfaction for c in views if c.satisfaction is not None]
    return CustomerView(customer_id, name, segment,
                        sum(c.status in ("running", "error") for c in views),
                        sum(c.status == "completed" for c in views), sum(c.late_steps for c in views),
                        round(sum(scores) / len(scores), 2) if scores else None, views)


def _case(row: Any, rows: list[HumanTask], now: datetime) -> CustomerCase:
    process = ProcessAnnotations.from_dict(row.annotations).process
    target = process.target_for(row.segment)
    due = calendar_for(process.calendar).due(row.started_at, target) if target is not None else None
    end = row.ended_at or now
    within = None
    if due is not None and row.status == "completed":
        within = row.ended_at <= due
    elif due is not None and now > due:
        within = False
    steps = tuple(_step(t, now) for t in rows)
    people = tuple(dict.fromkeys(s.handled_by for s in steps if s.handled_by))
    return CustomerCase(row.id, row.key, row.name, row.version, row.status, row.started_at,
                        row.ended_at, _seconds(row.started_at, end) or 0.0, target, due, within,
                        sum(s.late for s in steps), row.score, people, steps)


def _step(task: HumanTask, now: datetime) -> CustomerStep:
    end = task.completed_at or now
    late = task.due_at is not None and (task.status in ("open", "completed")) and end > task.due_at
    return CustomerStep(task.id, task.step_id, task.name, task.role, task.status,
                        task.completed_by or task.assignee, task.created_at, task.claimed_at, task.completed_at,
                        task.due_at, _seconds(task.created_at, task.claimed_at),
                        _seconds(task.claimed_at, task.completed_at), _seconds(task.created_at, end) or 0.0, late)
