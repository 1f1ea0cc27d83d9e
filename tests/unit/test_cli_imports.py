"""What the ``valueflow`` command loads: each command imports what it needs when it runs.

Each check runs in a fresh interpreter and reads ``sys.modules`` afterwards; the time it takes is measured
by ``bench/cli_start.py``, never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cli, jobs
from engine.analytics import exports
from tests.conftest import REPO

HEAVY = ("SpiffWorkflow", "flask", "alembic", "sqlalchemy", "jsonschema", "RestrictedPython", "lxml")
# What listing tasks leaves out of the engine besides: SQLAlchemy's engines, the schema, the use cases.
BEYOND_A_LISTING = ("engine.storage.db", "engine.storage.tables", "engine.storage.uow", "engine.service")


def loaded_after(code: str, env: dict[str, str], watched: tuple[str, ...] = HEAVY) -> set[str]:
    """Which of the ``watched`` packages and modules are loaded once ``code`` ran in a fresh interpreter."""
    probe = (f"import sys, json\n{code}\n"
             f"print(json.dumps(sorted(set({watched!r}) & set(sys.modules))))")
    run = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def test_importing_the_command_loads_no_library_of_the_engine(env):
    assert loaded_after("import engine.cli", env) == set()


def test_help_lists_the_serve_command_without_loading_flask_or_the_database(env):
    loaded = loaded_after("from engine.cli import main\nfrom contextlib import redirect_stdout\nimport io\n"
                          "out = io.StringIO()\ntry:\n    with redirect_stdout(out):\n        main(['--help'])\n"
                          "except SystemExit:\n    pass\nassert 'serve' in out.getvalue()", env)
    assert loaded == set()


def test_listing_tasks_reads_rows_on_the_driver_without_sqlalchemy(env):
    subprocess.run([sys.executable, "-m", "engine.cli", "init", "--admin", "admin"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=300)
    listing = "from engine.cli import main\nassert main(['tasks', '--json', '--user', 'admin']) == 0"
    assert loaded_after(listing, env) == set()
    assert loaded_after(listing, env, BEYOND_A_LISTING) == set()
    assert loaded_after(listing, env, ("sqlite3", "psycopg")) == {"sqlite3"}


@pytest.mark.parametrize("argv", [["tasks", "--user", "nobody-at-all"], ["tasks", "--instance", "1"]],
                         ids=["an unknown user", "a database that is not there"])
def test_a_listings_mistake_gets_its_line_without_loading_the_database_layer(env, argv):
    listing = ("from engine.cli import main\nfrom contextlib import redirect_stderr\nimport io\nerr = io.StringIO()\n"
               f"with redirect_stderr(err):\n    assert main({argv!r}) == 2\nassert err.getvalue().startswith('valueflow: ')")
    if argv[1] == "--user":
        subprocess.run([sys.executable, "-m", "engine.cli", "init"], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=300)
    assert loaded_after(listing, env) == set()


def test_a_mistake_still_gets_its_one_line(env, capsys, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", env["VALUEFLOW_DATABASE_URL"])
    assert cli.main(["tasks", "--user", "nobody-at-all"]) == 2
    assert capsys.readouterr().err.startswith("valueflow: ")


def test_the_choices_and_defaults_the_parser_names_are_the_engines():
    assert cli.EXPORT_FORMATS == exports.FORMATS
    assert (cli.WORKER_LEASE_SECONDS, cli.WORKER_BATCH) == (jobs.LEASE.total_seconds(), jobs.BATCH)
