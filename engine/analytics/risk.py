"""Breaches and work at risk: the open tasks a manager should look at now.

A task is *breached* when it is open past its ``due_at``; it is *at risk*
when it is not yet due but less than a quarter of its target is left. Under
a business calendar that quarter is a quarter of the working time the target
allows, counted in opening hours (engine.time.calendar): for each distinct
(version, target) among the open tasks, the moment from which less than a
quarter is left is computed once, and the database compares ``due_at`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from engine.analytics.facts import fresh_scope
from engine.analytics.filters import Filters, Scope
from engine.analytics.sql import moment, seconds_between
from engine.storage.tables import Customer, HumanTask, ProcessInstance
from engine.storage.uow import UnitOfWork
from engine.time.calendar import AT_RISK_SHARE_LEFT

I, T = ProcessInstance, HumanTask


@dataclass(frozen=True)
class OpenTask:
    """An open task with what a manager needs to act on it; ``seconds_left`` is negative once overdue."""

    task_id: int
    instance_id: int
    step_id: str
    name: str
    role: Optional[str]
    assignee: Optional[str]
    customer_id: str
    customer_name: str
    segment: str
    created_at: datetime
    due_at: datetime
    target_seconds: Optional[int]
    seconds_left: float


@dataclass(frozen=True)
class WorkAtRisk:
    """Open tasks past due (most overdue first) and at risk (least time left first), with their totals."""

    breached_count: int
    at_risk_count: int
    breached: tuple[OpenTask, ...]
    at_risk: tuple[OpenTask, ...]


def work_at_risk(uow: UnitOfWork, filters: Filters, limit: int = 100) -> WorkAtRisk:
    """The open tasks in scope that are breached or at risk at the clock's now (the period is ignored)."""
    with uow:
        return risk_of(uow, fresh_scope(uow, filters), limit)


def risk_of(uow: UnitOfWork, scope: Scope, limit: int = 100) -> WorkAtRisk:
    """``work_at_risk`` for a resolved scope, inside an open unit of work."""
    now = moment(scope.now)
    open_tasks = [*scope.open_tasks(), T.due_at.is_not(None)]
    breached = [*open_tasks, T.due_at <= now]
    at_risk = [*open_tasks, T.due_at > now, _quarter_left(uow, scope, open_tasks)]
    counts = [uow.session.scalar(select(func.count()).select_from(T).where(*breached)) or 0,
              uow.session.scalar(select(func.count()).select_from(T).join(I, I.id == T.instance_id)
                                 .where(*at_risk)) or 0]
    return WorkAtRisk(int(counts[0]), int(counts[1]), _tasks(uow, scope, breached, limit),
                      _tasks(uow, scope, at_risk, limit))


def _quarter_left(uow: UnitOfWork, scope: Scope, open_tasks: list) -> ColumnElement[bool]:
    """Whether a task is due before the moment from which less than a quarter of its target is left
    (that moment computed once per version and target)."""
    versions = {v.id: v for v in scope.versions}
    pairs = uow.session.execute(
        select(I.definition_id, T.target_seconds).distinct().select_from(T).join(I, I.id == T.instance_id)
        .where(*open_tasks, T.due_at > moment(scope.now), T.target_seconds.is_not(None))).all()
    whens = []
    for definition_id, target in pairs:
        calendar = versions[definition_id].calendar
        threshold = calendar.add_working_seconds(scope.now, calendar.working_seconds_of(target) * AT_RISK_SHARE_LEFT)
        whens.append(and_(I.definition_id == definition_id, T.target_seconds == target, T.due_at < moment(threshold)))
    return or_(*whens) if whens else false()


def _tasks(uow: UnitOfWork, scope: Scope, conditions: list, limit: int) -> tuple[OpenTask, ...]:
    left = seconds_between(moment(scope.now), T.due_at)
    query = (select(T.id, T.instance_id, T.step_id, T.name, T.role, T.assignee, I.customer_id, Customer.name,
                    I.segment, T.created_at, T.due_at, T.target_seconds, left)
             .select_from(T).join(I, I.id == T.instance_id).join(Customer, Customer.id == I.customer_id)
             .where(*conditions).order_by(T.due_at, T.id).limit(limit))
    return tuple(OpenTask(*row[:12], float(row[12])) for row in uow.session.execute(query))
