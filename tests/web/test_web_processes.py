"""``valueflow serve --processes N``: several web processes under gunicorn, on one database, one /metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.web.conftest import copy_database
from tests.web.live import Api, clerks_with_tokens, metrics_folder_files
from tests.web.test_ops import metric
from tests.web.test_serve import (VALUEFLOW, free_port, loan_with_a_reminder_due, serve, stop, timers_fired,
                                  wait_until)
from web.prefork import default_metrics_folder


def web_processes(master: int) -> set[int]:
    """The gunicorn web processes of a master: its children other than the worker process."""
    return {pid for pid, command in children(master).items() if " worker " not in command}


def worker_processes(master: int) -> set[int]:
    """The ``valueflow worker`` processes of a master."""
    return {pid for pid, command in children(master).items() if " worker " in command}


def children(master: int) -> dict[int, str]:
    """A process's children, each with its command line."""
    found = subprocess.run(["ps", "--ppid", str(master), "-o", "pid=,args="], capture_output=True, text=True)
    return {int(pid): command for pid, command in (line.split(maxsplit=1) for line in found.stdout.splitlines())}


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return response.read().decode()


def test_two_web_processes_on_postgresql_serve_requests_and_sum_their_metrics(postgres_url, tmp_path):
    [(_, token)] = clerks_with_tokens(postgres_url, 1)
    process, port = serve(postgres_url, tmp_path, "--processes", "2", "--no-worker")
    try:
        master_children = web_processes(process.pid)
        assert len(master_children) == 2
        with Api(port, token) as api:
            case = api.start_loan()
        # Requests on new connections, several at once, until both processes have answered some.
        made = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):
                made += len(list(pool.map(lambda _: get(port, "/healthz"), range(20))))
                if metrics_folder_files(default_metrics_folder(port)) >= master_children:
                    break
        healthz_calls = metric(get(port, "/metrics"), "valueflow_http_request_seconds_count",
                               method="GET", route="/healthz", status="200")
        answered_by = metrics_folder_files(default_metrics_folder(port))
        with Api(port, token) as api:  # whichever process answers: one database
            status, seen = api.call("GET", f"/instances/{case['id']}")
        metrics = get(port, "/metrics")
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert answered_by == master_children, output
    assert healthz_calls == made  # every process's requests, summed
    assert (status, seen["status"], seen["open_steps"][0]["id"]) == (200, "running", case["open_steps"][0]["id"])
    assert metric(metrics, "valueflow_step_seconds_count", use_case="start", outcome="ok") == 1
    assert "Valueflow is running on http://localhost:" in output
    assert "in 2 web processes, 8 requests at once in each" in output
    assert not default_metrics_folder(port).exists(), "the metrics folder is left behind"


def test_serve_with_processes_fires_due_timers_in_one_worker_process_and_stops_cleanly(seeded_database, tmp_path,
                                                                                         monkeypatch):
    url = copy_database(seeded_database, tmp_path)
    loans = [loan_with_a_reminder_due(url, f"c-{n}") for n in range(4)]
    worker_port = free_port()
    monkeypatch.setenv("VALUEFLOW_WORKER_METRICS_PORT", str(worker_port))  # for workers run apart, not serve's
    process, port = serve(url, tmp_path, "--processes", "2", "--worker-interval", "0.2")
    try:
        wait_until(lambda: all(timers_fired(url, loan) for loan in loans))
        time.sleep(0.5)
        metrics = get(port, "/metrics")
        with socket.socket() as probe:
            worker_port_free = probe.connect_ex(("127.0.0.1", worker_port)) != 0
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert [timers_fired(url, loan) for loan in loans] == [1] * len(loans), output
    assert metric(metrics, "valueflow_jobs_run_total", kind="timer", outcome="done") == len(loans)  # the worker's
    assert worker_port_free
    assert "handled by one `valueflow worker` process beside them" in output
    assert "timers fired in" in output
    database = Path(url.removeprefix("sqlite:///"))
    assert sorted(path.name for path in database.parent.glob(database.name + "*")) == [database.name], output


def test_serve_with_processes_starts_a_killed_worker_process_again_and_stops_it_for_good(seeded_database,
                                                                                           tmp_path):
    url = copy_database(seeded_database, tmp_path)
    process, _ = serve(url, tmp_path, "--processes", "2", "--worker-interval", "0.2")
    try:
        killed = []
        for _ in range(2):  # the second dies at once: it is started again after twice as long
            [worker] = worker_processes(process.pid)
            os.kill(worker, signal.SIGKILL)
            killed.append(worker)
            wait_until(lambda: bool(worker_processes(process.pid) - {worker}), 10)
        [last] = worker_processes(process.pid)
        loan = loan_with_a_reminder_due(url)
        wait_until(lambda: timers_fired(url, loan))
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert timers_fired(url, loan) == 1, output
    assert [line for line in output.splitlines() if "starting a new one" in line] == [
        f"valueflow: the worker process (pid {killed[0]}) was killed by SIGKILL; starting a new one in 1 s",
        f"valueflow: the worker process (pid {killed[1]}) was killed by SIGKILL; starting a new one in 2 s"], output
    with pytest.raises(ProcessLookupError):  # stopped with serve, not started again nor left running
        os.kill(last, 0)


def test_a_worker_process_ends_with_serve_killed_by_sigkill(seeded_database, tmp_path):
    process, _ = serve(copy_database(seeded_database, tmp_path), tmp_path, "--processes", "2")
    try:
        [worker] = worker_processes(process.pid)
    finally:
        process.kill()
        process.communicate(timeout=30)
    wait_until(lambda: not os.path.exists(f"/proc/{worker}"), 20)
    left_running = os.path.exists(f"/proc/{worker}")  # beside the next serve, unseen
    if left_running:
        os.kill(worker, signal.SIGKILL)
    assert not left_running


@pytest.mark.parametrize("option", ["--processes", "--threads"])
def test_serve_refuses_fewer_than_one_process_or_thread(tmp_path, option):
    result = subprocess.run([str(VALUEFLOW), "serve", option, "0", "--port", str(free_port())], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "valueflow: --threads and --processes must be at least 1"
