"""What a request costs over HTTP: staff working through one ``valueflow serve`` process, at 1, 4 and 16 clients.

Each client is a customer-service clerk with a session of their own, in a loop:
open the queue (``/inbox?view=queues``), open one of its tasks, claim it and
complete it with the capture form's valid data, as a person would in the
browser (redirects are not followed: each request is timed alone). Meanwhile a
manager opens the loan dashboard and the list of all open tasks every two
seconds. The database holds the shipped processes and enough new loan cases
for every completion of the run.

Prints, for each number of clients: completions per second; p50/p95/p99 of each
request kind; answers by status (a claim lost to another clerk is sent back
to the task page, which says who holds it with a 409, and is counted apart,
not as an error); the server's CPU time per completion
and its RSS; the inbox and dashboard latencies while the clients work. Before
the server starts, the same database times the engine's own calls (claim and
complete through engine.service, in this process), so the cost of HTTP is
read against them in the same run: after the task's page was shown in this
process, as the server meets the cases the bench started; and on cases it has
not seen, and on cases it just saved; and at one client, against the same
completions' engine calls inside the server (the mean its ``/metrics`` gives). At
one client it also prints how busy the server and the clients kept the CPUs,
and how much more than one client's rate that leaves room for. Each goal is
printed beside its figure.

Usage: .venv/bin/python bench/http_load.py [--seconds 20] [--clients 1,4,16] [--postgres URL] [--port 5640]
       [--completions N]   # also, after the levels: N more cases, and RSS after 1,000 and N completions at
                           # 4 clients
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from engine import service  # noqa: E402
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.work import case_pages, queries  # noqa: E402

PASSWORD = "bench-password-1234"
CAPTURE = {"loan_amount": "250000", "loan_purpose": "purchase", "annual_income": "60000", "existing_debts": "15000",
           "years_employed": "3", "property_value": "300000", "documents_complete": "on"}
ENGINE_CAPTURE = {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000, "existing_debts": 15000,
                  "years_employed": 3, "property_value": 300000, "documents_complete": True}
# Cases started for each level of clients and second it runs: more than one process completes (its rate does not
# grow with the clients), so that no clerk finds an empty queue.
CASES_A_SECOND = 150
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/tasks/(\d+)"')
LOST_RACE = (303, 409)  # the browser's claim is sent back to the task page, which answers 409


class Session:
    """One signed-in person: a kept-alive connection, the session cookie and the CSRF token."""

    def __init__(self, port: int, name: str) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        self.token = ""
        page = self.request("GET", "/login")[2]
        self.token = CSRF.search(page).group(1)
        status, _, _ = self.request("POST", "/login", {"username": name, "password": PASSWORD})
        if status != 302:
            raise SystemExit(f"{name} could not sign in ({status})")

    def request(self, method: str, path: str, form: Optional[dict[str, str]] = None) -> tuple[int, float, str]:
        body = urlencode({**form, "csrf_token": self.token}) if form is not None else None
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            page = response.read().decode("utf-8", "replace")
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 599, time.perf_counter() - began, ""
        seconds = time.perf_counter() - began
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        found = CSRF.search(page)
        if found:
            self.token = found.group(1)
        return response.status, seconds, page


class Tally:
    """Latencies by request kind and answers by status, shared by the clients (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.completions = 0

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.seconds[kind].append(seconds)
            self.statuses[kind][status] += 1
            if kind == "complete" and status == 302:
                self.completions += 1


def clerk(port: int, name: str, tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    session = Session(port, name)
    while not stop.is_set():
        status, seconds, page = session.request("GET", "/inbox?view=queues")
        tally.add("inbox", status, seconds)
        ids = TASK_LINK.findall(page)
        if not ids:
            time.sleep(0.05)
            continue
        task = rng.choice(ids[:25])
        status, seconds, _ = session.request("GET", f"/tasks/{task}")
        tally.add("task page", status, seconds)
        status, seconds, _ = session.request("POST", f"/tasks/{task}/claim", {})
        tally.add("claim", status, seconds)
        if status != 302:
            continue
        status, seconds, _ = session.request("POST", f"/tasks/{task}/complete", dict(CAPTURE))
        tally.add("complete", status, seconds)


def manager(port: int, tally: Tally, stop: threading.Event) -> None:
    session = Session(port, "bench-manager")
    while not stop.wait(2.0):
        for kind, path in (("dashboard (manager)", "/dashboard/loan_decision"),
                           ("all open tasks (manager)", "/inbox?view=all")):
            status, seconds, _ = session.request("GET", path)
            tally.add(kind, status, seconds)


def server_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, RSS in MB) of the server process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:")) / 1024
    return cpu, rss


def engine_completions(port: int) -> tuple[float, int]:
    """(seconds, count) of the server's successful engine completions so far, from its ``/metrics``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for kind in found:
            if (line.startswith(f"valueflow_step_seconds_{kind}{{") and 'use_case="complete"' in line
                    and 'outcome="ok"' in line):
                found[kind] = float(line.rsplit(" ", 1)[1])
    return found["sum"], int(found["count"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def prepare(url: str, clerks: int, cases: int) -> dict[str, float]:
    """Processes, people and cases; then the engine's own claim and complete, timed here."""
    new_uow = connect(url, migrate=True)
    for folder in sorted((ROOT / "bpmn").iterdir()):
        if folder.is_dir():
            service.deploy(new_uow(), read_package(folder), actor="bench")
    for number in range(clerks):
        service.add_user(new_uow(), f"clerk-{number}", ["customer-service"], PASSWORD)
    service.add_user(new_uow(), "bench-manager", ["manager"], PASSWORD)
    service.add_user(new_uow(), "engine-clerk", ["customer-service"], PASSWORD)
    timed = 200
    start_loans(new_uow, cases)
    # Started last, these cases are the newest in this factory's cache; a second factory has none of them in
    # its cache, as the server has none of the cases the bench started, until it shows a task's page.
    timed_cases = start_loans(new_uow, 3 * timed)
    tasks = [queries.list_tasks(new_uow(), instance_id=case)[0]["id"] for case in timed_cases]
    elsewhere = connect(url)
    times: dict[str, list[float]] = defaultdict(list)
    for number, task_id in enumerate(tasks):  # the kinds in turn, so that all meet the machine alike
        cache, uows = (("cold", elsewhere), ("paged", elsewhere), ("warm", new_uow))[number % 3]
        if cache == "paged":
            case_pages.task_page(uows(), task_id)  # as the server shows the task before it is worked on
        began = time.perf_counter()
        service.claim_task(uows(), task_id, "engine-clerk")
        times[f"claim {cache}"].append(time.perf_counter() - began)
        began = time.perf_counter()
        service.complete_task(uows(), task_id, "engine-clerk", dict(ENGINE_CAPTURE))
        times[f"complete {cache}"].append(time.perf_counter() - began)
    new_uow.dispose()
    elsewhere.dispose()
    return {kind: statistics.median(seconds) for kind, seconds in times.items()}


def start_loans(new_uow: UnitOfWorkFactory, count: int) -> list[int]:
    """The ids of ``count`` new loan cases of one customer, each waiting at its capture step."""
    customer = service.CustomerRef("c-bench", "Bench Customer", "standard")
    return [service.start_instance(new_uow(), "loan_decision", customer, {}) for _ in range(count)]


def analyze(url: str) -> None:
    """Refresh PostgreSQL's statistics of the prepared database, as autovacuum does on a server that runs it: the
    test server here runs without it, and a planner that still takes the new tables for empty chose plans that
    made the dashboard's refresh of its facts ten times slower."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def start_server(url: str, port: int, workdir: Path, *options: str) -> subprocess.Popen:
    """``valueflow serve --no-worker`` with ``options``, once it answers."""
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": url}
    command = [str(ROOT / ".venv" / "bin" / "valueflow"), "serve", "--no-worker", "--port", str(port), *options]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def run_for(threads: list[threading.Thread], seconds: float, stop: threading.Event) -> float:
    """Start the threads, tell them to stop after ``seconds`` and wait for them; the seconds it took in all."""
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def run(port: int, pid: int, clients: int, seconds: float) -> tuple[Tally, float, float, float, float]:
    """The clients' tally, the seconds they ran, the server's CPU seconds meanwhile, its RSS after, and this
    process's CPU seconds meanwhile (the clients')."""
    tally, stop = Tally(), threading.Event()
    cpu_before, _ = server_usage(pid)
    own_before = time.process_time()
    threads = [threading.Thread(target=clerk, args=(port, f"clerk-{n}", tally, stop, random.Random(n)))
               for n in range(clients)]
    threads.append(threading.Thread(target=manager, args=(port, tally, stop)))
    elapsed = run_for(threads, seconds, stop)
    cpu_after, rss = server_usage(pid)
    return tally, elapsed, cpu_after - cpu_before, rss, time.process_time() - own_before


def report(database: str, clients: int, tally: Tally, elapsed: float, cpu: float, rss: float) -> float:
    rate = tally.completions / elapsed
    print(f"  {clients:2d} client(s): {rate:6.1f} completions/s; server CPU {1000 * cpu / max(1, tally.completions):.1f}"
          f" ms a completion (with its inbox, task page and claim), RSS {rss:.0f} MB")
    for kind in ("inbox", "task page", "claim", "complete", "dashboard (manager)", "all open tasks (manager)"):
        values = tally.seconds.get(kind, [])
        if not values:
            continue
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses[kind].items()))
        print(f"      {kind:26s} p50 {1000 * percentile(values, 0.5):7.1f} ms  p95 {1000 * percentile(values, 0.95):7.1f}"
              f"  p99 {1000 * percentile(values, 0.99):7.1f}  max {1000 * max(values):7.1f}   ({statuses})")
    errors = sum(n for kind in tally.statuses for s, n in tally.statuses[kind].items()
                 if s >= 500 or (s >= 400 and not (kind == "claim" and s in LOST_RACE)))
    print(f"      errors (lost claim races apart): {errors}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--postgres", default=os.environ.get("VALUEFLOW_BENCH_POSTGRES"),
                        help="a PostgreSQL server URL; a fresh database is made on it and dropped after")
    parser.add_argument("--port", type=int, default=5640, help="the server's port (default 5640)")
    parser.add_argument("--completions", type=int, default=0,
                        help="after the levels, this many more cases and 4 clients until this many completions, "
                             "RSS at 1,000 and at the end")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    cases = int(len(levels) * args.seconds * CASES_A_SECOND) + 1500
    workdir = Path(tempfile.mkdtemp(prefix="valueflow-http-"))
    databases = [("SQLite file", f"sqlite:///{workdir / 'valueflow.db'}", None)]
    if args.postgres:
        name = f"valueflow_http_{uuid.uuid4().hex[:8]}"
        databases.append(("PostgreSQL", args.postgres.rsplit("/", 1)[0] + "/" + name, name))
    for label, url, pg_name in databases:
        admin = None
        if pg_name:
            admin = create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
        print(f"{label}: preparing {cases} loan cases ...", flush=True)
        engine_cost = prepare(url, max(levels), cases)
        if admin is not None:
            analyze(url)
        print(f"{label}, engine calls in this process (medians of 200): after the task's page was shown in this"
              f" process, as the server meets them: claim {1000 * engine_cost['claim paged']:.2f} ms, complete "
              f"{1000 * engine_cost['complete paged']:.2f} ms; on cases it has not seen: complete "
              f"{1000 * engine_cost['complete cold']:.2f} ms; on cases it just saved: complete "
              f"{1000 * engine_cost['complete warm']:.2f} ms")
        port = args.port
        server = start_server(url, port, workdir)
        rates = {}
        try:
            run(port, server.pid, 2, 3.0)  # warm-up: the server's first requests compile and fill caches
            for clients in levels:
                engine_before = engine_completions(port)
                tally, elapsed, cpu, rss, clients_cpu = run(port, server.pid, clients, args.seconds)
                engine_seconds, engine_count = (after - before for after, before in
                                                zip(engine_completions(port), engine_before))
                rates[clients] = report(label, clients, tally, elapsed, cpu, rss)
                if clients == 1 and tally.seconds.get("complete"):
                    http_complete = statistics.median(tally.seconds["complete"])
                    print(f"      goal: an HTTP completion at one client costs at most 2x its engine call: "
                          f"{http_complete / engine_cost['complete paged']:.1f}x (against the call on a case not "
                          f"seen: {http_complete / engine_cost['complete cold']:.1f}x; just saved: "
                          f"{http_complete / engine_cost['complete warm']:.1f}x)")
                    if engine_count:
                        inside = engine_seconds / engine_count
                        print(f"      the same completions' engine calls inside the server took {1000 * inside:.2f} ms"
                              f" (mean, its /metrics): the HTTP completion's mean is "
                              f"{statistics.mean(tally.seconds['complete']) / inside:.1f}x that")
                    room(cpu / elapsed, clients_cpu / elapsed)
                if clients == 16:
                    p99 = percentile(tally.seconds.get("complete", []), 0.99)
                    dash = max(tally.seconds.get("dashboard (manager)", [float("nan")]))
                    wanted = "under 250 ms" if pg_name is None else "(a goal on SQLite only)"
                    print(f"      goal: p99 of a completion at 16 clients {wanted}: {1000 * p99:.0f} ms;"
                          f" the dashboard under 500 ms: worst {1000 * dash:.0f} ms")
            if 1 in rates and 4 in rates:
                print(f"  goal: completions/s at 4 clients at least 1.7x those at 1: {rates[4] / rates[1]:.2f}x")
            if args.completions:
                # started only now: a database grown by them beforehand would have made every level's figures
                # those of a bigger database (an inbox counts every open task of its queues)
                print(f"{label}: starting {args.completions} more loan cases for the memory run ...", flush=True)
                more = connect(url)
                start_loans(more, args.completions)
                more.dispose()
                if admin is not None:
                    analyze(url)
                rss_run(port, server.pid, args.completions)
        finally:
            server.terminate()
            server.wait(30)
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
                admin.dispose()


def room(server_busy: float, clients_busy: float) -> None:
    """What one client's run leaves for more clients on this machine: the server and the clients share its CPUs
    (PostgreSQL's own CPU is not counted), and the server's Python runs on one CPU at a time (its interpreter
    lock; SQLite's and the system's work in it may overlap, so that bound is approximate)."""
    cpus = os.cpu_count() or 1
    print(f"      at one client the server kept {100 * server_busy:.0f}% of a CPU busy and the clients "
          f"{100 * clients_busy:.0f}%: more clients can add at most {cpus / (server_busy + clients_busy):.2f}x "
          f"the rate on {cpus} CPUs, about {1 / server_busy:.2f}x in one interpreter")


def rss_run(port: int, pid: int, completions: int) -> None:
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=clerk, args=(port, f"clerk-{n}", tally, stop, random.Random(100 + n)))
               for n in range(4)]
    for thread in threads:
        thread.start()
    marks: dict[int, float] = {}
    while tally.completions < completions:
        time.sleep(0.5)
        if 1000 not in marks and tally.completions >= 1000:
            marks[1000] = server_usage(pid)[1]
    stop.set()
    for thread in threads:
        thread.join()
    marks[completions] = server_usage(pid)[1]
    print(f"  RSS after 1,000 completions {marks.get(1000, float('nan')):.0f} MB, after {tally.completions:,} "
          f"{marks[completions]:.0f} MB; goal at most 1.5x: {marks[completions] / marks.get(1000, float('nan')):.2f}x")


if __name__ == "__main__":
    main()
