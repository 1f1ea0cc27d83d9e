"""Business time: when a target counts working hours rather than the clock.

A process may name a working calendar with a process-level property::

    <spiffworkflow:property name="calendar" value="DE 09:00-17:00 Mon-Fri"/>

The value is a few words in any order:

- a country for public holidays, from the ``holidays`` package (``DE``,
  ``GB``, ``NL``…), optionally with a subdivision (``DE-BY``); omit it for
  no holidays;
- opening hours ``HH:MM-HH:MM`` (default 09:00-17:00), the same every working day;
- working days, a range or a list (``Mon-Fri``, ``Mon-Thu,Sat``; default Mon-Fri);
- the time zone the hours are in (``Europe/Berlin``, ``UTC``); it may be left
  out for a country with a single time zone that this module knows.

Under a calendar a target's whole days are business days and the rest is
business hours: P1D is "by the same time next working day", PT4H is four
opening hours, P1DT2H is a working day and two hours. (A target is stored in
seconds, so PT24H counts as one business day too.) Work that arrives outside
opening hours starts counting at the next opening. Without the property,
targets count calendar time, as before.

A calendar is parsed once per compiled definition (``CompiledDefinition.calendar``);
``due`` does no I/O and costs a few microseconds, as it runs whenever a task opens.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from holidays.registry import COUNTRIES

DAY = 86400
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Countries with one time zone, so a calendar may leave it out.
COUNTRY_ZONES = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "CH": "Europe/Zurich", "CZ": "Europe/Prague",
    "DE": "Europe/Berlin", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn", "FI": "Europe/Helsinki",
    "FR": "Europe/Paris", "GB": "Europe/London", "GR": "Europe/Athens", "HU": "Europe/Budapest",
    "IE": "Europe/Dublin", "IL": "Asia/Jerusalem", "IN": "Asia/Kolkata", "IT": "Europe/Rome",
    "JP": "Asia/Tokyo", "LU": "Europe/Luxembourg", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo",
    "NZ": "Pacific/Auckland", "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore", "SK": "Europe/Bratislava", "UK": "Europe/London", "ZA": "Africa/Johannesburg",
}
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_COUNTRY = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")
_DAYS = re.compile(r"^[A-Za-z]{3}(?:-[A-Za-z]{3})?(?:,[A-Za-z]{3}(?:-[A-Za-z]{3})?)*$")


class InvalidCalendar(ValueError):
    """The calendar property cannot be read."""


# A task is at risk once less than this share of its target's working time is left.
AT_RISK_SHARE_LEFT = 0.25


class WorkingCalendar:
    """Counts targets in calendar time: a target of N seconds is due N seconds later."""

    is_calendar_time = True
    spec: Optional[str] = None

    def at_risk_from(self, start: datetime, target_seconds: int) -> datetime:
        """The moment from which work started at ``start`` has less than ``AT_RISK_SHARE_LEFT`` of its target's
        working time left."""
        return self.add_working_seconds(start, self.working_seconds_of(target_seconds) * (1 - AT_RISK_SHARE_LEFT))

    def due(self, start: datetime, target_seconds: int) -> datetime:
        """When work that starts at ``start`` with a target of ``target_seconds`` is due."""
        return start + timedelta(seconds=target_seconds)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start``."""
        return start + timedelta(seconds=seconds)

    def working_seconds_of(self, target_seconds: int) -> float:
        """How much working time a target allows (under a calendar a day is one opening day)."""
        return float(target_seconds)

    def describe(self) -> str:
        return "calendar time"


CALENDAR_TIME = WorkingCalendar()


@dataclass(frozen=True)
class _Rules:
    country: Optional[str]
    subdivision: Optional[str]
    zone: str
    opens: time
    closes: time
    weekdays: frozenset[int]


