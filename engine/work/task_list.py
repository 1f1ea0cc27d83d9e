"""The task list, most urgent first: ``valueflow tasks`` and the engine's ``queries.list_tasks``.

It is read with SQLAlchemy Core on the few columns it names, not through the ORM models, so that the
command loads neither the ORM nor the schema of every table (``bench/cli_start.py`` measures the
difference). ``tests/unit/test_task_list.py`` holds these columns to ``engine.storage.tables``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Connection, Integer, String, column, literal_column, select, table

from engine.storage.types import UTCDateTime

HUMAN_TASK = table(
    "human_task",
    column("id", Integer), column("instance_id", Integer), column("step_id", String), column("name", String),
    column("role", String), column("lane", String), column("assignee", String),
    column("customer_value", String), column("value_class", String), column("target_seconds", Integer),
    column("created_at", UTCDateTime), column("due_at", UTCDateTime), column("claimed_at", UTCDateTime),
    column("completed_at", UTCDateTime), column("completed_by", String), column("status", String),
)
APP_USER = table("app_user", column("id", Integer), column("name", String))
LIMIT = 500


def iso(moment: Optional[datetime]) -> Optional[str]:
    """``moment`` in ISO 8601, or None."""
    return moment.isoformat() if moment is not None else None


def task_view(task: Any) -> dict[str, Any]:
    """One task (a ``HumanTask`` or a row of ``HUMAN_TASK``) as the contract in docs/design.md describes it."""
    return {
        "id": task.id, "instance_id": task.instance_id, "step_id": task.step_id, "name": task.name,
        "role": task.role, "lane": task.lane, "assignee": task.assignee,
        "customer_value": task.customer_value, "value_class": task.value_class,
        "target_seconds": task.target_seconds, "created_at": iso(task.created_at), "due_at": iso(task.due_at),
        "claimed_at": iso(task.claimed_at), "completed_at": iso(task.completed_at),
        "completed_by": task.completed_by, "status": task.status,
    }


def list_tasks(connection: Connection, *, user: Optional[str] = None, role: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = "open",
               limit: int = LIMIT) -> list[dict[str, Any]]:
    """Tasks, most urgent first; ``user`` means assigned to that user, ``status`` None means any."""
    t = HUMAN_TASK.c
    # 'open' written out in the SQL, as HumanTask.is_open() does, so that the open-task indexes serve it
    query = select(HUMAN_TASK)
    if status:
        query = query.where(t.status == (literal_column("'open'") if status == "open" else status))
    if user:
        query = query.where(t.assignee == user)
    if role:
        query = query.where(t.role == role)
    if instance_id is not None:
        query = query.where(t.instance_id == instance_id)
    query = query.order_by(t.due_at.is_(None), t.due_at, t.id).limit(limit)
    return [task_view(row) for row in connection.execute(query)]


def user_exists(connection: Connection, name: str) -> bool:
    """Whether a user is called ``name``."""
    return connection.scalar(select(APP_USER.c.id).where(APP_USER.c.name == name)) is not None
