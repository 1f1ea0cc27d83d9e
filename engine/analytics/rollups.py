"""Daily sums of the facts, so that the figures which add up are read from a few hundred rows.

A dashboard's counts, sums of seconds, targets met and costs add up: half a
year of a step is the sum of its days. ``task_day`` holds them per version,
step, segment, role and UTC day, ``case_day`` per version, segment and day
(tables TaskDay, CaseDay). ``task_bucket`` counts a step's tasks per bucket
of each duration's values (20 % wide): where a median lies, so that reading
it from the facts' index walks one bucket, not half the step's tasks.
engine.analytics.facts keeps them in the transaction that writes the facts:
``add_tasks`` / ``add_cases`` add the facts it has just inserted (only those,
so two refreshes at once never count one twice), and ``move_costs`` moves the
cost sums by the change of their cases' costs when a rate changes.

``task_rows`` and ``case_rows`` give a scope's rows to add up, with the same
columns whether they come from the sums or from the facts: the days the
period covers whole from the sums, its ragged ends (a period from 09:00) from
the facts, and everything from the facts when a filter is not kept in the
sums (an assignee; for cases, a role or an assignee too). ``task_sums`` and
``case_sums`` add them up per segment and step (or week) in one statement,
which every figure of a page shares (kept on its Scope). Percentiles do not
add up: they are read from the facts (engine.analytics.sql), with ``task_buckets``
saying where to start over all time (every duration's buckets read at once),
and ``week_spreads`` giving the lead time and cost per week.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from operator import methodcaller
from typing import TYPE_CHECKING, Any, Optional, Sequence

from sqlalchemy import bindparam, case, func, literal_column, select, union_all, update
from sqlalchemy.sql.elements import ColumnElement

from engine.analytics.sql import Buckets, Spread, bucket_of, day_of, insert_for, spreads
from engine.storage.tables import CaseDay, CaseFact, TaskBucket, TaskDay, TaskFact
from engine.storage.uow import UnitOfWork

if TYPE_CHECKING:
    from engine.analytics.filters import Scope

TD, CD, TB, TF, CF = TaskDay, CaseDay, TaskBucket, TaskFact, CaseFact
SECONDS_EDGES = tuple(sorted({round(10 * 1.2 ** k) for k in range(90)}))  # 10 s to three years, 20 % apart
OVERRUN_EDGES = tuple(round(0.01 * 1.2 ** k, 6) for k in range(60))  # a hundredth to 470 times the target
BUCKETED = {"cycle": (TF.cycle_seconds, SECONDS_EDGES), "wait": (TF.wait_seconds, SECONDS_EDGES),
            "work": (TF.work_seconds, SECONDS_EDGES), "overrun": (TF.overrun, OVERRUN_EDGES)}
CLASS_SECONDS = [f"{kind}_{part}_seconds" for kind in ("va", "bva", "nva", "other") for part in ("work", "wait")]
TASK_SUMS = ["tasks", "cycle_seconds", "wait_seconds", "work_seconds", "waits", "works", "with_target", "within",
             "overruns"]
CASE_SUMS = ["cases", "with_target", "within", "lead_seconds", *CLASS_SECONDS, "cost", "pces"]
BATCH = 2000  # facts added up by one statement


# -- kept by engine.analytics.facts ------------------------------------------------------------

def _counted(column: Any) -> ColumnElement[int]:
    return case((column.is_not(None), 1), else_=0)


def _task_values() -> dict[str, ColumnElement[Any]]:
    """One task fact as a row of ``task_day``'s sums."""
    return {"tasks": literal_column("1"), "cycle_seconds": TF.cycle_seconds,
            "wait_seconds": func.coalesce(TF.wait_seconds, 0), "work_seconds": func.coalesce(TF.work_seconds, 0),
            "waits": _counted(TF.wait_seconds), "works": _counted(TF.work_seconds),
            "with_target": _counted(TF.within), "within": func.coalesce(TF.within, 0),
            "overruns": _counted(TF.overrun)}


def _case_values() -> dict[str, ColumnElement[Any]]:
    """One case fact as a row of ``case_day``'s sums."""
    return {"cases": literal_column("1"), "with_target": _counted(CF.within), "within": func.coalesce(CF.within, 0),
            "lead_seconds": CF.lead_seconds, **{name: getattr(CF, name) for name in CLASS_SECONDS},
            "cost": CF.cost, "pces": _counted(CF.pce)}


