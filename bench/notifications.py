"""What notifications cost the engine, and how fast the worker sends them, on a SQLite file.

Prints, in one run, beside the machine's load:
- the outbox on the hot path: milliseconds of a manager assigning a task, which writes the notification and its
  job in its transaction, beside the same assignment with the outbox switched off for the measurement,
  interleaved, median of many, and the ratio;
- the worker: webhook notifications sent per second to a local HTTP server answering at once;
- a slow receiver does not slow the engine: completions per second of other cases while a worker sends to a
  receiver that takes 0.5 s to answer, beside the same with no worker running (no case and no transaction is
  held while a worker waits on the network);
- a receiver that never answers does not delay timers: seconds from a worker's start (``BackgroundWorker``, as
  ``valueflow serve`` runs it) until a due timer has fired, while a notification to a receiver that takes the
  connection and never answers was due before it, beside the same with no notification due.
The receivers listen on 127.0.0.1, which the benchmark allows webhooks to reach (VALUEFLOW_WEBHOOK_ALLOW_HOSTS).

Usage: .venv/bin/python bench/notifications.py [--tasks N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import jobs, service  # noqa: E402
from engine.definitions.packages import Package  # noqa: E402
from engine.notify import settings  # noqa: E402
from engine.storage import outbox  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from engine.work import queries  # noqa: E402
from engine.worker import BackgroundWorker  # noqa: E402
from tests import samples  # noqa: E402
from tests.conftest import T0  # noqa: E402
from tests.jobs_arrange import deploy_timer_process  # noqa: E402

KEY = "bench_notify"


def receiver(delay: float) -> tuple[ThreadingHTTPServer, list[int]]:
    got: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            got.append(1)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def arranged(folder: str, url: str, name: str = "bench.db", clock: Optional[FixedClock] = None) -> UnitOfWorkFactory:
    new_uow = connect(f"sqlite:///{folder}/{name}", clock, migrate=True)
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "review", "finish"))
    service.deploy(new_uow(), Package(KEY, f"{KEY}.bpmn", {f"{KEY}.bpmn": samples.document(
        KEY, body, {"Back Office": ["begin", "review", "finish"]})}))
    service.add_user(new_uow(), "boss", ["manager"])
    for name in ("bo1", "bo2"):
        service.add_user(new_uow(), name, ["back-office"])
        settings.save_settings(new_uow(), name, settings.SettingsForm(
            webhook_url=url, choices=frozenset({("assigned", "webhook")})))
    return new_uow


def open_tasks(new_uow: UnitOfWorkFactory, count: int) -> list[int]:
    ids = [service.start_instance(new_uow(), KEY, service.CustomerRef(f"c{n}", f"Customer {n}", "standard"))
           for n in range(count)]
    return [queries.list_tasks(new_uow(), instance_id=i)[0]["id"] for i in ids]


def hot_path(new_uow: UnitOfWorkFactory, count: int) -> tuple[float, float]:
    """Median ms of an assignment with its notification, and of one with the outbox switched off, interleaved."""
    notifying = dict(outbox.NOTIFYING_EVENTS)
    timed: dict[bool, list[float]] = {True: [], False: []}
    for n, task_id in enumerate(open_tasks(new_uow, 2 * count)):
        on = n % 2 == 0
        outbox.NOTIFYING_EVENTS.update(notifying) if on else outbox.NOTIFYING_EVENTS.clear()
        t = time.perf_counter()
        service.assign_task(new_uow(), task_id, "bo1", "boss")
        timed[on].append(time.perf_counter() - t)
    outbox.NOTIFYING_EVENTS.update(notifying)
    return statistics.median(timed[True]) * 1000, statistics.median(timed[False]) * 1000


def sent_per_second(new_uow: UnitOfWorkFactory, got: list[int]) -> tuple[int, float]:
    before = len(got)
    t = time.perf_counter()
    while jobs.run_until_idle(new_uow, "bench").claimed:
        pass
    return len(got) - before, (len(got) - before) / (time.perf_counter() - t)


def completions_per_second(new_uow: UnitOfWorkFactory, tasks: list[int]) -> float:
    t = time.perf_counter()
    for task_id in tasks:
        service.complete_task(new_uow(), task_id, "bo2", {"comment": "ok"})
    return len(tasks) / (time.perf_counter() - t)


def timer_delay(folder: str, silent_url: str, notification_due: bool) -> float:
    """Seconds from a worker's start until a due timer fired, with or without a notification to ``silent_url``
    due before the timer."""
    name = f"timer-{notification_due}.db"
    new_uow = arranged(folder, silent_url, name, FixedClock(T0))
    waiting = service.start_instance(new_uow(), deploy_timer_process(new_uow), service.CustomerRef("t", "T", "standard"))
    if notification_due:
        service.assign_task(new_uow(), open_tasks(new_uow, 1)[0], "bo1", "boss")
    new_uow.dispose()
    due = connect(f"sqlite:///{folder}/{name}", FixedClock(T0 + timedelta(hours=1, minutes=1)))
    worker = BackgroundWorker(due, 0.05, lambda line: None, lambda line: None)
    began = time.perf_counter()
    worker.start()
    while queries.instance_view(due(), waiting)["status"] != "completed":
        time.sleep(0.01)
    seconds = time.perf_counter() - began
    worker.stop()
    due.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300)
    count = parser.parse_args().tasks
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (2 cores)")
    os.environ["VALUEFLOW_WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="i18-notify-bench-") as folder:
        fast, got = receiver(0.0)
        new_uow = arranged(folder, f"http://127.0.0.1:{fast.server_port}/hook")
        with_outbox, without = hot_path(new_uow, count)
        print(f"hot path, {count} assignments each, SQLite file: with the notification {with_outbox:.2f} ms, "
              f"outbox off {without:.2f} ms, ratio {with_outbox / without:.2f}")
        sent, rate = sent_per_second(new_uow, got)
        print(f"worker: {sent} webhook notifications sent, {rate:.0f} per second (receiver answers at once)")

        slow, slow_got = receiver(0.5)
        settings.save_settings(new_uow(), "bo1", settings.SettingsForm(
            webhook_url=f"http://127.0.0.1:{slow.server_port}/hook", choices=frozenset({("assigned", "webhook")})))
        for task_id in open_tasks(new_uow, 20):
            service.assign_task(new_uow(), task_id, "bo1", "boss")  # 20 slow notifications: 10 s of sending
        mine = open_tasks(new_uow, 2 * count)
        for task_id in mine:
            service.claim_task(new_uow(), task_id, "bo2")
        alone = completions_per_second(new_uow, mine[:count // 2])
        worker = threading.Thread(target=sent_per_second, args=(connect(f"sqlite:///{folder}/bench.db"), slow_got))
        worker.start()
        beside = completions_per_second(new_uow, mine[count // 2:count])
        sending = worker.is_alive()
        after = completions_per_second(new_uow, mine[count:3 * count // 2])
        worker.join()
        print(f"completions per second: {alone:.0f} with no worker, {beside:.0f} while a worker sends to a receiver "
              f"taking 0.5 s per call (still sending at the end: {sending}), {after:.0f} after; "
              f"ratio while sending / alone {beside / alone:.2f}; {len(slow_got)} slow calls sent")
        fast.shutdown()
        slow.shutdown()

        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)  # takes the connection, never answers: each call waits for its 10 s timeout
            url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
            print(f"load: {os.getloadavg()[0]:.2f}")
            quiet = timer_delay(folder, url, notification_due=False)
            behind = timer_delay(folder, url, notification_due=True)
        print(f"a due timer fired {quiet:.2f} s after the worker started with no notification due, {behind:.2f} s "
              "with a notification to a receiver that never answers due before it")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
