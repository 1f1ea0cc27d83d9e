"""Segments, work at risk, cost per case and versions compared, on SQLite and PostgreSQL, with known answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import service
from engine.analytics import costs, cycle_times, risk
from engine.analytics.filters import Filters
from engine.analytics.segments import segment_report
from tests import samples
from tests.conftest import T0
from tests.histories import HOUR, Story, unique

MINUTE = timedelta(minutes=1)


def test_a_segment_that_misses_its_own_targets_is_flagged_in_words(stored_uow, clock):
    story = Story(stored_uow, clock)
    for i in range(10):
        # premium: Review in 30 min (target 1 h), Approve in 2 h; 2.5 h end to end
        story.case(T0 + i * HOUR, [(10 * MINUTE, 20 * MINUTE), (HOUR, HOUR)], customer=story.customer("premium"))
        # standard: Review in 9.2 h (target 4 h), Approve in 17 h; 26.2 h against a day
        story.case(T0 + i * HOUR, [(8 * HOUR, 72 * MINUTE), (16 * HOUR, HOUR)], customer=story.customer("standard"))
    report = segment_report(stored_uow(), Filters(story.key, segment="premium"))  # the segment filter is ignored
    by_name = {s.segment: s for s in report.segments}
    assert (by_name["premium"].within_target, by_name["standard"].within_target) == (10, 0)
    assert by_name["standard"].lead.median == pytest.approx(26.2 * 3600)
    review = {s.step_id: s for s in by_name["standard"].steps}["review"]
    assert (review.target_seconds, review.overrun) == (4 * 3600, 2.3)
    assert {s.step_id: s.target_seconds for s in by_name["premium"].steps} == {"review": 3600, "approve": 8 * 3600}
    assert report.flags == ("standard customers wait 2.3× longer than their target allows at Review",)


def test_segments_within_reach_of_each_other_are_not_flagged(stored_uow, clock):
    story = Story(stored_uow, clock)
    for i in range(10):
        for segment in ("premium", "standard"):
            story.case(T0 + i * HOUR, [(10 * MINUTE, 20 * MINUTE), (HOUR, HOUR)], customer=story.customer(segment))
    assert segment_report(stored_uow(), Filters(story.key)).flags == ()


def test_breached_and_at_risk_tasks_are_listed_with_customer_role_and_assignee(stored_uow, clock):
    story = Story(stored_uow, clock)
    now = T0 + timedelta(days=1)
    breached = story.start(now - 5 * HOUR)  # due 1 h ago
    at_risk = story.start(now - 3.5 * HOUR)  # 30 min of 4 h left
    story.start(now - 2 * HOUR)  # half its target left
    clock.set(now - HOUR)
    story.step(at_risk, timedelta(0), None)  # claimed, still open
    clock.set(now)
    result = risk.work_at_risk(stored_uow(), Filters(story.key))
    assert (result.breached_count, result.at_risk_count) == (1, 1)
    [late] = result.breached
    assert (late.instance_id, late.seconds_left, late.step_id) == (breached, -3600, "review")
    assert late.role == story.role("back-office")
    [close] = result.at_risk
    assert (close.instance_id, close.seconds_left, close.assignee) == (at_risk, 1800, story.users["back-office"])
    assert close.customer_name.startswith("Customer ") and close.segment == "standard"


def test_work_at_risk_counts_the_open_tasks_of_the_chosen_process_and_segment_only(stored_uow, clock):
    story, other = Story(stored_uow, clock), Story(stored_uow, clock)
    now = T0 + timedelta(days=1)
    premium_late = story.start(now - 5 * HOUR, story.customer("premium"))  # a premium customer's target: 1 h
    standard_late = story.start(now - 6 * HOUR)  # everyone else's: 4 h
    story.start(now - HOUR, story.customer())  # 3 h of 4 h left
    story.start(now - timedelta(minutes=50), story.customer("premium"))  # 10 min of 1 h left
    other.start(now - 5 * HOUR, other.customer("premium"))  # late too, in another process
    clock.set(now)
    everyone = risk.work_at_risk(stored_uow(), Filters(story.key))
    assert (everyone.breached_count, everyone.at_risk_count) == (2, 1)
    assert [t.instance_id for t in everyone.breached] == [premium_late, standard_late]  # the longest overdue first
    premium = risk.work_at_risk(stored_uow(), Filters(story.key, segment="premium"))
    assert (premium.breached_count, premium.at_risk_count) == (1, 1)
    assert [t.instance_id for t in premium.breached] == [premium_late]
    review = next(s for s in cycle_times.step_table(stored_uow(), Filters(story.key, segment="premium"))
                  if s.step_id == "review")
    assert (review.open_now, review.breached_now) == (2, 1)


@pytest.fixture
def priced_story(stored_uow, clock) -> Story:
    story = Story(stored_uow, clock)
    story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)])
    story.case(T0, [(3 * HOUR, HOUR), (17 * HOUR, 3 * HOUR)])
    story.case(T0, [(5 * HOUR, 2 * HOUR), (20 * HOUR, 2 * HOUR)])
    story.admin = unique("admin")
    service.add_user(stored_uow(), story.admin, ["admin"])
    costs.set_role_rate(stored_uow(), story.role("back-office"), 60, story.admin)
    return story


def test_the_cost_of_a_case_is_its_work_time_at_each_roles_rate(priced_story, stored_uow):
    costs.set_role_rate(stored_uow(), priced_story.role("approver"), "100.00", priced_story.admin)
    # review work 1 h, 1 h, 2 h at 60; approve work 1 h, 3 h, 2 h at 100: cases cost 160, 360, 320
    result = costs.cost_per_case(stored_uow(), Filters(priced_story.key))
    assert (result.cases, result.total, result.mean) == (3, 840.0, 280.0)
    assert (result.cost.median, result.cost.p90) == (320.0, 352.0)
    assert [(w.week.isoformat(), w.cases, w.cost.median) for w in result.weeks] == [("2026-01-05", 3, 320.0)]
    assert result.roles_without_rate == ()
    assert costs.role_rates(stored_uow())[priced_story.role("approver")] == 100.0


def test_work_of_a_role_without_a_rate_costs_nothing_and_is_named(priced_story, stored_uow):
    result = costs.cost_per_case(stored_uow(), Filters(priced_story.key, version=1))
    assert result.cost.median == 60.0 and result.roles_without_rate == (priced_story.role("approver"),)


def test_only_an_admin_sets_a_rate_and_it_must_be_money(priced_story, stored_uow):
    with pytest.raises(service.NotAllowed, match="not an admin"):
        costs.set_role_rate(stored_uow(), "approver", 10, priced_story.users["approver"])
    with pytest.raises(ValueError, match="must be a number"):
        costs.set_role_rate(stored_uow(), "approver", "ten", priced_story.admin)
    with pytest.raises(ValueError, match="zero or more"):
        costs.set_role_rate(stored_uow(), "approver", -1, priced_story.admin)
    with pytest.raises(service.NotFound):
        costs.set_role_rate(stored_uow(), "approver", 10, unique("nobody"))


def test_two_versions_side_by_side(priced_story, stored_uow, clock):
    costs.set_role_rate(stored_uow(), priced_story.role("approver"), 100, priced_story.admin)
    faster = samples.two_step(priced_story.key).replace('value="PT4H"', 'value="PT2H"', 1)
    assert priced_story.deploy(faster).version == 2
    priced_story.case(T0 + timedelta(days=3), [(HOUR, HOUR), (HOUR, HOUR)])
    before, after = cycle_times.compare_versions(stored_uow(), Filters(priced_story.key), 1, 2)
    assert (before.version, before.summary.finished, before.summary.lead.median) == (1, 3, 24 * 3600)
    assert (after.version, after.summary.finished, after.summary.lead.median) == (2, 1, 4 * 3600)
    assert {s.step_id: s.target_seconds for s in after.steps}["review"] == 2 * 3600
    assert (before.cost.cost.median, after.cost.cost.median) == (320.0, 160.0)
    assert after.efficiency.pce == pytest.approx(0.25)


def test_changing_a_rate_prices_the_finished_cases_again(priced_story, stored_uow):
    assert costs.cost_per_case(stored_uow(), Filters(priced_story.key)).cost.median == 60.0
    costs.set_role_rate(stored_uow(), priced_story.role("back-office"), 30, priced_story.admin)
    costs.set_role_rate(stored_uow(), priced_story.role("approver"), 100, priced_story.admin)
    result = costs.cost_per_case(stored_uow(), Filters(priced_story.key))
    assert (result.total, result.cost.median) == (720.0, 260.0)  # cases cost 130, 330 and 260
