"""Worker processes (`valueflow worker`) sharing one database fire every due timer once, even when one dies (and
the worker taking over its jobs names each).

Each timer fires in a transaction of its own: 10,000 commits. A firing costs the worker 1.2 ms of CPU on SQLite
and about 4 ms on PostgreSQL (bench/README.md), but on the shared machine, with a PostgreSQL server whose disk
takes every test run's commits in turn, the 10,000 took minutes; the tests wait up to a quarter of an hour
before they call it a failure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from tests.conftest import T0
from tests.jobs_arrange import deploy_timer_process, fired_per_case, jobs_left, waiting_cases

VALUEFLOW = str(Path(sys.executable).with_name("valueflow"))


def worker(url: str, *options: str) -> subprocess.Popen[str]:
    """A `valueflow worker` process on the real clock (the cases' timers, due at T0 + 1 h, are long past), its
    output a pipe as under a service manager (Python's own buffering, whatever the caller's environment says)."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.Popen([VALUEFLOW, "worker", "--interval", "0.1", *options],
                            env={**environment, "VALUEFLOW_DATABASE_URL": url},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


def wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return False


def test_two_worker_processes_fire_each_of_10000_due_timers_exactly_once(storage_url):
    arrange = connect(storage_url, FixedClock(T0), migrate=True)
    definition_id = waiting_cases(arrange, deploy_timer_process(arrange), 10_000)
    workers = [worker(storage_url), worker(storage_url)]
    try:
        finished = wait_until(lambda: jobs_left(arrange, definition_id) == 0, 900)
        time.sleep(0.5)  # both go on with rounds after the last timer fired
        alive = [process.poll() is None for process in workers]
    finally:
        outputs = [stop(process) for process in workers]
    fired = fired_per_case(arrange, definition_id)
    assert finished and alive == [True, True], (len(fired), outputs)
    assert len(fired) == 10_000 and set(fired.values()) == {1}
    assert jobs_left(arrange, definition_id) == 0
    assert all("timers fired in" in output for output in outputs), outputs  # both did part of the work
    arrange.dispose()


def test_a_worker_killed_mid_batch_loses_nothing_its_leases_end_and_another_worker_fires_them(storage_url):
    arrange = connect(storage_url, FixedClock(T0), migrate=True)
    definition_id = waiting_cases(arrange, deploy_timer_process(arrange), 3_000)
    doomed = worker(storage_url, "--lease", "3", "--batch", "1000")
    try:
        assert wait_until(lambda: jobs_left(arrange, definition_id) <= 2_900, 30)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        fired_before = len(fired_per_case(arrange, definition_id))
        held = jobs_left(arrange, definition_id, leased_only=True)
        assert fired_before < 3_000 and held > 0, "the worker was killed holding jobs"
    finally:
        stop(doomed)
    survivor = worker(storage_url, "--lease", "3")
    try:
        finished = wait_until(lambda: jobs_left(arrange, definition_id) == 0, 600)
    finally:
        output = stop(survivor)
    fired = fired_per_case(arrange, definition_id)
    assert finished, output
    assert len(fired) == 3_000 and set(fired.values()) == {1}
    assert jobs_left(arrange, definition_id) == 0
    # one warning a claim round for the jobs it took over from the killed worker, each saying how many
    taken_over = [int(found[1]) for found in re.finditer(r"^valueflow worker: took over (\d+) timer job\(s\) from "
                                                          rf"worker \S+:{doomed.pid}:\S+, ", output, re.MULTILINE)]
    assert sum(taken_over) == held and len(taken_over) <= held / 200 + 1, output[-2000:]
    arrange.dispose()
