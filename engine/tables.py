"""The database schema as SQLAlchemy 2 typed models.

The schema itself is created and changed by Alembic (``migrations/``); these
classes are what the repository and the services read and write.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class ProcessDefinition(Base):
    """One immutable, numbered version of a deployed process package."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_definition_key_version"),
        UniqueConstraint("key", "content_hash", name="uq_definition_key_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Every other file of the package by its relative path: DMN tables, form schemas.
    files: Mapped[dict[str, Any]]
    # Step and process annotations as extracted at deploy time (see engine.annotations).
    annotations: Mapped[dict[str, Any]]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[Optional[str]] = mapped_column(String(100))


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    segment: Mapped[str] = mapped_column(String(100))


class ProcessInstance(Base):
    """One case: a run of a process definition for one customer.

    ``state`` is SpiffWorkflow's workflow-level state (data, pending events);
    its tasks are CaseTask rows, and its definition lives once, in
    ProcessDefinition. ``row_version`` is the optimistic lock: two writers of
    one instance cannot both win.
    """

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_next_timer", "status", "next_timer_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    # The customer's segment when the case started: it sets the case's targets.
    segment: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    error_message: Mapped[Optional[str]] = mapped_column(Text)
    error_step: Mapped[Optional[str]] = mapped_column(String(200))
    next_timer_at: Mapped[Optional[datetime]]
    state: Mapped[str] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class CaseTask(Base):
    """One SpiffWorkflow task of a case's live task tree, serialized; rewritten only when it changes."""

    __tablename__ = "case_task"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    """A user task that was READY: the inbox index and the fact table of cycle times."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_task_role_queue", "status", "role", "due_at"),
        Index("ix_task_assignee", "assignee", "status", "due_at"),
        Index("ix_task_open_due", "status", "due_at"),
        # the inbox's queue pages read only this index (migration 0002)
        Index("ix_task_queue", "status", "assignee", "role", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    step_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[Optional[str]] = mapped_column(String(200))
    role: Mapped[Optional[str]] = mapped_column(String(200))
    assignee: Mapped[Optional[str]] = mapped_column(String(100))
    customer_value: Mapped[Optional[str]] = mapped_column(Text)
    value_class: Mapped[Optional[str]] = mapped_column(String(3))
    target_seconds: Mapped[Optional[int]]
    created_at: Mapped[datetime]
    due_at: Mapped[Optional[datetime]]
    claimed_at: Mapped[Optional[datetime]]
    completed_at: Mapped[Optional[datetime]]
    completed_by: Mapped[Optional[str]] = mapped_column(String(100))
    breached_at: Mapped[Optional[datetime]]
    status: Mapped[str] = mapped_column(String(20))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class TaskEvent(Base):
    """One line of the append-only event log."""

    __tablename__ = "task_event"
    __table_args__ = (Index("ix_event_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[Optional[str]] = mapped_column(String(200))
    actor: Mapped[Optional[str]] = mapped_column(String(100))
    at: Mapped[datetime]
    detail: Mapped[Optional[dict[str, Any]]]


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
