"""The layers stay apart: the engine never imports Flask, the web app never imports SpiffWorkflow nor SQLAlchemy."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO


def imports_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", text, flags=re.M)


def offenders(folder: str, pattern: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((REPO / folder).glob(pattern)):
        for names in imports_of(path):
            module = next(n for n in names if n)
            if module.split(".")[0].lower() == forbidden.lower():
                found.append(f"{path.relative_to(REPO)} imports {module}")
        if re.search(rf"""(__import__|import_module)\(\s*['"]{forbidden}""", path.read_text(encoding="utf-8"),
                     flags=re.I):
            found.append(f"{path.relative_to(REPO)} imports {forbidden} dynamically")
    return found


def test_the_engine_never_imports_flask():
    assert offenders("engine", "*.py", "flask") == []


def test_the_web_app_never_imports_spiffworkflow():
    assert offenders("web", "**/*.py", "SpiffWorkflow") == []


def test_the_web_app_never_runs_sql_itself():
    """Views call engine functions; queries live in the engine."""
    assert offenders("web", "**/*.py", "sqlalchemy") == []


def test_the_checks_would_catch_an_offender(tmp_path, monkeypatch):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "bad.py").write_text("from flask import g\nflask = __import__('flask')\n",
                                                encoding="utf-8")
    (tmp_path / "web" / "sub").mkdir(parents=True)
    (tmp_path / "web" / "sub" / "bad.py").write_text("import SpiffWorkflow.bpmn\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    assert offenders("engine", "*.py", "flask") == ["engine/bad.py imports flask", "engine/bad.py imports flask dynamically"]
    assert offenders("web", "**/*.py", "SpiffWorkflow") == ["web/sub/bad.py imports SpiffWorkflow.bpmn"]
