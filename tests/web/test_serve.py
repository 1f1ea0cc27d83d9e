"""``valueflow serve`` runs the app on the database ``valueflow init`` made."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Callable

import pytest

from engine import service
from engine.storage.wiring import connect
from engine.time.clock import FixedClock, SystemClock
from engine.work import queries
from tests.web.conftest import MEDIUM_RISK, copy_database

VALUEFLOW = Path(sys.executable).with_name("valueflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, folder: Path, *options: str) -> tuple[subprocess.Popen, int]:
    """``valueflow serve`` on a free port, once it answers."""
    process, port = start_serving(url, folder, *options)
    wait_for_login_page(process, port)
    return process, port


def start_serving(url: str, folder: Path, *options: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": url, "VALUEFLOW_SECRET_KEY": "serve-test"}
    process = subprocess.Popen([str(VALUEFLOW), "serve", "--port", str(port), *options], env=env, cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def wait_for_login_page(process: subprocess.Popen, port: int) -> None:
    """Wait for the sign-in page (at most 20 s); stop the server and fail with its output if it never comes."""
    page = None
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                page = response.read().decode()
            break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    if page is None or "Sign in to Valueflow" not in page:
        raise AssertionError(stop(process))


def wait_until(condition: Callable[[], object], seconds: float = 30) -> None:
    """Check ``condition`` every 0.2 s until it holds or ``seconds`` have passed (the caller's asserts tell which)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    """Stop it as a service manager does (SIGTERM); what it printed."""
    process.terminate()
    output, _ = process.communicate(timeout=60)
    return output


def test_serve_answers_on_the_chosen_port_with_the_login_page(seeded_database, tmp_path):
    url = copy_database(seeded_database, tmp_path)
    factory = connect(url)
    service.start_instance(factory(), "service_request", service.CustomerRef("c-1", "Kim Park", "standard"))
    factory.dispose()
    process, port = serve(url, tmp_path)
    output = stop(process)
    assert process.returncode == 0, output
    database = Path(url.removeprefix("sqlite:///"))
    assert sorted(path.name for path in database.parent.glob(database.name + "*")) == [database.name], \
        "the log files are left beside the database"
    assert f"Valueflow is running on http://localhost:{port}/, requests taking turns on 2 threads" in output
    # the running case's process is parsed before the first request, not during it
    assert "1 process version(s) with running cases compiled" in output


@pytest.mark.parametrize("options, threads", [((), 2), (("--threads", "5"), 5)])
def test_serve_has_requests_take_turns_on_sqlite(seeded_database, tmp_path, options, threads):
    # one interpreter runs one request's Python at a time: on a SQLite file requests side by side only slow each
    # other down (web.turns, bench/README.md)
    process, port = serve(copy_database(seeded_database, tmp_path), tmp_path, *options)
    output = stop(process)
    assert f"Valueflow is running on http://localhost:{port}/, requests taking turns on {threads} threads" in output


def test_serve_takes_more_requests_at_once_on_postgresql(postgres_url, tmp_path):
    # there a request also waits for the server's answers, which other requests' work fills
    process, port = serve(postgres_url, tmp_path, "--no-worker")
    output = stop(process)
    assert f"Valueflow is running on http://localhost:{port}/, 8 requests at once" in output


def loan_with_a_reminder_due(url: str, customer_id: str = "c-1") -> int:
    """A loan whose documents were requested two days and an hour ago: its reminder timer is due now."""
    factory = connect(url, FixedClock(SystemClock().now() - timedelta(days=2, hours=1)))
    instance_id = service.start_instance(factory(), "loan_decision",
                                         service.CustomerRef(customer_id, "Ada Moss", "standard"), {})
    for data in ({**MEDIUM_RISK, "documents_complete": False},
                 {"missing_documents": "payslips", "request_channel": "email"}):
        task = queries.list_tasks(factory(), instance_id=instance_id)[0]
        service.claim_task(factory(), task["id"], "customer-service")
        service.complete_task(factory(), task["id"], "customer-service", data)
    factory.dispose()
    return instance_id


def timers_fired(url: str, instance_id: int) -> int:
    factory = connect(url)
    try:
        return sum(e["type"] == "timer_fired" for e in queries.instance_view(factory(), instance_id)["events"])
    finally:
        factory.dispose()


def test_serve_fires_due_timers_in_the_same_process_and_stops_cleanly(seeded_database, tmp_path):
    url = copy_database(seeded_database, tmp_path)
    instance_id = loan_with_a_reminder_due(url)
    process, _ = serve(url, tmp_path, "--worker-interval", "0.2")
    try:
        wait_until(lambda: timers_fired(url, instance_id))  # the worker's first round runs as the server starts
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert timers_fired(url, instance_id) == 1, output
    assert "Timers and breached targets are handled in this process, every 0.2 s" in output
    assert "timers fired in 1 case(s)" in output
    database = Path(url.removeprefix("sqlite:///"))
    assert sorted(path.name for path in database.parent.glob(database.name + "*")) == [database.name], \
        "the worker left the database open"


def test_two_serve_processes_on_one_database_fire_each_due_timer_once_and_both_stop_cleanly(seeded_database,
                                                                                           tmp_path):
    url = copy_database(seeded_database, tmp_path)
    loans = [loan_with_a_reminder_due(url, f"c-{n}") for n in range(8)]
    servers = [start_serving(url, tmp_path, "--worker-interval", "0.1") for _ in range(2)]
    outputs = []
    try:
        for process, port in servers:
            wait_for_login_page(process, port)
        wait_until(lambda: all(timers_fired(url, loan) for loan in loans))
        time.sleep(0.5)  # both workers go on with rounds over the same cases
    finally:
        outputs = [stop(process) for process, _ in servers]
    assert [process.returncode for process, _ in servers] == [0, 0], outputs
    assert [timers_fired(url, loan) for loan in loans] == [1] * len(loans), outputs
    assert not any("valueflow worker:" in output for output in outputs), outputs  # no round nor case failed


def test_serve_with_no_worker_leaves_timers_to_valueflow_worker(seeded_database, tmp_path):
    url = copy_database(seeded_database, tmp_path)
    instance_id = loan_with_a_reminder_due(url)
    process, _ = serve(url, tmp_path, "--no-worker", "--worker-interval", "0.2")
    try:
        time.sleep(1)  # five rounds' time, had a worker run
        assert timers_fired(url, instance_id) == 0
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "Timers and breached targets are left to `valueflow worker` (--no-worker)" in output


def test_serve_refuses_a_database_without_the_schema(tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
           "VALUEFLOW_SECRET_KEY": "serve-test"}
    result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("valueflow: the database has no Valueflow schema yet; "
                                     "run `valueflow init` first")


@pytest.mark.parametrize("revision, remedy", [
    ("0018_ids_never_reused", "run `valueflow init` to upgrade it"),
    ("9999_from_a_newer_valueflow", "upgrade Valueflow here to the version that wrote it"),
], ids=["older", "newer"])
@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["waitress", "gunicorn"])
def test_serve_on_a_schema_this_version_does_not_run_refuses_before_listening(seeded_database, tmp_path, processes,
                                                                              revision, remedy):
    url = copy_database(seeded_database, tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    port = free_port()
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": url, "VALUEFLOW_SECRET_KEY": "serve-test"}
    result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(port), *processes], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"valueflow: the web app cannot start: the database schema is at {revision}, "
                                    "this version needs "), result.stderr
    assert result.stderr.strip().endswith(remedy), result.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens


@pytest.mark.parametrize("setting, value, problem", [
    ("VALUEFLOW_PROXY_HOPS", "one", "'one' is not a whole number from 0 up"),
    ("VALUEFLOW_ACCESS_LOG", "off", "'off' is not true or false"),
    ("VALUEFLOW_SMTP_TIMEOUT", "-3", "is '-3'; it must be a number of seconds above 0"),
], ids=["proxy hops", "access log", "mail"])
@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["waitress", "gunicorn"])
def test_serve_refuses_a_malformed_setting_with_one_line_before_listening(seeded_database, tmp_path, processes,
                                                                          setting, value, problem):
    port = free_port()
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": copy_database(seeded_database, tmp_path),
           "VALUEFLOW_SECRET_KEY": "serve-test", setting: value}
    result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(port), *processes], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == f"valueflow: {setting} {problem}"


def test_serve_refuses_a_database_url_set_but_empty_and_makes_no_database_file(tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": "", "VALUEFLOW_SECRET_KEY": "serve-test"}
    result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().startswith("valueflow: VALUEFLOW_DATABASE_URL is set but empty"), result.stderr
    assert not (tmp_path / "valueflow.db").exists()


@pytest.mark.parametrize("port", ["65536", "70000", "-1", "80a"])
def test_serve_refuses_a_port_outside_1_to_65535_with_one_line_instead_of_listening_on_another(tmp_path, port):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'any.db'}"}
    result = subprocess.run([str(VALUEFLOW), "serve", f"--port={port}"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"valueflow: argument --port: {port!r} is not a port: a whole number from 1 to "
                                     "65535 (see valueflow serve --help)")


@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["waitress", "gunicorn"])
def test_serve_refuses_a_port_in_use_with_one_line(seeded_database, tmp_path, processes):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": copy_database(seeded_database, tmp_path),
           "VALUEFLOW_SECRET_KEY": "serve-test"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(port), *processes], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"valueflow: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_help_lists_serve_but_the_engines_own_commands_do_not_load_the_web_app(seeded_database, tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": copy_database(seeded_database, tmp_path)}
    listed = subprocess.run([str(VALUEFLOW), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "serve" in listed.stdout
    probe = ("import sys\nfrom engine.cli import main\nstatus = main(['tasks', '--json'])\n"
             "print(status, sorted(name for name in ('flask', 'jinja2', 'web') if name in sys.modules))")
    tasks = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    # Loading the web app costs every command about a quarter of a second; `tasks` has no use for it.
    assert tasks.stdout.splitlines()[-1] == "0 []", tasks.stderr