class _Sums:
    """How new facts are added to one table of sums, built once: one INSERT (per database) of the facts' sums per
    key, from a SELECT … GROUP BY per part (``parts``: each a part's key columns given one value, its keys, its
    values and the conditions narrowing its facts), that adds them to the rows already there (ON CONFLICT).

    The facts are named by their ids, ``BATCH`` at a time, written into the SQL when it runs: PostgreSQL plans
    each batch for its own ids (bound as parameters, a statement run over and over gets a generic plan that
    scans every fact). Each part's keys differ from the others' (a ``fixed`` column tells them apart), so no
    statement meets a key twice.
    """

    def __init__(self, table: Any, fact_id: Any, parts: Sequence[tuple[dict[str, str], dict[str, Any],
                                                                  dict[str, Any], Sequence[ColumnElement[bool]]]]):
        self.table = table
        fixed, keys, values, _ = parts[0]
        self.columns = [*fixed, *keys, *values]
        self.values = list(values)
        ids = fact_id.in_(bindparam("ids", expanding=True, literal_execute=True))
        selects = [self._select(part, ids) for part in parts]
        self.source = union_all(*selects) if len(selects) > 1 else selects[0]
        self._inserts: dict[str, Any] = {}

    @staticmethod
    def _select(part: Any, ids: Any) -> Any:
        fixed, keys, values, only = part
        return (select(*[literal_column(f"'{value}'") for value in fixed.values()], *keys.values(),
                       *[func.sum(value) for value in values.values()]).where(ids, *only).group_by(*keys.values()))

    def add(self, uow: UnitOfWork, ids: Sequence[int]) -> None:
        """Add the facts ``ids`` (those each part keeps), summed per key, batch by batch."""
        for start in range(0, len(ids), BATCH):
            uow.session.connection().execute(self._insert(uow), {"ids": list(ids[start:start + BATCH])})

    def _insert(self, uow: UnitOfWork) -> Any:
        dialect = uow.session.get_bind().dialect.name
        found = self._inserts.get(dialect)
        if found is None:
            statement = insert_for(uow.session, self.table).from_select(self.columns, self.source)
            found = self._inserts[dialect] = statement.on_conflict_do_update(
                index_elements=[column.name for column in self.table.__table__.primary_key],
                set_={name: self.table.__table__.c[name] + statement.excluded[name] for name in self.values})
        return found


@functools.cache
def _task_sums() -> tuple[_Sums, ...]:
    """The sums a new task fact is added to: its day's, and the buckets of each of its durations."""
    step = {"definition_id": TF.definition_id, "step_id": TF.step_id, "segment": TF.segment,
            "role": func.coalesce(TF.role, literal_column("''"))}
    return (_Sums(TD, TF.task_id, [({}, {**step, "day": day_of(TF.completed_at)}, _task_values(), [])]),
            _Sums(TB, TF.task_id, [({"metric": metric}, {**step, "bucket": bucket_of(column, edges)},
                                    {"tasks": literal_column("1")}, [column.is_not(None)])
                                   for metric, (column, edges) in BUCKETED.items()]))


@functools.cache
def _case_sums() -> _Sums:
    """The sums a new case fact is added to: its day's."""
    keys = {"definition_id": CF.definition_id, "segment": CF.segment, "day": day_of(CF.ended_at), "week": CF.week}
    return _Sums(CD, CF.instance_id, [({}, keys, _case_values(), [])])


def add_tasks(uow: UnitOfWork, task_ids: Sequence[int]) -> None:
    """Add these new task facts to their days' sums and to the buckets of their durations."""
    if task_ids:
        for sums in _task_sums():
            sums.add(uow, task_ids)


def add_cases(uow: UnitOfWork, case_ids: Sequence[int]) -> None:
    """Add these new case facts (with their final verdict on target) to their days' sums."""
    if case_ids:
        _case_sums().add(uow, case_ids)


