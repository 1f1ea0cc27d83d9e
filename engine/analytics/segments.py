"""Customer segments against their own targets, so that none is quietly starved.

Premium customers may be promised shorter targets than standard ones; what
must not happen is that one segment misses its own targets far more often
than the others. ``segment_report`` measures each segment against its own
end-to-end and step targets and words a flag for a segment that is clearly
worse: its share of cases within target is at least ``GAP`` below that of the
other segments together, with at least ``MIN_CASES`` finished cases on each
side. The flag names the step where that segment overruns its target most:
"standard customers wait 2.3× longer than their target allows at Review application", where 2.3 is
the median, over that segment's tasks of the step, of cycle time ÷ the task's own target.

The segment filter is ignored here: the report compares all segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from engine.analytics.facts import fresh_scope
from engine.analytics.filters import Filters, Scope, VersionTarget, share
from engine.analytics.rollups import added, case_sums, task_buckets, task_sums
from engine.analytics.sql import Spread, percentiles
from engine.storage.tables import CaseFact, TaskFact
from engine.storage.uow import UnitOfWork

TF, CF = TaskFact, CaseFact
MIN_CASES = 10
MIN_TASKS = 5
GAP = 0.15


@dataclass(frozen=True)
class SegmentStep:
    """One step for one segment: how often, and by how much, it overran the segment's target for it."""

    step_id: str
    name: str
    count: int
    target_seconds: Optional[int]
    with_target: int
    within_target: int
    share_within_target: Optional[float]
    overrun: Optional[float]  # the median of each task's cycle time ÷ its own target


@dataclass(frozen=True)
class SegmentFigures:
    """One segment: its finished cases' lead time against its own end-to-end target, and its steps."""

    segment: str
    finished: int
    lead: Spread
    target_seconds: Optional[int]
    targets: tuple[VersionTarget, ...]  # each version's in scope, newest first
    with_target: int
    within_target: int
    share_within_target: Optional[float]
    steps: tuple[SegmentStep, ...]


@dataclass(frozen=True)
class SegmentReport:
    segments: tuple[SegmentFigures, ...]
    flags: tuple[str, ...]


def segment_report(uow: UnitOfWork, filters: Filters) -> SegmentReport:
    """Every segment with finished cases or completed tasks in the period, and the flags worth reading."""
    with uow:
        return report_of(uow, fresh_scope(uow, filters))


def report_of(uow: UnitOfWork, scope: Scope) -> SegmentReport:
    """``segment_report`` for a resolved scope, inside an open unit of work."""
    scope = scope.but(segment=None)
    cases = _case_rows(uow, scope)
    steps = _step_rows(uow, scope)
    segments = []
    for segment in sorted(set(cases) | set(steps)):
        finished, with_target, within, lead = cases.get(segment, (0, 0, 0, Spread.empty()))
        segments.append(SegmentFigures(
            segment=segment, finished=finished, lead=lead, target_seconds=scope.process_target(segment),
            targets=scope.process_targets(segment),
            with_target=with_target, within_target=within, share_within_target=share(within, with_target),
            steps=tuple(_segment_steps(scope, segment, steps.get(segment, {})))))
    return SegmentReport(tuple(segments), tuple(_flags(segments)))


def _case_rows(uow: UnitOfWork, scope: Scope) -> dict[str, tuple[int, int, int, Spread]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for (segment, _), sums in case_sums(uow, scope).items():
        rows.setdefault(segment, []).append(sums)
    by_segment = [(segment, *(int(v) for v in added(found, "cases", "with_target", "within")))
                  for segment, found in rows.items()]
    leads = percentiles(uow.session, CF.lead_seconds, scope.case_facts(), [CF.segment],
                        {(segment,): n for segment, n, _, _ in by_segment}, walk=scope.all_time)
    return {segment: (n, known, met, leads.get((segment,), Spread.empty())) for segment, n, known, met in by_segment}


def _step_rows(uow: UnitOfWork, scope: Scope) -> dict[str, dict[str, tuple[int, int, int, Spread]]]:
    by_step = [(segment, step_id, *(int(sums[name]) for name in ("tasks", "with_target", "within", "overruns")))
               for (segment, step_id), sums in task_sums(uow, scope).items()]
    # Only the overrun's median is read (the starvation flag). ix_task_fact_overrun orders each (step,
    # segment)'s overruns, so over all time walking it from the median's bucket beats PostgreSQL's sort too.
    overruns = percentiles(uow.session, TF.overrun, scope.task_facts(), [TF.step_id, TF.segment],
                           {(r[1], r[0]): r[5] for r in by_step}, walk=scope.all_time, percents=(50,),
                           buckets=task_buckets(uow, scope, "overrun", [TF.step_id, TF.segment]))
    found: dict[str, dict[str, tuple[int, int, int, Spread]]] = {}
    for segment, step_id, n, known, met, _ in by_step:
        found.setdefault(segment, {})[step_id] = (n, known, met, overruns.get((step_id, segment), Spread.empty()))
    return found


def _segment_steps(scope: Scope, segment: str, rows: dict) -> list[SegmentStep]:
    steps = []
    for step_id in scope.step_ids() + sorted(set(rows) - set(scope.step_ids())):
        note = scope.step(step_id)
        count, with_target, within, overrun = rows.get(step_id, (0, 0, 0, Spread.empty()))
        steps.append(SegmentStep(step_id, note.name if note else step_id, count,
                                 note.target_for(segment) if note else None, with_target, within,
                                 share(within, with_target),
                                 None if overrun.median is None else round(overrun.median, 2)))
    return steps


def _flags(segments: list[SegmentFigures]) -> list[str]:
    flags = []
    for figures in segments:
        others = [s for s in segments if s.segment != figures.segment]
        other_with = sum(s.with_target for s in others)
        if figures.with_target < MIN_CASES or other_with < MIN_CASES:
            continue
        mine = figures.within_target / figures.with_target
        theirs = sum(s.within_target for s in others) / other_with
        if mine > theirs - GAP:
            continue
        worst = max((s for s in figures.steps if s.overrun and s.overrun > 1 and s.count >= MIN_TASKS),
                    key=lambda s: s.overrun or 0, default=None)
        if worst is not None:
            flags.append(f"{figures.segment} customers wait {worst.overrun:.1f}× longer than their target "
                         f"allows at {worst.name}")
        else:
            flags.append(f"{figures.segment} customers are served within their target {mine:.0%} of the time, "
                         f"other customers {theirs:.0%}")
    return flags
