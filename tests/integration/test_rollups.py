"""The daily sums and value buckets (engine.analytics.rollups) give the facts' own answers, on SQLite and PostgreSQL.

Sixteen cases of tests.samples.two_step finish over three days; Review waits a
different time in each (two minutes to a day and a half), so its waits fill
many buckets. The figures the dashboards read from the sums must be those the
facts give: the rows of ``task_day``, ``case_day`` and ``task_bucket`` add up
the facts exactly, after more cases finish and after a rate changes; the
percentiles found through the buckets are percentile_cont's; and a period,
whole days or not, counts what the facts in it count.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import literal, select

from engine import service
from engine.analytics import costs, cycle_times, facts, rollups
from engine.analytics.filters import Filters
from engine.analytics.sql import bucket_of
from engine.storage.tables import CaseDay, CaseFact, TaskBucket, TaskDay, TaskFact
from tests.conftest import T0
from tests.histories import HOUR, Story, unique

MINUTE = timedelta(minutes=1)


def play(story: Story, cases: range) -> None:
    for i in cases:
        story.case(T0 + i * 4 * HOUR, [(2 * MINUTE * 1.6 ** i, (10 + i) * MINUTE), (HOUR, (20 + 3 * i) * MINUTE)])


@pytest.fixture
def story(stored_uow, clock) -> Story:
    story = Story(stored_uow, clock)
    play(story, range(12))
    return story


def facts_of(new_uow, key: str) -> tuple[list[Any], list[Any]]:
    """The process's task and case facts (as rows), brought up to date first."""
    with new_uow() as uow:
        facts.refresh(uow)
        return (uow.session.execute(select(TaskFact.__table__).where(TaskFact.process == key)).all(),
                uow.session.execute(select(CaseFact.__table__).where(CaseFact.process == key)).all())


def sums_of(new_uow, definition_ids: set[int]) -> tuple[dict, dict, dict]:
    """The rows of the sums, keyed as ``expected_sums`` keys them."""
    with new_uow() as uow:
        days = {(r.step_id, r.segment, r.role, r.day): (r.tasks, r.cycle_seconds, r.wait_seconds, r.work_seconds,
                                                        r.waits, r.works, r.with_target, r.within, r.overruns)
                for r in uow.session.scalars(select(TaskDay).where(TaskDay.definition_id.in_(definition_ids)))}
        cases = {(r.segment, r.day): (r.cases, r.with_target, r.within, r.lead_seconds, r.va_work_seconds,
                                      r.bva_wait_seconds, r.pces, round(r.cost, 6))
                 for r in uow.session.scalars(select(CaseDay).where(CaseDay.definition_id.in_(definition_ids)))}
        buckets = {(r.metric, r.step_id, r.bucket): r.tasks
                   for r in uow.session.scalars(select(TaskBucket).where(TaskBucket.definition_id.in_(definition_ids)))}
    return days, cases, buckets


def expected_sums(tasks: list[Any], cases: list[Any]) -> tuple[dict, dict, dict]:
    """What the sums should hold, added up here from the facts."""
    days: dict = defaultdict(lambda: [0] * 9)
    for t in tasks:
        row = days[(t.step_id, t.segment, t.role or "", t.completed_at.date())]
        for i, value in enumerate((1, t.cycle_seconds, t.wait_seconds or 0, t.work_seconds or 0,
                                   t.wait_seconds is not None, t.work_seconds is not None, t.within is not None,
                                   t.within or 0, t.overrun is not None)):
            row[i] += int(value)
    by_day: dict = defaultdict(lambda: [0] * 8)
    for c in cases:
        row = by_day[(c.segment, c.ended_at.date())]
        for i, value in enumerate((1, c.within is not None, c.within or 0, c.lead_seconds, c.va_work_seconds,
                                   c.bva_wait_seconds, c.pce is not None, c.cost)):
            row[i] += value
    buckets: Counter = Counter()
    for t in tasks:
        for metric, (_, edges) in rollups.BUCKETED.items():
            value = {"cycle": t.cycle_seconds, "wait": t.wait_seconds, "work": t.work_seconds,
                     "overrun": t.overrun}[metric]
            if value is not None:
                buckets[(metric, t.step_id, bisect.bisect_right(edges, value))] += 1
    return ({k: tuple(v) for k, v in days.items()},
            {k: (*v[:7], round(v[7], 6)) for k, v in by_day.items()}, dict(buckets))


def cont(values: list[float], percent: int) -> float:
    """PostgreSQL's percentile_cont."""
    values = sorted(values)
    rank = (len(values) - 1) * percent / 100
    low = int(rank)
    high = values[min(low + 1, len(values) - 1)]
    return round(values[low] + (rank - low) * (high - values[low]), 6)


