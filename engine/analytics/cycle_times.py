"""Cycle time against target, end to end and step by step, aggregated in SQL.

Each function takes a unit of work and ``Filters`` (engine.analytics.filters) and returns
plain dataclasses; the dashboard pages, the CLI and the bench call them.
Durations come from the ``human_task`` rows (created → claimed → completed, and
``due_at``, which already honours the segment's target and the process's
calendar) and the ``process_instance`` rows (started → ended), through their
pre-aggregated facts (engine.analytics.facts, refreshed at the start of each call): what
adds up from their daily sums (engine.analytics.rollups), medians and 90th percentiles
from the facts, in the database (engine.analytics.sql), in whole seconds; what is
open now is read from ``human_task`` itself.

Durations are in seconds, shares are fractions from 0 to 1 (None when there
is nothing to divide). The cycle time of a step is created → completed, its
wait is created → claimed, its work is claimed → completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import and_, case, func, null, or_, select

from engine.analytics import costs, sql
from engine.analytics.costs import CostSummary
from engine.analytics.facts import fresh_scope, refresh
from engine.analytics.filters import (OPEN_CASE_STATUSES, Filters, Scope, VersionTarget, all_of, resolve, share,
                                      wait_seconds, work_seconds)
from engine.analytics.risk import open_work
from engine.analytics.rollups import CLASS_SECONDS, added, case_sums, task_buckets, task_sums, week_spreads
from engine.analytics.sql import Spread, as_date, moment, percentiles, seconds_between, week_start
from engine.errors import NotFound
from engine.storage.tables import CaseFact, Customer, HumanTask, ProcessInstance, TaskFact
from engine.storage.uow import UnitOfWork

I, T = ProcessInstance, HumanTask
TF, CF = TaskFact, CaseFact
VALUE_CLASS_ORDER = ("VA", "BVA", "NVA")
GREEN, AMBER, RED, NO_DATA = "green", "amber", "red", "none"


# -- the process as a whole ------------------------------------------------------------

@dataclass(frozen=True)
class ProcessSummary:
    """Cases started, finished and open, and the end-to-end cycle time of those finished, against target.

    ``target_seconds`` is the newest version's target, ``targets`` each version's in scope: each case is
    measured against its own version's."""

    process: str
    name: str
    versions: tuple[int, ...]
    calendar: str
    started: int
    finished: int
    cancelled: int
    running: int
    lead: Spread
    target_seconds: Optional[int]
    targets: tuple[VersionTarget, ...]
    with_target: int
    within_target: int
    share_within_target: Optional[float]


def process_summary(uow: UnitOfWork, filters: Filters) -> ProcessSummary:
    """Started / finished / cancelled in the period, running at its end (or now), lead time median and p90."""
    with uow:
        return summary_of(uow, fresh_scope(uow, filters))


def summary_of(uow: UnitOfWork, scope: Scope) -> ProcessSummary:
    """``process_summary`` for a resolved scope, inside an open unit of work."""
    f = scope.filters
    counts = [sum(week[index] for week in _cases_by_week(uow, scope).values()) for index in range(3)]
    n, with_target, within = (int(v or 0) for v in added(case_sums(uow, scope).values(), "cases", "with_target",
                                                            "within"))
    lead = percentiles(uow.session, CF.lead_seconds, scope.case_facts(), counts={(): n},
                       walk=scope.all_time).get((), Spread.empty())
    return ProcessSummary(
        process=f.process, name=scope.name, versions=tuple(v.version for v in scope.versions),
        calendar=scope.newest.calendar.describe(), started=int(counts[0]), finished=n,
        cancelled=int(counts[1]), running=int(counts[2]), lead=lead, target_seconds=scope.process_target(f.segment),
        targets=scope.process_targets(f.segment),
        with_target=with_target, within_target=within, share_within_target=share(within, with_target))


