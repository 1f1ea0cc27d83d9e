"""The demo: weeks of customer traffic through the shipped processes, in seconds (``valueflow demo``).

A face of the engine: it drives the use cases as staff and customers would.

Everything goes through the engine's real use cases (engine.service) with the
test clock moved from event to event; nothing is written behind the engine's
back, so the dashboards read what real use would leave.

- Customers in three segments (premium, standard, basic) arrive through the
  day, fewer at weekends, at each process's rate (``DEMO`` beside its helpers, engine.sandbox.helpers);
  many come back, so a customer's page holds several cases.
- Staff of each role (the role's own user from ``valueflow init`` and a few
  more) claim a task after a lognormal wait and complete it after a lognormal
  stretch of work, both in working hours (08:00-18:00 UTC, Monday to Friday),
  so work that arrives on a Friday evening waits for Monday and breaches its
  target. Premium customers are picked up faster, basic ones slower.
- Customers answer: documents arrive for a loan, payment for an order, some
  only after the process's reminder timer has fired. A worker round runs every
  simulated hour (timers and breaches).
- Some customers give a satisfaction score, lower the longer they waited.
- The loan story: on a fresh database the first part of the period runs the
  loan decision as it was before its redesign (bpmn_history/loan_decision_before,
  seven days, sequential hand-offs, deployed as version 1); the shipped
  version (48 hours) is deployed on the way, so comparing versions shows the change.

Hourly rates for every role are set unless an admin set them already. What the
demo deploys is dated with the simulated time, and it ends with the dashboards'
facts built (engine.analytics.facts), so the first dashboard opens at once.
"""

from __future__ import annotations

import heapq
import itertools
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional, TextIO

from sqlalchemy import bindparam, select

from engine import jobs, service
from engine.analytics import costs, facts
from engine.cases.model import MessageNotExpected, TaskNotReady
from engine.definitions.packages import read_package
from engine.sandbox.helpers import helper_modules
from engine.storage.tables import HumanTask, ProcessDefinition, ProcessInstance
from engine.storage.uow import ConcurrentUpdate, UnitOfWorkFactory
from engine.time.calendar import parse_calendar
from engine.time.clock import FixedClock
from engine.work import feedback

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "bpmn"
LOAN_BEFORE = ROOT / "bpmn_history" / "loan_decision_before"
# The shipped processes' traffic profiles (``DEMO`` beside their helpers, see engine.sandbox.helpers).
PROCESSES: dict[str, ModuleType] = {key: module for key, module in helper_modules().items()
                                    if (SHIPPED / key).is_dir() and hasattr(module, "DEMO")}
# segment: (share of customers, how much longer than usual their work waits)
SEGMENTS = {"premium": (0.2, 0.4), "standard": (0.55, 1.0), "basic": (0.25, 1.7)}
WORKING_HOURS = parse_calendar("UTC 08:00-18:00 Mon-Fri")
OPENING_HOUR = 8
WEEKEND_SHARE = 0.3  # weekend arrivals, as a share of a weekday's
DAYTIME_SHARE = 0.8  # arrivals during opening hours; the rest early morning or evening
REDESIGN_AT = 0.4  # the share of the period after which the redesigned loan process is deployed
FEEDBACK_SHARE = 0.35
DEMO_ADMIN = "demo-admin"  # sets the hourly rates; has no password, so nobody signs in as it
EXTRA_STAFF = 3
FIRST_NAMES = ("anna", "ben", "carla", "dev", "elif", "femi", "greta", "hugo", "ines", "jonas", "kai", "lena",
               "milo", "nora", "omar", "pia", "quinn", "rosa", "sami", "tara", "ugo", "vera", "wim", "yara")
LAST_NAMES = ("Berg", "Costa", "Dahl", "Evans", "Fischer", "Garcia", "Hale", "Ito", "Jansen", "Khan", "Lund",
              "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber")

_OPEN_TASKS = select(HumanTask.id, HumanTask.step_id, HumanTask.role).where(
    HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == "open")
_CASE = select(ProcessInstance.status, ProcessInstance.next_timer_at).where(
    ProcessInstance.id == bindparam("instance_id"))


class DemoRefused(ValueError):
    """The demo cannot run as asked."""


@dataclass
class DemoResult:
    """What the demo did; ``seconds`` is wall-clock time."""

    start: datetime
    end: datetime
    cases: dict[str, int] = field(default_factory=dict)
    tasks_completed: int = 0
    messages: int = 0
    timers_fired: int = 0
    breaches: int = 0
    scores: int = 0
    loan_story: bool = False
    seconds: float = 0.0

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())


