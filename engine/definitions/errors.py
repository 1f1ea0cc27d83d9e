"""Why a package is not deployed, importable without loading SpiffWorkflow (the CLI and the web app catch these)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.definitions.validation import Problem


class PackageNotFound(Exception):
    """The path to deploy is not a diagram file nor a folder holding one."""


class DeploymentRefused(Exception):
    """The package has blocking problems; nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        blocking = [p for p in problems if not p.warning]
        super().__init__(f"deployment refused, {len(blocking)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))
