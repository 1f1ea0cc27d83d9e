"""Pre-aggregated rows for the dashboards: one per completed task and one per finished case.

The dashboards must answer in a few hundred milliseconds over a million
events; scanning ``human_task`` and sorting its durations on every request
does not. So each completed task becomes a ``task_fact`` (durations in whole
seconds, target met, its case's process and segment beside it) and each
finished case a ``case_fact`` (lead time, target met, work and wait by value
class, cost, process cycle efficiency). Both are derived data: they are
written by ``refresh``, in SQL (``INSERT … SELECT``), never changed after
(except a case's cost when a rate changes, engine.analytics.costs), and carry an index
per duration so that a median is a short walk down an index (engine.analytics.sql).
Their sums per day (engine.analytics.rollups) are kept in the same transaction.

``refresh`` runs at the start of every analytics call and adds what the event
log says completed since the newest fact: each fact keeps the id of its
``task_completed`` / ``instance_completed`` event, and the log's ids grow in
the order transactions wrote them (on PostgreSQL two transactions may commit
out of id order, so the last ``MARGIN`` events are looked at again). It reads
the ids of the new tasks and cases from that primary-key range first, then
inserts their facts by id, ``BATCH`` at a time, so that no query plan can turn
a refresh into a scan of every task. Time stamps are not used for this, so
cases written with a clock in the past (the demo, ``worker --at``) are picked
up all the same. What is already there is skipped (the insert ignores known
keys, so two dashboards refreshing at once do not collide). Business-time
versions get their case's verdict from their calendar here, in Python, once
per new case. The first refresh of a long history takes a while (about 30 s
for 250,000 tasks); ``valueflow init`` runs it after migrating.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (Float, Integer, and_, bindparam, case, cast, exists, func, literal, literal_column, null,
                        select, union_all, update)
from sqlalchemy.sql.elements import ColumnElement

from engine.analytics import rollups
from engine.analytics.filters import Filters, Scope, resolve
from engine.analytics.sql import insert_for, seconds_between, week_start
from engine.storage.tables import CaseFact, HumanTask, ProcessDefinition, ProcessInstance, RoleRate, TaskEvent, TaskFact
from engine.storage.uow import UnitOfWork
from engine.time.calendar import calendar_for

I, T, D, E = ProcessInstance, HumanTask, ProcessDefinition, TaskEvent
TF, CF = TaskFact, CaseFact
MARGIN = 2000  # events looked at again, for transactions that committed after a later one
BATCH = 2000  # tasks or cases inserted by one statement
CLASSES = ("va", "bva", "nva", "other")


def _seconds(start: Any, end: Any) -> ColumnElement[int]:
    return cast(func.round(seconds_between(start, end)), Integer)


def refresh(uow: UnitOfWork) -> None:
    """Add the facts of tasks completed and cases finished since the last refresh, and their days' sums
    (engine.analytics.rollups), and commit them; with nothing to add, the transaction carries on."""
    tasks, cases = _completed(uow)
    added_tasks = _add_task_facts(uow, tasks)
    if _add_case_facts(uow, cases) or added_tasks:
        uow.commit()


@functools.cache
def _completed_queries() -> tuple[Any, Any]:
    """The queries of ``_completed``, built once: the newest facts' event ids, then per kind of fact the ids
    the log's events completed since (parameters ``task_since`` and ``case_since``) and the events' ids."""
    newest = select(select(func.max(TF.event_id)).scalar_subquery(), select(func.max(CF.event_id)).scalar_subquery())
    parts = []
    for tag, (kind, key, known, since) in enumerate((("task_completed", E.task_id, TF.task_id, "task_since"),
                                                      ("instance_completed", E.instance_id, CF.instance_id,
                                                       "case_since"))):
        parts.append(select(literal_column(str(tag)).label("tag"), key.label("item"), E.id)
                     .where(E.id > bindparam(since, type_=Integer), E.type == kind, ~exists().where(known == key)))
    return newest, union_all(*parts)


def _completed(uow: UnitOfWork) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(id, event id) of the tasks and of the cases the log says completed that have no fact yet, since ``MARGIN``
    events before the newest fact of each.

    Read as a range of the log's primary key, its bounds given as values (a bound the planner does not know
    makes PostgreSQL plan a scan of every fact), so no query plan can turn it into a scan of every task or case.
    """
    newest, completed = _completed_queries()
    connection = uow.session.connection()
    task_since, case_since = (0 if found is None else found - MARGIN for found in connection.execute(newest).one())
    found: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for tag, item, event_id in connection.execute(completed, {"task_since": task_since, "case_since": case_since}):
        if item is not None:
            kind = found[int(tag)]
            kind[item] = max(event_id, kind.get(item, 0))
    return sorted(found[0].items()), sorted(found[1].items())


