"""How fast the audit log and the case lists staff may see answer, with N task events in the database.

Builds the database bench/dashboard.py builds (the shipped processes, staff, half a year of cases written in
bulk as the engine writes them, until the log holds N task events) plus F failed sign-ins spread over the
half year, then times:

- engine.work.audit.audit_log, one page of 25 as /admin/audit asks for it: every kind, a page deep in the
  log, one kind, one user, failed sign-ins, and the last seven days;
- the case lists under the visibility rule (engine.work.visibility): the newest cases, a search and a page
  of the API's list, for a staff member (one role) against a manager (every case), and the check of one case.

Prints the median and the worst of R runs after one warm-up, on a SQLite file and, when
VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES names a server, a fresh PostgreSQL database.

Usage: .venv/bin/python bench/audit.py [--events N] [--failed F] [--runs R] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard as built  # noqa: E402  (bench/dashboard.py: the database it builds)

from engine.errors import NotAllowed  # noqa: E402
from engine.storage.tables import FailedSignIn, HumanTask  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.work import audit, case_pages, visibility  # noqa: E402
from engine.work.accounts import Account  # noqa: E402

PER_PAGE = 25
STAFF = Account("credit-analyst-0", frozenset({"credit-analyst"}))
MANAGER = Account("bench-manager", frozenset({"manager"}))


def add_failed_sign_ins(factory: UnitOfWorkFactory, count: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    rows = [{"at": built.NOW - built.SPAN * rng.random(), "name": rng.choice(["admin", "credit-analyst-0", "root"]),
             "address": f"203.0.113.{rng.randint(1, 254)}", "reason": "wrong user name or password"}
            for _ in range(count)]
    with factory() as uow:
        uow.session.connection().execute(insert(FailedSignIn), rows)
        uow.commit()


def calls(factory: UnitOfWorkFactory) -> list[tuple[str, Callable[[], Any]]]:
    week = built.NOW - timedelta(days=7)
    with factory() as uow:
        theirs = uow.session.scalar(select(HumanTask.instance_id).where(HumanTask.role == "credit-analyst").limit(1))
        other = uow.session.scalar(select(HumanTask.instance_id).where(HumanTask.role == "warehouse").limit(1))

    def log(**filters: Any) -> Callable[[], Any]:
        return lambda: audit.audit_log(factory(), per_page=PER_PAGE, **filters)

    def refused() -> None:
        try:
            visibility.require_case_visible(factory(), other, STAFF)
        except NotAllowed:
            return
        raise AssertionError("the analyst sees a warehouse case")

    return [
        ("audit log, every kind, page 1", log()),
        ("audit log, every kind, page 200", log(page=200)),
        ("audit log, task completed, page 1", log(kind="task_completed")),
        ("audit log, one user (credit-analyst-0), page 1", log(user="credit-analyst-0")),
        ("audit log, failed sign-ins, page 1", log(kind="sign_in_failed")),
        ("audit log, last 7 days, page 1", log(since=week)),
        ("newest cases, staff (credit-analyst)", lambda: case_pages.recent_cases(factory(), STAFF)),
        ("newest cases, manager", lambda: case_pages.recent_cases(factory(), MANAGER)),
        ("search 'Customer 0001', staff", lambda: case_pages.search_cases(factory(), "Customer 0001", STAFF)),
        ("search 'Customer 0001', manager", lambda: case_pages.search_cases(factory(), "Customer 0001", MANAGER)),
        ("API case list, staff, page 1", lambda: case_pages.list_cases(factory(), STAFF, per_page=PER_PAGE)),
        ("API case list, staff, page 100", lambda: case_pages.list_cases(factory(), STAFF, page=100,
                                                                          per_page=PER_PAGE)),
        ("API case list, manager, page 1", lambda: case_pages.list_cases(factory(), MANAGER, per_page=PER_PAGE)),
        ("one case of the analyst's role, checked", lambda: visibility.require_case_visible(factory(), theirs, STAFF)),
        ("one warehouse case, refused to the analyst", refused),
    ]


def run(url: str, name: str, events: int, failed: int, runs: int) -> None:
    factory, versions, staff = built.prepare(url)
    counts = built.generate(factory, versions, staff, events)
    add_failed_sign_ins(factory, failed)
    built.finish(factory)
    print(f"{name}: {counts['events']:,} task events, {counts['cases']:,} cases, {failed:,} failed sign-ins. "
          f"Median / worst of {runs} runs:", flush=True)
    for label, call in calls(factory):
        median, worst = built.timed(runs, call)
        print(f"  {label:<48} {median:8.1f} ms {worst:8.1f} ms", flush=True)
    factory.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--failed", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run(f"sqlite:///{Path(scratch) / 'audit.db'}", "SQLite file", args.events, args.failed, args.runs)
    server = os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if server and not args.sqlite_only:
        with built.postgres_database(server) as url:
            run(url, "PostgreSQL", args.events, args.failed, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
