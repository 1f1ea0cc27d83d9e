"""Customer satisfaction against cycle time: do customers who wait longer score lower?

Finished, scored cases (scores come from engine.work.feedback) are binned by
their end-to-end lead time, in multiples of the process's target (hours when
it has none), and each segment gets its mean score per bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import case, func, select

from engine.analytics.facts import fresh_scope
from engine.analytics.filters import Filters, Scope
from engine.storage.tables import CaseFact, CaseFeedback
from engine.storage.uow import UnitOfWork

CF = CaseFact
# Bins of lead time as multiples of the process's target; hours when it has none.
TARGET_MULTIPLES = (0.5, 1.0, 1.5, 2.0, 3.0)
HOURS_WITHOUT_TARGET = (4, 8, 24, 48, 96, 168)


@dataclass(frozen=True)
class SatisfactionBin:
    """Cases whose lead time fell in [low, high) seconds (high None: no upper bound)."""

    low_seconds: float
    high_seconds: Optional[float]
    count: int
    mean_score: Optional[float]


@dataclass(frozen=True)
class SegmentSatisfaction:
    segment: str
    count: int
    mean_score: Optional[float]
    bins: tuple[SatisfactionBin, ...]


@dataclass(frozen=True)
class SatisfactionReport:
    """Scores against end-to-end lead time, by segment; bins are multiples of ``target_seconds`` when set."""

    target_seconds: Optional[int]
    edges: tuple[float, ...]
    count: int
    mean_score: Optional[float]
    segments: tuple[SegmentSatisfaction, ...]


def satisfaction_vs_cycle_time(uow: UnitOfWork, filters: Filters) -> SatisfactionReport:
    """Mean score per lead-time bin and segment, over the scored cases finished in the period."""
    with uow:
        return satisfaction_of(uow, fresh_scope(uow, filters))


def satisfaction_of(uow: UnitOfWork, scope: Scope) -> SatisfactionReport:
    """``satisfaction_vs_cycle_time`` for a resolved scope, inside an open unit of work."""
    target = scope.process_target(scope.filters.segment)
    edges = tuple(float(target * m) for m in TARGET_MULTIPLES) if target else \
        tuple(float(h * 3600) for h in HOURS_WITHOUT_TARGET)
    bin_of = case(*[(CF.lead_seconds < edge, index) for index, edge in enumerate(edges)], else_=len(edges))
    rows = uow.session.execute(
        select(CF.segment, bin_of.label("bin"), func.count(), func.avg(CaseFeedback.score))
        .join(CaseFeedback, CaseFeedback.instance_id == CF.instance_id).where(*scope.case_facts())
        .group_by(CF.segment, bin_of)).all()
    bounds = (0.0, *edges)
    by_segment: dict[str, dict[int, tuple[int, float]]] = {}
    for segment, index, count, mean in rows:
        by_segment.setdefault(segment, {})[int(index)] = (int(count), float(mean))
    segments = []
    for segment in sorted(by_segment):
        cells = by_segment[segment]
        bins = tuple(SatisfactionBin(bounds[i], edges[i] if i < len(edges) else None, cells.get(i, (0, 0.0))[0],
                                     round(cells[i][1], 2) if i in cells else None) for i in range(len(edges) + 1))
        count = sum(c for c, _ in cells.values())
        segments.append(SegmentSatisfaction(segment, count, _mean(cells.values()), bins))
    everything = [cell for cells in by_segment.values() for cell in cells.values()]
    return SatisfactionReport(target, edges, sum(c for c, _ in everything), _mean(everything), tuple(segments))


def _mean(cells: Iterable[tuple[int, float]]) -> Optional[float]:
    pairs = list(cells)
    count = sum(c for c, _ in pairs)
    return round(sum(c * m for c, m in pairs) / count, 2) if count else None

