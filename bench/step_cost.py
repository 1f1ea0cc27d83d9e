"""What a step costs: in memory, persisted on SQLite and PostgreSQL, and deep into a loop.

Prints, in one run:
- loan_decision, manual path (capture → credit review → underwriting →
  offer), full instances per second: raw SpiffWorkflow in memory (same
  compiled spec and script engine, no database, SpiffWorkflow's own
  BpmnWorkflow; and the same on the CaseWorkflow cases run on, which shows
  what the database alone costs), then through the engine's
  service layer with every step its own transaction, on a SQLite file and
  (when VALUEFLOW_TEST_POSTGRES or VALUEFLOW_BENCH_POSTGRES names a server) on
  PostgreSQL, and the ratio persisted / raw; and on an in-memory SQLite
  database, which shows how much of the cost is the disk. Claims are separate
  transactions a person makes; they are timed apart. The instances run in
  many short rounds, each raw then every database, and the ratio is the
  median of the rounds' own ratios: this machine's speed drifts by a third
  within seconds, so only runs close together in time compare.
- where a persisted instance's time goes on the SQLite file, from five more
  short interleaved rounds with timers around SpiffWorkflow and SQLite's own
  calls (kept apart from the figures above, which they would slow a little),
  each part also as a multiple of raw's time.
- the rework loop of service_request (resolve → confirm "not resolved" →
  resolve ...), persisted on SQLite: median time of one pass's two
  completions around passes 1, 100 and 1,000, and the live task count; and,
  for the same reason as above, pass 100 and pass 1,000 each against a new
  case's first passes, run alternately at the same time.

Usage: .venv/bin/python bench/step_cost.py [--instances N] [--rounds N] [--passes N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy import create_engine, select, text
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import service
from engine.cases.model import Case  # noqa: E402
from engine.cases.workflow import CaseWorkflow  # noqa: E402
from engine.definitions.packages import compile_package, read_package  # noqa: E402
from engine.storage.driver_statements import DriverStatements  # noqa: E402
from engine.storage.tables import HumanTask  # noqa: E402
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402

LOAN_FORMS = {
    "capture_application": {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000,
                            "existing_debts": 15000, "years_employed": 3, "property_value": 300000,
                            "documents_complete": True},
    "credit_review": {"income_verified": True, "affordability_confirmed": True, "recommendation": "approve",
                      "review_notes": "stable income"},
    "underwriting_decision": {"decision": "approve", "decision_rationale": "within policy"},
    "prepare_offer": {"interest_rate": 3.1, "term_years": 25, "offer_valid_until": "2026-03-01"},
}
WORKER = "bench"
ROUNDS = 25  # headline rounds
PART_ROUNDS = 5  # instrumented rounds
ROLES = ["customer-service", "credit-analyst", "underwriter", "service-desk", "specialist", "service-manager"]


def raw_instances_per_second(count: int, workflow_class: type[BpmnWorkflow] = BpmnWorkflow) -> float:
    """Loan instances a second, run in memory on SpiffWorkflow's own workflow class (or ``workflow_class``)."""
    compiled = compile_package(read_package(ROOT / "bpmn" / "loan_decision"))
    started = time.perf_counter()
    for _ in range(count):
        workflow = workflow_class(compiled.spec, compiled.subprocess_specs, script_engine=compiled.script_engine)
        workflow.do_engine_steps()
        while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
            for task in ready:
                task.set_data(**LOAN_FORMS[task.task_spec.bpmn_id])
                task.run()
                workflow.do_engine_steps()
        assert workflow.is_completed()
    return count / (time.perf_counter() - started)


def prepared(url: str) -> UnitOfWorkFactory:
    new_uow = connect(url, FixedClock(datetime(2026, 1, 5, 9, tzinfo=timezone.utc)), migrate=True)
    for key in ("loan_decision", "service_request"):
        service.deploy(new_uow(), read_package(ROOT / "bpmn" / key))
    service.add_user(new_uow(), WORKER, ROLES)
    return new_uow