def test_the_sums_add_up_the_facts_after_new_cases_and_a_rate_change(story, stored_uow, clock):
    tasks, cases = facts_of(stored_uow, story.key)
    ids = {c.definition_id for c in cases}
    assert len(tasks) == 24 and len(cases) == 12
    assert sums_of(stored_uow, ids) == expected_sums(tasks, cases)
    play(story, range(12, 16))  # four more cases, the next day
    tasks, cases = facts_of(stored_uow, story.key)
    assert len(cases) == 16 and sums_of(stored_uow, ids) == expected_sums(tasks, cases)
    admin = unique("admin")
    service.add_user(stored_uow(), admin, ["admin"])
    costs.set_role_rate(stored_uow(), story.role("back-office"), 60, admin)
    costs.set_role_rate(stored_uow(), story.role("approver"), "90.50", admin)
    tasks, cases = facts_of(stored_uow, story.key)
    assert {round(c.cost, 6) for c in cases} != {0.0}
    assert sums_of(stored_uow, ids) == expected_sums(tasks, cases)
    summary = costs.cost_per_case(stored_uow(), Filters(story.key))
    assert summary.total == round(sum(c.cost for c in cases), 2)
    assert summary.cost.median == round(cont([c.cost for c in cases], 50), 2)


def test_the_percentiles_found_through_the_buckets_are_percentile_conts(story, stored_uow):
    tasks, _ = facts_of(stored_uow, story.key)
    for step in cycle_times.step_table(stored_uow(), Filters(story.key)):
        mine = [t for t in tasks if t.step_id == step.step_id]
        for spread, values in ((step.cycle, [t.cycle_seconds for t in mine]),
                               (step.wait, [t.wait_seconds for t in mine]),
                               (step.work, [t.work_seconds for t in mine])):
            assert (spread.n, spread.median, spread.p90) == (len(values), cont(values, 50), cont(values, 90))


@pytest.mark.parametrize("start, end", [
    (timedelta(hours=9, minutes=30), timedelta(days=2, hours=5)),  # ragged ends, a whole day between
    (timedelta(hours=9, minutes=30), timedelta(days=1)),  # within two days, no whole day
    (timedelta(hours=15), None),
    (None, timedelta(days=1, hours=20)),
    (timedelta(hours=-9), timedelta(days=1, hours=-9)),  # midnight to midnight
])
def test_a_period_counts_what_its_facts_count(story, stored_uow, start, end):
    tasks, cases = facts_of(stored_uow, story.key)
    start, end = (None if start is None else T0 + start), (None if end is None else T0 + end)

    def inside(moment):
        return (start is None or moment >= start) and (end is None or moment < end)

    period = Filters(story.key, start=start, end=end)
    done = [t for t in tasks if inside(t.completed_at)]
    steps = {s.step_id: s for s in cycle_times.step_table(stored_uow(), period)}
    for step_id in ("review", "approve"):
        mine = [t for t in done if t.step_id == step_id]
        assert steps[step_id].count == len(mine)
        assert steps[step_id].total_wait_seconds == sum(t.wait_seconds for t in mine)
        assert steps[step_id].within_target == sum(t.within for t in mine)
        assert steps[step_id].wait.median == (cont([t.wait_seconds for t in mine], 50) if mine else None)
    ended = [c for c in cases if inside(c.ended_at)]
    summary = cycle_times.process_summary(stored_uow(), period)
    assert (summary.finished, summary.within_target) == (len(ended), sum(c.within for c in ended))
    assert 0 < len(done) < len(tasks)
    person = period.but(assignee=story.users["approver"])
    assert {s.step_id: s.count for s in cycle_times.step_table(stored_uow(), person) if s.count} == (
        {"approve": steps["approve"].count} if steps["approve"].count else {})


def test_a_value_falls_in_the_bucket_of_the_edges_at_or_below_it(stored_uow):
    seconds, overruns = rollups.SECONDS_EDGES, rollups.OVERRUN_EDGES
    with stored_uow() as uow:
        for edges, values in ((seconds, (0, 9, 10, 11, 12, 3600, seconds[-1] - 1, seconds[-1], 10 ** 9)),
                              (overruns, (0.0, 0.005, overruns[1], overruns[1] + 1e-9, 0.999, 1.0, overruns[-1],
                                          overruns[-1] * 2))):
            for value in values:
                assert uow.session.scalar(select(bucket_of(literal(value), edges))) == \
                    bisect.bisect_right(edges, value), value