class BusinessCalendar(WorkingCalendar):
    """Opening hours on working days, less a country's public holidays, in one time zone."""

    is_calendar_time = False

    def __init__(self, rules: _Rules, spec: str) -> None:
        self.rules = rules
        self.spec = spec
        self.zone = ZoneInfo(rules.zone)
        self.day_seconds = (datetime.combine(date.min, rules.closes) - datetime.combine(date.min, rules.opens)).seconds
        self._holidays: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    # -- the working-day test ---------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.rules.weekdays and day not in self._holidays_of(day.year)

    def _holidays_of(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            if self.rules.country is None:
                found = frozenset()
            else:
                found = frozenset(holidays.country_holidays(self.rules.country, subdiv=self.rules.subdivision,
                                                            years=year).keys())
            with self._lock:
                self._holidays[year] = found
        return found

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    def _roll_forward(self, local: datetime) -> datetime:
        """The moment itself when it is within opening hours, else the next opening."""
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if self.is_working_day(day):
            if clock < self.rules.opens:
                return self._at(day, self.rules.opens)
            if clock < self.rules.closes:
                return local
        return self._at(self._next_working_day(day), self.rules.opens)

    def _add_seconds(self, local: datetime, seconds: float) -> datetime:
        """``seconds`` of opening hours after ``local`` (which lies within opening hours)."""
        while True:
            closing = self._at(local.date(), self.rules.closes)
            left_today = (closing.replace(tzinfo=None) - local.replace(tzinfo=None)).total_seconds()
            if seconds <= left_today:
                return local + timedelta(seconds=seconds)
            seconds -= left_today
            local = self._at(self._next_working_day(local.date()), self.rules.opens)

    # -- what targets need --------------------------------------------------------------

    def due(self, start: datetime, target_seconds: int) -> datetime:
        if target_seconds <= 0:
            return start
        days, rest = divmod(int(target_seconds), DAY)
        local = self._roll_forward(start.astimezone(self.zone))
        if days:
            day = local.date()
            for _ in range(days):
                day = self._next_working_day(day)
            local = self._at(day, local.timetz().replace(tzinfo=None))
        if rest:
            local = self._add_seconds(local, rest)
        return local.astimezone(timezone.utc)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        if seconds <= 0:
            return start
        local = self._add_seconds(self._roll_forward(start.astimezone(self.zone)), seconds)
        return local.astimezone(timezone.utc)

    def working_seconds_of(self, target_seconds: int) -> float:
        days, rest = divmod(int(target_seconds), DAY)
        return float(days * self.day_seconds + rest)

    def describe(self) -> str:
        return self.spec


def parse_calendar(text: str) -> BusinessCalendar:
    """Read a calendar property (see the module's doc); InvalidCalendar says what is wrong."""
    country = subdivision = zone = None
    opens, closes = time(9), time(17)
    weekdays = frozenset(range(5))
    words = text.split()
    if not words:
        raise InvalidCalendar("the calendar is empty: write e.g. \"DE 09:00-17:00 Mon-Fri\"")
    for word in words:
        if (hours := _HOURS.match(word)) is not None:
            opens, closes = _hours(word, *map(int, hours.groups()))
        elif (code := _COUNTRY.match(word)) is not None:
            country, subdivision = code.group(1), code.group(2)
        elif "/" in word or word.upper() == "UTC":
            zone = _zone(word)
        elif _DAYS.match(word):
            weekdays = _weekdays(word)
        else:
            raise InvalidCalendar(f"calendar word {word!r} is not a country (DE), opening hours (09:00-17:00), "
                                  "working days (Mon-Fri) or a time zone (Europe/Berlin)")
    if country is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=2026)
        except NotImplementedError:
            where = f"{country}-{subdivision}" if subdivision else country
            raise InvalidCalendar(f"the holidays package knows no country or region {where!r}") from None
    if zone is None:
        if country is None:
            zone = "UTC"
        elif country in COUNTRY_ZONES:
            zone = COUNTRY_ZONES[country]
        else:
            raise InvalidCalendar(f"{country} spans several time zones or is not known here: "
                                  "name the zone of the opening hours, e.g. America/New_York")
    rules = _Rules(country, subdivision, zone, opens, closes, weekdays)
    return BusinessCalendar(rules, " ".join(part for part in (
        f"{country}-{subdivision}" if subdivision else country, zone,
        f"{opens:%H:%M}-{closes:%H:%M}", _describe_days(weekdays)) if part))


def countries_by_name() -> list[tuple[str, str]]:
    """The countries a calendar may name without a time zone (``COUNTRY_ZONES``): code and English name, by name."""
    names = {entry[1]: module.replace("_", " ").title() for module, entry in COUNTRIES.items()}
    return sorted(((code, names[code]) for code in COUNTRY_ZONES if code in names), key=lambda found: found[1])


@lru_cache(maxsize=64)
def calendar_for(spec: Optional[str]) -> WorkingCalendar:
    """The calendar a process property names (calendar time when it names none), parsed once per text."""
    if spec is None or not spec.strip():
        return CALENDAR_TIME
    return parse_calendar(spec)


def _hours(word: str, h1: int, m1: int, h2: int, m2: int) -> tuple[time, time]:
    try:
        opens, closes = time(h1, m1), time(h2, m2)
    except ValueError:
        raise InvalidCalendar(f"opening hours {word!r} are not times of day") from None
    if closes <= opens:
        raise InvalidCalendar(f"opening hours {word!r} must close after they open, on the same day")
    return opens, closes


def _zone(word: str) -> str:
    try:
        ZoneInfo(word)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCalendar(f"{word!r} is not a time zone (e.g. Europe/Berlin)") from None
    return word


def _weekdays(word: str) -> frozenset[int]:
    index = {name.lower(): i for i, name in enumerate(WEEKDAYS)}
    days: set[int] = set()
    for part in word.split(","):
        first, _, last = part.partition("-")
        if first.lower() not in index or (last and last.lower() not in index):
            raise InvalidCalendar(f"working days {word!r}: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        a, b = index[first.lower()], index[(last or first).lower()]
        if b < a:
            raise InvalidCalendar(f"working days {part!r} run backwards; write e.g. Mon-Fri")
        days.update(range(a, b + 1))
    return frozenset(days)


def _describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    runs, start = [], ordered[0]
    for previous, current in zip(ordered, ordered[1:] + [None]):
        if current is None or current != previous + 1:
            runs.append(WEEKDAYS[start] if start == previous else f"{WEEKDAYS[start]}-{WEEKDAYS[previous]}")
            start = current
    return ",".join(runs)
