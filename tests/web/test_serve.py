"""``valueflow serve`` runs the app on the database ``valueflow init`` made."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from engine import service
from engine.storage.wiring import connect
from tests.web.conftest import copy_database

VALUEFLOW = Path(sys.executable).with_name("valueflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_the_chosen_port_with_the_login_page(seeded_database, tmp_path):
    port = free_port()
    url = copy_database(seeded_database, tmp_path)
    factory = connect(url)
    service.start_instance(factory(), "service_request", service.CustomerRef("c-1", "Kim Park", "standard"))
    factory.dispose()
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": url, "VALUEFLOW_SECRET_KEY": "serve-test"}
    process = subprocess.Popen([str(VALUEFLOW), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = None
        for _ in range(100):  # wait for it to listen (at most 20 s)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.2)
        assert page is not None, process.stdout.read() if process.poll() is not None else "no answer"
        assert "Sign in to Valueflow" in page
    finally:
        process.terminate()  # SIGTERM, as a service manager stops it
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    database = Path(url.removeprefix("sqlite:///"))
    assert sorted(path.name for path in database.parent.glob(database.name + "*")) == [database.name], \
        "the log files are left beside the database"
    assert f"Valueflow is running on http://localhost:{port}/" in output
    # the running case's process is parsed before the first request, not during it
    assert "1 process version(s) with running cases compiled" in output


def test_serve_refuses_a_database_without_the_schema(tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
           "VALUEFLOW_SECRET_KEY": "serve-test"}
    result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("valueflow: the database has no Valueflow schema yet; "
                                     "run `valueflow init` first")


def test_serve_refuses_a_port_in_use_with_one_line(seeded_database, tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": copy_database(seeded_database, tmp_path),
           "VALUEFLOW_SECRET_KEY": "serve-test"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(VALUEFLOW), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
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
