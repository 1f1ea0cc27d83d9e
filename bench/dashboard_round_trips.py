"""What the loan dashboard costs a request on a working day's database: statements, round trips and CPU.

The database is the one bench/http_load.py serves: the shipped processes and
2,500 new loan cases (``--cases``). Each round completes 50 more capture steps
(``--completions``) through engine.service, as the clerks of http_load.py do
between two of the manager's visits, then builds the loan dashboard as
web/dashboard.py does (``dashboard_page``: its options, the facts refresh and
every figure); after the rounds, three more pages find nothing new to refresh.
The first page of each kind warms the caches and is not counted.
Printed per kind of page: the statements sent (SQLAlchemy's), the CPU time of
this process and the wall time (medians). On PostgreSQL (VALUEFLOW_BENCH_POSTGRES
or VALUEFLOW_TEST_POSTGRES names a server) the pages also run under strace,
which counts the round trips: the reads of the server's socket that brought
an answer between marks on stderr, as bench/round_trips.py counts a step's.

Usage: .venv/bin/python bench/dashboard_round_trips.py [--cases 2500] [--rounds 8] [--completions 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event  # noqa: E402
from round_trips import counted  # noqa: E402
from step_cost import temporary_postgres  # noqa: E402

from engine import service  # noqa: E402
from engine.analytics import dashboards  # noqa: E402
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.work import queries  # noqa: E402

CAPTURE = {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000, "existing_debts": 15000,
           "years_employed": 3, "property_value": 300000, "documents_complete": True}
CLERK = "bench-clerk"


def prepare(url: str, cases: int) -> None:
    new_uow = connect(url, migrate=True)
    for folder in sorted((ROOT / "bpmn").iterdir()):
        if folder.is_dir():
            service.deploy(new_uow(), read_package(folder), actor="bench")
    service.add_user(new_uow(), CLERK, ["customer-service"])
    customer = service.CustomerRef("c-bench", "Bench Customer", "standard")
    for _ in range(cases):
        service.start_instance(new_uow(), "loan_decision", customer, {})
    new_uow.dispose()


def complete(new_uow: UnitOfWorkFactory, count: int) -> None:
    for task_id in [t["id"] for t in queries.list_tasks(new_uow(), role="customer-service")][:count]:
        service.claim_task(new_uow(), task_id, CLERK)
        service.complete_task(new_uow(), task_id, CLERK, dict(CAPTURE))


def pages(url: str, rounds: int, completions: int,
          marked: bool = False) -> dict[str, list[tuple[int, float, float]]]:
    """(statements, CPU ms, wall ms) of each page, by kind: after new completions (``refreshing``), and with
    nothing new (``unchanged``); each page between marks on stderr when ``marked``."""
    new_uow = connect(url)
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1
    event.listen(new_uow.engine, "before_cursor_execute", count)
    found: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for number in range(rounds + 4):
        kind = "refreshing" if number <= rounds else "unchanged"
        if number <= rounds:
            complete(new_uow, completions)
        sent[0] = 0
        if marked:
            os.write(2, f"MARK {kind}\n".encode())
        cpu, wall = time.process_time(), time.perf_counter()
        dashboards.dashboard_page(new_uow, "loan_decision", {})
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if marked:
            os.write(2, b"MARK end\n")
        if number not in (0, rounds + 1):  # the first of each kind warms caches
            found[kind].append((sent[0], 1000 * cpu, 1000 * wall))
    new_uow.dispose()
    return found


def report(label: str, found: dict[str, list[tuple[int, float, float]]]) -> None:
    for kind, runs in found.items():
        print(f"  {label}, {kind}: {statistics.median(r[0] for r in runs):.0f} statements, "
              f"CPU {statistics.median(r[1] for r in runs):.1f} ms, wall {statistics.median(r[2] for r in runs):.1f} ms"
              f" (medians of {len(runs)})")


def round_trips(url: str, args: argparse.Namespace) -> None:
    """The same rounds again under strace, on the same database (so on more completed cases)."""
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace"
        strace = ["strace", "-f", "-s", "80", "-e", "trace=recvfrom,write", "-o", str(trace)]
        subprocess.run([*strace, sys.executable, __file__, "--traced", url, "--rounds", str(args.rounds),
                        "--completions", str(args.completions)],
                       check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        found = counted(trace)
    for label, runs in found.items():
        print(f"  PostgreSQL, {label}: {statistics.median(runs[1:]):.0f} round trips (median of {len(runs) - 1})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--completions", type=int, default=50)
    parser.add_argument("--traced", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.traced:
        pages(args.traced, args.rounds, args.completions, marked=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'valueflow.db'}"
        prepare(url, args.cases)
        report("SQLite file", pages(url, args.rounds, args.completions))
    postgres = temporary_postgres()
    if postgres is None:
        return
    url, drop = postgres
    try:
        prepare(url, args.cases)
        report("PostgreSQL", pages(url, args.rounds, args.completions))
        if shutil.which("strace"):
            round_trips(url, args)
        else:
            print("  (strace is not installed: round trips not counted)")
    finally:
        drop()


if __name__ == "__main__":
    main()
