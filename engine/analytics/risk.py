"""Breaches and work at risk: the open tasks a manager should look at now.

A task is *breached* when it is open past its ``due_at``; it is *at risk*
when it is not yet due but less than a quarter of its target is left. Under
a business calendar that quarter is a quarter of the working time the target
allows, counted in opening hours (engine.time.calendar): for each version in
scope and each target its annotations give a task (a step's, or its target
for a segment), the moment from which less than a quarter is left is computed
once, and the database compares ``due_at`` with it. ``open_work`` counts a
page's open, breached and at-risk tasks per step once, for the step table and
the totals here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, case, false, func, literal, or_, select, union_all
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
    """``work_at_risk`` for a resolved scope, inside an open unit of work: the counts from ``open_work``, both
    lists in one statement."""
    now = moment(scope.now)
    open_tasks = [*scope.open_tasks(joined=True), T.due_at.is_not(None)]
    breached, at_risk = _breached(scope), _at_risk(scope)
    counts = [sum(work[index] for work in open_work(uow, scope).values()) for index in (1, 2)]
    left = seconds_between(now, T.due_at)
    columns = (T.id, T.instance_id, T.step_id, T.name, T.role, T.assignee, I.customer_id,
               Customer.name.label("customer"), I.segment, T.created_at, T.due_at, T.target_seconds, left.label("left"))
    lists = [select(literal(kind).label("kind"), *columns).select_from(T).join(I, I.id == T.instance_id)
             .join(Customer, Customer.id == I.customer_id).where(*open_tasks, condition)
             .order_by(T.due_at, T.id).limit(limit).subquery() for kind, condition in enumerate((breached, at_risk))]
    found: tuple[list[OpenTask], list[OpenTask]] = ([], [])
    for kind, *row in uow.session.connection().execute(union_all(*[select(*part.c) for part in lists])):
        found[kind].append(OpenTask(*row[:12], float(row[12])))
    return WorkAtRisk(int(counts[0]), int(counts[1]), *(tuple(sorted(tasks, key=lambda t: (t.due_at, t.task_id)))
                                                        for tasks in found))


def open_work(uow: UnitOfWork, scope: Scope) -> dict[str, tuple[int, int, int]]:
    """Per step, the scope's open tasks now: how many, how many breached, how many at risk; read once for the
    scope's page."""
    name = f"open_work:{scope.filters.segment or ''}"
    found = scope.reads.get(name)
    if found is None:
        found = scope.reads[name] = {
            step_id: (int(n), int(breached or 0), int(at_risk or 0))
            for step_id, n, breached, at_risk in uow.session.connection().execute(
                select(T.step_id, func.count(), func.sum(case((_breached(scope), 1), else_=0)),
                       func.sum(case((_at_risk(scope), 1), else_=0)))
                .select_from(T).join(I, I.id == T.instance_id).where(*scope.open_tasks(joined=True))
                .group_by(T.step_id))}
    return found


def _breached(scope: Scope) -> ColumnElement[bool]:
    return and_(T.due_at.is_not(None), T.due_at <= moment(scope.now))


def _at_risk(scope: Scope) -> ColumnElement[bool]:
    found = scope.reads.get("at_risk")
    if found is None:
        found = scope.reads["at_risk"] = and_(T.due_at > moment(scope.now), _quarter_left(scope))
    return found


def _quarter_left(scope: Scope) -> ColumnElement[bool]:
    """Whether a task is due before the moment from which less than a quarter of its target is left, that moment
    computed once per version and target (each a step's target, or its target for a segment, in the version's
    annotations, where an open task's target comes from)."""
    whens = []
    for version in scope.versions:
        targets = {target for step in version.annotations.steps.values()
                   for target in (step.target_seconds, *step.segment_targets.values()) if target is not None}
        calendar = version.calendar
        for target in sorted(targets):
            threshold = calendar.add_working_seconds(scope.now,
                                                     calendar.working_seconds_of(target) * AT_RISK_SHARE_LEFT)
            whens.append(and_(I.definition_id == version.id, T.target_seconds == target,
                              T.due_at < moment(threshold)))
    return or_(*whens) if whens else false()
