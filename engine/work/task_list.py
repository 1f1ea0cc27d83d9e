"""The task list, most urgent first: ``valueflow tasks`` and the engine's ``queries.list_tasks``, one query.

It is plain SQL run on the database driver (engine.storage.driver_reads), so that the command loads no
SQLAlchemy (``bench/cli_start.py`` measures the difference). ``tests/unit/test_task_list.py`` holds its
columns to ``engine.storage.tables``, and ``tests/integration/test_task_list.py`` its rows and their order to
the ORM's reading of the same table, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from engine.storage.driver_reads import DriverReader, utc

# The columns of human_task a task's view shows, in its order; MOMENTS are UTC datetimes.
COLUMNS = ("id", "instance_id", "step_id", "name", "role", "lane", "assignee", "customer_value", "value_class",
           "target_seconds", "created_at", "due_at", "claimed_at", "completed_at", "completed_by", "status")
MOMENTS = frozenset({"created_at", "due_at", "claimed_at", "completed_at"})
LIMIT = 500


def iso(moment: Optional[datetime]) -> Optional[str]:
    """``moment`` in ISO 8601, or None."""
    return moment.isoformat() if moment is not None else None


def task_view(task: Any) -> dict[str, Any]:
    """One task (a ``HumanTask``) as the contract in docs/design.md describes it."""
    return {name: iso(getattr(task, name)) if name in MOMENTS else getattr(task, name) for name in COLUMNS}


def list_tasks(reader: DriverReader, *, user: Optional[str] = None, role: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = "open",
               limit: int = LIMIT) -> list[dict[str, Any]]:
    """Tasks, most urgent first; ``user`` means assigned to that user, ``status`` None means any."""
    mark, conditions, parameters = reader.mark, [], []
    if status == "open":
        conditions.append("status = 'open'")  # written out, as HumanTask.is_open() does, for the open-task indexes
    elif status:
        conditions.append(f"status = {mark}")
        parameters.append(status)
    for column, value in (("assignee", user), ("role", role)):
        if value:
            conditions.append(f"{column} = {mark}")
            parameters.append(value)
    if instance_id is not None:
        conditions.append(f"instance_id = {mark}")
        parameters.append(instance_id)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = reader.rows(f"SELECT {', '.join(COLUMNS)} FROM human_task{where} "
                       f"ORDER BY due_at IS NULL, due_at, id LIMIT {mark}", [*parameters, limit])
    return [{name: iso(utc(value)) if name in MOMENTS else value for name, value in zip(COLUMNS, row)}
            for row in rows]


def user_exists(reader: DriverReader, name: str) -> bool:
    """Whether a user is called ``name``."""
    return bool(reader.rows(f"SELECT 1 FROM app_user WHERE name = {reader.mark}", [name]))