def _cases_by_week(uow: UnitOfWork, scope: Scope) -> dict[Optional[date], tuple[int, int, int]]:
    """Per week in which a case started in the period (None: started outside it), how many of the scope's cases
    started in the period, were cancelled in it, and were open at its end (or are open now): the summary's
    counts and the trend's cases started, in one statement, read once for the scope."""
    name = f"cases_by_week:{scope.filters.segment or ''}"
    found = scope.reads.get(name)
    if found is None:
        f = scope.filters
        if f.end is not None:
            open_at_end = and_(I.started_at < moment(f.end), or_(I.ended_at.is_(None), I.ended_at >= moment(f.end)))
        else:
            open_at_end = and_(I.ended_at.is_(None), I.status.in_(OPEN_CASE_STATUSES))
        started = all_of(scope.in_period(I.started_at))
        week = case((started, week_start(I.started_at)), else_=null())
        found = scope.reads[name] = {as_date(row[0]): tuple(int(v or 0) for v in row[1:])
                                     for row in uow.session.connection().execute(select(
                                         week, func.sum(case((started, 1), else_=0)),
                                         func.sum(case((and_(I.status == "cancelled",
                                                             all_of(scope.in_period(I.ended_at))), 1), else_=0)),
                                         func.sum(case((open_at_end, 1), else_=0)))
                                         .where(*scope.cases()).group_by(week))}
    return found


@dataclass(frozen=True)
class Week:
    """One week of the trend: cases started and finished, and the lead time of those finished."""

    week: date
    started: int
    finished: int
    lead: Spread
    share_within_target: Optional[float]


def weekly_trend(uow: UnitOfWork, filters: Filters) -> list[Week]:
    """Week by week (Mondays, UTC), every week from the first to the last with a case started or finished."""
    with uow:
        return trend_of(uow, fresh_scope(uow, filters))


def trend_of(uow: UnitOfWork, scope: Scope) -> list[Week]:
    """``weekly_trend`` for a resolved scope, inside an open unit of work."""
    by_week = _by_week(case_sums(uow, scope), "cases", "with_target", "within")
    counts = {as_date(w): (int(n), int(known), int(met)) for w, (n, known, met) in by_week.items()}
    leads = {as_date(key[0]): spread for key, spread in week_spreads(uow, scope)["lead"].items()}
    started = {week: n for week, (n, _, _) in _cases_by_week(uow, scope).items() if week is not None}
    finished = {w: (n, known, met, leads.get(w, Spread.empty())) for w, (n, known, met) in counts.items()}
    weeks = sorted(set(finished) | set(started))
    trend = []
    if weeks:
        current = weeks[0]
        while current <= weeks[-1]:
            n, known, met, lead = finished.get(current, (0, 0, 0, Spread.empty()))
            trend.append(Week(current, started.get(current, 0), n, lead, share(met, known)))
            current += timedelta(days=7)
    return trend


# -- step by step ----------------------------------------------------------------------

@dataclass(frozen=True)
class StepFigures:
    """One user task: how long it takes, waiting and working, against its target, and what is open now.

    ``target_seconds`` is the newest version's target, ``targets`` each version's in scope that has the step;
    ``segment_targets``, with no segment chosen, the segments whose own target differs from the step's, against
    which their tasks are measured (when the versions in scope agree on them)."""

    step_id: str
    name: str
    role: Optional[str]
    value_class: Optional[str]
    target_seconds: Optional[int]
    targets: tuple[VersionTarget, ...]
    count: int
    cycle: Spread
    wait: Spread
    work: Spread
    total_cycle_seconds: float
    total_wait_seconds: float
    total_work_seconds: float
    with_target: int
    within_target: int
    share_within_target: Optional[float]
    share_of_lead_time: Optional[float]
    open_now: int
    breached_now: int
    status: str
    segment_targets: dict[str, int]


def heat_status(within: int, with_target: int) -> str:
    """The heat-map colour of a step, each task measured against its own target (segment and calendar).

    Green: at least 90 % met their target (the p90 is within target); amber:
    at least half did (the median is, the p90 is not); red: fewer than half
    (the median is over target); "none" without completed tasks that have a target.
    """
    if not with_target:
        return NO_DATA
    met = within / with_target
    if met >= 0.9:
        return GREEN
    if met >= 0.5:
        return AMBER
    return RED