def _batches(rows: list[tuple[int, int]]) -> Any:
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _add_task_facts(uow: UnitOfWork, new: list[tuple[int, int]]) -> bool:
    added: list[int] = []
    for batch in _batches(new):
        added += uow.session.connection().execute(_task_facts_insert(uow.session),
                                                  {"ids": [task_id for task_id, _ in batch]}).scalars().all()
    rollups.add_tasks(uow, added)
    return bool(added)


_TASK_FACTS_INSERTS: dict[str, Any] = {}  # by the database's dialect


def _task_facts_insert(session: Any) -> Any:
    """The insert of the facts of the completed tasks ``ids`` (a parameter), built once per database: each with
    its newest ``task_completed`` event, which is the one ``_completed`` found for it."""
    dialect = session.get_bind().dialect.name
    found = _TASK_FACTS_INSERTS.get(dialect)
    if found is not None:
        return found
    cycle = _seconds(T.created_at, T.completed_at)
    columns = ["task_id", "event_id", "instance_id", "process", "definition_id", "step_id", "segment", "role",
               "assignee", "value_class", "completed_at", "target_seconds", "cycle_seconds", "wait_seconds",
               "work_seconds", "within", "overrun"]
    event_id = select(func.max(E.id)).where(E.task_id == T.id, E.type == "task_completed").scalar_subquery()
    source = (select(T.id, event_id, T.instance_id, D.key, I.definition_id, T.step_id, I.segment, T.role,
                     T.assignee, T.value_class, T.completed_at, T.target_seconds, cycle,
                     _seconds(T.created_at, T.claimed_at), _seconds(T.claimed_at, T.completed_at),
                     case((T.due_at.is_(None), null()), (T.completed_at <= T.due_at, 1), else_=0),
                     case((T.target_seconds > 0, cast(cycle, Float) / T.target_seconds), else_=null()))
              .join(I, I.id == T.instance_id).join(D, D.id == I.definition_id)
              .where(T.id.in_(bindparam("ids", expanding=True, literal_execute=True)), T.status == "completed"))
    found = _TASK_FACTS_INSERTS[dialect] = (insert_for(session, TF).from_select(columns, source)
                                            .on_conflict_do_nothing().returning(TF.task_id))
    return found


def _add_case_facts(uow: UnitOfWork, new: list[tuple[int, int]]) -> bool:
    if not new:
        return False
    notes = {definition_id: uow.annotations(definition_id).process
             for definition_id in uow.session.scalars(select(D.id))}
    target = _target(notes)
    lead = _seconds(I.started_at, I.ended_at)
    zero = literal(0)
    columns = ["instance_id", "event_id", "process", "definition_id", "segment", "started_at", "ended_at", "week",
               "lead_seconds", "target_seconds", "within", *[f"{k}_work_seconds" for k in CLASSES],
               *[f"{k}_wait_seconds" for k in CLASSES], "cost", "pce"]
    added: list[int] = []
    for batch in _batches(new):
        ids = [case_id for case_id, _ in batch]
        price = func.coalesce(func.sum(TF.work_seconds * func.coalesce(cast(RoleRate.hourly_rate, Float), 0.0))
                              / 3600.0, 0.0)
        per_case = (select(TF.instance_id.label("id"),
                           *[_class_sum(TF.work_seconds, kind).label(f"{kind}_work") for kind in CLASSES],
                           *[_class_sum(TF.wait_seconds, kind).label(f"{kind}_wait") for kind in CLASSES],
                           price.label("cost"))
                    .outerjoin(RoleRate, RoleRate.role == TF.role).where(TF.instance_id.in_(ids))
                    .group_by(TF.instance_id).subquery("per_case"))
        source = (select(I.id, case({case_id: event for case_id, event in batch}, value=I.id), D.key,
                         I.definition_id, I.segment, I.started_at, I.ended_at, week_start(I.ended_at), lead, target,
                         case((target.is_(None), null()), (lead <= target, 1), else_=0),
                         *[func.coalesce(per_case.c[f"{k}_work"], zero) for k in CLASSES],
                         *[func.coalesce(per_case.c[f"{k}_wait"], zero) for k in CLASSES],
                         func.coalesce(per_case.c.cost, 0.0),
                         case((lead > 0, cast(func.coalesce(per_case.c.va_work, zero), Float) / lead), else_=null()))
                  .join(D, D.id == I.definition_id).outerjoin(per_case, per_case.c.id == I.id)
                  .where(I.id.in_(ids), I.status == "completed"))
        added += uow.session.scalars(insert_for(uow.session, CF).from_select(columns, source)
                                     .on_conflict_do_nothing().returning(CF.instance_id)).all()
    _business_time(uow, notes, added)
    rollups.add_cases(uow, added)
    return bool(added)


