"""Business time: working calendars, and targets that count opening hours across weekends and holidays."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.definitions.packages import DeploymentRefused, Package, compile_package
from engine.time.calendar import CALENDAR_TIME, InvalidCalendar, calendar_for, parse_calendar
from tests import samples

BERLIN = ZoneInfo("Europe/Berlin")
DAY, HOUR = 86400, 3600
GERMAN_OFFICE = "DE 09:00-17:00 Mon-Fri"


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


@pytest.fixture
def office():
    return parse_calendar(GERMAN_OFFICE)


def test_one_business_day_from_a_friday_is_the_same_time_on_monday(office):
    assert office.due(berlin(2026, 3, 13, 10), DAY) == berlin(2026, 3, 16, 10)


def test_a_business_day_across_a_weekend_and_two_holidays(office):
    # Thursday before Easter: Good Friday, the weekend and Easter Monday are not working days
    assert office.due(berlin(2026, 4, 2, 14), DAY) == berlin(2026, 4, 7, 14)


def test_business_hours_stop_at_closing_and_go_on_at_the_next_opening(office):
    assert office.due(berlin(2026, 4, 2, 16), 4 * HOUR) == berlin(2026, 4, 7, 12)
    assert office.due(berlin(2026, 3, 12, 10), 7 * HOUR) == berlin(2026, 3, 12, 17)  # ends at closing time
    assert office.due(berlin(2026, 3, 12, 10), DAY + 2 * HOUR) == berlin(2026, 3, 13, 12)


def test_work_that_arrives_outside_opening_hours_counts_from_the_next_opening(office):
    assert office.due(berlin(2026, 3, 14, 11), 2 * HOUR) == berlin(2026, 3, 16, 11)  # a Saturday
    assert office.due(berlin(2026, 3, 12, 20), DAY) == berlin(2026, 3, 16, 9)  # Thursday evening
    assert office.due(berlin(2026, 3, 12, 7, 30), HOUR) == berlin(2026, 3, 12, 10)


def test_due_times_are_utc_and_follow_daylight_saving(office):
    before = office.due(datetime(2026, 3, 27, 9, tzinfo=timezone.utc), DAY)  # Friday 10:00 CET
    assert before == datetime(2026, 3, 30, 8, tzinfo=timezone.utc)  # Monday 10:00 CEST
    assert before.tzinfo == timezone.utc


def test_working_time_for_at_risk_thresholds(office):
    assert office.working_seconds_of(DAY) == 8 * HOUR and office.working_seconds_of(DAY + HOUR) == 9 * HOUR
    assert office.add_working_seconds(berlin(2026, 4, 2, 16, 30), HOUR) == berlin(2026, 4, 7, 9, 30)


def test_calendar_time_is_the_default():
    assert calendar_for(None) is CALENDAR_TIME and calendar_for("  ") is CALENDAR_TIME
    start = datetime(2026, 4, 2, 14, tzinfo=timezone.utc)
    assert CALENDAR_TIME.due(start, DAY) == datetime(2026, 4, 3, 14, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, described", [
    (GERMAN_OFFICE, "DE Europe/Berlin 09:00-17:00 Mon-Fri"),
    ("Mon-Fri DE-BY", "DE-BY Europe/Berlin 09:00-17:00 Mon-Fri"),
    ("US America/New_York 08:30-17:30", "US America/New_York 08:30-17:30 Mon-Fri"),
    ("UTC 07:00-19:00 Mon-Thu,Sat", "UTC 07:00-19:00 Mon-Thu,Sat"),
])
def test_a_calendar_is_a_few_words_in_any_order(text, described):
    assert parse_calendar(text).describe() == described


def test_regional_holidays_count_where_the_region_is_named():
    bavaria = parse_calendar("DE-BY 09:00-17:00")
    assert bavaria.due(berlin(2026, 1, 5, 10), DAY) == berlin(2026, 1, 7, 10)  # Epiphany, 6 January
    assert parse_calendar("DE").due(berlin(2026, 1, 5, 10), DAY) == berlin(2026, 1, 6, 10)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("DE 17:00-09:00", "must close after they open"),
    ("DE 25:00-26:00", "not times of day"),
    ("XX", "knows no country or region 'XX'"),
    ("DE-ZZ", "knows no country or region 'DE-ZZ'"),
    ("US", "name the zone"),
    ("DE Mars/Olympus", "not a time zone"),
    ("DE Fri-Mon", "run backwards"),
    ("DE Mon-Fry", "use Mon, Tue"),
    ("DE weekdays!", "is not a country"),
])
def test_a_calendar_that_cannot_be_read_says_why(text, message):
    with pytest.raises(InvalidCalendar, match=message):
        parse_calendar(text)


def package(key: str, process_props: str, step_extra: dict[str, str] | None = None) -> Package:
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review", target="P1D", **(step_extra or {}))
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "review", "finish"))
    xml = samples.document(key, body, {"Back Office": ["begin", "review", "finish"]}, process_props)
    return Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml})


def test_a_process_names_its_calendar_and_its_compiled_definition_carries_it():
    compiled = compile_package(package("office", samples.props(targetDuration="P2D", calendar=GERMAN_OFFICE)))
    assert compiled.annotations.process.calendar == GERMAN_OFFICE
    assert compiled.calendar.describe() == "DE Europe/Berlin 09:00-17:00 Mon-Fri"
    assert compile_package(package("plain", samples.props(targetDuration="P2D"))).calendar is CALENDAR_TIME


def test_a_bad_calendar_refuses_the_deployment_with_the_reason():
    with pytest.raises(DeploymentRefused) as refused:
        compile_package(package("office", samples.props(calendar="DE 18:00-08:00")))
    assert "office (Office): calendar 'DE 18:00-08:00': opening hours '18:00-08:00' must close after they open" \
        in str(refused.value)


def test_a_calendar_on_one_step_is_refused():
    with pytest.raises(DeploymentRefused, match="review \\(Review\\): calendar belongs on the process"):
        compile_package(package("office", "", {"calendar": GERMAN_OFFICE}))