def step_table(uow: UnitOfWork, filters: Filters) -> list[StepFigures]:
    """Every user task of the versions in scope, the step taking the largest share of the time first.

    ``count`` and the durations are over the tasks completed in the period;
    ``share_of_lead_time`` is the step's part of the time spent in all steps;
    ``open_now``/``breached_now`` count the tasks open at the clock's now.
    """
    with uow:
        scope = fresh_scope(uow, filters)
        return steps_of(uow, scope)


@dataclass(frozen=True)
class _StepSums:
    """A step's completed tasks added up over the segments in scope (``task_sums``)."""

    count: Any
    total_cycle: Any
    total_wait: Any
    total_work: Any
    with_target: Any
    within: Any
    waits: Any
    works: Any


def _by_week(sums: dict[tuple, dict[str, Any]], *names: str) -> dict[Any, list[Any]]:
    """``names`` added up per week over the rows of ``case_sums``."""
    rows: dict[Any, list[dict[str, Any]]] = {}
    for (_, week), row in sums.items():
        rows.setdefault(week, []).append(row)
    return {week: added(found, *names) for week, found in rows.items()}


def steps_of(uow: UnitOfWork, scope: Scope) -> list[StepFigures]:
    """``step_table`` for a resolved scope, inside an open unit of work."""
    by_step: dict[str, list[dict]] = {}
    for (_, step_id), sums in task_sums(uow, scope).items():
        by_step.setdefault(step_id, []).append(sums)
    done = {step_id: _StepSums(*added(rows, "tasks", "cycle_seconds", "wait_seconds", "work_seconds", "with_target",
                                      "within", "waits", "works"))
            for step_id, rows in by_step.items()}
    # Over all time, walking each step's index of a duration (ix_task_fact_cycle …) from the bucket that holds
    # the rank beats PostgreSQL's percentile_cont too, which sorts every task of the process.
    metrics = {"cycle": TF.cycle_seconds, "wait": TF.wait_seconds, "work": TF.work_seconds}
    found = sql.spreads(
        uow.session, metrics, scope.task_facts(), [TF.step_id],
        {metric: {(step,): int(getattr(row, count)) for step, row in done.items()}
         for metric, count in (("cycle", "count"), ("wait", "waits"), ("work", "works"))},
        walk=scope.all_time, buckets={metric: task_buckets(uow, scope, metric, [TF.step_id]) for metric in metrics})
    spreads = {metric: {key[0]: spread for key, spread in by_step.items()} for metric, by_step in found.items()}
    open_now = open_work(uow, scope)
    step_ids = scope.step_ids() + sorted((set(done) | set(open_now)) - set(scope.step_ids()))
    total = sum(float(r.total_cycle or 0) for r in done.values())
    figures = []
    for step_id in step_ids:
        note = scope.step(step_id)
        row, current = done.get(step_id), open_now.get(step_id)
        with_target = int(row.with_target or 0) if row else 0
        within = int(row.within or 0) if row else 0
        figures.append(StepFigures(
            step_id=step_id, name=note.name if note else step_id, role=note.role if note else None,
            value_class=note.value_class if note else None,
            target_seconds=note.target_for(scope.filters.segment) if note else None,
            targets=scope.step_targets(step_id, scope.filters.segment),
            count=int(row.count) if row else 0,
            cycle=spreads["cycle"].get(step_id, Spread.empty()), wait=spreads["wait"].get(step_id, Spread.empty()),
            work=spreads["work"].get(step_id, Spread.empty()),
            total_cycle_seconds=round(float(row.total_cycle or 0), 3) if row else 0.0,
            total_wait_seconds=round(float(row.total_wait or 0), 3) if row else 0.0,
            total_work_seconds=round(float(row.total_work or 0), 3) if row else 0.0,
            with_target=with_target, within_target=within, share_within_target=share(within, with_target),
            share_of_lead_time=share(float(row.total_cycle or 0), total) if row else (0.0 if total else None),
            open_now=current[0] if current else 0, breached_now=current[1] if current else 0,
            status=heat_status(within, with_target),
            segment_targets={} if scope.filters.segment else _own_segment_targets(scope, step_id)))
    order = {step_id: i for i, step_id in enumerate(step_ids)}
    figures.sort(key=lambda s: (-s.total_cycle_seconds, order[s.step_id]))
    return figures


