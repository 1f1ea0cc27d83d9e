"""How fast the dashboard's figures come back with 1,000,000 task events in the database.

Builds a SQLite file (and, when VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES
names a server, a fresh PostgreSQL database) with the migrated schema, the
shipped processes deployed through the engine (loan_decision in two versions:
before and after its redesign, as ``valueflow demo`` does), staff, rates, and
half a year of cases bulk-inserted in the shape the engine writes them: one
``process_instance`` row per case (with a case state of the usual size), one
``human_task`` row per task (created, claimed, completed, due, breached), one
``task_event`` row per change (instance started/completed, task created /
claimed / completed / breached, with the usual JSON details), until the log
holds N events; a third of the finished cases have a satisfaction score.
Waits and work times are drawn from the demo profiles (workflows/*.py), so
steps differ as they do in the demo. (``case_task`` rows, the cases' run state,
are left out: no figure reads them.)

Then it times every analytics function the dashboard pages call, on the
busiest process (loan_decision, about 45 % of the log), for all time and for
the last four weeks: the median and the worst of R runs after one warm-up.
And it times the pages as the web app builds them (``pages``): the loan
dashboard (``engine.analytics.dashboards.dashboard_page``, as web/dashboard.py
calls it) for all time, the last four weeks and version 2, each without and
with a step chosen; the compare-versions page; the customer
page of the busiest customer; and how long the XES and CSV exports take to
send their first chunk; each against the 300 ms budget of a dashboard page, with the statements one page
sends to the database (on PostgreSQL each a round trip) and the CPU time it takes in this process.

Usage: .venv/bin/python bench/dashboard.py [--events N] [--runs R] [--sqlite-only] [--keep FOLDER]
       .venv/bin/python bench/dashboard.py --reuse-sqlite FILE [--reuse-postgres NAME] [--pages-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import create_engine, event, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import service, simulation
from engine.analytics import costs, cycle_times, dashboards, exports, facts, risk, satisfaction
from engine.analytics.filters import Filters  # noqa: E402
from engine.analytics.segments import segment_report  # noqa: E402
from engine.definitions.annotations import ProcessAnnotations  # noqa: E402
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.tables import (CaseFeedback, Customer, HumanTask, ProcessDefinition, ProcessInstance,  # noqa: E402
                           TaskEvent)
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from engine.work.accounts import Account  # noqa: E402
from engine.work.customers import customer_360  # noqa: E402

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
SPAN = timedelta(days=182)
MIX = {"loan_decision": 0.40, "order_to_cash": 0.25, "service_request": 0.35}  # of the cases
SEGMENTS = {"premium": (0.2, 0.5), "standard": (0.55, 1.0), "basic": (0.25, 1.5)}
BATCH = 20_000
MANAGER = Account("bench", frozenset({"manager"}))  # the customer page as a manager sees it: every case


# -- the paths a case takes through each process -------------------------------------------------

def loan_path(rng: random.Random, before: bool) -> list[str]:
    path = ["capture_application"] + (["request_documents"] if rng.random() < 0.3 else [])
    if before:
        path += ["key_in_application", "verify_documents", "credit_review", "underwriting_decision"]
        return path + (["second_signature", "prepare_offer"] if rng.random() < 0.65 else ["explain_decline"])
    risk_level = rng.choices(("low", "medium", "high"), (50, 35, 15))[0]
    if risk_level == "low":
        return path + ["prepare_offer"]
    if risk_level == "high":
        return path + ["explain_decline"]
    path += ["credit_review", "underwriting_decision"]
    return path + (["prepare_offer"] if rng.random() < 0.7 else ["explain_decline"])


def order_path(rng: random.Random, _: bool) -> list[str]:
    path = ["enter_order"] + (["check_credit"] if rng.random() < 0.15 else [])
    return path + ["pick_and_pack", "ship_order", "create_invoice"]


def service_path(rng: random.Random, _: bool) -> list[str]:
    path = ["triage_request", "resolve_request"]
    if rng.random() < 0.3:
        path.append("escalation_review")
    path.append("confirm_resolution")
    while rng.random() < 0.15:
        path += ["resolve_request", "confirm_resolution"]
    return path


PATHS = {"loan_decision": loan_path, "order_to_cash": order_path, "service_request": service_path}


@dataclass
class Version:
    id: int
    key: str
    version: int
    annotations: ProcessAnnotations
    profile: dict[str, Any]
    before: bool


@dataclass
class Rows:
    instances: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)


def prepare(url: str) -> tuple[UnitOfWorkFactory, list[Version], dict[str, list[str]]]:
    """Schema, processes (through the engine), staff and rates."""
    factory = connect(url, FixedClock(NOW - SPAN - timedelta(days=1)), migrate=True)
    simulation.deploy_processes(factory)
    factory.clock.set(NOW - SPAN * 0.6)  # the redesign, part-way through the half year
    service.deploy(factory(), read_package(ROOT / "bpmn" / "loan_decision"), actor="bench")
    factory.clock.set(NOW)
    staff: dict[str, list[str]] = {}
    service.add_user(factory(), "bench-admin", ["admin"])
    for key, module in simulation.PROCESSES.items():
        for role, rate in module.DEMO["rates"].items():
            staff[role] = [f"{role}-{i}" for i in range(4)]
            for person in staff[role]:
                service.add_user(factory(), person, [role])
            costs.set_role_rate(factory(), role, rate, "bench-admin")
    with factory() as uow:
        rows = uow.session.execute(select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version,
                                          ProcessDefinition.annotations).order_by(ProcessDefinition.id)).all()
    versions = []
    for definition_id, key, version, notes in rows:
        before = key == "loan_decision" and version == 1
        module = simulation.PROCESSES[key]
        profile = module.DEMO_BEFORE if before else module.DEMO
        versions.append(Version(definition_id, key, version, ProcessAnnotations.from_dict(notes), profile,
                                before))
    return factory, versions, staff


def generate(factory: UnitOfWorkFactory, versions: list[Version], staff: dict[str, list[str]], events: int,
             seed: int = 11) -> dict[str, int]:
    """Bulk-insert cases until the log holds ``events`` task events; returns what was written."""
    rng = random.Random(seed)
    by_key: dict[str, list[Version]] = {}
    for version in versions:
        by_key.setdefault(version.key, []).append(version)
    customers = [(f"cust-{n:06d}", rng.choices(list(SEGMENTS), [s[0] for s in SEGMENTS.values()])[0])
                 for n in range(60_000)]
    with factory() as uow:
        uow.session.execute(insert(Customer), [{"id": c, "name": f"Customer {c[5:]}", "segment": s}
                                               for c, s in customers])
        uow.commit()
    redesign = NOW - SPAN * 0.6
    ids = {"instance": 0, "task": 0}
    counts = {"cases": 0, "tasks": 0, "events": 0, "scores": 0}
    rows = Rows()
    keys, weights = list(MIX), list(MIX.values())
    while counts["events"] < events:
        key = rng.choices(keys, weights)[0]
        started = NOW - SPAN + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() - 3600))
        if key == "loan_decision":
            version = by_key[key][0] if started < redesign else by_key[key][-1]
        else:
            version = by_key[key][-1]
        customer_id, segment = rng.choice(customers)
        _case(rng, rows, ids, counts, version, customer_id, segment, started, staff)
        if len(rows.events) >= BATCH:
            _flush(factory, rows)
    _flush(factory, rows)
    return counts


def _case(rng: random.Random, rows: Rows, ids: dict[str, int], counts: dict[str, int], version: Version,
          customer_id: str, segment: str, started: datetime, staff: dict[str, list[str]]) -> None:
    ids["instance"] += 1
    instance_id = ids["instance"]
    data = {"customer": {"id": customer_id, "name": f"Customer {customer_id[5:]}", "segment": segment},
            "notes": "x" * rng.randint(200, 900)}
    case = {"id": instance_id, "definition_id": version.id, "customer_id": customer_id, "segment": segment,
            "status": "running", "started_at": started, "ended_at": None, "error_message": None, "error_step": None,
            "next_timer_at": None, "state": json.dumps({"data": data}), "row_version": 1}
    rows.instances.append(case)
    logged = len(rows.events)
    log = rows.events.append
    log({"instance_id": instance_id, "task_id": None, "type": "instance_started", "step_id": None, "actor": "bench",
         "at": started, "detail": {"process": version.key, "version": version.version}})
    now, slow = started, SEGMENTS[segment][1]
    done = True
    for step_id in PATHS[version.key](rng, version.before):
        note = version.annotations.steps[step_id]
        timing = version.profile["steps"][step_id]
        wait = timedelta(minutes=rng.lognormvariate(0, timing["wait"][1]) * timing["wait"][0] * slow * 2.5)
        work = timedelta(minutes=rng.lognormvariate(0, timing["work"][1]) * timing["work"][0])
        target = note.target_for(segment)
        ids["task"] += 1
        task_id = ids["task"]
        person = rng.choice(staff[note.role])
        due = now + timedelta(seconds=target) if target is not None else None
        claimed, completed = now + wait, now + wait + work
        task = {"id": task_id, "instance_id": instance_id, "spiff_task_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "step_id": step_id, "name": note.name, "lane": note.lane, "role": note.role, "assignee": None,
                "customer_value": note.customer_value, "value_class": note.value_class, "target_seconds": target,
                "created_at": now, "due_at": due, "claimed_at": None, "completed_at": None, "completed_by": None,
                "breached_at": None, "status": "open", "row_version": 1}
        rows.tasks.append(task)
        counts["tasks"] += 1
        log({"instance_id": instance_id, "task_id": task_id, "type": "task_created", "step_id": step_id,
             "actor": None, "at": now, "detail": None})
        if claimed <= NOW:
            task.update(assignee=person, claimed_at=claimed, row_version=2)
            log({"instance_id": instance_id, "task_id": task_id, "type": "task_claimed", "step_id": step_id,
                 "actor": person, "at": claimed, "detail": None})
        end = completed if completed <= NOW else NOW
        if due is not None and due < end:
            task["breached_at"] = due + timedelta(minutes=rng.uniform(0, 60))
            if task["breached_at"] <= NOW:
                log({"instance_id": instance_id, "task_id": task_id, "type": "task_breached", "step_id": step_id,
                     "actor": None, "at": task["breached_at"], "detail": {"due_at": due.isoformat()}})
            else:
                task["breached_at"] = None
        if completed > NOW:
            done = False
            break
        task.update(status="completed", completed_at=completed, completed_by=person, row_version=3)
        log({"instance_id": instance_id, "task_id": task_id, "type": "task_completed", "step_id": step_id,
             "actor": person, "at": completed, "detail": {"data": {"outcome": "done", "notes": "checked"}}})
        now = completed + timedelta(seconds=rng.uniform(1, 30))
    if done:
        case.update(status="completed", ended_at=now, row_version=2)
        log({"instance_id": instance_id, "task_id": None, "type": "instance_completed", "step_id": None,
             "actor": None, "at": now, "detail": None})
        if rng.random() < 0.33:
            rows.scores.append({"instance_id": instance_id, "score": rng.randint(1, 5), "comment": None,
                                "source": "staff", "recorded_by": "bench-admin", "recorded_at": now})
            counts["scores"] += 1
    counts["cases"] += 1
    counts["events"] += len(rows.events) - logged


def _flush(factory: UnitOfWorkFactory, rows: Rows) -> None:
    with factory() as uow:
        connection = uow.session.connection()
        for table, batch in ((ProcessInstance, rows.instances), (HumanTask, rows.tasks), (TaskEvent, rows.events),
                             (CaseFeedback, rows.scores)):
            if batch:
                connection.execute(insert(table), batch)
        uow.commit()
    rows.instances, rows.tasks, rows.events, rows.scores = [], [], [], []


def finish(factory: UnitOfWorkFactory) -> None:
    """What a PostgreSQL database that grew this way would have: sequences past the ids given, and what
    autovacuum does after a bulk load (statistics, and the visibility map that index-only scans need).
    SQLite gets nothing: nobody runs ANALYZE on Valueflow's file, so the figures are without its statistics."""
    if factory.engine.dialect.name != "postgresql":
        return
    # A connection of its own: the engine's connections begin a transaction, and VACUUM cannot run inside one.
    admin = create_engine(factory.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for table in ("process_instance", "human_task"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.exec_driver_sql("VACUUM ANALYZE")
    admin.dispose()


# -- timing ----------------------------------------------------------------------------------------

def timed(runs: int, call: Callable[[], Any]) -> tuple[float, float]:
    call()  # warm-up: compiled definitions, statement caches, the database's own caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def calls(factory: UnitOfWorkFactory) -> list[tuple[str, Callable[[], Any]]]:
    """The functions the dashboard and customer pages call, with the arguments a manager's clicks give."""
    key = "loan_decision"
    every = Filters(key)
    recent = Filters(key, start=NOW - timedelta(days=28), end=NOW)
    newest = Filters(key, version=2)
    with factory() as uow:
        instance_id = uow.session.scalar(select(func.max(ProcessInstance.id)).where(
            ProcessInstance.status == "completed"))
        customer_id = uow.session.scalar(select(ProcessInstance.customer_id).where(
            ProcessInstance.id == instance_id))
    slowest_step = cycle_times.step_table(factory(), every)[0].step_id
    found = []
    for label, filters in (("all time, both versions", every), ("last 4 weeks", recent), ("version 2", newest)):
        found += [
            (f"process_summary ({label})", lambda f=filters: cycle_times.process_summary(factory(), f)),
            (f"weekly_trend ({label})", lambda f=filters: cycle_times.weekly_trend(factory(), f)),
            (f"step_table ({label})", lambda f=filters: cycle_times.step_table(factory(), f)),
            (f"heat_map ({label})", lambda f=filters: cycle_times.heat_map(factory(), f)),
            (f"slowest_cases ({label})", lambda f=filters: cycle_times.slowest_cases(factory(), f, slowest_step)),
            (f"efficiency ({label})", lambda f=filters: cycle_times.efficiency(factory(), f)),
            (f"segment_report ({label})", lambda f=filters: segment_report(factory(), f)),
            (f"work_at_risk ({label})", lambda f=filters: risk.work_at_risk(factory(), f)),
            (f"cost_per_case ({label})", lambda f=filters: costs.cost_per_case(factory(), f)),
            (f"satisfaction_vs_cycle_time ({label})",
             lambda f=filters: satisfaction.satisfaction_vs_cycle_time(factory(), f)),
        ]
    found += [
        ("compare_versions (1 and 2, all time)", lambda: cycle_times.compare_versions(factory(), every, 1, 2)),
        ("case_efficiency (one case)", lambda: cycle_times.case_efficiency(factory(), instance_id)),
        ("customer_360 (one customer)", lambda: customer_360(factory(), customer_id, MANAGER)),
    ]
    return found


BUDGET_MS = 300.0  # every dashboard page in at most 300 ms of server time


def first_chunk(factory: UnitOfWorkFactory, filters: Filters, fmt: str) -> int:
    """What the export route does before the browser gets its first bytes: check the filters, then the first
    chunk of the stream (the rest streams on; closing the generator ends its transaction)."""
    log = exports.event_log(factory(), filters)
    body = log.xes() if fmt == "xes" else log.csv()
    try:
        return len(next(body))
    finally:
        body.close()


def pages(factory: UnitOfWorkFactory) -> list[tuple[str, Callable[[], Any]]]:
    """The pages as the web app builds them (web/dashboard.py, web/customers.py), on loan_decision."""
    key = "loan_decision"
    every = Filters(key)
    recent = Filters(key, start=NOW - timedelta(days=28), end=NOW)
    newest = Filters(key, version=2)
    with factory() as uow:
        busiest = uow.session.execute(select(ProcessInstance.customer_id, func.count().label("n"))
                                      .group_by(ProcessInstance.customer_id)
                                      .order_by(func.count().desc(), ProcessInstance.customer_id).limit(1)).one()
    slowest_step = cycle_times.step_table(factory(), every)[0].step_id

    def dashboard(filters: Filters, step_id: Any) -> Any:
        return dashboards.dashboard_page(factory, key, filters.to_params(), step_id)

    def compare() -> Any:
        options = dashboards.dashboard_options(factory, key)
        return dashboards.version_comparison(factory, every, options, 1, 2)

    found: list[tuple[str, Callable[[], Any]]] = []
    for label, filters in (("all time", every), ("last 4 weeks", recent), ("version 2", newest)):
        found.append((f"dashboard ({label})", lambda f=filters: dashboard(f, None)))
        found.append((f"dashboard ({label}, step {slowest_step})", lambda f=filters: dashboard(f, slowest_step)))
    found += [
        ("compare versions (1 and 2, all time)", compare),
        (f"customer 360 ({busiest.customer_id}, {busiest.n} cases)", lambda: customer_360(factory(), busiest.customer_id, MANAGER)),
        ("events.xes, first chunk (all time)", lambda: first_chunk(factory, every, "xes")),
        ("events.csv, first chunk (all time)", lambda: first_chunk(factory, every, "csv")),
    ]
    return found


def statements(factory: UnitOfWorkFactory, call: Callable[[], Any]) -> tuple[int, float]:
    """The statements one more call sends to the database, and the CPU time it takes in this process."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1
    event.listen(factory.engine, "before_cursor_execute", count)
    began = time.process_time()
    try:
        call()
    finally:
        event.remove(factory.engine, "before_cursor_execute", count)
    return sent[0], (time.process_time() - began) * 1000


def measure_pages(factory: UnitOfWorkFactory, runs: int) -> list[tuple[str, float, float]]:
    results = []
    for label, call in pages(factory):
        median, worst = timed(runs, call)
        results.append((label, median, worst))
        sent, cpu = statements(factory, call)
        verdict = "ok" if median <= BUDGET_MS else f"OVER the {BUDGET_MS:.0f} ms budget"
        print(f"  {label:<52} {median:8.1f} ms  (worst {worst:.1f}; {sent} statements, {cpu:.0f} ms of CPU here)"
              f"  {verdict}", flush=True)
    over = [label for label, median, _ in results if median > BUDGET_MS]
    print(f"  pages over {BUDGET_MS:.0f} ms: {', '.join(over) if over else 'none'}", flush=True)
    return results


def measure(factory: UnitOfWorkFactory, runs: int) -> list[tuple[str, float, float]]:
    results = []
    for label, call in calls(factory):
        median, worst = timed(runs, call)
        results.append((label, median, worst))
        print(f"  {label:<52} {median:8.1f} ms  (worst {worst:.1f})", flush=True)
    return results


def export_rate(factory: UnitOfWorkFactory) -> None:
    """The XES export streams; its rate, not a 300 ms page, is what matters."""
    from engine.analytics import exports

    class Sink:
        size = 0

        def write(self, chunk: str) -> None:
            Sink.size += len(chunk)

    started = time.perf_counter()
    log = exports.event_log(factory(), Filters("loan_decision"))
    log.write(Sink(), "xes")  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    print(f"  XES export of loan_decision: {log.events:,} events of {log.cases:,} cases, "
          f"{Sink.size / 1e6:.0f} MB in {seconds:.1f} s ({log.events / seconds:,.0f} events/s)")


def run(url: str, name: str, events: int, runs: int, *, reuse: bool = False, pages_only: bool = False) -> None:
    started = time.perf_counter()
    if reuse:  # a database an earlier run kept: migrate it (new indexes) and time it again
        factory = connect(url, FixedClock(NOW), migrate=True)
        with factory() as uow:
            counts = {"events": uow.session.scalar(select(func.count()).select_from(TaskEvent)),
                      "tasks": uow.session.scalar(select(func.count()).select_from(HumanTask)),
                      "cases": uow.session.scalar(select(func.count()).select_from(ProcessInstance)),
                      "scores": uow.session.scalar(select(func.count()).select_from(CaseFeedback))}
    else:
        factory, versions, staff = prepare(url)
        counts = generate(factory, versions, staff, events)
    built = time.perf_counter() - started
    began = time.perf_counter()
    with factory() as uow:
        facts.refresh(uow)  # the first dashboard view after an upgrade does this
    first = time.perf_counter() - began
    finish(factory)  # on a reused database too: an upgrade may have written the facts again
    with factory() as uow:
        in_loan = uow.session.scalar(select(func.count()).select_from(TaskEvent).join(
            ProcessInstance, ProcessInstance.id == TaskEvent.instance_id).join(
            ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id).where(
            ProcessDefinition.key == "loan_decision"))
    print(f"{name}: {counts['events']:,} task events ({in_loan:,} of loan_decision), {counts['tasks']:,} tasks, "
          f"{counts['cases']:,} cases, {counts['scores']:,} scores; {'reused' if reuse else 'built'} in "
          f"{built:.0f} s; facts of them all (the first refresh) in {first:.1f} s. Median of {runs} runs:",
          flush=True)
    if not pages_only:
        measure(factory, runs)
    print(f"{name}, pages as the web app builds them (budget {BUDGET_MS:.0f} ms):", flush=True)
    measure_pages(factory, runs)
    if not pages_only:
        export_rate(factory)
    factory.dispose()


@contextmanager
def postgres_database(server: str, keep: Optional[str] = None) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on ``server``; dropped afterwards unless named by ``keep``."""
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = keep or f"valueflow_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--keep", help="build the SQLite file in this folder and keep it")
    parser.add_argument("--keep-postgres", metavar="NAME", help="build the PostgreSQL database under this name and keep it")
    parser.add_argument("--reuse-sqlite", metavar="FILE", help="time this SQLite file (kept by --keep) instead of building one")
    parser.add_argument("--reuse-postgres", metavar="NAME",
                        help="time this PostgreSQL database (kept by --keep-postgres) instead of building one")
    parser.add_argument("--pages-only", action="store_true", help="time the pages only, not each function")
    args = parser.parse_args()
    server = os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if args.reuse_sqlite or args.reuse_postgres:
        if args.reuse_sqlite:
            run(f"sqlite:///{args.reuse_sqlite}", "SQLite file", args.events, args.runs, reuse=True,
                pages_only=args.pages_only)
        if args.reuse_postgres and server:
            run(server.rsplit("/", 1)[0] + "/" + args.reuse_postgres, "PostgreSQL", args.events, args.runs,
                reuse=True, pages_only=args.pages_only)
        return 0
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(args.keep or scratch)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "dashboard.db"
            target.unlink(missing_ok=True)
            run(f"sqlite:///{target}", "SQLite file", args.events, args.runs, pages_only=args.pages_only)
    if server and not args.sqlite_only:
        with postgres_database(server, args.keep_postgres) as url:
            run(url, "PostgreSQL", args.events, args.runs, pages_only=args.pages_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
