"""``valueflow serve --processes N``: several web processes under gunicorn, on one database, one /metrics."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.web.conftest import copy_database
from tests.web.live import Api, clerks_with_tokens, metrics_folder_files
from tests.web.test_ops import metric
from tests.web.test_serve import VALUEFLOW, free_port, loan_with_a_reminder_due, serve, stop, timers_fired
from web.prefork import default_metrics_folder


def web_processes(master: int) -> set[int]:
    """The gunicorn web processes of a master: its children other than the worker process."""
    found = subprocess.run(["ps", "--ppid", str(master), "-o", "pid=,args="], capture_output=True, text=True)
    return {int(line.split()[0]) for line in found.stdout.splitlines() if " worker " not in line}


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


def test_serve_with_processes_fires_due_timers_in_one_worker_process_and_stops_cleanly(seeded_database, tmp_path):
    url = copy_database(seeded_database, tmp_path)
    loans = [loan_with_a_reminder_due(url, f"c-{n}") for n in range(4)]
    process, _ = serve(url, tmp_path, "--processes", "2", "--worker-interval", "0.2")
    try:
        for _ in range(150):  # at most 30 s
            if all(timers_fired(url, loan) for loan in loans):
                break
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert [timers_fired(url, loan) for loan in loans] == [1] * len(loans), output
    assert "handled by one `valueflow worker` process beside them" in output
    assert "timers fired in" in output
    database = Path(url.removeprefix("sqlite:///"))
    assert sorted(path.name for path in database.parent.glob(database.name + "*")) == [database.name], output


@pytest.mark.parametrize("option", ["--processes", "--threads"])
def test_serve_refuses_fewer_than_one_process_or_thread(tmp_path, option):
    result = subprocess.run([str(VALUEFLOW), "serve", option, "0", "--port", str(free_port())], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "valueflow: --threads and --processes must be at least 1"
