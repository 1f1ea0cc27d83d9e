"""The layers stay apart: the engine never imports Flask nor the shipped processes, the web app never imports
SpiffWorkflow nor SQLAlchemy, and each wing of the engine imports only the wings below it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

# What each wing of engine/ may import besides itself (its __init__ docstring says the same in words).
WINGS = {
    "time": set(),
    "sandbox": set(),
    "outbound": set(),
    "definitions": {"time", "sandbox", "errors"},
    "cases": {"definitions", "sandbox", "time", "errors"},
    "storage": {"cases", "definitions", "time", "errors"},
    "work": {"storage", "definitions", "time", "errors"},
    "analytics": {"storage", "definitions", "time", "errors"},
    "outbound": set(),
    "notify": {"storage", "work", "definitions", "outbound", "time", "errors"},
}


def imports_of(path: Path) -> list[str]:
    """Every module a file imports, ``from engine import a, b`` counted as ``engine.a`` and ``engine.b``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for source, names, plain in re.findall(r"^\s*(?:from\s+([\w.]+)\s+import\s+(\([^)]*\)|[^\n]*)|import\s+([\w.]+))",
                                           text, flags=re.M):
        if plain:
            found.append(plain)
        elif source == "engine":
            found += [f"engine.{n.split(' as ')[0].strip()}" for n in re.sub(r"#[^\n]*", "", names).strip("()").split(",")
                      if n.strip()]
        else:
            found.append(source)
    return found


def offenders(folder: str, pattern: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((REPO / folder).glob(pattern)):
        for module in imports_of(path):
            if module.split(".")[0].lower() == forbidden.lower():
                found.append(f"{path.relative_to(REPO)} imports {module}")
        if re.search(rf"""(__import__|import_module)\(\s*['"]{forbidden}""", path.read_text(encoding="utf-8"),
                     flags=re.I):
            found.append(f"{path.relative_to(REPO)} imports {forbidden} dynamically")
    return found


def wing_offenders(wing: str) -> list[str]:
    """Imports of other parts of the engine that the wing may not make."""
    allowed = WINGS[wing] | {wing}
    found = []
    for path in sorted((REPO / "engine" / wing).glob("**/*.py")):
        for module in imports_of(path):
            parts = module.split(".")
            if parts[0] == "engine" and (len(parts) < 2 or parts[1] not in allowed):
                found.append(f"{path.relative_to(REPO)} imports {module}")
    return found


def test_the_engine_never_imports_flask():
    assert offenders("engine", "**/*.py", "flask") == []


def test_the_engine_never_imports_the_shipped_processes():
    """Helpers are found through entry points (engine.sandbox.helpers), so a team's own processes get theirs too."""
    assert offenders("engine", "**/*.py", "workflows") == []


def test_the_web_app_never_imports_spiffworkflow():
    assert offenders("web", "**/*.py", "SpiffWorkflow") == []


def test_the_web_app_never_runs_sql_itself():
    """Views call engine functions; queries live in the engine."""
    assert offenders("web", "**/*.py", "sqlalchemy") == []


def test_every_wing_is_listed_and_says_what_it_may_import():
    wings = {p.parent.name for p in (REPO / "engine").glob("*/__init__.py")}
    assert wings == set(WINGS)
    for wing in wings:
        assert "import" in (REPO / "engine" / wing / "__init__.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("wing", sorted(WINGS))
def test_each_wing_imports_only_the_wings_below_it(wing):
    assert wing_offenders(wing) == []


def test_the_checks_would_catch_an_offender(tmp_path, monkeypatch):
    (tmp_path / "engine" / "deep").mkdir(parents=True)
    (tmp_path / "engine" / "deep" / "bad.py").write_text("from flask import g\nflask = __import__('flask')\n"
                                                         "import workflows.loan_decision\n", encoding="utf-8")
    (tmp_path / "web" / "sub").mkdir(parents=True)
    (tmp_path / "web" / "sub" / "bad.py").write_text("import SpiffWorkflow.bpmn\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    assert offenders("engine", "**/*.py", "flask") == ["engine/deep/bad.py imports flask",
                                                       "engine/deep/bad.py imports flask dynamically"]
    assert offenders("engine", "**/*.py", "workflows") == ["engine/deep/bad.py imports workflows.loan_decision"]
    assert offenders("web", "**/*.py", "SpiffWorkflow") == ["web/sub/bad.py imports SpiffWorkflow.bpmn"]


@pytest.mark.parametrize("wing, line", [
    ("time", "from engine.storage.uow import UnitOfWork"),
    ("sandbox", "from engine.definitions import packages"),
    ("definitions", "from engine.storage.tables import User"),
    ("cases", "from engine import service"),
    ("cases", "from engine.storage import tables"),
    ("storage", "from engine.work.inbox import inbox"),
    ("work", "from engine.analytics import (\n    facts,  # the facts\n    rollups)"),
    ("analytics", "from engine.cases.model import Case"),
    ("analytics", "import engine.cli"),
])
def test_each_wing_rule_would_catch_an_offender(tmp_path, monkeypatch, wing, line):
    (tmp_path / "engine" / wing).mkdir(parents=True)
    (tmp_path / "engine" / wing / "fine.py").write_text(
        "".join(f"from engine.{w}.x import y\n" for w in WINGS[wing]) + f"from engine.{wing}.x import y\n",
        encoding="utf-8")
    (tmp_path / "engine" / wing / "bad.py").write_text(line + "\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    found = wing_offenders(wing)
    assert found and all(f.startswith(f"engine/{wing}/bad.py imports engine.") for f in found)