@dataclass
class _Case:
    key: str
    profile: dict[str, Any]
    segment: str
    data: dict[str, Any]
    steps: dict[int, str] = field(default_factory=dict)  # the step of each task seen open, by task id
    timer_at: Optional[datetime] = None
    lead_ratio: float = 1.0  # lead time ÷ target, once finished
    last_person: str = DEMO_ADMIN


class Simulation:
    """One demo run: an event queue over simulated time, each event a call to the engine."""

    def __init__(self, new_uow: UnitOfWorkFactory, days: int, seed: int, start: datetime,
                 progress: Optional[TextIO] = None) -> None:
        if not isinstance(new_uow.clock, FixedClock):
            raise DemoRefused("the demo needs a clock it can move (FixedClock)")
        if days < 1:
            raise DemoRefused("the demo needs at least one day (--days 1 or more)")
        self.new_uow, self.clock = new_uow, new_uow.clock
        self.days, self.rng = days, random.Random(seed)
        self.start, self.end = start, start + timedelta(days=days)
        self.progress = progress
        self._day_shown = 0  # the simulated day the progress last showed
        self.result = DemoResult(start, self.end)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.counter = itertools.count()
        self.cases: dict[int, _Case] = {}
        self.staff: dict[str, list[tuple[str, float]]] = {}
        self.customers: list[service.CustomerRef] = []
        self.redesigned = False

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Deploy what is missing (the loan's "before" version first, on a fresh database), staff and rates."""
        self.clock.set(self.start - timedelta(days=1))
        self.result.loan_story = deploy_processes(self.new_uow)
        self._hire_staff()
        self._set_rates()
        self._make_customers()

    def _hire_staff(self) -> None:
        """A few staff per role, besides the role's own user when ``valueflow init`` made one (it has the password)."""
        names = iter(f"{first}.{last.lower()}" for last, first in itertools.product(LAST_NAMES, FIRST_NAMES))
        roles = sorted({role for module in PROCESSES.values() for role in module.DEMO["rates"]})
        for role in roles:
            people = [next(names) for _ in range(EXTRA_STAFF)]
            for person in people:
                service.add_user(self.new_uow(), person, [role])
            with self.new_uow() as uow:
                if uow.users.by_name(role) is not None:
                    people.append(role)
            self.staff[role] = [(person, self.rng.lognormvariate(0, 0.25)) for person in people]
        service.add_user(self.new_uow(), DEMO_ADMIN, ["admin"])

    def _set_rates(self) -> None:
        known = costs.role_rates(self.new_uow())
        for module in PROCESSES.values():
            for role, rate in module.DEMO["rates"].items():
                if role not in known:
                    costs.set_role_rate(self.new_uow(), role, rate, DEMO_ADMIN)

    def _make_customers(self) -> None:
        expected = sum(m.DEMO["arrivals_per_day"] for m in PROCESSES.values()) * self.days
        names = [f"{first.title()} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
        segments, weights = zip(*((name, share) for name, (share, _) in SEGMENTS.items()))
        for number in range(max(50, int(expected * 0.45))):
            segment = self.rng.choices(segments, weights)[0]
            self.customers.append(service.CustomerRef(f"cust-{number + 1:05d}", self.rng.choice(names), segment))

    # -- the event queue ---------------------------------------------------------------------

    def at(self, moment: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.queue, (moment, next(self.counter), kind, payload))

    def run(self) -> DemoResult:
        began = time.perf_counter()
        self.prepare()
        self._plan_arrivals()
        if self.result.loan_story:
            redesign = self.start + timedelta(days=max(1, round(self.days * REDESIGN_AT)), hours=7)
            self.at(min(redesign, self.end), "redesign")
        hour = self.start
        while hour < self.end:
            hour += timedelta(hours=1)
            self.at(hour, "worker")
        handlers: dict[str, Callable[[Any], None]] = {
            "arrive": self._arrive, "claim": self._claim, "complete": self._complete, "message": self._message,
            "timer": self._timer, "worker": self._worker, "redesign": self._redesign, "score": self._score}
        shown = 0.0
        while self.queue and self.queue[0][0] <= self.end:
            moment, _, kind, payload = heapq.heappop(self.queue)
            self.clock.set(moment)
            handlers[kind](payload)
            if self.progress is not None and time.perf_counter() - shown > 0.2:
                shown = time.perf_counter()
                self._show_progress(moment)
        self.clock.set(self.end)
        with self.new_uow() as uow:
            facts.refresh(uow)  # the dashboards' facts, built now rather than on the first visit
        self.result.seconds = round(time.perf_counter() - began, 1)
        if self.progress is not None:
            self._show_progress(self.end, last=True)
        return self.result

    def _show_progress(self, moment: datetime, last: bool = False) -> None:
        """A bar redrawn in place on a terminal; elsewhere (a log file, a pipe) a line for each new simulated day."""
        done = (moment - self.start) / (self.end - self.start)
        width = 30
        bar = "#" * int(done * width) + "." * (width - int(done * width))
        day = min(self.days, int((moment - self.start).total_seconds() // 86400) + 1)
        text = (f"demo: [{bar}] day {day}/{self.days}, {self.result.total_cases} cases, "
                f"{self.result.tasks_completed} tasks done")
        if self.progress.isatty():
            self.progress.write(f"\r{text}" + ("\n" if last else ""))
        elif day != self._day_shown or last:
            self.progress.write(f"{text}\n")
        self._day_shown = day
        self.progress.flush()

    def _plan_arrivals(self) -> None:
        """Arrivals on every calendar day the period touches: it starts and ends at the time of day it was run."""
        for offset in range(self.days + 1):
            day = self.start + timedelta(days=offset)
            weekend = day.weekday() >= 5
            for key, module in PROCESSES.items():
                rate = module.DEMO["arrivals_per_day"] * (WEEKEND_SHARE if weekend else 1.0)
                for _ in range(_poisson(self.rng, rate)):
                    hours = self.rng.uniform(8, 18) if self.rng.random() < DAYTIME_SHARE else \
                        self.rng.choice((self.rng.uniform(6, 8), self.rng.uniform(18, 22)))
                    moment = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=hours)
                    if self.start <= moment < self.end:
                        self.at(moment, "arrive", key)

    # -- events ------------------------------------------------------------------------------

    def _arrive(self, key: str) -> None:
        customer = self.rng.choice(self.customers)
        module = PROCESSES[key]
        profile = module.DEMO_BEFORE if key == "loan_decision" and self._before_phase() else module.DEMO
        data = profile["start"](self.rng, customer)
        instance_id = service.start_instance(self.new_uow(), key, customer, data, actor="demo")
        self.cases[instance_id] = _Case(key, profile, customer.segment, {**data, "segment": customer.segment})
        self.result.cases[key] = self.result.cases.get(key, 0) + 1
        self._follow(instance_id)

    def _before_phase(self) -> bool:
        return self.result.loan_story and not self.redesigned

    def _redesign(self, _: Any) -> None:
        service.deploy(self.new_uow(), read_package(SHIPPED / "loan_decision"), actor="head-of-lending")
        self.redesigned = True

    def _claim(self, task: tuple[int, int, str, float]) -> None:
        instance_id, task_id, person, work_seconds = task
        try:
            service.claim_task(self.new_uow(), task_id, person)
        except (service.TaskClosed, service.NotFound, service.NotAllowed, ConcurrentUpdate):
            return  # the case moved on (a timer, a cancellation) before anyone took it
        self.at(self.clock.now() + timedelta(seconds=work_seconds), "complete", (instance_id, task_id, person))

    def _complete(self, task: tuple[int, int, str]) -> None:
        instance_id, task_id, person = task
        case = self.cases[instance_id]
        step_id = case.steps[task_id]
        form = case.profile["form"](self.rng, step_id, case.data, self.clock.now().date())
        try:
            service.complete_task(self.new_uow(), task_id, person, form)
        except (service.TaskClosed, service.NotFound, TaskNotReady, ConcurrentUpdate):
            return
        case.data.update(form)
        case.last_person = person
        self.result.tasks_completed += 1
        reply = case.profile["after"](self.rng, step_id, case.data)
        if reply is not None:
            name, hours, payload = reply
            self.at(self.clock.now() + timedelta(hours=hours), "message", (instance_id, name, payload))
        self._follow(instance_id)

    def _message(self, delivery: tuple[int, str, dict[str, Any]]) -> None:
        instance_id, name, payload = delivery
        try:
            service.deliver_message(self.new_uow(), instance_id, name, payload, actor="customer")
        except (service.TaskClosed, MessageNotExpected, ConcurrentUpdate):
            return
        self.result.messages += 1
        self._follow(instance_id)

    def _timer(self, instance_id: int) -> None:
        self._worker(None)
        self._follow(instance_id)

    def _worker(self, _: Any) -> None:
        round_ = jobs.run_until_idle(self.new_uow, "demo-worker")
        self.result.timers_fired += round_.timers_fired
        self.result.breaches += round_.breaches

    def _score(self, instance_id: int) -> None:
        case = self.cases[instance_id]
        ratio = case.lead_ratio
        base = 5 if ratio <= 0.5 else 4 if ratio <= 1 else 3 if ratio <= 1.5 else 2 if ratio <= 2.5 else 1
        score = min(5, max(1, base + self.rng.choice((-1, 0, 0, 0, 1))))
        try:
            feedback.record_feedback(self.new_uow(), instance_id, score, case.last_person)
        except feedback.FeedbackRefused:
            return
        self.result.scores += 1

    # -- following a case ----------------------------------------------------------------------

    def _follow(self, instance_id: int) -> None:
        """Schedule the claims of the case's newly opened tasks, its next timer, and a score when it ends."""
        case = self.cases[instance_id]
        with self.new_uow() as uow:
            connection = uow.session.connection()
            status, timer_at = connection.execute(_CASE, {"instance_id": instance_id}).one()
            tasks = connection.execute(_OPEN_TASKS, {"instance_id": instance_id}).all()
        now = self.clock.now()
        for task_id, step_id, role in tasks:
            if task_id not in case.steps:
                case.steps[task_id] = step_id
                self._plan_task(instance_id, task_id, step_id, role, now)
        if status == "running" and timer_at is not None and timer_at != case.timer_at:
            case.timer_at = timer_at
            self.at(max(timer_at, now), "timer", instance_id)
        if status == "completed" and self.rng.random() < FEEDBACK_SHARE:
            self._plan_score(instance_id, now)

    def _plan_task(self, instance_id: int, task_id: int, step_id: str, role: str, now: datetime) -> None:
        """Who takes the task, when, and for how long: a wait and a stretch of work in working hours.

        Nobody starts a task they cannot finish before closing time: such a task waits for the next morning.
        """
        case = self.cases[instance_id]
        timing = case.profile["steps"].get(step_id, {})
        person, speed = self.rng.choice(self.staff.get(role) or [(role, 1.0)])
        wait_median, wait_spread = timing.get("wait", (60, 0.8))
        work_median, work_spread = timing.get("work", (20, 0.5))
        wait = self.rng.lognormvariate(0, wait_spread) * wait_median * 60 * SEGMENTS[case.segment][1]
        work = min(self.rng.lognormvariate(0, work_spread) * work_median * 60 * speed, 8 * 3600)
        claim = WORKING_HOURS.add_working_seconds(now, wait)
        if WORKING_HOURS.add_working_seconds(claim, work) - claim > timedelta(seconds=work + 1):
            morning = WORKING_HOURS.add_working_seconds(claim, work)  # on the next working day
            claim = morning.replace(hour=OPENING_HOUR, minute=0, second=0, microsecond=0) + timedelta(
                minutes=self.rng.uniform(0, 30))
        self.at(claim, "claim", (instance_id, task_id, person, work))

    def _plan_score(self, instance_id: int, now: datetime) -> None:
        case = self.cases[instance_id]
        with self.new_uow() as uow:
            started, definition_id = uow.session.execute(
                select(ProcessInstance.started_at, ProcessInstance.definition_id)
                .where(ProcessInstance.id == instance_id)).one()
            definition = uow.session.get(ProcessDefinition, definition_id)
            process = definition.annotations["process"] if definition else {}
        target = (process.get("segment_targets") or {}).get(case.segment) or process.get("target_seconds")
        case.lead_ratio = (now - started).total_seconds() / target if target else 1.0
        self.at(now + timedelta(hours=self.rng.uniform(1, 72)), "score", instance_id)


def deploy_processes(new_uow: UnitOfWorkFactory) -> bool:
    """Deploy the shipped processes the demo drives; on a fresh database the loan decision as it was before
    its redesign comes first (version 1) and the shipped one waits for the simulation. Returns whether the
    loan story can be told (False when loan_decision was deployed before, by ``valueflow init``)."""
    before = read_package(LOAN_BEFORE)
    with new_uow() as uow:
        versions = list(uow.session.scalars(select(ProcessDefinition.content_hash)
                                            .where(ProcessDefinition.key == "loan_decision")
                                            .order_by(ProcessDefinition.version)))
    if not versions:
        service.deploy(new_uow(), before, actor="demo")
    story = versions in ([], [before.content_hash()])
    for folder in sorted(p for p in SHIPPED.iterdir() if p.is_dir()):
        if not (story and folder.name == "loan_decision"):
            service.deploy(new_uow(), read_package(folder), actor="demo")
    return story


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method; means here stay well under a hundred)."""
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def default_start(days: int, now: datetime) -> datetime:
    """The demo ends at the start of the current hour: it starts ``days`` before that."""
    return now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)


def run_demo(new_uow: UnitOfWorkFactory, days: int = 30, seed: int = 1, start: Optional[datetime] = None,
             progress: Optional[TextIO] = sys.stderr) -> DemoResult:
    """Run the demo on ``new_uow`` (whose clock must be a FixedClock) from ``start`` for ``days`` days."""
    begin = start or default_start(days, new_uow.clock.now())
    return Simulation(new_uow, days, seed, begin, progress).run()