def open_tasks(new_uow: UnitOfWorkFactory, instance_id: int) -> dict[int, str]:
    with new_uow() as uow:
        rows = uow.session.execute(select(HumanTask.id, HumanTask.step_id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")).all()
    return {task_id: step for task_id, step in rows}


class Parts:
    """Seconds spent inside chosen functions during the steps (start, completions) of an instrumented run.

    ``places`` names each part and the function it is: (class, attribute).
    Inside the ``with`` block the functions are wrapped with a timer that
    counts only while ``during_steps`` is True.
    """

    def __init__(self, places: dict[str, tuple[type, str]]) -> None:
        self.places = places
        self.spent = {label: 0.0 for label in places}
        self.during_steps = False
        self._originals = {label: vars(owner)[name] for label, (owner, name) in places.items()}

    def __enter__(self) -> "Parts":
        for label, (owner, name) in self.places.items():
            original = self._originals[label]
            if isinstance(original, classmethod):
                setattr(owner, name, classmethod(self._timing(label, original.__func__)))
            else:
                setattr(owner, name, self._timing(label, original))
        return self

    def __exit__(self, *_exc: object) -> None:
        for label, (owner, name) in self.places.items():
            setattr(owner, name, self._originals[label])

    def _timing(self, label: str, function: Callable[..., object]) -> Callable[..., object]:
        def timed_call(*args: object, **kwargs: object) -> object:
            if not self.during_steps:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started
        return timed_call


def timed(seconds: list[float], call: Callable[[], object], parts: Optional[Parts] = None) -> None:
    if parts is not None:
        parts.during_steps = True
    started = time.perf_counter()
    try:
        call()
    finally:
        seconds.append(time.perf_counter() - started)
        if parts is not None:
            parts.during_steps = False


def persisted_instances_per_second(new_uow: UnitOfWorkFactory, count: int,
                                   parts: Optional[Parts] = None) -> tuple[float, float]:
    """(instances/s counting start and completions, the same with claims added)."""
    steps: list[float] = []
    claims: list[float] = []
    for number in range(count):
        customer = service.CustomerRef(f"bench-{uuid.uuid4().hex[:8]}", f"Customer {number}", "standard")
        holder: list[int] = []
        timed(steps, lambda: holder.append(service.start_instance(new_uow(), "loan_decision", customer, {})), parts)
        while tasks := open_tasks(new_uow, holder[0]):
            for task_id, step in tasks.items():
                timed(claims, lambda: service.claim_task(new_uow(), task_id, WORKER))
                timed(steps, lambda: service.complete_task(new_uow(), task_id, WORKER, LOAN_FORMS[step]), parts)
    return count / sum(steps), count / (sum(steps) + sum(claims))


def where_the_time_goes(new_uow: UnitOfWorkFactory, count: int) -> tuple[float, dict[str, float]]:
    """Raw ms an instance, and the persisted instance's ms: in all, in SpiffWorkflow, in SQLite's own calls.

    Five short rounds, each raw then persisted, so that both sides see the machine alike.
    """
    places: dict[str, tuple[type, str]] = {
        "SpiffWorkflow (Case.start, Case.complete)": (Case, "complete"), "SpiffWorkflow, start": (Case, "start"),
        "SQLite statements": (DriverStatements, "_run"),
        "SQLite commits (and returning the connection)": (UnitOfWork, "commit"),
    }
    rounds, each = PART_ROUNDS, max(count // PART_ROUNDS, 1)
    raw = persisted = 0.0
    with Parts(places) as parts:
        for _ in range(rounds):
            raw += each / raw_instances_per_second(each)
            persisted += each / persisted_instances_per_second(new_uow, each, parts)[0]
    instances = rounds * each
    spent = {label: seconds * 1000 / instances for label, seconds in parts.spent.items()}
    spent["SpiffWorkflow (Case.start, Case.complete)"] += spent.pop("SpiffWorkflow, start")
    total = persisted * 1000 / instances
    rest = total - sum(spent.values())
    return raw * 1000 / instances, {"persisted step, in all": total, **spent,
                                    "the rest (snapshot, form check, rows, ...)": rest}


class ReworkCase:
    """A service_request case going round its rework loop: resolve, then the customer says "not resolved"."""

    FORMS = {
        "triage_request": {"category": "delivery", "severity": "high", "description": "parcel lost"},
        "resolve_request": {"resolution_type": "replacement", "resolution": "sent again"},
    }

    def __init__(self, new_uow: UnitOfWorkFactory) -> None:
        self.new_uow = new_uow
        customer = service.CustomerRef(f"loop-{uuid.uuid4().hex[:8]}", "Loop Customer", "standard")
        self.instance_id = service.start_instance(new_uow(), "service_request", customer, {})
        self._complete("triage_request", self.FORMS["triage_request"])
        self.passes = 0

    def next_pass(self, last: bool = False) -> float:
        """Seconds for the pass's two completions (claims apart); ``last`` says "resolved" and ends the case."""
        spent = self._complete("resolve_request", self.FORMS["resolve_request"])
        spent += self._complete("confirm_resolution", {"resolved": last, "customer_feedback": "still broken"})
        self.passes += 1
        return spent

    def live_tasks(self) -> int:
        """SpiffWorkflow tasks the case holds: rows of case_task and the predicted ones in its header."""
        with self.new_uow() as uow:
            rows = uow.session.execute(
                text("SELECT count(*) FROM case_task WHERE instance_id = :i"), {"i": self.instance_id}).scalar_one()
            header = uow.session.execute(
                text("SELECT state FROM process_instance WHERE id = :i"), {"i": self.instance_id}).scalar_one()
        return rows + len(json.loads(header).get("predicted", {}))  # see engine.cases.state

    def _complete(self, step: str, data: dict[str, object]) -> float:
        [task_id] = [t for t, s in open_tasks(self.new_uow, self.instance_id).items() if s == step]
        service.claim_task(self.new_uow(), task_id, WORKER)
        started = time.perf_counter()
        service.complete_task(self.new_uow(), task_id, WORKER, data)
        return time.perf_counter() - started


def loop_pass_times(new_uow: UnitOfWorkFactory, passes: int,
                    side_by_side_at: tuple[int, ...]) -> tuple[list[float], list[int], dict[int, float]]:
    """Seconds of each pass of one case's rework loop, its live task count after each, and side-by-side ratios.

    At each pass of ``side_by_side_at``, the case's next ten passes run alternately with a new case's first
    ten: the ratio of their medians is the cost of depth alone, whatever the machine's speed at the time.
    """
    deep = ReworkCase(new_uow)
    times: list[float] = []
    sizes: list[int] = []
    ratios: dict[int, float] = {}
    while deep.passes < passes:
        times.append(deep.next_pass())
        sizes.append(deep.live_tasks())
        if deep.passes in side_by_side_at:
            at, fresh = deep.passes, ReworkCase(new_uow)
            new_passes, deep_passes = [], []
            for _ in range(10):
                new_passes.append(fresh.next_pass())
                deep_passes.append(deep.next_pass())
                sizes.append(deep.live_tasks())
            fresh.next_pass(last=True)
            times.extend(deep_passes)
            ratios[at] = statistics.median(deep_passes) / statistics.median(new_passes)
    deep.next_pass(last=True)
    return times, sizes, ratios


def temporary_postgres(server: Optional[str] = None,
                       name: Optional[str] = None) -> Optional[tuple[str, Callable[[], None]]]:
    """A new database on ``server`` (default: VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES, else None):
    its URL, and the call that drops it."""
    server = server or os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if not server:
        return None
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = name or f"valueflow_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="loan instances per database, in all")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--passes", type=int, default=1000)
    args = parser.parse_args()

    raw_instances_per_second(20)  # warm up: parse, compile, caches
    # A run that fails still drops its PostgreSQL database, after its connections are closed.
    with tempfile.TemporaryDirectory() as folder, ExitStack() as leaving:
        databases = [("SQLite file", f"sqlite:///{folder}/bench.db"),
                     ("SQLite memory", "sqlite://")]  # the same work without the disk
        postgres = temporary_postgres()
        if postgres:
            url, drop = postgres
            leaving.callback(drop)
            databases.append(("PostgreSQL", url))
        factories = []
        for _, url in databases:
            factories.append(prepared(url))
            leaving.callback(factories[-1].dispose)
        for new_uow in factories:
            persisted_instances_per_second(new_uow, 10)  # warm up
        # Rounds interleave raw and persisted runs, so that a machine that speeds up or slows down
        # during the run moves both sides of the ratio alike.
        raws: list[float] = []
        raws_on_ours: list[float] = []
        runs: list[list[tuple[float, float]]] = [[] for _ in databases]
        each = max(args.instances // args.rounds, 1)
        for _ in range(args.rounds):
            raws.append(raw_instances_per_second(each))
            raws_on_ours.append(raw_instances_per_second(each, CaseWorkflow))
            for new_uow, results in zip(factories, runs):
                results.append(persisted_instances_per_second(new_uow, each))
        raw = statistics.median(raws)
        print(f"loan_decision manual path, {args.rounds} rounds of {each} instances, each round raw then every "
              "database; medians of the rounds")
        print(f"  raw SpiffWorkflow in memory        {raw:8.1f} instances/s")
        on_file = [r[0] / ours for r, ours in zip(runs[0], raws_on_ours)]
        print(f"  raw on Valueflow's CaseWorkflow    {statistics.median(raws_on_ours):8.1f} instances/s  "
              f"(persisted on the SQLite file against it: {statistics.median(on_file):.2f})")
        raw_ms, parts = where_the_time_goes(factories[0], args.instances // 5)  # instrumented: not in the figures above
        for (label, _), results in zip(databases, runs):
            steps_only = statistics.median(r[0] for r in results)
            with_claims = statistics.median(r[1] for r in results)
            low, middle, high = statistics.quantiles([r[0] / raw_run for r, raw_run in zip(results, raws)], n=4)
            print(f"  persisted, {label:<12}           {steps_only:8.1f} instances/s  "
                  f"(ratio to raw {middle:.2f}, middle half of the rounds {low:.2f}-{high:.2f}; "
                  f"with claims {with_claims:.1f}/s)")
        print(f"where a persisted instance's time goes, SQLite file (instrumented rounds; raw {raw_ms:.2f} ms)")
        for part, milliseconds in parts.items():
            print(f"  {part:<46} {milliseconds:6.2f} ms  ({milliseconds / raw_ms:.2f} x raw)")
        new_uow = prepared(f"sqlite:///{folder}/loop.db")
        times, sizes, side_by_side = loop_pass_times(new_uow, args.passes, (100, args.passes))
        new_uow.dispose()
    print(f"service_request rework loop, {args.passes} passes, SQLite, two completions a pass")
    for start in (1, 100, args.passes):
        window = times[max(start - 1, 0):start + 9] if start < args.passes else times[-10:]
        label = f"{start}" if start < args.passes else f"{args.passes}"
        print(f"  pass {label:>5}: {statistics.median(window) * 1000:6.2f} ms a pass "
              f"(median of 10 passes), {sizes[min(start, len(sizes)) - 1]} live tasks")
    print(f"  pass {args.passes} / pass 1: {statistics.median(times[-10:]) / statistics.median(times[:10]):.2f}x "
          "(minutes apart)")
    for at, ratio in side_by_side.items():
        print(f"  passes {at + 1}-{at + 10} / a new case's passes 1-10, alternately: {ratio:.2f}x")


if __name__ == "__main__":
    main()