def move_costs(uow: UnitOfWork, cases: Any, cost: Any) -> None:
    """Before the facts of ``cases`` (a condition on CaseFact) take their new ``cost``, move their days' sums."""
    day = day_of(CF.ended_at)
    change = (select(CF.definition_id, CF.segment, day.label("day"), func.sum(cost - CF.cost).label("change"))
              .where(cases).group_by(CF.definition_id, CF.segment, day).subquery("change"))
    uow.session.execute(update(CD).where(CD.definition_id == change.c.definition_id, CD.segment == change.c.segment,
                                         CD.day == change.c.day).values(cost=CD.cost + change.c.change)
                        .execution_options(synchronize_session=False))


# -- read by the analytics ----------------------------------------------------------

def task_rows(scope: "Scope") -> Any:
    """The scope's completed tasks as rows to add up: ``step_id``, ``segment`` and ``TASK_SUMS``."""
    sums = select(TD.step_id, TD.segment, *[getattr(TD, k) for k in TASK_SUMS]).where(*_kept(TD, scope))
    each = select(TF.step_id, TF.segment, *[v.label(k) for k, v in _task_values().items()])
    return _rows(scope, not scope.filters.assignee, sums, TD.day, each, methodcaller("task_facts"), "task_rows")


def case_rows(scope: "Scope") -> Any:
    """The scope's finished cases as rows to add up: ``segment``, ``week`` and ``CASE_SUMS``."""
    f = scope.filters
    sums = select(CD.segment, CD.week, *[getattr(CD, k) for k in CASE_SUMS]).where(*_kept(CD, scope))
    each = select(CF.segment, CF.week, *[v.label(k) for k, v in _case_values().items()])
    return _rows(scope, not (f.role or f.assignee), sums, CD.day, each, methodcaller("case_facts"), "case_rows")


def _kept(table: Any, scope: "Scope") -> list[ColumnElement[bool]]:
    """The conditions of the scope's filters that the sums in ``table`` keep (not the period)."""
    f = scope.filters
    conditions = [table.definition_id.in_(scope.ids)]
    if f.segment:
        conditions.append(table.segment == f.segment)
    if f.role and hasattr(table, "role"):
        conditions.append(table.role == f.role)
    return conditions


def _rows(scope: "Scope", kept: bool, sums: Any, day: Any, each: Any, facts: Any, name: str) -> Any:
    """One subquery: the ``sums`` of the period's whole days (by their ``day``), and ``each`` fact of the rest
    (the conditions ``facts`` gives a scope), or of all of it when the sums do not keep a filter (not ``kept``)."""
    days, ends = _split(scope, kept)
    parts = [each.where(*facts(end)) for end in ends]
    if days is not None:
        parts.insert(0, sums.where(*_within(day, days)))
    return union_all(*parts).subquery(name)


def task_sums(uow: UnitOfWork, scope: "Scope") -> dict[tuple[Optional[str], str], dict[str, Any]]:
    """The scope's completed tasks added up (``TASK_SUMS`` by name) per (segment, step), the segments of the
    scope's segment filter only; read once for the scope and those that differ from it in the segment alone."""
    found = _read(uow, scope, "task_sums", lambda rows: select(
        rows.c.segment, rows.c.step_id, *[func.sum(rows.c[name]) for name in TASK_SUMS])
        .group_by(rows.c.segment, rows.c.step_id), task_rows, TASK_SUMS)
    return _of_segment(scope, found)


def case_sums(uow: UnitOfWork, scope: "Scope") -> dict[tuple[Optional[str], Any], dict[str, Any]]:
    """The scope's finished cases added up (``CASE_SUMS`` by name) per (segment, week: as the database gives
    it, the value to bind for ``CaseFact.week``), the segments of the scope's segment filter only; read once
    for the scope and those that differ from it in the segment alone."""
    found = _read(uow, scope, "case_sums", lambda rows: select(
        rows.c.segment, rows.c.week, *[func.sum(rows.c[name]) for name in CASE_SUMS])
        .group_by(rows.c.segment, rows.c.week), case_rows, CASE_SUMS)
    return _of_segment(scope, found)


def week_spreads(uow: UnitOfWork, scope: "Scope") -> dict[str, dict[tuple, Spread]]:
    """The median and p90 of the lead time (``lead``) and of the cost (``cost``) of the scope's finished cases,
    per week (keyed as ``case_sums`` gives it); PostgreSQL reads both in one pass. Read once for the scope."""
    name = f"week_spreads:{scope.filters.segment or ''}"
    found = scope.reads.get(name)
    if found is None:
        cases: dict[tuple, int] = {}
        for (_, week), sums in case_sums(uow, scope).items():
            cases[(week,)] = cases.get((week,), 0) + int(sums["cases"])
        found = scope.reads[name] = spreads(uow.session, {"lead": CF.lead_seconds, "cost": CF.cost},
                                            scope.case_facts(), [CF.week], {"lead": cases, "cost": cases})
    return found


