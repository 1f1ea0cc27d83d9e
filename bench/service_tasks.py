"""What a service task costs the engine, beside a person's step of the same case, on SQLite and PostgreSQL.

For N cases of start → service task (topic) → user task → end, and N of start → http connector → user task → end,
prints per database (a SQLite file; PostgreSQL too when VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES names
a server) the median milliseconds of:
- starting a case up to its service task (its external task row or its job written with it);
- fetch-and-lock, per task, in batches of 10 (with each task's case data);
- an outside worker's completion (the case runs on to its user task);
- a connector job, from claim to commit, its call answered by a local HTTP server in this process;
- for comparison, in the same run, a person's claim and completion of the user task that follows.
Every case must run to its end, or nothing is printed.
The machine's load is printed beside the figures.

Usage: .venv/bin/python bench/service_tasks.py [--cases N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import external_tasks, jobs, service  # noqa: E402
from engine.definitions.packages import Package  # noqa: E402
from engine.storage.tables import ProcessInstance  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from engine.work import queries  # noqa: E402
from tests import samples  # noqa: E402
from tests.conftest import T0  # noqa: E402

TOPIC = [external_tasks.Topic("credit-score", timedelta(minutes=10))]


def process(key: str, settings: dict[str, str]) -> Package:
    body = ('<bpmn:startEvent id="begin"/><bpmn:serviceTask id="call" name="Call">' + samples.props(**settings)
            + "</bpmn:serviceTask>" + samples.user_task("review", "Review") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "call", "review", "finish"))
    xml = samples.document(key, body, {"Credit Analyst": ["begin", "call", "review", "finish"]})
    return Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml})


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def timed(action: Callable[[], Any], into: list[float]) -> Any:
    began = time.perf_counter()
    result = action()
    into.append((time.perf_counter() - began) * 1000)
    return result


def measure(url: str, cases: int) -> dict[str, float]:
    factory: UnitOfWorkFactory = connect(url, FixedClock(T0), migrate=True)
    service.deploy(factory(), process("scoring", {"topic": "credit-score"}))
    service.deploy(factory(), process("onboarding", {"connector": "http", "http__service": "bench"}))
    service.add_user(factory(), "scorer", ["external-worker"])
    service.add_user(factory(), "analyst", ["credit-analyst"])
    figures: dict[str, list[float]] = {name: [] for name in (
        "start at a service task", "fetch-and-lock, per task", "worker's completion", "connector job",
        "person's claim and completion")}
    customer = service.CustomerRef("bench", "Bench", "standard")
    for _ in range(cases):
        timed(lambda: service.start_instance(factory(), "scoring", customer, {"amount": 1}),
              figures["start at a service task"])
        service.start_instance(factory(), "onboarding", customer, {"amount": 1})
    locked: list[external_tasks.LockedTask] = []
    while True:
        batch_times: list[float] = []
        batch = timed(lambda: external_tasks.fetch_and_lock(factory, "w", 10, TOPIC, "scorer"), batch_times)
        if not batch:
            break
        figures["fetch-and-lock, per task"].append(batch_times[0] / len(batch))
        locked += batch
    for task in locked:
        timed(lambda: external_tasks.complete(factory(), task.id, "w", {"score": 7}, "scorer"),
              figures["worker's completion"])
    while True:
        claimed = jobs.claim_due(factory, "bench", batch=10)
        if not claimed:
            break
        for job in claimed:
            timed(lambda: jobs.run_claimed(factory, [job], "bench"), figures["connector job"])
    for task in queries.list_tasks(factory(), status="open"):
        timed(lambda: (service.claim_task(factory(), task["id"], "analyst"),
                       service.complete_task(factory(), task["id"], "analyst", {})),
              figures["person's claim and completion"])
    with factory() as uow:
        done = uow.session.scalar(select(func.count()).select_from(ProcessInstance)
                                  .where(ProcessInstance.status == "completed"))
    factory.dispose()
    if done != 2 * cases:
        raise SystemExit(f"only {done} of {2 * cases} cases ran to their end: the figures would mislead")
    return {name: statistics.median(values) for name, values in figures.items() if values}


def postgres_database(server: str, name: str, create: bool) -> str:
    """Create (or drop) the bench's own database on the server; its address."""
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' if create else f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["VALUEFLOW_CONNECTOR_BENCH_URL"] = f"http://127.0.0.1:{server.server_port}"
    databases = {"SQLite file": f"sqlite:///{tempfile.mkdtemp(prefix='valueflow-bench-')}/bench.db"}
    server_url = os.environ.get("VALUEFLOW_BENCH_POSTGRES") or os.environ.get("VALUEFLOW_TEST_POSTGRES")
    name = f"valueflow_bench_{uuid.uuid4().hex[:10]}"
    if server_url:
        databases["PostgreSQL"] = postgres_database(server_url, name, create=True)
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; {args.cases} cases of each")
    for label, url in databases.items():
        figures = measure(url, args.cases)
        person = figures["person's claim and completion"]
        print(f"\n{label} (median ms)")
        for name, value in figures.items():
            print(f"  {name:<32} {value:7.2f}   {value / person:5.2f} x a person's step")
    print(f"\nload after: {os.getloadavg()[0]:.2f} (1 min)")
    server.shutdown()
    if server_url:
        postgres_database(server_url, name, create=False)


if __name__ == "__main__":
    main()
