"""``valueflow worker --metrics-port``: a worker run apart serves its own Prometheus figures (jobs run by kind and
outcome, their durations, its rounds), which move as it runs due jobs; a port in use stops it before any job runs.
A worker that takes over the jobs of one that died holding them says so on stderr."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Iterator, Optional

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from engine import jobs, service
from engine.storage.tables import TaskEvent
from engine.storage.uow import UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from tests.conftest import T0, empty_postgres_database
from tests.integration.test_open_task_indexes import CUSTOMER
from tests.jobs_arrange import deploy_timer_process, jobs_left, waiting_cases
from tests.peers import free_port
from tests.web.test_serve import wait_until

VALUEFLOW = Path(sys.executable).with_name("valueflow")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path,
             clock: FixedClock) -> Iterator[tuple[str, UnitOfWorkFactory]]:
    """A database of this test's own (the worker runs every due job it holds), its URL and units of work on it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'valueflow.db'}"
        factory = connect(url, clock, migrate=True)
        yield url, factory
        factory.dispose()
        return
    server = os.environ.get("VALUEFLOW_TEST_POSTGRES")
    if not server:
        pytest.skip("VALUEFLOW_TEST_POSTGRES is not set")
    with empty_postgres_database(server, f"valueflow_test_{uuid.uuid4().hex[:10]}") as url:
        factory = connect(url, clock, migrate=True)
        yield url, factory
        factory.dispose()


def scrape(port: int) -> Optional[Samples]:
    """The figures the worker serves at /metrics, by name and labels; None while it does not answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        answer = connection.getresponse()
        if answer.status != 200 or not answer.getheader("Content-Type", "").startswith("text/plain"):
            return None
        text = answer.read().decode()
    except OSError:
        return None
    finally:
        connection.close()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def figure(samples: Optional[Samples], name: str, **labels: str) -> Optional[float]:
    return None if samples is None else samples.get((name, frozenset(labels.items())))


def timers_fired(new_uow: UnitOfWorkFactory, instance_ids: list[int]) -> int:
    uow = new_uow()
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(TaskEvent).where(
            TaskEvent.instance_id.in_(instance_ids), TaskEvent.type == "timer_fired")) or 0)


def start_worker(url: str, *options: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([str(VALUEFLOW), "worker", "--interval", "0.2", *options],
                            env={**os.environ, "VALUEFLOW_DATABASE_URL": url, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_worker_serves_its_job_figures_on_its_metrics_port_and_they_move_as_it_runs_jobs(database):
    storage_url, stored_uow = database
    port = free_port()
    worker = start_worker(storage_url, VALUEFLOW_WORKER_METRICS_PORT=str(port))
    try:
        wait_until(lambda: scrape(port) is not None or worker.poll() is not None)
        before = scrape(port)
        assert figure(before, "valueflow_jobs_run_total", kind="timer", outcome="done") == 0.0, before
        assert figure(before, "valueflow_job_lease_takeovers_total", kind="timer") == 0.0
        key = deploy_timer_process(stored_uow)
        started = [service.start_instance(stored_uow(), key, CUSTOMER) for _ in range(3)]  # due 2026-01-05 10:00
        uow = stored_uow()
        with uow:
            uow.cases.jobs.add("notification", started[0], uow.clock.now())  # written by a newer version
            uow.commit()

        def jobs_counted() -> bool:
            found = scrape(port)
            return (figure(found, "valueflow_jobs_run_total", kind="timer", outcome="done") or 0) >= 3 and \
                (figure(found, "valueflow_jobs_run_total", kind="notification", outcome="failed") or 0) >= 1
        wait_until(jobs_counted)
        after = scrape(port)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert figure(after, "valueflow_jobs_run_total", kind="timer", outcome="done") == 3.0, output
    assert figure(after, "valueflow_jobs_run_total", kind="notification", outcome="failed") == 1.0, output
    assert figure(after, "valueflow_job_seconds_count", kind="timer") == 3.0
    assert figure(after, "valueflow_job_seconds_sum", kind="timer") > 0
    rounds = figure(after, "valueflow_worker_rounds_total", lane="cases", outcome="ok")
    assert rounds is not None and rounds > (figure(before, "valueflow_worker_rounds_total", lane="cases",
                                                   outcome="ok") or 0)
    assert timers_fired(stored_uow, started) == 3
    assert f"metrics at http://127.0.0.1:{port}/metrics" in output.splitlines()[0], output
    assert worker.returncode == 0, output


def test_a_worker_whose_metrics_port_is_in_use_says_so_in_one_line_and_runs_no_job(database):
    storage_url, stored_uow = database
    definition_id = waiting_cases(stored_uow, deploy_timer_process(stored_uow), 2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = start_worker(storage_url, "--metrics-port", str(port))
        output, _ = worker.communicate(timeout=60)
    assert (worker.returncode, output) == (2, f"valueflow: the worker cannot serve metrics on 127.0.0.1:{port}: "
                                              "Address already in use\n")
    assert jobs_left(stored_uow, definition_id) == 2


def test_a_worker_taking_over_the_jobs_of_a_worker_that_died_names_each_on_stderr(database, clock):
    storage_url, stored_uow = database
    waiting_cases(stored_uow, deploy_timer_process(stored_uow), 2)
    clock.set(T0 + timedelta(hours=2))
    died = jobs.claim_due(stored_uow, "host-a:4242:0f0f0f0f", lease=timedelta(seconds=30))  # then it was killed
    later = (clock.now() + timedelta(minutes=2)).isoformat()
    worker = subprocess.run([str(VALUEFLOW), "worker", "--once", "--at", later],
                            env={**os.environ, "VALUEFLOW_DATABASE_URL": storage_url}, capture_output=True, text=True,
                            timeout=60)
    assert worker.returncode == 0, worker.stderr
    assert worker.stderr.splitlines() == [
        f"valueflow worker: took over 2 timer job(s) from worker host-a:4242:0f0f0f0f, whose lease ran out 90 s ago "
        f"(it died or stalled mid-job): {died[0].id} (case {died[0].instance_id}), {died[1].id} (case "
        f"{died[1].instance_id})"]
    assert "timers fired in 2 case(s)" in worker.stdout
