"""The dashboard's charts and heat map as JSON for web/static/dashboard.js: engine figures in display units.

Only translation happens here (seconds to hours or days, labels in words); every figure comes from the engine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from engine.analytics.dashboards import Dashboard
from web.present import duration, duration_beside, money_label, segment_targets_text, single_target

HEAT_WORDS = {"green": "Within target", "amber": "p90 over target", "red": "Median over target",
              "none": "No finished tasks"}
HEAT_SHORT = {"green": "On target", "amber": "p90 over", "red": "Over target", "none": "No data"}
HEAT_MEANINGS = {"green": "nine in ten or more met their target",
                 "amber": "the median is within target, the slowest tenth is not",
                 "red": "more than half took longer than their target",
                 "none": "no task of this step finished in the period"}


def time_unit(seconds: Iterable[Optional[float]]) -> tuple[str, int]:
    """Hours, or days when the largest value is over three days."""
    largest = max((s for s in seconds if s is not None), default=0)
    return ("days", 86400) if largest > 3 * 86400 else ("hours", 3600)


def _scaled(value: Optional[float], unit: int) -> Optional[float]:
    return None if value is None else round(value / unit, 2)


def compact(seconds: Optional[float], target: Optional[int] = None) -> str:
    """A duration short enough for the diagram: ``45 min``, ``1 h 21``, ``4 h``, ``2 d 4 h``; beside a ``target``
    it would read as while it is not, spelled out in full (web.present.duration_beside)."""
    if seconds is not None and target and seconds != target and compact(seconds) == compact(target):
        return duration_beside(seconds, target)
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min" if minutes else "< 1 min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def heat_cells(dashboard: Dashboard, step_url: Callable[[str], str]) -> dict[str, dict[str, Any]]:
    """What each user task of the diagram carries: its colour and words, median against target, count, link."""
    return {s.step_id: {"name": s.name, "status": s.status, "word": HEAT_WORDS[s.status],
                        "short": HEAT_SHORT[s.status], "median": compact(s.cycle.median, s.target_seconds),
                        "target": compact(s.target_seconds) if s.target_seconds else "no target",
                        "segment_targets": segment_targets_text(s.segment_targets),
                        "count": s.count, "breached": s.breached_now, "url": step_url(s.step_id),
                        "chosen": dashboard.step is not None and dashboard.step.step_id == s.step_id}
            for s in dashboard.heat_steps}


def dashboard_charts(dashboard: Dashboard, currency: Optional[str]) -> dict[str, Any]:
    """The weekly trend, the time by value class, the cost trend (in ``currency``, None when the operator set
    none) and satisfaction against lead time."""
    trend = dashboard.trend
    target = single_target(dashboard.summary.targets)
    # when the versions in view set different targets, one line per version, each named
    by_version = [] if target else [t for t in dashboard.summary.targets if t.seconds]
    name, unit = time_unit([w.lead.p90 for w in trend] + [target] + [t.seconds for t in by_version])
    split_name, split_unit = time_unit([c.work_seconds + c.wait_seconds for c in dashboard.efficiency.split])
    report = dashboard.satisfaction
    bounds = (0.0, *report.edges)
    return {
        "trend": {
            "unit": name, "labels": [f"{w.week.day} {w.week:%b}" for w in trend],
            "started": [w.started for w in trend], "finished": [w.finished for w in trend],
            "median": [_scaled(w.lead.median, unit) for w in trend], "p90": [_scaled(w.lead.p90, unit) for w in trend],
            "target": _scaled(target, unit) if target else None,
            "targets": [{"version": t.version, "value": _scaled(t.seconds, unit)} for t in by_version],
            "within": [None if w.share_within_target is None else round(w.share_within_target * 100)
                       for w in trend],
        },
        "split": {
            "unit": split_name, "labels": [c.value_class for c in dashboard.efficiency.split],
            "work": [_scaled(c.work_seconds, split_unit) for c in dashboard.efficiency.split],
            "wait": [_scaled(c.wait_seconds, split_unit) for c in dashboard.efficiency.split],
        },
        "cost": {
            "axis": money_label("Cost", currency),
            "labels": [f"{w.week.day} {w.week:%b}" for w in dashboard.cost.weeks],
            "median": [w.cost.median for w in dashboard.cost.weeks],
        },
        "satisfaction": {
            "labels": [bin_label(low, high) for low, high in zip(bounds, (*report.edges, None))],
            "segments": [{"name": s.segment, "scores": [b.mean_score for b in s.bins],
                          "counts": [b.count for b in s.bins]} for s in report.segments],
        },
    }


def bin_label(low: float, high: Optional[float]) -> str:
    if not low:
        return f"under {duration(int(high or 0))}"
    if high is None:
        return f"{duration(int(low))} or more"
    return f"{duration(int(low))} to {duration(int(high))}"
