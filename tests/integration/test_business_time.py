"""Targets in business time through the engine and the dashboards, on SQLite and PostgreSQL.

The process counts a German office calendar (09:00-17:00 Mon-Fri, German
holidays): Review has one business day, Approve eight business hours, and
the whole case three business days. Cases start on Thursday 2 April 2026 at
14:00 in Berlin, before Good Friday, the weekend and Easter Monday.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.analytics import cycle_times, facts, risk
from engine.analytics.filters import Filters
from engine.storage.tables import CaseFact, TaskFact
from tests import samples
from tests.histories import Story

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = '<spiffworkflow:property name="calendar" value="DE 09:00-17:00 Mon-Fri"/>'


def office_process(key: str) -> str:
    xml = samples.two_step(key).replace('<spiffworkflow:property name="processOwner"',
                                        CALENDAR + '<spiffworkflow:property name="processOwner"')
    xml = xml.replace('name="targetDuration" value="PT4H"', 'name="targetDuration" value="P1D"')
    return xml.replace('name="targetDuration" value="P1D"/><spiffworkflow:property name="calendar"',
                       'name="targetDuration" value="P3D"/><spiffworkflow:property name="calendar"')


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


@pytest.fixture
def story(stored_uow, clock) -> Story:
    return Story(stored_uow, clock, office_process)


def play(story: Story, approve_done: datetime) -> int:
    """Review claimed Tuesday 09:00 and done at 13:00; Approve claimed Wednesday 10:00, done at ``approve_done``."""
    instance_id = story.start(berlin(2026, 4, 2, 14))
    story.step(instance_id, berlin(2026, 4, 7, 9) - story.clock.now(), timedelta(hours=4))
    story.step(instance_id, berlin(2026, 4, 8, 10) - story.clock.now(), approve_done - berlin(2026, 4, 8, 10))
    return instance_id


def test_a_task_is_due_one_business_day_later_across_a_weekend_and_two_holidays(story):
    instance_id = story.start(berlin(2026, 4, 2, 14))
    task = story.open_task(instance_id)
    assert task["target_seconds"] == 86400
    assert task["due_at"] == datetime(2026, 4, 7, 12, tzinfo=timezone.utc).isoformat()  # Tuesday 14:00 in Berlin


def test_within_target_honours_business_time_for_steps_and_cases(story, stored_uow, clock):
    play(story, berlin(2026, 4, 8, 12))  # Approve within its 8 business hours; case well within 3 business days
    play(story, berlin(2026, 4, 9, 14))  # the case ends exactly on its deadline
    play(story, berlin(2026, 4, 9, 15))  # an hour late
    clock.set(berlin(2026, 4, 20, 9))
    steps = {s.step_id: s for s in cycle_times.step_table(stored_uow(), Filters(story.key))}
    assert (steps["review"].within_target, steps["review"].with_target) == (3, 3)  # 4.9 days on the clock
    assert (steps["approve"].within_target, steps["approve"].with_target) == (1, 3)
    summary = cycle_times.process_summary(stored_uow(), Filters(story.key))
    assert (summary.within_target, summary.with_target) == (2, 3)
    assert summary.calendar == "DE Europe/Berlin 09:00-17:00 Mon-Fri"
    assert summary.lead.median == (berlin(2026, 4, 9, 14) - berlin(2026, 4, 2, 14)).total_seconds()


def test_facts_are_added_once_with_the_business_time_verdict(story, stored_uow, clock):
    instance_id = play(story, berlin(2026, 4, 9, 15))
    for _ in range(2):
        with stored_uow() as uow:
            facts.refresh(uow)
    with stored_uow() as uow:
        assert len(uow.session.scalars(select(TaskFact).where(TaskFact.instance_id == instance_id)).all()) == 2
        fact = uow.session.get(CaseFact, instance_id)
        assert (fact.within, fact.lead_seconds) == (0, 7 * 86400 + 3600)


def test_at_risk_counts_the_quarter_of_a_target_in_business_hours(story, stored_uow, clock):
    story.start(berlin(2026, 4, 2, 16, 30))  # Review due Tuesday 16:30: a quarter is two business hours
    clock.set(berlin(2026, 4, 7, 9, 30))  # seven business hours left, though only 7 of 120 clock hours
    assert risk.work_at_risk(stored_uow(), Filters(story.key)).at_risk_count == 0
    clock.set(berlin(2026, 4, 7, 15))  # ninety minutes left
    result = risk.work_at_risk(stored_uow(), Filters(story.key))
    assert (result.at_risk_count, result.at_risk[0].seconds_left) == (1, 5400)
