"""Loans worked end to end through the JSON API by concurrent staff, against several web processes on PostgreSQL.

Each client is one member of staff holding the loan's roles, with an API token,
in a loop: start a loan (``POST /api/v1/instances``), then claim and complete
each step it opens with that step's real form (capture, credit review,
underwriting, offer) until the loan is finished. Meanwhile a manager opens the
loan dashboard and the list of all open tasks every two seconds, in the
browser's way (a session), and a clerk's inbox is asked through the API every
second. The server is ``valueflow serve --processes N --no-worker`` on a new
PostgreSQL database (VALUEFLOW_BENCH_POSTGRES or VALUEFLOW_TEST_POSTGRES).

Prints, for each number of clients: loans finished per second, completions per
second, p50/p95/p99 of a completion, answers by status (409, a race lost, is
counted apart from errors; a 5xx is an error; 599 is a request that got no
answer, its connection closed), and the inbox and dashboard latencies while
the clients work, and the machine's load average at the end of each run (the
server, PostgreSQL and the clients share it).

Usage: .venv/bin/python bench/load.py [--seconds 20] [--clients 1,4,16] [--processes 4] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import PASSWORD, Tally, manager, percentile, run_for, start_server  # noqa: E402
from step_cost import LOAN_FORMS, temporary_postgres  # noqa: E402

from engine import service  # noqa: E402
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.work import tokens  # noqa: E402

STAFF_ROLES = ["customer-service", "credit-analyst", "underwriter"]
PORT = 5150


class Client:
    """One member of staff on the JSON API with a token, on a kept-alive connection."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> tuple[int, float, Any]:
        """(status, seconds, decoded body); status 599 when no answer came."""
        began = time.perf_counter()
        try:
            self.connection.request(method, "/api/v1" + path, json.dumps(body) if body is not None else None,
                                    self.headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 599, time.perf_counter() - began, None
        return response.status, time.perf_counter() - began, json.loads(raw or b"null")


def staff(port: int, token: str, tally: Tally, finished: Counter[str], stop: threading.Event) -> None:
    """Loans from start to finish, one after another, until ``stop``."""
    client = Client(port, token)
    while not stop.is_set():
        customer = {"id": f"c-{uuid.uuid4().hex[:8]}", "name": "Ada Moss", "segment": "standard"}
        status, seconds, case = client.call("POST", "/instances", {"process": "loan_decision", "customer": customer,
                                                                   "data": {}})
        tally.add("start", status, seconds)
        while status in (200, 201) and case["status"] == "running" and case["open_steps"] and not stop.is_set():
            step = case["open_steps"][0]
            status, seconds, _ = client.call("POST", f"/tasks/{step['id']}/claim")
            tally.add("claim", status, seconds)
            if status != 200:
                break
            status, seconds, case = client.call("POST", f"/tasks/{step['id']}/complete",
                                                {"data": LOAN_FORMS[step["step_id"]]})
            tally.add("complete", status, seconds)
        if status == 200 and case["status"] == "completed":
            with tally.lock:
                finished["loans"] += 1


def inbox_reader(port: int, token: str, tally: Tally, stop: threading.Event) -> None:
    client = Client(port, token)
    while not stop.wait(1.0):
        status, seconds, _ = client.call("GET", "/tasks?view=queues")
        tally.add("inbox (API, queues)", status, seconds)


def prepare(url: str, people: int) -> list[str]:
    """The shipped processes, a manager, and ``people`` members of staff with tokens; their tokens."""
    new_uow = connect(url, migrate=True)
    for folder in sorted((ROOT / "bpmn").iterdir()):
        if folder.is_dir():
            service.deploy(new_uow(), read_package(folder), actor="bench")
    service.add_user(new_uow(), "bench-manager", ["manager"], PASSWORD)
    found = []
    for number in range(people):
        service.add_user(new_uow(), f"staff-{number}", STAFF_ROLES)
        found.append(tokens.create_token(new_uow(), f"staff-{number}", "load bench"))
    new_uow.dispose()
    return found


def run(port: int, tokens_: list[str], clients: int, seconds: float) -> tuple[Tally, Counter[str], float]:
    tally, finished, stop = Tally(), Counter[str](), threading.Event()
    threads = [threading.Thread(target=staff, args=(port, token, tally, finished, stop))
               for token in tokens_[:clients]]
    threads.append(threading.Thread(target=manager, args=(port, tally, stop)))
    threads.append(threading.Thread(target=inbox_reader, args=(port, tokens_[-1], tally, stop)))
    return tally, finished, run_for(threads, seconds, stop)


def report(clients: int, tally: Tally, finished: Counter[str], elapsed: float) -> None:
    completions = tally.statuses["complete"][200]
    done = tally.seconds["complete"]
    print(f"{clients} client(s), {elapsed:.0f} s: {finished['loans'] / elapsed:.1f} loans finished/s, "
          f"{completions / elapsed:.1f} completions/s; a completion p50 {percentile(done, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(done, 0.95) * 1000:.0f} ms, p99 {percentile(done, 0.99) * 1000:.0f} ms; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    answers: Counter[int] = Counter()
    for counts in tally.statuses.values():
        answers.update(counts)
    errors = {status: n for status, n in answers.items() if 400 <= status < 599 and status != 409}
    print(f"  answers {dict(sorted(answers.items()))}: 409 (a race lost) {answers[409]}, "
          f"errors {errors or 'none'}, 5xx {sum(n for s, n in answers.items() if 500 <= s < 599)}, "
          f"no answer (599: the connection was closed, e.g. a kept-alive one the server had let go) {answers[599]}")
    for kind in ("inbox (API, queues)", "all open tasks (manager)", "dashboard (manager)"):
        seen = tally.seconds[kind]
        print(f"  {kind:<26} p50 {percentile(seen, 0.5) * 1000:5.0f} ms, "
              f"worst {max(seen, default=float('nan')) * 1000:5.0f} ms ({len(seen)} while loaded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of load for each number of clients")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--processes", type=int, default=4, help="web processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="requests at once per web process (default 4)")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    postgres = temporary_postgres()
    if postgres is None:
        raise SystemExit("set VALUEFLOW_BENCH_POSTGRES (or VALUEFLOW_TEST_POSTGRES) to a PostgreSQL server")
    url, drop = postgres
    try:
        tokens_ = prepare(url, max(counts) + 1)
        with tempfile.TemporaryDirectory() as folder:
            server = start_server(url, args.port, Path(folder), "--processes", str(args.processes),
                                  "--threads", str(args.threads))
            time.sleep(2)  # every web process up, not only the first to answer
            try:
                print(f"loan_decision through the JSON API, {args.processes} web processes x {args.threads} "
                      f"threads on PostgreSQL; staff start loans and complete every step with its form")
                for clients in counts:
                    report(clients, *run(args.port, tokens_, clients, args.seconds))
            finally:
                server.terminate()
                server.wait(60)
    finally:
        drop()


if __name__ == "__main__":
    main()
