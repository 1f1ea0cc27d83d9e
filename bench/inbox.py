"""How fast the inbox answers with 100,000 open tasks.

Builds a SQLite file (and, when VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES
names a server, a fresh PostgreSQL database) with the migrated schema, the
shipped processes and N open tasks on N cases of M customers (a fifth premium),
spread over the lane roles of the shipped processes, a fifth of them claimed,
due from two days ago to three days ahead. Cases and tasks are copied in bulk
from one real case started through the engine, so every row is what the
engine itself writes. Then it times engine.work.inbox.inbox() — one page, the counts
of every queue and the filter choices, as the inbox page asks for them — for
the views and filters a user clicks, and prints the median and the worst of
several runs, and the query plan of a queue page. ``--completed N`` adds N
completed tasks on as many finished cases, the history a live system keeps
beside its open work.

Usage: .venv/bin/python bench/inbox.py [--tasks N] [--customers M] [--runs R] [--completed N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import service
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.tables import Customer, HumanTask, ProcessInstance  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from engine.work.inbox import InboxFilter, inbox  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
# (process, step, role, target seconds) of the shipped processes' busiest steps.
STEPS = [("loan_decision", "capture_application", "customer-service", 3600),
         ("loan_decision", "credit_review", "credit-analyst", 4 * 3600),
         ("loan_decision", "underwriting_decision", "underwriter", 8 * 3600),
         ("loan_decision", "prepare_offer", "customer-service", 2 * 3600),
         ("order_to_cash", "enter_order", "sales", 3600),
         ("order_to_cash", "pick_and_pack", "warehouse", 8 * 3600),
         ("service_request", "triage_request", "service-desk", 3600),
         ("service_request", "resolve_request", "specialist", 8 * 3600)]


def build(url: str, tasks: int, customers: int, completed: int = 0, seed: int = 7) -> UnitOfWorkFactory:
    factory = connect(url, FixedClock(NOW), migrate=True)
    for folder in sorted(p for p in (ROOT / "bpmn").iterdir() if p.is_dir()):
        service.deploy(factory(), read_package(folder))
    for role in sorted({s[2] for s in STEPS}):
        service.add_user(factory(), f"{role}-1", [role], "bench-password")
    service.add_user(factory(), "all-rounder", ["customer-service", "credit-analyst", "underwriter"], "x" * 12)
    service.add_user(factory(), "boss", ["manager"], "bench-password")
    definitions = {}
    template_case: dict[str, Any] = {}
    template_task: dict[str, Any] = {}
    for key in sorted({s[0] for s in STEPS}):
        instance_id = service.start_instance(factory(), key, service.CustomerRef(f"t-{key}", "Template", "standard"))
        with factory() as uow:
            case = uow.session.get(ProcessInstance, instance_id)
            definitions[key] = case.definition_id
            template_case = _columns(case)
            task = uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first()
            template_task = _columns(task)
    rng = random.Random(seed)
    engine = factory.engine
    started = time.perf_counter()
    with engine.begin() as connection:
        first_case = connection.execute(text("SELECT max(id) FROM process_instance")).scalar() + 1
        connection.execute(insert(Customer), [
            {"id": f"c-{n}", "name": f"Customer {n:06d}", "segment": "premium" if n % 5 == 0 else "standard"}
            for n in range(customers)])
        cases, rows = [], []
        for n in range(tasks + completed):
            key, step, role, target = rng.choice(STEPS)
            customer = rng.randrange(customers)
            done = n >= tasks  # the history: a task completed on a finished case, within the last year
            created = NOW - timedelta(seconds=rng.randrange((365 if done else 2) * 86400))
            due = created + timedelta(seconds=target) if done else \
                NOW + timedelta(seconds=rng.randrange(-2 * 86400, 3 * 86400))
            cases.append({**template_case, "id": first_case + n, "definition_id": definitions[key],
                          "customer_id": f"c-{customer}", "started_at": created,
                          **({"status": "completed", "ended_at": created + timedelta(hours=30)} if done else {}),
                          **({"segment": "premium" if customer % 5 == 0 else "standard"}
                             if "segment" in template_case else {})})
            claimed = done or rng.random() < 0.2
            rows.append({**template_task, "instance_id": first_case + n, "spiff_task_id": str(uuid.uuid4()),
                         "step_id": step, "name": step.replace("_", " ").capitalize(), "role": role,
                         "target_seconds": target, "created_at": created, "due_at": due,
                         "status": "completed" if done else "open",
                         "assignee": f"{role}-1" if claimed else None, "claimed_at": created if claimed else None,
                         **({"completed_at": created + timedelta(hours=1), "completed_by": f"{role}-1"}
                            if done else {})})
        for start in range(0, tasks + completed, 5000):
            connection.execute(insert(ProcessInstance), cases[start:start + 5000])
            connection.execute(insert(HumanTask), rows[start:start + 5000])
    history = f" beside {completed:,} completed ones" if completed else ""
    print(f"  built {tasks:,} open tasks{history} on {customers:,} customers in {time.perf_counter() - started:.1f} s")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
    return factory


def _columns(row: Any) -> dict[str, Any]:
    skip = {"id"}
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def timed(label: str, run: Callable[[], dict[str, Any]], runs: int) -> None:
    run()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        page = run()
        times.append((time.perf_counter() - started) * 1000)
    print(f"  {label:<58} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms   "
          f"({page['total']:,} tasks, {len(page['rows'])} shown)")


def measure(factory: UnitOfWorkFactory, runs: int) -> None:
    analyst = ["credit-analyst"]
    trio = ["customer-service", "credit-analyst", "underwriter"]
    cases = [
        ("credit analyst, queue (1 role), page 1", lambda: inbox(factory(), "credit-analyst-1", analyst,
                                                                   view="queues")),
        ("credit analyst, my tasks", lambda: inbox(factory(), "credit-analyst-1", analyst, view="mine")),
        ("all-rounder, queues of 3 roles, page 1", lambda: inbox(factory(), "all-rounder", trio, view="queues")),
        ("all-rounder, queues of 3 roles, page 200", lambda: inbox(factory(), "all-rounder", trio, view="queues",
                                                                   page=200)),
        ("credit analyst, queue, segment premium", lambda: inbox(factory(), "credit-analyst-1", analyst,
                                                                   view="queues",
                                                                   filters=InboxFilter(segment="premium"))),
        ("all-rounder, queues, process loan_decision + step", lambda: inbox(
            factory(), "all-rounder", trio, view="queues",
            filters=InboxFilter(process="loan_decision", step="credit_review"))),
        ("manager, all open tasks, page 1", lambda: inbox(factory(), "boss", [], everyone=True, view="all")),
        ("manager, all open tasks, segment premium, page 50", lambda: inbox(
            factory(), "boss", [], everyone=True, view="all", filters=InboxFilter(segment="premium"), page=50)),
    ]
    for label, run in cases:
        timed(label, run, runs)


def plan(factory: UnitOfWorkFactory) -> None:
    if factory.engine.dialect.name != "sqlite":
        return
    query = ("SELECT human_task.id FROM human_task WHERE human_task.status = 'open' AND human_task.assignee IS NULL "
             "AND human_task.role IN ('credit-analyst') AND human_task.due_at IS NOT NULL "
             "ORDER BY human_task.due_at, human_task.id LIMIT 25")
    with factory.engine.connect() as connection:
        steps = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + query)]
    print("  plan of a one-role queue page: " + "; ".join(steps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--completed", type=int, default=0, help="completed tasks beside the open ones")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"SQLite file, {args.tasks:,} open tasks:")
        factory = build(f"sqlite:///{Path(folder) / 'inbox.db'}", args.tasks, args.customers, args.completed)
        plan(factory)
        measure(factory, args.runs)
        factory.dispose()
    server = os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if server:
        admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        name = f"valueflow_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            print(f"PostgreSQL, {args.tasks:,} open tasks:")
            factory = build(server.rsplit("/", 1)[0] + "/" + name, args.tasks, args.customers, args.completed)
            measure(factory, args.runs)
            factory.dispose()
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
