"""CI must prove the README: .ci/run runs the README's test command verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def _blocks() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)


def test_the_readme_test_command_installs_the_diagram_viewer_and_chromium_before_the_tests():
    test_command = next(b for b in _blocks() if "pytest" in b)
    assert test_command.index("npm ci") < test_command.index("pytest")
    assert "apt-get install -y -qq chromium" in test_command
    assert "playwright install" not in test_command  # never a downloaded browser


def test_the_readme_run_command_ends_with_the_app_running_on_demo_data():
    run_command = _blocks()[0]
    assert "valueflow init --demo && .venv/bin/valueflow serve" in run_command
    assert run_command.endswith("valueflow serve")


def test_the_readme_command_line_example_runs_as_written_on_a_new_database(tmp_path: Path):
    example = next(b for b in _blocks() if "valueflow start loan_decision" in b)
    valueflow = str(Path(sys.executable).with_name("valueflow"))
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'valueflow.db'}"}
    for setup in (["init"], ["user", "add", "customer-service", "--role", "customer-service"]):
        subprocess.run([valueflow, *setup], env=env, check=True, capture_output=True, timeout=120)
    result = subprocess.run(["sh", "-e", "-c", example.replace(".venv/bin/valueflow", valueflow)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "message documents_received delivered to instance 1" in result.stdout
