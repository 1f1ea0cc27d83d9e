"""Requests per second over the JSON API with one client: starting cases, and claiming plus completing tasks.

A fresh SQLite database gets the shipped processes and a customer-service clerk with an API token; one
``valueflow serve --no-worker`` process serves it (waitress). One client on one keep-alive connection then,
for ``--seconds`` each: starts loan cases (``POST /api/v1/instances``, with a business key and an
Idempotency-Key each), and claims and completes the capture task of each case it started (``POST
/api/v1/tasks/<id>/claim`` then ``/complete`` with the capture form's data). Prints requests per second
and p50/p95 latency of each kind; any answer other than the expected status stops the run.

Usage: .venv/bin/python bench/api.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import service  # noqa: E402
from engine.definitions.packages import read_package  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.work import tokens  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from http_load import start_server  # noqa: E402

CAPTURE = {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000, "existing_debts": 15000,
           "years_employed": 3, "property_value": 300000, "documents_complete": True}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(url: str) -> str:
    factory = connect(url, migrate=True)
    for folder in sorted(p for p in (ROOT / "bpmn").iterdir() if p.is_dir()):
        service.deploy(factory(), read_package(folder), actor="bench")
    service.add_user(factory(), "clerk", ["customer-service"])
    secret = tokens.create_token(factory(), "clerk", "bench")
    factory.dispose()
    return secret


class Client:
    def __init__(self, port: int, secret: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def post(self, path: str, body: object, expected: int, key: str | None = None) -> tuple[dict, float]:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        began = time.perf_counter()
        self.connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        took = time.perf_counter() - began
        if response.status != expected:
            raise SystemExit(f"POST {path} answered {response.status}: {payload[:300]!r}")
        return json.loads(payload), took


def report(kind: str, times: list[float], seconds: float) -> None:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    print(f"{kind:<34} {len(times) / seconds:8.1f} req/s   p50 {statistics.median(ordered) * 1000:6.1f} ms   "
          f"p95 {p95 * 1000:6.1f} ms   ({len(times)} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        secret = prepare(url)
        port = free_port()
        server = start_server(url, port, Path(folder))
        try:
            client = Client(port, secret)
            started, open_tasks = [], []
            deadline = time.perf_counter() + args.seconds
            began = time.perf_counter()
            while time.perf_counter() < deadline:
                n = len(started)
                body = {"process": "loan_decision", "business_key": f"APP-{n}",
                        "customer": {"id": f"c-{n}", "name": f"Customer {n}", "segment": "standard"}, "data": {}}
                case, took = client.post("/api/v1/instances", body, 201, key=f"start-{n}")
                started.append(took)
                open_tasks.append(case["open_steps"][0]["id"])
            start_seconds = time.perf_counter() - began
            claims, completions = [], []
            deadline = time.perf_counter() + args.seconds
            began = time.perf_counter()
            for task_id in open_tasks:
                if time.perf_counter() >= deadline:
                    break
                claims.append(client.post(f"/api/v1/tasks/{task_id}/claim", None, 200)[1])
                completions.append(client.post(f"/api/v1/tasks/{task_id}/complete", {"data": CAPTURE}, 200,
                                               key=f"complete-{task_id}")[1])
            work_seconds = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"one client, one keep-alive connection, valueflow serve (waitress) on SQLite, {os.cpu_count()} cores")
    report("start (POST /instances)", started, start_seconds)
    report("claim (POST /tasks/<id>/claim)", claims, work_seconds)
    report("complete (POST /tasks/<id>/complete)", completions, work_seconds)
    print(f"claim + complete pairs: {len(completions) / work_seconds:.1f} per second")


if __name__ == "__main__":
    main()
