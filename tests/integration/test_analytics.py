"""Cycle-time analytics on hand-built histories with known answers, on SQLite and on PostgreSQL.

The process (tests.samples.two_step): Review (Back Office, VA, 4 h; premium 1 h)
then Approve (Approver, BVA, 8 h); one day end to end. Three standard cases
start on Monday 5 January 2026 at 09:00:

    case  review wait/work  approve wait/work   lead
    1     2 h / 1 h  (3 h)   1 h / 1 h  (2 h)     5 h
    2     3 h / 1 h  (4 h)  17 h / 3 h (20 h)    24 h  (exactly the day's target)
    3     5 h / 2 h  (7 h)  20 h / 2 h (22 h)    29 h

so Review waits 3 h at the median, Approve meets its target once in three,
and two cases in three finish within target.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.analytics import cycle_times
from engine.analytics.filters import Filters
from engine.service import NotFound
from tests.conftest import T0
from tests.histories import HOUR, Story


@pytest.fixture
def story(stored_uow, clock) -> Story:
    story = Story(stored_uow, clock)
    story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)])
    story.case(T0, [(3 * HOUR, HOUR), (17 * HOUR, 3 * HOUR)])
    story.case(T0, [(5 * HOUR, 2 * HOUR), (20 * HOUR, 2 * HOUR)])
    clock.set(T0 + timedelta(days=7))
    return story


def h(hours: float) -> float:
    return hours * 3600


def test_the_summary_counts_cases_and_measures_lead_time_against_the_process_target(story, stored_uow):
    summary = cycle_times.process_summary(stored_uow(), Filters(story.key))
    assert (summary.started, summary.finished, summary.running, summary.cancelled) == (3, 3, 0, 0)
    assert summary.lead.n == 3
    assert summary.lead.median == h(24)
    assert summary.lead.p90 == pytest.approx(h(24 + 0.8 * 5))  # interpolated between 24 h and 29 h
    assert summary.target_seconds == h(24)
    assert (summary.within_target, summary.with_target) == (2, 3)  # the case exactly on target counts as within
    assert summary.share_within_target == pytest.approx(2 / 3, abs=1e-4)
    assert summary.versions == (1,) and summary.calendar == "calendar time"


def test_a_step_whose_median_wait_is_exactly_three_hours(story, stored_uow):
    steps = {s.step_id: s for s in cycle_times.step_table(stored_uow(), Filters(story.key))}
    review = steps["review"]
    assert review.count == 3
    assert (review.wait.median, review.work.median, review.cycle.median) == (h(3), h(1), h(4))
    assert review.cycle.p90 == pytest.approx(h(4 + 0.8 * 3))
    assert (review.within_target, review.with_target) == (2, 3)
    assert review.target_seconds == h(4) and review.value_class == "VA" and review.role == story.role("back-office")
    assert review.status == cycle_times.AMBER
    approve = steps["approve"]
    assert (approve.wait.median, approve.work.median, approve.cycle.median) == (h(17), h(2), h(20))
    assert approve.status == cycle_times.RED and approve.share_within_target == pytest.approx(1 / 3, abs=1e-4)


def test_the_step_with_the_largest_share_of_the_time_comes_first(story, stored_uow):
    table = cycle_times.step_table(stored_uow(), Filters(story.key))
    assert [s.step_id for s in table] == ["approve", "review"]
    assert table[0].total_cycle_seconds == h(44) and table[1].total_cycle_seconds == h(14)
    assert table[0].share_of_lead_time == pytest.approx(44 / 58, abs=1e-4)


def test_open_and_breached_tasks_are_counted_at_the_clocks_now(story, stored_uow, clock):
    late = story.start(T0 + timedelta(days=7))
    on_time = story.start(T0 + timedelta(days=7, hours=3))
    clock.set(T0 + timedelta(days=7, hours=5))
    review = next(s for s in cycle_times.step_table(stored_uow(), Filters(story.key)) if s.step_id == "review")
    assert (review.open_now, review.breached_now) == (2, 1)
    assert late and on_time


def test_the_period_selects_cases_by_start_and_end_and_tasks_by_completion(story, stored_uow):
    first_day = Filters(story.key, start=T0, end=T0 + timedelta(days=1))
    summary = cycle_times.process_summary(stored_uow(), first_day)
    assert (summary.started, summary.finished, summary.running) == (3, 1, 2)  # cases 2 and 3 end the next day
    steps = {s.step_id: s for s in cycle_times.step_table(stored_uow(), first_day)}
    assert steps["review"].count == 3 and steps["approve"].count == 1


def test_the_heat_map_colours_each_step_and_names_its_slowest_cases(story, stored_uow):
    cells = cycle_times.heat_map(stored_uow(), Filters(story.key))
    assert {k: c.status for k, c in cells.items()} == {"review": "amber", "approve": "red"}
    assert cells["approve"].median_seconds == h(20) and cells["approve"].target_seconds == h(8)
    slowest = cycle_times.slowest_cases(stored_uow(), Filters(story.key), "approve", limit=2)
    assert [s.cycle_seconds for s in slowest] == [h(22), h(20)]
    assert all(s.late for s in slowest) and slowest[0].wait_seconds == h(20)


def test_process_cycle_efficiency_is_va_work_over_lead_time(story, stored_uow):
    result = cycle_times.efficiency(stored_uow(), Filters(story.key))
    assert result.cases == 3 and result.lead_seconds == h(58) and result.va_work_seconds == h(4)
    assert result.pce == pytest.approx(4 / 58, abs=1e-4)
    assert result.case_pce.median == pytest.approx(2 / 29, abs=1e-6)  # per case: 1/5, 1/24, 2/29
    split = {c.value_class: c for c in result.split}
    assert (split["VA"].work_seconds, split["VA"].wait_seconds) == (h(4), h(10))
    assert (split["BVA"].work_seconds, split["BVA"].wait_seconds) == (h(6), h(38))
    assert split["NVA"].work_seconds == 0


def test_one_cases_efficiency(story, stored_uow):
    [first] = [s.instance_id for s in cycle_times.slowest_cases(stored_uow(), Filters(story.key), "approve", limit=3)
               if s.cycle_seconds == h(2)]
    result = cycle_times.case_efficiency(stored_uow(), first)
    assert result.lead_seconds == h(5) and result.work_seconds == {"VA": h(1), "BVA": h(1)}
    assert result.wait_seconds == h(3) and result.pce == pytest.approx(0.2)


def test_the_weekly_trend_counts_each_week_from_the_first_to_the_last(story, stored_uow, clock):
    story.case(T0 + timedelta(days=14), [(HOUR, HOUR), (HOUR, HOUR)])  # a case two weeks later: 4 h
    weeks = cycle_times.weekly_trend(stored_uow(), Filters(story.key))
    assert [(w.week.isoformat(), w.started, w.finished) for w in weeks] == [
        ("2026-01-05", 3, 3), ("2026-01-12", 0, 0), ("2026-01-19", 1, 1)]
    assert weeks[0].lead.median == h(24) and weeks[0].share_within_target == pytest.approx(2 / 3, abs=1e-4)
    assert weeks[2].lead.median == h(4) and weeks[1].lead.n == 0


def test_segment_role_and_assignee_narrow_the_figures(story, stored_uow):
    premium = story.customer("premium")
    story.case(T0, [(HOUR, HOUR), (HOUR, HOUR)], customer=premium)  # review takes 2 h against premium's 1 h
    only_premium = Filters(story.key, segment="premium")
    steps = {s.step_id: s for s in cycle_times.step_table(stored_uow(), only_premium)}
    assert steps["review"].count == 1 and steps["review"].target_seconds == h(1)
    assert steps["review"].within_target == 0
    assert cycle_times.process_summary(stored_uow(), only_premium).finished == 1
    by_role = {s.step_id: s.count for s in cycle_times.step_table(stored_uow(), Filters(story.key, role=story.role("approver")))}
    assert by_role == {"review": 0, "approve": 4}
    by_person = Filters(story.key, assignee=story.users["back-office"])
    assert cycle_times.process_summary(stored_uow(), by_person).finished == 4


def test_an_unknown_process_or_version_is_named(story, stored_uow):
    with pytest.raises(NotFound, match="no process 'nope'"):
        cycle_times.process_summary(stored_uow(), Filters("nope"))
    with pytest.raises(NotFound, match="has no version 7"):
        cycle_times.step_table(stored_uow(), Filters(story.key, version=7))


def test_filters_round_trip_through_a_query_string():
    filters = Filters.from_params("loan_decision", {"from": "2026-01-05", "to": "2026-01-11", "version": "2",
                                                    "segment": "premium", "role": "", "assignee": "ann"})
    assert filters.start == T0 - timedelta(hours=9) and filters.end == T0 + timedelta(days=6, hours=15)
    assert (filters.version, filters.segment, filters.role, filters.assignee) == (2, "premium", None, "ann")
    assert Filters.from_params("loan_decision", filters.to_params()) == filters
    with pytest.raises(ValueError, match="version must be a number"):
        Filters.from_params("x", {"version": "two"})
    with pytest.raises(ValueError, match="from must be a date"):
        Filters.from_params("x", {"from": "yesterday"})


def test_cases_written_with_a_clock_in_the_past_are_counted_after_later_ones(story, stored_uow, clock):
    assert cycle_times.process_summary(stored_uow(), Filters(story.key)).finished == 3
    story.case(T0 - timedelta(days=30), [(HOUR, HOUR), (HOUR, HOUR)])  # as the demo or `worker --at` would
    summary = cycle_times.process_summary(stored_uow(), Filters(story.key))
    assert (summary.finished, summary.lead.n) == (4, 4)
    assert {s.step_id: s.count for s in cycle_times.step_table(stored_uow(), Filters(story.key))} == {
        "review": 4, "approve": 4}


@pytest.mark.parametrize("narrowed", [False, True], ids=["all", "period-and-segment"])
def test_the_dashboard_page_shows_the_same_figures_as_each_function(story, stored_uow, narrowed):
    """dashboard_page reads every figure in one unit of work (one facts refresh, one scope); what it shows
    is what each analytics function gives on its own, with a step chosen and with work still open."""
    from engine.analytics import costs, dashboards, risk, satisfaction, segments

    story.case(T0 + timedelta(days=1), [(HOUR, 2 * HOUR)], story.customer("premium"))  # Approve left open
    story.case(T0 + timedelta(days=1), [(4 * HOUR, HOUR), (2 * HOUR, HOUR)], story.customer("premium"))
    story.clock.set(T0 + timedelta(days=7))
    filters = Filters(story.key)
    if narrowed:
        filters = filters.but(start=T0 + timedelta(days=1), end=T0 + timedelta(days=3), segment="premium")
    page = dashboards.dashboard_page(stored_uow, story.key, filters.to_params(), "review")

    assert page.summary == cycle_times.process_summary(stored_uow(), filters)
    assert page.trend == cycle_times.weekly_trend(stored_uow(), filters)
    assert page.steps == cycle_times.step_table(stored_uow(), filters)
    assert page.step == next(s for s in page.steps if s.step_id == "review")
    assert page.slowest == cycle_times.slowest_cases(stored_uow(), filters, "review", limit=dashboards.SLOWEST)
    assert page.efficiency == cycle_times.efficiency(stored_uow(), filters)
    assert page.segments == segments.segment_report(stored_uow(), filters)
    assert page.risk == risk.work_at_risk(stored_uow(), filters, limit=dashboards.AT_RISK_ROWS)
    assert page.cost == costs.cost_per_case(stored_uow(), filters)
    assert page.satisfaction == satisfaction.satisfaction_vs_cycle_time(stored_uow(), filters)
    assert page.diagram_xml == dashboards.version_xml(stored_uow, story.key, 1)
    assert (page.summary.finished, page.summary.running) == ((1, 1) if narrowed else (4, 1))
    assert page.slowest