def _class_sum(column: Any, kind: str) -> ColumnElement[int]:
    """The sum of ``column`` over a case's tasks of one value class ("other": none of VA, BVA, NVA)."""
    klass = func.coalesce(TF.value_class, "")
    match = klass.not_in(("VA", "BVA", "NVA")) if kind == "other" else klass == kind.upper()
    return func.coalesce(func.sum(case((match, column), else_=0)), 0)


def _target(notes: dict[int, Any]) -> ColumnElement[Any]:
    """A case's end-to-end target in seconds, from its version and segment."""
    whens = []
    for definition_id, process in notes.items():
        for segment, seconds in process.segment_targets.items():
            whens.append((and_(I.definition_id == definition_id, I.segment == segment), seconds))
        if process.target_seconds is not None:
            whens.append((I.definition_id == definition_id, process.target_seconds))
    return case(*whens, else_=null()) if whens else cast(null(), Integer)


def _business_time(uow: UnitOfWork, notes: dict[int, Any], case_ids: list[int]) -> None:
    """Whether the new cases of business-time versions met their deadline, counted on their calendar."""
    calendars = {definition_id: calendar_for(process.calendar) for definition_id, process in notes.items()
                 if process.calendar}
    if not calendars:
        return
    rows = []
    for batch in _batches([(case_id, 0) for case_id in case_ids]):
        query = select(CF.instance_id, CF.definition_id, CF.started_at, CF.ended_at, CF.target_seconds).where(
            CF.instance_id.in_([case_id for case_id, _ in batch]), CF.definition_id.in_(list(calendars)),
            CF.target_seconds.is_not(None))
        rows += [{"case_id": case_id, "met": int(ended <= calendars[definition_id].due(started, target))}
                 for case_id, definition_id, started, ended, target in uow.session.execute(query)]
    if rows:
        table = CF.__table__
        uow.session.connection().execute(
            update(table).where(table.c.instance_id == bindparam("case_id")).values(within=bindparam("met")), rows)


def reprice(uow: UnitOfWork, role: str) -> None:
    """Price again, at the current rates, every finished case in which ``role`` worked (and their days' sums)."""
    cost = (select(func.coalesce(func.sum(TF.work_seconds * func.coalesce(cast(RoleRate.hourly_rate, Float), 0.0))
                                 / 3600.0, 0.0))
            .outerjoin(RoleRate, RoleRate.role == TF.role).where(TF.instance_id == CF.instance_id)
            .scalar_subquery())
    worked = CF.instance_id.in_(select(TF.instance_id).where(TF.role == role))
    rollups.move_costs(uow, worked, cost)
    uow.session.execute(update(CF).where(worked).values(cost=cost).execution_options(synchronize_session=False))


def fresh_scope(uow: UnitOfWork, filters: Filters) -> Scope:
    """The filters' scope (``engine.analytics.filters.resolve``) once the facts are brought up to date."""
    refresh(uow)
    return resolve(uow, filters)
