"""What a worker round costs with 10,000 timers due: claiming a batch, and firing the timers, on SQLite and PostgreSQL.

Prints, per database (a SQLite file; PostgreSQL too when VALUEFLOW_TEST_POSTGRES or VALUEFLOW_BENCH_POSTGRES names
a server):
- one worker in this process: milliseconds to claim a batch of 200 with 10,000 due, and timers fired per second
  (each in its own transaction: lock the case, take the job, restore the case, fire, save, commit);
- two `valueflow worker` processes on fresh copies of the same 10,000 timers: timers fired per second together,
  from their start to the last job gone.
The cases wait on one timer each (start → wait an hour → end): one is started by the engine, the rest are copies
of its stored rows (tests/jobs_arrange.py). The machine's load is printed beside the figures.

Usage: .venv/bin/python bench/worker_jobs.py [--timers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import jobs  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from tests.conftest import T0  # noqa: E402
from tests.jobs_arrange import deploy_timer_process, jobs_left, waiting_cases  # noqa: E402

VALUEFLOW = str(Path(sys.executable).with_name("valueflow"))


def one_worker(url: str, timers: int) -> tuple[float, float]:
    """(median ms to claim a batch, timers fired per second) of one worker in this process."""
    clock = FixedClock(T0)
    factory = connect(url, clock, migrate=True)
    waiting_cases(factory, deploy_timer_process(factory), timers)
    clock.advance(timedelta(hours=2))
    claims, fired, began = [], 0, time.perf_counter()
    while True:
        start = time.perf_counter()
        claimed = jobs.claim_due(factory, "bench")
        claims.append((time.perf_counter() - start) * 1000)
        if not claimed:
            break
        fired += jobs.run_claimed(factory, claimed, "bench").timers_fired
    seconds = time.perf_counter() - began
    factory.dispose()
    return statistics.median(claims), fired / seconds


def two_workers(url: str, timers: int) -> float:
    """Timers fired per second by two `valueflow worker` processes on the real clock (the timers are long due)."""
    factory = connect(url, FixedClock(T0), migrate=True)
    definition_id = waiting_cases(factory, deploy_timer_process(factory), timers)
    environment = {**os.environ, "VALUEFLOW_DATABASE_URL": url}
    began = time.perf_counter()
    workers = [subprocess.Popen([VALUEFLOW, "worker", "--interval", "0.1"], env=environment,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        while jobs_left(factory, definition_id):
            time.sleep(0.5)
        seconds = time.perf_counter() - began
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        factory.dispose()
    return timers / seconds


def postgres_database() -> str | None:
    server = os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if not server:
        return None
    name = f"valueflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def drop(url: str) -> None:
    server, name = url.rsplit("/", 1)
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    args = parser.parse_args()
    print(f"{args.timers:,} timers due; load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'database':<12}{'claim 200 (ms)':>16}{'1 worker (timers/s)':>22}{'2 workers (timers/s)':>23}")
    with tempfile.TemporaryDirectory() as folder:
        databases = [("SQLite file", f"sqlite:///{folder}/one.db", f"sqlite:///{folder}/two.db")]
        postgres = postgres_database()
        if postgres:
            databases.append(("PostgreSQL", postgres, postgres))
        try:
            for name, first, second in databases:
                claim_ms, alone = one_worker(first, args.timers)
                together = two_workers(second, args.timers)
                print(f"{name:<12}{claim_ms:>16.1f}{alone:>22.0f}{together:>23.0f}", flush=True)
        finally:
            if postgres:
                drop(postgres)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
