"""Customer 360 and satisfaction scores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import service
from engine.analytics import satisfaction
from engine.analytics.filters import Filters
from engine.work import feedback
from engine.work.accounts import Account
from engine.work.customers import customer_360
from tests.conftest import T0
from tests.histories import HOUR, Story

MANAGER = Account("a-manager", frozenset({"manager"}))


@pytest.fixture
def story(stored_uow, clock) -> Story:
    story = Story(stored_uow, clock)
    story.ann = story.customer("standard")
    story.quick = story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)], customer=story.ann)  # 5 h
    story.on_target = story.case(T0, [(3 * HOUR, HOUR), (17 * HOUR, 3 * HOUR)])  # 24 h
    story.slow = story.case(T0, [(5 * HOUR, 2 * HOUR), (20 * HOUR, 2 * HOUR)])  # 29 h
    story.running = story.start(T0 + timedelta(days=2), customer=story.ann)
    story.step(story.running, 6 * HOUR, None)  # claimed after 6 h, past its 4 h target
    clock.set(T0 + timedelta(days=2, hours=7))
    return story


def test_customer_360_lists_every_case_newest_first_with_waits_breaches_and_people(story, stored_uow):
    view = customer_360(stored_uow(), story.ann.id, MANAGER)
    assert (view.name, view.segment, view.open_cases, view.finished_cases) == (story.ann.name, "standard", 1, 1)
    running, done = view.cases
    assert (running.instance_id, running.status, running.lead_seconds) == (story.running, "running", 7 * 3600)
    assert running.within_target is None and running.late_steps == 1
    [review] = running.steps
    assert (review.status, review.wait_seconds, review.work_seconds, review.late) == ("open", 6 * 3600, None, True)
    assert review.handled_by == story.users["back-office"]
    assert (done.instance_id, done.lead_seconds, done.within_target, done.late_steps) == (story.quick, 5 * 3600,
                                                                                          True, 0)
    assert done.handled_by == (story.users["back-office"], story.users["approver"])
    assert [s.step_id for s in done.steps] == ["review", "approve"] and done.steps[0].wait_seconds == 2 * 3600
    assert done.process == story.key and done.version == 1 and done.target_seconds == 24 * 3600


def test_staff_see_a_customer_through_the_cases_of_their_roles_or_that_they_handled(story, stored_uow):
    approver = Account(story.users["approver"], frozenset({story.role("approver")}))
    assert [c.instance_id for c in customer_360(stored_uow(), story.ann.id, approver).cases] == [story.quick]
    back_office = Account("new-colleague", frozenset({story.role("back-office")}))
    assert [c.instance_id for c in customer_360(stored_uow(), story.ann.id, back_office).cases] == [
        story.running, story.quick]
    with pytest.raises(service.NotAllowed, match="none of the cases of customer"):
        customer_360(stored_uow(), story.ann.id, Account("clerk", frozenset({"warehouse"})))


def test_only_who_handled_a_case_or_a_manager_records_its_score(story, stored_uow):
    service.add_user(stored_uow(), "colleague", [story.role("approver")])
    with pytest.raises(service.NotAllowed, match="colleague did not handle it"):
        feedback.record_feedback(stored_uow(), story.quick, 4, "colleague")
    service.add_user(stored_uow(), "boss", ["manager"])
    feedback.record_feedback(stored_uow(), story.quick, 4, "boss")


def test_an_unknown_customer_is_named(stored_uow):
    with pytest.raises(service.NotFound, match="no customer 'nobody-here'"):
        customer_360(stored_uow(), "nobody-here", MANAGER)


def test_a_one_time_link_takes_one_score_for_a_finished_case(story, stored_uow):
    staff = story.users["back-office"]
    token = feedback.issue_feedback_token(stored_uow(), story.quick, staff)
    request = feedback.feedback_request(stored_uow(), token)
    assert (request.instance_id, request.customer_name, request.open) == (story.quick, story.ann.name, True)
    assert feedback.record_feedback_by_token(stored_uow(), token, 5, " Quick and kind ") == story.quick
    assert feedback.feedback_request(stored_uow(), token).answered
    with pytest.raises(feedback.FeedbackRefused, match="already used"):
        feedback.record_feedback_by_token(stored_uow(), token, 1)
    assert customer_360(stored_uow(), story.ann.id, MANAGER).cases[1].satisfaction == 5
    with pytest.raises(feedback.FeedbackRefused, match="already has a satisfaction score"):
        feedback.record_feedback(stored_uow(), story.quick, 2, staff)


def test_a_link_is_refused_for_an_open_case_unknown_or_expired(story, stored_uow, clock):
    staff = story.users["back-office"]
    with pytest.raises(feedback.FeedbackRefused, match="is running; a score is for a finished case"):
        feedback.issue_feedback_token(stored_uow(), story.running, staff)
    with pytest.raises(service.NotFound, match="not valid"):
        feedback.record_feedback_by_token(stored_uow(), "made-up", 4)
    token = feedback.issue_feedback_token(stored_uow(), story.slow, staff)
    clock.advance(feedback.TOKEN_LIFETIME)
    assert feedback.feedback_request(stored_uow(), token).expired
    with pytest.raises(feedback.FeedbackRefused, match="expired"):
        feedback.record_feedback_by_token(stored_uow(), token, 4)


@pytest.mark.parametrize("score", [0, 6, "5", True, 2.5])
def test_a_score_is_a_whole_number_from_one_to_five(story, stored_uow, score):
    with pytest.raises(feedback.FeedbackRefused, match="from 1 to 5"):
        feedback.record_feedback(stored_uow(), story.quick, score, story.users["approver"])


def test_satisfaction_is_binned_by_lead_time_against_the_target(story, stored_uow):
    staff = story.users["approver"]
    for instance_id, score in ((story.quick, 5), (story.on_target, 3), (story.slow, 1)):
        feedback.record_feedback(stored_uow(), instance_id, score, staff)
    report = satisfaction.satisfaction_vs_cycle_time(stored_uow(), Filters(story.key))
    assert report.target_seconds == 24 * 3600 and report.edges[:2] == (12 * 3600, 24 * 3600)
    assert (report.count, report.mean_score) == (3, 3.0)
    [standard] = report.segments
    cells = [(b.count, b.mean_score) for b in standard.bins]
    assert cells == [(1, 5.0), (0, None), (2, 2.0), (0, None), (0, None), (0, None)]
    assert standard.bins[2].low_seconds == 24 * 3600 and standard.bins[-1].high_seconds is None