def added(sums: Any, *names: str) -> list[Any]:
    """The totals of ``names`` over rows of ``task_sums`` / ``case_sums`` (None for a sum of nothing)."""
    totals: list[Any] = [None] * len(names)
    for row in sums:
        for index, name in enumerate(names):
            value = row[name]
            if value is not None:
                totals[index] = value if totals[index] is None else totals[index] + value
    return totals


def _read(uow: UnitOfWork, scope: "Scope", name: str, query: Any, rows: Any,
          sums: Sequence[str]) -> dict[tuple, dict[str, Any]]:
    found = scope.reads.get(name)
    if found is None:
        statement = query(rows(scope.but(segment=None)))
        found = scope.reads[name] = {(row[0], row[1]): dict(zip(sums, row[2:]))
                                     for row in uow.session.connection().execute(statement)}
    return found


def _of_segment(scope: "Scope", found: dict[tuple, Any]) -> dict[tuple, Any]:
    segment = scope.filters.segment
    return found if not segment else {key: value for key, value in found.items() if key[0] == segment}


def task_buckets(uow: UnitOfWork, scope: "Scope", metric: str, groups: Sequence[Any]) -> Optional[Buckets]:
    """Per value of ``groups`` (TaskFact.step_id, and TaskFact.segment if wanted) the buckets of the scope's
    tasks' ``metric`` (a key of ``BUCKETED``), for engine.analytics.sql.percentiles; None when the scope is not
    kept in the buckets (a period or an assignee). Every metric's buckets are read at once, per step and
    segment, for the scope and those that differ from it in the segment alone."""
    f = scope.filters
    if not scope.all_time or f.assignee:
        return None
    every = scope.reads.get("buckets")
    if every is None:
        every = scope.reads["buckets"] = {}
        query = (select(TB.metric, TB.step_id, TB.segment, TB.bucket, func.sum(TB.tasks))
                 .where(TB.metric.in_(list(BUCKETED)), *_kept(TB, scope.but(segment=None)))
                 .group_by(TB.metric, TB.step_id, TB.segment, TB.bucket))
        for name, step_id, segment, bucket, n in uow.session.connection().execute(query):
            every.setdefault(name, []).append((step_id, segment, bucket, int(n)))
    by_segment = [group.key for group in groups] == ["step_id", "segment"]
    counted: dict[tuple, dict[int, int]] = {}
    for step_id, segment, bucket, n in every.get(metric, []):
        if f.segment and segment != f.segment:
            continue
        cells = counted.setdefault((step_id, segment) if by_segment else (step_id,), {})
        cells[bucket] = cells.get(bucket, 0) + n
    edges = BUCKETED[metric][1]
    return {key: [(edges[bucket - 1] if bucket else None, n) for bucket, n in sorted(cells.items())]
            for key, cells in counted.items()}


Days = tuple[Optional[date], Optional[date]]


def _split(scope: "Scope", kept: bool) -> tuple[Optional[Days], list["Scope"]]:
    """The whole UTC days [first, last) of the period, read from the sums (None: none, or ``kept`` is false),
    and the scopes of what is read from the facts: the period's ragged ends, or all of it."""
    f = scope.filters
    if not kept:
        return None, [scope]
    first = last = None
    if f.start is not None:
        first = _midnight(f.start) + (timedelta() if f.start.time() == time() else timedelta(days=1))
    if f.end is not None:
        last = _midnight(f.end)
    if first is not None and last is not None and first >= last:
        return None, [scope]
    ends = []
    if f.start is not None and first is not None and f.start < first:
        ends.append(scope.but(end=first))
    if f.end is not None and last is not None and last < f.end:
        ends.append(scope.but(start=last))
    return (None if first is None else first.date(), None if last is None else last.date()), ends


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), moment.tzinfo)


def _within(column: Any, days: Days) -> list[ColumnElement[bool]]:
    first, last = days
    conditions = []
    if first is not None:
        conditions.append(column >= first)
    if last is not None:
        conditions.append(column < last)
    return conditions