def _own_segment_targets(scope: Scope, step_id: str) -> dict[str, int]:
    """The segments whose target for the step is not its default one, by name; none when the versions in scope
    that have the step set different ones."""
    found = [{segment: seconds for segment, seconds in sorted(note.segment_targets.items())
              if seconds != note.target_seconds}
             for note in (v.annotations.steps.get(step_id) for v in scope.versions) if note is not None]
    return found[0] if found and all(f == found[0] for f in found) else {}


@dataclass(frozen=True)
class HeatCell:
    """What the heat map draws on one user task of the diagram."""

    step_id: str
    name: str
    status: str
    count: int
    median_seconds: Optional[float]
    p90_seconds: Optional[float]
    target_seconds: Optional[int]
    share_within_target: Optional[float]
    breached_now: int


def heat_map(uow: UnitOfWork, filters: Filters) -> dict[str, HeatCell]:
    """Per user task (by BPMN id): its colour (see ``heat_status``), count, median and p90 against target."""
    return {s.step_id: HeatCell(s.step_id, s.name, s.status, s.count, s.cycle.median, s.cycle.p90,
                                s.target_seconds, s.share_within_target, s.breached_now)
            for s in step_table(uow, filters)}


@dataclass(frozen=True)
class SlowCase:
    """One task of a step, among its slowest: completed in the period, or open and ageing."""

    task_id: int
    instance_id: int
    customer_id: str
    customer_name: str
    segment: str
    assignee: Optional[str]
    status: str
    created_at: datetime
    claimed_at: Optional[datetime]
    completed_at: Optional[datetime]
    due_at: Optional[datetime]
    cycle_seconds: float
    wait_seconds: Optional[float]
    work_seconds: Optional[float]
    late: bool


def slowest_cases(uow: UnitOfWork, filters: Filters, step_id: str, limit: int = 10) -> list[SlowCase]:
    """The step's tasks that took (or, open, have taken so far) longest, slowest first.

    The completed ones come from the step's index of cycle times, the open ones are the oldest open.
    """
    with uow:
        return slowest_of(uow, fresh_scope(uow, filters), step_id, limit)


def slowest_of(uow: UnitOfWork, scope: Scope, step_id: str, limit: int) -> list[SlowCase]:
    """``slowest_cases`` for a resolved scope, inside an open unit of work."""
    now = moment(scope.now)
    done = [r[0] for r in uow.session.execute(
        select(TF.task_id).where(*scope.task_facts(), TF.step_id == step_id)
        .order_by(TF.cycle_seconds.desc(), TF.task_id).limit(limit))]
    still_open = [r[0] for r in uow.session.execute(
        select(T.id).where(*scope.open_tasks(), T.step_id == step_id).order_by(T.created_at, T.id).limit(limit))]
    ended = func.coalesce(T.completed_at, now)
    query = (select(T.id, T.instance_id, I.customer_id, Customer.name, I.segment, T.assignee, T.status,
                    T.created_at, T.claimed_at, T.completed_at, T.due_at,
                    seconds_between(T.created_at, ended).label("elapsed"),
                    seconds_between(T.created_at, func.coalesce(T.claimed_at, now)),
                    case((T.claimed_at.is_(None), null()), else_=seconds_between(T.claimed_at, ended)),
                    case((T.due_at.is_(None), False), else_=T.due_at < ended))
             .join_from(T, I, T.instance_id == I.id).join(Customer, Customer.id == I.customer_id)
             .where(T.id.in_(done + still_open)))
    found = [SlowCase(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], float(r[11]),
                      None if r[12] is None else float(r[12]), None if r[13] is None else float(r[13]),
                      bool(r[14])) for r in uow.session.execute(query)]
    found.sort(key=lambda s: (-s.cycle_seconds, s.task_id))
    return found[:limit]


# -- efficiency --------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassTime:
    """Time spent in the steps of one value class (VA, BVA, NVA, or "unclassified")."""

    value_class: str
    work_seconds: float
    wait_seconds: float
    share: Optional[float]


