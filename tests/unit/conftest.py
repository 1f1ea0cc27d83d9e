"""Unit tests: every task query a case answers from its task table is also asked of SpiffWorkflow's own tree
walk, and must get the same answer (see ``table_answers`` in tests/conftest.py and engine/cases/workflow.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def task_queries_are_checked(table_answers: list[int]) -> None:
    """Compare every answer from a task table with SpiffWorkflow's walk."""
