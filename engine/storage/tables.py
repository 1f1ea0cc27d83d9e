"""The database schema as SQLAlchemy 2 typed models.

The schema itself is created and changed by Alembic (``migrations/``); these
classes are what the repository and the services read and write.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, ColumnElement, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, literal_column, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.storage.types import UTCDateTime


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
    # Step and process annotations as extracted at deploy time (see engine.definitions.annotations).
    annotations: Mapped[dict[str, Any]]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[Optional[str]] = mapped_column(String(100))


class ProcessDraft(Base):
    """A process owner's unsaved edit of one process: the package as JSON (engine.definitions.package_json).

    ``revision`` counts the saves; a save based on an older revision is refused (someone else saved meanwhile).
    """

    __tablename__ = "process_draft"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    package: Mapped[dict[str, Any]]
    revision: Mapped[int]
    saved_by: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[datetime]


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    segment: Mapped[str] = mapped_column(String(100), index=True)


class ProcessInstance(Base):
    """One case: a run of a process definition for one customer.

    ``state`` is SpiffWorkflow's workflow-level state (data, pending events);
    its tasks are CaseTask rows, and its definition lives once, in
    ProcessDefinition. ``row_version`` is the optimistic lock: two writers of
    one instance cannot both win.
    """

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_instance_next_timer", "status", "next_timer_at"),
        # what the dashboard counts of cases started, cancelled and running read, from this index alone
        Index("ix_instance_lifecycle", "definition_id", "started_at", "segment", "status", "ended_at"),
    )

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
    # When the case last stopped in error, and how many runs of the failing step failed in a row (retries included).
    errored_at: Mapped[Optional[datetime]]
    error_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_timer_at: Mapped[Optional[datetime]]
    state: Mapped[str] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class BusinessKey(Base):
    """The key another system knows a case by (e.g. a loan portal's application id): unique within its process,
    across versions; messages correlate by it."""

    __tablename__ = "business_key"
    __table_args__ = (Index("ix_business_key_key", "key"),)

    process: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)


class Job(Base):
    """Work a worker does for a case once it is due: fire its timers, record a task's breach, and other kinds.

    A job is written in the same transaction as the case state that causes it, and deleted in the same
    transaction as the state its run produces (engine.jobs), so it runs once. ``locked_by`` and ``locked_until``
    are the lease of the worker that claimed it: past ``locked_until`` another worker may claim it again.
    ``attempts`` counts the claims; ``last_error`` says why the last run failed (the job is then retried later).
    A ``service`` job is about one waiting service task of the case, named by ``spiff_task_id``.
    """

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_due", "due_at"),
        Index("ix_job_instance", "instance_id", "kind"),
        {"sqlite_autoincrement": True},  # an id is never given twice: a connector's call is keyed by it
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"))  # the human task a job is about
    due_at: Mapped[datetime]
    locked_by: Mapped[Optional[str]] = mapped_column(String(200))
    locked_until: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    spiff_task_id: Mapped[Optional[str]] = mapped_column(String(36))


class ExternalTask(Base):
    """A service task waiting for a worker outside Valueflow, which fetches it by topic through the API.

    One row per waiting step, written and deleted with the case state that makes it wait and ends the wait
    (engine.storage.casestore). ``worker_id`` and ``locked_until`` are the lock of the worker that fetched it;
    a worker's reported failure frees it, fetchable again from ``fetchable_at``, with the ``retries`` it said
    are left, its ``error_message`` and one more of ``failures``.
    """

    __tablename__ = "external_task"
    __table_args__ = (
        Index("ix_external_task_topic", "topic", "fetchable_at"),
        Index("ix_external_task_instance", "instance_id"),
        {"sqlite_autoincrement": True},  # an id is never given twice: a late call for a done task is a 404
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    step_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    fetchable_at: Mapped[datetime]
    worker_id: Mapped[Optional[str]] = mapped_column(String(200))
    locked_until: Mapped[Optional[datetime]]
    retries: Mapped[Optional[int]]
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    error_message: Mapped[Optional[str]] = mapped_column(Text)


class CaseTask(Base):
    """One SpiffWorkflow task of a case's live task tree, serialized; rewritten only when it changes.

    Predicted tasks without data of their own are kept in the case's ``state`` instead (engine.cases.state).
    """

    __tablename__ = "case_task"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


# The WHERE of the indexes the inbox reads (migration 0005).
OPEN_TASKS_ONLY = "status = 'open'"


def _open_tasks_index(name: str, *columns: str) -> Index:
    """An index of open tasks only (migration 0005).

    The inbox and the breach check read nothing else; a completed task leaves
    the index, instead of staying in it for good and being moved within it at
    its completion. SQLite seeks on a query's ``status = 'open'`` like on any
    term. PostgreSQL drops that term as given by the index, so a leading status
    column would leave it nothing to seek on (a role's queue page was planned
    as a table scan): there the migration puts status last.
    """
    return Index(name, *columns, sqlite_where=text(OPEN_TASKS_ONLY), postgresql_where=text(OPEN_TASKS_ONLY))


class HumanTask(Base):
    """A user task that was READY: the inbox index and the fact table of cycle times."""

    __tablename__ = "human_task"
    __table_args__ = (
        _open_tasks_index("ix_task_role_queue", "status", "role", "due_at"),
        _open_tasks_index("ix_task_assignee", "assignee", "status", "due_at"),
        _open_tasks_index("ix_task_open_due", "status", "due_at"),
        # the inbox's queue pages read only this index (migrations 0002, 0005)
        _open_tasks_index("ix_task_queue", "status", "assignee", "role", "due_at"),
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

    @classmethod
    def is_open(cls) -> ColumnElement[bool]:
        """``status = 'open'`` written out in the SQL: a query must say it so for the database to read the
        open-task indexes (a bound value is not enough for PostgreSQL's generic plans)."""
        return cls.status == literal_column("'open'")


class TaskEvent(Base):
    """One line of the append-only event log."""

    __tablename__ = "task_event"
    # the case's events in order; and the whole log newest first, as the audit log reads it
    __table_args__ = (Index("ix_event_instance", "instance_id", "id"), Index("ix_event_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[Optional[str]] = mapped_column(String(200))
    actor: Mapped[Optional[str]] = mapped_column(String(100))
    at: Mapped[datetime]
    detail: Mapped[Optional[dict[str, Any]]]


class User(Base):
    """Someone who signs in. While ``disabled_at`` is set they cannot; a session ends when the user's
    ``session_generation`` (raised by each password change or reset) is past the one it signed in at."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime]
    disabled_at: Mapped[Optional[datetime]]
    session_generation: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class AccountEvent(Base):
    """One line of the append-only log of what was done to an account (added, roles set, disabled, enabled,
    password reset or changed), by whom and when."""

    __tablename__ = "account_event"
    __table_args__ = (Index("ix_account_event_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[Optional[str]] = mapped_column(String(100))
    at: Mapped[datetime]
    detail: Mapped[Optional[dict[str, Any]]]



class AccountGeneration(Base):
    """One row: a number raised by every change to a user, their roles or their API tokens
    (engine.storage.account_generation)."""

    __tablename__ = "account_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


class ApiToken(Base):
    """A personal API token: only the SHA-256 of the secret is kept; the token acts as its user while
    ``revoked_at`` is unset."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]


class EndedSession(Base):
    """A signed-in session ended by signing out: its cookie, even copied before, no longer signs anyone in.
    Kept while such a cookie could still be presented (the session lifetime), then forgotten."""

    __tablename__ = "ended_session"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(index=True)


class FailedSignIn(Base):
    """A sign-in refused: the user name given (which may name nobody), the address it came from, and why."""

    __tablename__ = "failed_sign_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[Optional[str]] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(40))


class IdempotentRequest(Base):
    """A POST to the API sent with an ``Idempotency-Key``: the first request with the key (per user) claims it,
    and its answer is kept, so that a retry is answered the same and does nothing twice. ``status`` is unset
    while no answer is kept; ``location`` is the answer's ``Location`` header, if it had one. The claim is a lease
    (engine.work.idempotency): ``claimed_at`` is when the request holding it claimed it, ``attempt`` which claim of
    the key that was (a retry that takes a lapsed claim over makes the next), and ``work_committed_at`` when that
    request's work was committed, in the same transaction."""

    __tablename__ = "idempotent_request"

    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    claimed_at: Mapped[datetime]
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)
    work_committed_at: Mapped[Optional[datetime]]
    status: Mapped[Optional[int]]
    response: Mapped[Optional[str]] = mapped_column(Text)
    location: Mapped[Optional[str]] = mapped_column(Text)

# -- analytics: cost rates, customer satisfaction, pre-aggregated facts ------------------------------

class RoleRate(Base):
    """What an hour of a role's work costs; a case's cost is the sum of its work time times these rates."""

    __tablename__ = "role_rate"

    role: Mapped[str] = mapped_column(String(100), primary_key=True)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    updated_at: Mapped[datetime]
    updated_by: Mapped[Optional[str]] = mapped_column(String(100))


class CaseFeedback(Base):
    """The customer's satisfaction with a finished case, 1 (poor) to 5 (excellent); one score a case."""

    __tablename__ = "case_feedback"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    score: Mapped[int]
    comment: Mapped[Optional[str]] = mapped_column(Text)
    # "customer" (through a one-time link) or "staff" (recorded on the customer's behalf)
    source: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[Optional[str]] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class FeedbackToken(Base):
    """A one-time link for a customer to score a finished case; only the token's SHA-256 is kept."""

    __tablename__ = "feedback_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    issued_at: Mapped[datetime]
    issued_by: Mapped[Optional[str]] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]


class TaskFact(Base):
    """A completed task as the analytics read it: whole seconds, its case's process and segment beside it.

    Pre-aggregated from HumanTask by engine.analytics.facts (never changed once written). Each duration has an index
    that lists a step's tasks in order of it, so a percentile is a short walk down that index.
    """

    __tablename__ = "task_fact"
    __table_args__ = (
        Index("ix_task_fact_cycle", "process", "step_id", "cycle_seconds", "definition_id", "segment", "completed_at"),
        Index("ix_task_fact_wait", "process", "step_id", "wait_seconds", "definition_id", "segment", "completed_at"),
        Index("ix_task_fact_work", "process", "step_id", "work_seconds", "definition_id", "segment", "completed_at"),
        Index("ix_task_fact_overrun", "process", "step_id", "segment", "overrun", "definition_id", "completed_at"),
        # the tasks completed in part of a day (a period's ragged ends, engine.analytics.rollups), read from this index alone
        Index("ix_task_fact_period", "process", "completed_at", "step_id", "segment", "definition_id", "cycle_seconds",
              "wait_seconds", "work_seconds", "within", "overrun"),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)  # its task_completed event: how far refresh got
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process: Mapped[str] = mapped_column(String(200))
    definition_id: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(100))
    role: Mapped[Optional[str]] = mapped_column(String(200))
    assignee: Mapped[Optional[str]] = mapped_column(String(100))
    value_class: Mapped[Optional[str]] = mapped_column(String(3))
    completed_at: Mapped[datetime]
    target_seconds: Mapped[Optional[int]]
    cycle_seconds: Mapped[int]
    wait_seconds: Mapped[Optional[int]]
    work_seconds: Mapped[Optional[int]]
    within: Mapped[Optional[int]]  # 1 completed by its due time, 0 late, NULL without a target
    overrun: Mapped[Optional[float]] = mapped_column(Float)  # cycle time ÷ target


class CaseFact(Base):
    """A finished case as the analytics read it: lead time, target met, time by value class, cost.

    Pre-aggregated by engine.analytics.facts from ProcessInstance and the case's TaskFact rows; ``cost`` is priced
    at the current role rates (engine.analytics.costs reprices when a rate changes).
    """

    __tablename__ = "case_fact"
    __table_args__ = (
        Index("ix_case_fact_lead", "process", "lead_seconds", "definition_id", "segment", "ended_at"),
        Index("ix_case_fact_segment_lead", "process", "segment", "lead_seconds", "definition_id", "ended_at"),
        Index("ix_case_fact_cost", "process", "cost", "definition_id", "segment", "ended_at"),
        Index("ix_case_fact_pce", "process", "pce", "definition_id", "segment", "ended_at"),
        Index("ix_case_fact_week_lead", "process", "week", "lead_seconds", "definition_id", "segment"),
        Index("ix_case_fact_week_cost", "process", "week", "cost", "definition_id", "segment"),
        # the cases of a period (its ragged ends, its percentiles, the scores by lead time), from this index alone
        Index("ix_case_fact_period", "process", "ended_at", "week", "segment", "definition_id", "lead_seconds", "cost",
              "pce", "within", "instance_id"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)  # its instance_completed event
    process: Mapped[str] = mapped_column(String(200))
    definition_id: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    week: Mapped[date] = mapped_column(Date)  # the Monday (UTC) of the week it ended
    lead_seconds: Mapped[int]
    target_seconds: Mapped[Optional[int]]
    within: Mapped[Optional[int]]
    va_work_seconds: Mapped[int]
    bva_work_seconds: Mapped[int]
    nva_work_seconds: Mapped[int]
    other_work_seconds: Mapped[int]
    va_wait_seconds: Mapped[int]
    bva_wait_seconds: Mapped[int]
    nva_wait_seconds: Mapped[int]
    other_wait_seconds: Mapped[int]
    cost: Mapped[float] = mapped_column(Float)
    pce: Mapped[Optional[float]] = mapped_column(Float)  # VA work ÷ lead time


class TaskDay(Base):
    """The completed tasks of one step, version, segment and role on one UTC day, added up.

    Kept by engine.analytics.facts beside the TaskFact rows it sums (engine.analytics.rollups reads it): the step figures that
    add up (counts, sums of seconds, targets met) are read from these rows instead of every fact.
    """

    __tablename__ = "task_day"

    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for a task without a role
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the UTC day it was completed
    tasks: Mapped[int]
    cycle_seconds: Mapped[int] = mapped_column(BigInteger)
    wait_seconds: Mapped[int] = mapped_column(BigInteger)
    work_seconds: Mapped[int] = mapped_column(BigInteger)
    waits: Mapped[int]  # tasks with a wait (claimed)
    works: Mapped[int]
    with_target: Mapped[int]
    within: Mapped[int]
    overruns: Mapped[int]  # tasks with an overrun (a target above zero)


class TaskBucket(Base):
    """How many completed tasks of one step, version, segment and role have a duration (or an overrun) in one
    bucket of values (engine.analytics.rollups): where a step's median lies, so that reading it walks one bucket of the
    facts' index of that duration instead of half of it."""

    __tablename__ = "task_bucket"

    metric: Mapped[str] = mapped_column(String(10), primary_key=True)  # cycle, wait, work or overrun
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for a task without a role
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)  # values from edge bucket - 1 to edge bucket
    tasks: Mapped[int]


class CaseDay(Base):
    """The cases of one version and segment that finished on one UTC day, added up (engine.analytics.rollups).

    ``cost`` follows the rates: engine.analytics.facts moves it by the change of its cases' costs when a rate changes.
    """

    __tablename__ = "case_day"

    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the UTC day they ended
    week: Mapped[date] = mapped_column(Date)  # the Monday of that day's week
    cases: Mapped[int]
    with_target: Mapped[int]
    within: Mapped[int]
    lead_seconds: Mapped[int] = mapped_column(BigInteger)
    va_work_seconds: Mapped[int] = mapped_column(BigInteger)
    bva_work_seconds: Mapped[int] = mapped_column(BigInteger)
    nva_work_seconds: Mapped[int] = mapped_column(BigInteger)
    other_work_seconds: Mapped[int] = mapped_column(BigInteger)
    va_wait_seconds: Mapped[int] = mapped_column(BigInteger)
    bva_wait_seconds: Mapped[int] = mapped_column(BigInteger)
    nva_wait_seconds: Mapped[int] = mapped_column(BigInteger)
    other_wait_seconds: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[float] = mapped_column(Float)
    pces: Mapped[int]  # cases with a PCE (a lead time above zero)


class NotificationSetting(Base):
    """How a user, or a role (set by an admin), wants to hear of events: a mail address, a webhook address with
    its signing secret, and which events go by which channel (``choices``: event name → list of channels)."""

    __tablename__ = "notification_setting"
    __table_args__ = (UniqueConstraint("subscriber_kind", "subscriber"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_kind: Mapped[str] = mapped_column(String(10))  # "user" or "role"
    subscriber: Mapped[str] = mapped_column(String(100))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    webhook_url: Mapped[Optional[str]] = mapped_column(String(2000))
    webhook_secret: Mapped[Optional[str]] = mapped_column(String(200))
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class Notification(Base):
    """An event someone is to hear of (the outbox): written in the transaction of the change that causes it,
    with the ``notify`` job that sends it (its id in ``job_id`` until it is done).
    The worker resolves who hears of it, by which channel, into deliveries (``fanned_out``), and sends them."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"))
    actor: Mapped[Optional[str]] = mapped_column(String(100))
    at: Mapped[datetime]
    detail: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    job_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)  # the job sending it, until it is done
    fanned_out: Mapped[bool] = mapped_column(server_default=text("false"), default=False)


class NotificationDelivery(Base):
    """One message of a notification to one address by one channel: ``pending`` until sent, then ``sent``, or
    ``failed`` with the reason once its job's last attempt failed."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_status", "status", "notification_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    recipient: Mapped[str] = mapped_column(String(110))  # "user alice" or "role manager"
    channel: Mapped[str] = mapped_column(String(10))  # "email" or "webhook"
    address: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[Optional[datetime]]
    error: Mapped[Optional[str]] = mapped_column(Text)