@dataclass(frozen=True)
class Efficiency:
    """Process cycle efficiency: work on value-adding (VA) steps ÷ end-to-end lead time, of finished cases."""

    cases: int
    lead_seconds: float
    va_work_seconds: float
    pce: Optional[float]
    case_pce: Spread
    split: tuple[ClassTime, ...]


def efficiency(uow: UnitOfWork, filters: Filters) -> Efficiency:
    """PCE over all cases finished in the period (Σ VA work ÷ Σ lead), per case (median, p90), and the
    split of their steps' time (work and wait) by value class."""
    with uow:
        return efficiency_of(uow, fresh_scope(uow, filters))


def efficiency_of(uow: UnitOfWork, scope: Scope) -> Efficiency:
    """``efficiency`` for a resolved scope, inside an open unit of work."""
    total = added(case_sums(uow, scope).values(), "cases", "lead_seconds", "pces", *CLASS_SECONDS)
    pce = percentiles(uow.session, CF.pce, scope.case_facts(), counts={(): int(total[2] or 0)},
                      walk=scope.all_time).get((), Spread.empty())
    times = dict(zip(CLASS_SECONDS, (float(v or 0) for v in total[3:])))
    lead_total, va_total = float(total[1] or 0), times["va_work_seconds"]
    all_time = sum(times.values())
    split = tuple(ClassTime(label, times[f"{kind}_work_seconds"], times[f"{kind}_wait_seconds"],
                            share(times[f"{kind}_work_seconds"] + times[f"{kind}_wait_seconds"], all_time))
                  for kind, label in (("va", "VA"), ("bva", "BVA"), ("nva", "NVA"), ("other", "unclassified"))
                  if kind != "other" or times["other_work_seconds"] or times["other_wait_seconds"])
    return Efficiency(int(total[0] or 0), lead_total, va_total, share(va_total, lead_total), pce, split)


@dataclass(frozen=True)
class CaseEfficiency:
    """One case's lead time (so far, while open), its work by value class, its waiting, and its PCE."""

    instance_id: int
    status: str
    lead_seconds: float
    work_seconds: dict[str, float]
    wait_seconds: float
    pce: Optional[float]


def case_efficiency(uow: UnitOfWork, instance_id: int) -> CaseEfficiency:
    """The PCE of one case: its VA work ÷ its lead time (up to now while it runs)."""
    with uow.reading():
        found = uow.session.execute(
            select(I.status, seconds_between(I.started_at, func.coalesce(I.ended_at, moment(uow.clock.now()))))
            .where(I.id == instance_id)).first()
        if found is None:
            raise NotFound(f"no instance {instance_id}")
        klass = func.coalesce(T.value_class, "unclassified")
        rows = uow.session.execute(select(klass, func.sum(work_seconds()), func.sum(wait_seconds()))
                                   .where(T.instance_id == instance_id, T.status == "completed")
                                   .group_by(klass)).all()
    work = {k: round(float(w or 0), 3) for k, w, _ in rows}
    lead = float(found[1])
    return CaseEfficiency(instance_id, found[0], round(lead, 3), work,
                          round(sum(float(q or 0) for _, _, q in rows), 3), share(work.get("VA", 0.0), lead))


# -- two versions side by side ------------------------------------------------------------

@dataclass(frozen=True)
class VersionFigures:
    """The dashboard's main figures for one version of a process."""

    version: int
    summary: ProcessSummary
    steps: list[StepFigures]
    efficiency: Efficiency
    cost: CostSummary


def compare_versions(uow: UnitOfWork, filters: Filters, first: int, second: int) -> tuple[VersionFigures, ...]:
    """The same figures for two versions of the filtered process, e.g. before and after a redesign."""
    with uow:
        refresh(uow)
        found = []
        for version in (first, second):
            scope = resolve(uow, filters.but(version=version))
            found.append(VersionFigures(version, summary_of(uow, scope), steps_of(uow, scope),
                                        efficiency_of(uow, scope), costs.cost_of(uow, scope)))
        return tuple(found)
