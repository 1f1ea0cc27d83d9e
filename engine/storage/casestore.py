"""Cases in the database, read and written with as few statements as possible.

This is the hot path of every step (start, complete, message, timer), so it
runs SQLAlchemy Core statements on the unit of work's driver connection
(engine.storage.driver_statements) instead of the ORM: one locking read, then only the writes
the step needs. A case's tasks are rows of ``case_task`` and only the changed
ones are written. A process keeps the cases it has just saved in memory
(``CaseCache``), keyed by row version, and those a task page restored to show
their data, so the next step of a case skips rebuilding it from JSON and
reading its open tasks; a stale or missing entry just means a read from the
database.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from sqlalchemy import Integer, String, Text, bindparam, case, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.storage import account_generation
from engine.storage.driver_statements import DriverStatements, Prepared, StaleRow, insert_rows
from engine.storage.external_tasks import ExternalTasks
from engine.storage.jobs import AT_RISK, BREACH, NEW_HUMAN_TASK_ID, SERVICE, JobQueue
from engine.storage.outbox import NOTIFYING_EVENTS, Outbox
from engine.storage.tables import (CaseTask, Customer, EndedSession, HumanTask, ProcessDefinition, ProcessInstance,
                                   TaskEvent, User, UserRole)

if TYPE_CHECKING:  # SpiffWorkflow is loaded by the first case restored, not by every unit of work
    from engine.cases.model import Case
    from engine.definitions.annotations import StepAnnotation
    from engine.cases.state import Snapshot
    from engine.definitions.packages import CompiledDefinition

_INSTANCE = ProcessInstance.__table__
_CASE_TASK = CaseTask.__table__
_HUMAN_TASK = HumanTask.__table__
_EVENT = TaskEvent.__table__
_DEFINITION = ProcessDefinition.__table__
_CUSTOMER_T = Customer.__table__
_USER = User.__table__
_USER_ROLE = UserRole.__table__
_ENDED_SESSION = EndedSession.__table__
_INSTANCE_COLUMNS = (_INSTANCE.c.id, _INSTANCE.c.definition_id, _INSTANCE.c.customer_id, _INSTANCE.c.segment,
                     _INSTANCE.c.status, _INSTANCE.c.row_version, _INSTANCE.c.next_timer_at)


_STATUS_EVENTS = {"completed": "instance_completed", "error": "instance_errored",
                  "cancelled": "instance_cancelled", "running": "instance_resumed"}


class StaleCase(StaleRow):
    """The case changed in the database since it was read (optimistic lock lost)."""


@dataclass
class CaseRecord:
    """What a step needs to know of a process_instance row."""

    id: int
    definition_id: int
    customer_id: str
    segment: str
    status: str
    row_version: int
    next_timer_at: Optional[datetime]


@dataclass(frozen=True)
class Starting:
    """The process version a new case runs, and the case's id when it is known before its row is written."""

    definition_id: int
    version: int
    instance_id: Optional[int]


@dataclass
class TaskRecord:
    """What a step needs to know of a human_task row."""

    id: int
    instance_id: int
    spiff_task_id: str
    step_id: str
    name: str
    role: Optional[str]
    status: str
    assignee: Optional[str]
    completed_by: Optional[str]
    row_version: int


@dataclass
class Loaded:
    """A case being worked on: its row, its run state, and its open human tasks (SpiffWorkflow id → row id)."""

    record: CaseRecord
    case: Case
    saved: Optional[Snapshot]
    open_at_start: dict[str, int] = field(default_factory=dict)
    # The case's timer job was taken to fire its timers: saving writes the next one, changed or not.
    timer_job_taken: bool = False


@dataclass(frozen=True)
class _Saved:
    """A case as one row version of it was committed: run state, stored snapshot, open human tasks."""

    row_version: int
    case: Case
    snapshot: Snapshot
    open_tasks: dict[str, int]


def _restore(saved: Snapshot, definition: CompiledDefinition) -> Case:
    from engine.cases.model import Case

    return Case.restore(saved.header, saved.tasks.values(), definition)


class CaseCache:
    """Recently saved running cases of this process, by instance id and row version (LRU, thread-safe).

    Every change to a case's open human tasks is made by saving the case, which
    gives it a new row version, so a cached entry's open tasks are current too.
    A case the cache lets go of (pushed out, replaced, found stale, or offered
    when as new a version is held) is used by no one, and is released at once
    (``Case.release``): thousands of objects in reference cycles would otherwise
    wait for a full collection.
    """

    def __init__(self, size: int = 2000) -> None:
        self._size = size
        self._entries: OrderedDict[int, _Saved] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, row_version: int) -> Optional[_Saved]:
        """Remove and return the case if the cached copy is the version the database holds."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None:
            return None
        if entry.row_version != row_version:
            entry.case.release()
            return None
        return entry

    def keep(self, instance_id: int, saved: _Saved) -> None:
        """Keep a case this process saved."""
        self._put(instance_id, saved, newer_only=False)

    def offer(self, instance_id: int, saved: _Saved) -> None:
        """Keep a case this process read rather than saved, unless the same or a newer version of it is kept."""
        self._put(instance_id, saved, newer_only=True)

    def _put(self, instance_id: int, saved: _Saved, *, newer_only: bool) -> None:
        with self._lock:
            held = self._entries.get(instance_id)
            if newer_only and held is not None and held.row_version >= saved.row_version:
                let_go = [saved]
            else:
                self._entries[instance_id] = saved
                self._entries.move_to_end(instance_id)
                let_go = [self._entries.popitem(last=False)[1] for _ in range(len(self._entries) - self._size)]
                if held is not None and held.case is not saved.case:
                    let_go.append(held)
        for entry in let_go:
            entry.case.release()


_TASK_COLUMNS = (_HUMAN_TASK.c.id, _HUMAN_TASK.c.instance_id, _HUMAN_TASK.c.spiff_task_id, _HUMAN_TASK.c.step_id,
                 _HUMAN_TASK.c.name, _HUMAN_TASK.c.role, _HUMAN_TASK.c.status, _HUMAN_TASK.c.assignee,
                 _HUMAN_TASK.c.completed_by, _HUMAN_TASK.c.row_version)


# Statements are built once and run on the driver's cursor (engine.storage.driver_statements): on SQLite, building and
# executing them through SQLAlchemy costs several times what running them does.
_LOCK_CASE = Prepared(select(*_INSTANCE_COLUMNS).where(_INSTANCE.c.id == bindparam("instance_id")).with_for_update())
_LOCK_TASK = Prepared(select(*_TASK_COLUMNS, *_INSTANCE_COLUMNS)
                      .join(_INSTANCE, _INSTANCE.c.id == _HUMAN_TASK.c.instance_id)
                      .where(_HUMAN_TASK.c.id == bindparam("task_id")).with_for_update())
_OPEN_TASKS = Prepared(select(_HUMAN_TASK.c.spiff_task_id, _HUMAN_TASK.c.id).where(
    _HUMAN_TASK.c.instance_id == bindparam("instance_id"), _HUMAN_TASK.c.status == "open"))
_HEADER = Prepared(select(_INSTANCE.c.state).where(_INSTANCE.c.id == bindparam("instance_id")))
_HEADER_AS_OF = Prepared(select(_INSTANCE.c.state, _INSTANCE.c.row_version, _INSTANCE.c.status)
                         .where(_INSTANCE.c.id == bindparam("instance_id")))
_ROW_VERSION = Prepared(select(_INSTANCE.c.row_version).where(_INSTANCE.c.id == bindparam("instance_id")))
_BODIES = Prepared(select(_CASE_TASK.c.task_id, _CASE_TASK.c.body)
                   .where(_CASE_TASK.c.instance_id == bindparam("instance_id")))
_NEW_CASE = Prepared(insert(_INSTANCE).returning(_INSTANCE.c.id), ("definition_id", "customer_id", "segment",
                                                                   "status", "started_at", "state", "row_version"))
_NEW_CASE_OF_ID = Prepared(insert(_INSTANCE), ("id", "definition_id", "customer_id", "segment", "status", "started_at",
                                               "state", "row_version"))
_RESERVE_CASE_ID = Prepared(select(func.nextval(func.pg_get_serial_sequence(ProcessInstance.__tablename__, "id"))))
_COMPLETE_TASK = Prepared(update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.id == bindparam("task_id"), _HUMAN_TASK.c.row_version == bindparam("seen_version")).values(
    status="completed", completed_at=bindparam("now", type_=_HUMAN_TASK.c.completed_at.type),
    completed_by=bindparam("user", type_=String), row_version=_HUMAN_TASK.c.row_version + 1))
_SET_ASSIGNEE = Prepared(update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.id == bindparam("task_id"), _HUMAN_TASK.c.row_version == bindparam("seen_version")).values(
    assignee=bindparam("assignee", type_=String), claimed_at=bindparam("at", type_=_HUMAN_TASK.c.claimed_at.type),
    row_version=_HUMAN_TASK.c.row_version + 1))
_MARK_BREACHED = Prepared(update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.id == bindparam("task_id"), _HUMAN_TASK.c.status == "open", _HUMAN_TASK.c.breached_at.is_(None))
    .values(breached_at=bindparam("now", type_=_HUMAN_TASK.c.breached_at.type),
            row_version=_HUMAN_TASK.c.row_version + 1)
    .returning(_HUMAN_TASK.c.instance_id, _HUMAN_TASK.c.step_id, _HUMAN_TASK.c.due_at))
_STILL_AHEAD = Prepared(select(_HUMAN_TASK.c.instance_id, _HUMAN_TASK.c.due_at).where(
    _HUMAN_TASK.c.id == bindparam("task_id"), _HUMAN_TASK.c.status == "open", _HUMAN_TASK.c.breached_at.is_(None),
    _HUMAN_TASK.c.due_at > bindparam("now", type_=_HUMAN_TASK.c.due_at.type)))
_USER_ROLES = Prepared(select(_USER.c.id, _USER_ROLE.c.role).outerjoin(_USER_ROLE, _USER_ROLE.c.user_id == _USER.c.id)
                       .where(_USER.c.name == bindparam("name")))
_SIGNED_IN = Prepared(select(_USER.c.session_generation, _USER.c.disabled_at.is_not(None),
                            exists().where(_ENDED_SESSION.c.session_id == bindparam("session_id")), _USER_ROLE.c.role)
                     .outerjoin(_USER_ROLE, _USER_ROLE.c.user_id == _USER.c.id)
                     .where(_USER.c.name == bindparam("name")))
_USER_DISABLED = Prepared(select(_USER.c.disabled_at.is_not(None)).where(_USER.c.name == bindparam("name")))
_LATEST_DEFINITION = Prepared(select(_DEFINITION.c.id, _DEFINITION.c.version)
                              .where(_DEFINITION.c.key == bindparam("key"))
                              .order_by(_DEFINITION.c.version.desc()).limit(1))


def _put_customer(dialect_insert: Callable[..., Any]) -> Prepared:
    """A new customer's row, or their current name and segment (the row left alone when unchanged)."""
    put = dialect_insert(_CUSTOMER_T)
    changed = (_CUSTOMER_T.c.name != put.excluded.name) | (_CUSTOMER_T.c.segment != put.excluded.segment)
    return Prepared(put.on_conflict_do_update(index_elements=[_CUSTOMER_T.c.id], where=changed, set_={
        "name": put.excluded.name, "segment": put.excluded.segment}), ("id", "name", "segment"))


_PUT_CUSTOMER = {"postgresql": _put_customer(postgresql.insert), "sqlite": _put_customer(sqlite.insert)}
_SAVE_CASE = Prepared(update(_INSTANCE).where(
    _INSTANCE.c.id == bindparam("case_id"), _INSTANCE.c.row_version == bindparam("seen_version")).values(
    state=bindparam("new_state", type_=Text), status=bindparam("new_status", type_=String),
    row_version=bindparam("new_version", type_=Integer),
    next_timer_at=bindparam("next_timer", type_=_INSTANCE.c.next_timer_at.type),
    error_step=func.coalesce(bindparam("error_step_", type_=String), _INSTANCE.c.error_step),
    error_message=func.coalesce(bindparam("error_message_", type_=Text), _INSTANCE.c.error_message),
    errored_at=func.coalesce(bindparam("errored", type_=_INSTANCE.c.errored_at.type), _INSTANCE.c.errored_at),
    # a case failing again while in error (a retry that failed) counts one more attempt; a new failure the first
    error_attempts=case((bindparam("errored", type_=_INSTANCE.c.errored_at.type).is_(None),
                         _INSTANCE.c.error_attempts),
                        # a step that counts its own runs (a service task's calls) says how many failed
                        (bindparam("attempts_", type_=Integer).is_not(None), bindparam("attempts_", type_=Integer)),
                        (_INSTANCE.c.status == "error", _INSTANCE.c.error_attempts + 1), else_=1),
    ended_at=func.coalesce(_INSTANCE.c.ended_at, bindparam("ended", type_=_INSTANCE.c.ended_at.type))))
# Most steps change neither the status nor the next timer: leaving those columns out of the update spares
# SQLite the two indexes that hold them (it rewrites an index entry whenever a column of it is set).
_SAVE_STATE = Prepared(update(_INSTANCE).where(
    _INSTANCE.c.id == bindparam("case_id"), _INSTANCE.c.row_version == bindparam("seen_version")).values(
    state=bindparam("new_state", type_=Text), row_version=bindparam("new_version", type_=Integer)))
_UPDATE_CASE_TASK = Prepared(update(_CASE_TASK).where(
    _CASE_TASK.c.instance_id == bindparam("i"), _CASE_TASK.c.task_id == bindparam("t"))
    .values(body=bindparam("b", type_=Text)))
_INSERT_CASE_TASK = insert_rows(_CASE_TASK, ("instance_id", "task_id", "body"))
_INSERT_HUMAN_TASK = Prepared(insert(_HUMAN_TASK).returning(_HUMAN_TASK.c.id), (
    "instance_id", "spiff_task_id", "step_id", "name", "lane", "role", "customer_value", "value_class",
    "target_seconds", "created_at", "due_at", "assignee", "claimed_at", "status", "row_version"))
_INSERT_EVENT = insert_rows(_EVENT, ("instance_id", "task_id", "type", "step_id", "actor", "at", "detail"))
_INSERT_EVENT_OF_NEW_TASK = insert_rows(_EVENT, ("instance_id", "type", "step_id", "actor", "at", "detail"),
                                        task_id=NEW_HUMAN_TASK_ID)
_DELETE_CASE_TASK = Prepared(delete(_CASE_TASK).where(
    _CASE_TASK.c.instance_id == bindparam("i"), _CASE_TASK.c.task_id == bindparam("t")))
_CANCEL_HUMAN_TASK = Prepared(update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.instance_id == bindparam("case_id"), _HUMAN_TASK.c.status == "open",
    _HUMAN_TASK.c.spiff_task_id == bindparam("spiff_id"))
    .values(status="cancelled", row_version=_HUMAN_TASK.c.row_version + 1)
    .returning(_HUMAN_TASK.c.id, _HUMAN_TASK.c.step_id))


class CaseStore:
    """Reads, locks and writes cases inside one unit of work, on its driver connection."""

    def __init__(self, sql: DriverStatements, cache: CaseCache) -> None:
        self.sql = sql
        self.cache = cache
        self.jobs = JobQueue(sql)
        self.external = ExternalTasks(sql)
        self.outbox = Outbox(sql, self.jobs)
        self._events: list[dict[str, Any]] = []
        self._completed: set[str] = set()  # SpiffWorkflow ids of the human tasks completed in this unit of work
        self._completions: list[dict[str, Any]] = []  # their rows' updates, written by ``save``
        # Saved cases to keep once committed, with their new human tasks' ids still on the server (PostgreSQL).
        self._after_commit: list[tuple[int, _Saved, list[tuple[str, Callable[[], Any]]]]] = []
        self._new_ids: list[tuple[str, Callable[[], Any]]] = []
        # The cases this store loaded or created: each is kept by the cache at the commit, or released at the end.
        self._held: list[Case] = []

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The writes inside go to the database together, on PostgreSQL with the commit when the store holds the
        connection alone (engine.storage.driver_statements); an update that finds its row changed since it was
        read raises StaleCase, or StaleRow once the batch is sent."""
        with self.sql.batch():
            yield

    # -- reading -----------------------------------------------------------------

    def lock_case(self, instance_id: int) -> Optional[CaseRecord]:
        """The case's row, locked against other writers until the unit of work ends."""
        row = self.sql.first(_LOCK_CASE, {"instance_id": instance_id})
        return CaseRecord(*row) if row else None

    def lock_task(self, task_id: int) -> Optional[tuple[TaskRecord, CaseRecord]]:
        """A human task with its case, both locked, as they are once any concurrent writer is done."""
        row = self.sql.first(_LOCK_TASK, {"task_id": task_id})
        if row is None:
            return None
        width = len(_TASK_COLUMNS)
        return TaskRecord(*row[:width]), CaseRecord(*row[width:])

    def load(self, record: CaseRecord, definition: CompiledDefinition) -> Loaded:
        """The case's run state for a change, from this process's cache when it holds the current version."""
        cached = self.cache.take(record.id, record.row_version)
        if cached is not None:
            self._held.append(cached.case)
            return Loaded(record, cached.case, cached.snapshot, dict(cached.open_tasks))
        saved = self._stored_snapshot(record.id)
        loaded = Loaded(record, _restore(saved, definition), saved)
        self._held.append(loaded.case)
        if record.status == "running":
            open_rows = self.sql.all(_OPEN_TASKS, {"instance_id": record.id})
            loaded.open_at_start = {spiff_id: task_id for spiff_id, task_id in open_rows}
        return loaded

    @contextmanager
    def read(self, instance_id: int, definition: CompiledDefinition) -> Iterator[Case]:
        """The case's run state for reading only (a fresh copy, never shared with writers), inside the block.

        The copy is freed when the block ends (``Case.release``): a page or a worker that only reads a case
        would otherwise leave its tasks and workflow, which refer to each other, to the collector's next full
        pass. What the block takes from the case (its data, its waits) stays whole.
        """
        case = _restore(self._stored_snapshot(instance_id), definition)
        try:
            yield case
        finally:
            case.release()

    def read_data(self, instance_id: int, definition: CompiledDefinition) -> dict[str, Any]:
        """A copy of the case's data as of its latest completed step, for a page that shows it. The running case
        restored for it is kept for this process's next writer (a task is opened before it is worked on) when its
        rows were read at one row version: on PostgreSQL each statement of a reader sees what was committed when it
        ran, so the version is read again after them, in the same round trip."""
        from engine.cases.state import Snapshot

        ids = {"instance_id": instance_id}
        header_later = self.sql.all_later(_HEADER_AS_OF, ids)
        bodies_later = self.sql.all_later(_BODIES, ids)
        open_later = self.sql.all_later(_OPEN_TASKS, ids)
        version_after = self.sql.first(_ROW_VERSION, ids)
        [(header, version, status)] = header_later()
        saved = Snapshot(header, dict(bodies_later()))
        case = _restore(saved, definition)
        data = copy.deepcopy(case.data)
        if status == "running" and version_after == (version,):
            self.cache.offer(instance_id, _Saved(version, case, saved, dict(open_later())))
        else:
            case.release()
        return data

    def _stored_snapshot(self, instance_id: int) -> Snapshot:
        from engine.cases.state import Snapshot

        [header] = self.sql.first(_HEADER, {"instance_id": instance_id})
        bodies = self.sql.all(_BODIES, {"instance_id": instance_id})
        return Snapshot(header, {task_id: body for task_id, body in bodies})

    def user_roles(self, name: str) -> Optional[set[str]]:
        """The roles of the user called ``name``, or None when there is no such user."""
        return self.user_roles_later(name)()

    def user_roles_later(self, name: str) -> Callable[[], Optional[set[str]]]:
        """``user_roles``, read with the next statement that waits for an answer (on PostgreSQL, in its round trip)."""
        rows_later = self.sql.all_later(_USER_ROLES, {"name": name})

        def roles() -> Optional[set[str]]:
            rows = rows_later()
            return {role for _user_id, role in rows if role is not None} if rows else None
        return roles

    def sign_in_state(self, name: str, session_id: str) -> Optional[tuple[int, bool, bool, set[str]]]:
        """(session generation, disabled, whether the session ``session_id`` was ended, roles) of the user called
        ``name``, or None when there is no such user."""
        rows = self.sql.all(_SIGNED_IN, {"name": name, "session_id": session_id})
        if not rows:
            return None
        generation, disabled, ended, _role = rows[0]
        return generation, bool(disabled), bool(ended), {role for _g, _d, _e, role in rows if role is not None}

    def account_generation(self) -> int:
        """The accounts' generation (engine.storage.account_generation)."""
        [generation] = self.sql.first(account_generation.CURRENT, {})
        return int(generation)

    def to_start(self, key: str) -> Optional[Starting]:
        """What starting a case of process ``key`` needs: its newest deployed version, and on PostgreSQL the new
        case's id, read in the same round trip so that the case's row can go with its first step's."""
        reserved = self.sql.all_later(_RESERVE_CASE_ID, {}) if self.sql.dialect_name == "postgresql" else None
        row = self.sql.first(_LATEST_DEFINITION, {"key": key})
        if row is None:
            return None
        return Starting(row[0], row[1], reserved()[0][0] if reserved is not None else None)

    # -- writing -----------------------------------------------------------------

    def put_customer(self, customer_id: str, name: str, segment: str) -> None:
        """Record a new customer, or their current name and segment (on PostgreSQL sent with ``create``'s row)."""
        with self.batch():
            self.sql.execute(_PUT_CUSTOMER[self.sql.dialect_name],
                             {"id": customer_id, "name": name, "segment": segment})

    def create(self, starting: Starting, customer_id: str, segment: str, case: Case, now: datetime) -> Loaded:
        """A new case row (its state is written by ``save``)."""
        row = {"definition_id": starting.definition_id, "customer_id": customer_id, "segment": segment,
               "status": "running", "started_at": now, "state": "", "row_version": 1}
        with self.batch():
            if starting.instance_id is not None:
                instance_id = starting.instance_id
                self.sql.execute(_NEW_CASE_OF_ID, {"id": instance_id, **row})
            else:
                [instance_id] = self.sql.first(_NEW_CASE, row)
        record = CaseRecord(instance_id, starting.definition_id, customer_id, segment, "running", 1, None)
        self._held.append(case)
        return Loaded(record, case, None)

    def log(self, instance_id: int, kind: str, actor: Optional[str], now: datetime,
            task_id: Optional[int] = None, step_id: Optional[str] = None,
            detail: Optional[dict[str, Any]] = None) -> None:
        """Queue an event for the log; written with the case by ``save`` or ``flush_events``."""
        self._events.append({"instance_id": instance_id, "task_id": task_id, "type": kind, "step_id": step_id,
                             "actor": actor, "at": now, "detail": detail})
        if kind in NOTIFYING_EVENTS:
            self.outbox.note(NOTIFYING_EVENTS[kind], instance_id, task_id, actor, now, detail)

    def complete_task(self, task: TaskRecord, user: str, now: datetime) -> None:
        """Mark a task completed; written by ``save``, which must follow in the same unit of work."""
        self._completions.append({"task_id": task.id, "seen_version": task.row_version, "now": now, "user": user})
        self._completed.add(task.spiff_task_id)

    def set_assignee(self, task: TaskRecord, assignee: Optional[str], now: Optional[datetime]) -> None:
        """Give a task to ``assignee`` from ``now`` on, or back to its queue (None, None)."""
        self._update_seen_version(f"task {task.id}", _SET_ASSIGNEE, {
            "task_id": task.id, "seen_version": task.row_version, "assignee": assignee, "at": now})

    def mark_breached(self, task_id: int, now: datetime) -> bool:
        """Record that an open task is past its due time (once) and queue its event; whether it was recorded."""
        row = self.sql.first(_MARK_BREACHED, {"task_id": task_id, "now": now})
        if row is None:
            return False
        instance_id, step_id, due_at = row
        self.log(instance_id, "task_breached", None, now, task_id, step_id, {"due_at": due_at.isoformat()})
        return True

    def note_at_risk(self, task_id: int, now: datetime) -> bool:
        """Note that a task is at risk, if it is still open and not yet due; whether it was noted (written by
        ``flush_events``)."""
        row = self.sql.first(_STILL_AHEAD, {"task_id": task_id, "now": now})
        if row is None:
            return False
        instance_id, due_at = row
        self.outbox.note("at_risk", instance_id, task_id, None, now, {"due_at": due_at.isoformat()})
        return True

    def save(self, loaded: Loaded, now: datetime, actor: Optional[str]) -> str:
        """Write the completed tasks, the case's changed state, open/close human task rows and the queued events,
        in one batch; returns the status."""
        case, record = loaded.case, loaded.record
        status = case.status
        state = case.snapshot(loaded.saved)
        next_timer = case.next_timer_at() if status == "running" else None
        with self.batch():
            completions, self._completions = self._completions, []
            for completion in completions:
                self._update_seen_version(f"task {completion['task_id']}", _COMPLETE_TASK, completion)
            self._write_tasks(record.id, loaded.saved, state)
            saved = {"case_id": record.id, "seen_version": record.row_version, "new_version": record.row_version + 1,
                     "new_state": state.header}
            if status == record.status and next_timer == record.next_timer_at and case.error is None:
                self._update_seen_version(f"instance {record.id}", _SAVE_STATE, saved)
            else:
                self._update_seen_version(f"instance {record.id}", _SAVE_CASE, {
                    **saved, "new_status": status, "next_timer": next_timer,
                    "error_step_": case.error.step_id if case.error else None,
                    "error_message_": case.error.message if case.error else None,
                    "ended": now if status in ("completed", "cancelled") else None,
                    "errored": now if case.error else None,
                    "attempts_": case.error.attempts if case.error else None,
                })
            if next_timer != record.next_timer_at or loaded.timer_job_taken:
                self.jobs.schedule_timer(record.id, next_timer)
            open_tasks = self._sync_human_tasks(loaded, status, now)
            if case.definition.service_steps:
                self._sync_service_tasks(loaded, status, now)
            if status != record.status:
                detail = {"step": case.error.step_id, "message": case.error.message} if case.error else None
                self.log(record.id, _STATUS_EVENTS[status], actor, now, detail=detail)
            self.flush_events()
        new_ids, self._new_ids = self._new_ids, []
        if status == "running":  # a finished case takes no more steps
            self._after_commit.append((record.id, _Saved(record.row_version + 1, case, state, open_tasks), new_ids))
        return status

    def flush_events(self) -> None:
        """Write the queued events, and the notifications they call for (engine.storage.outbox)."""
        if self._events:
            self.sql.execute_many(_INSERT_EVENT, self._events)
            self._events = []
        self.outbox.flush()

    def close(self) -> None:
        """Release what this store holds on the connection, and the cases it loaded that no cache keeps (a step
        rolled back, a case that ended); call when the unit of work ends."""
        self.sql.close()
        self._release_held(kept=())

    def committed(self) -> None:
        """Keep the saved running cases for the next step, and release the others this store loaded (call only
        once the transaction committed)."""
        for instance_id, saved, new_ids in self._after_commit:
            for spiff_id, row_of in new_ids:
                saved.open_tasks[spiff_id] = row_of()[0]
            self.cache.keep(instance_id, saved)
        self._release_held(kept=[saved.case for _, saved, _ in self._after_commit])
        self._after_commit = []

    def _release_held(self, kept: Iterable[Case]) -> None:
        """Free at once the cases this store loaded or created but the cache does not keep: no one uses them
        again, and their tasks and workflow, which refer to each other, would otherwise wait for a full pass of the
        garbage collector."""
        keeping = {id(case) for case in kept}
        held, self._held = self._held, []
        for case in held:
            if id(case) not in keeping:
                case.release()

    def _update_seen_version(self, what: str, statement: Prepared, params: dict[str, Any]) -> None:
        """Run an update of the row version the step read (``seen_version``); StaleCase if it moved since (inside
        a PostgreSQL batch, StaleRow when the batch is sent)."""
        if not self.sql.execute_one(statement, params):
            raise StaleCase(f"{what} changed meanwhile")

    def _write_tasks(self, instance_id: int, before: Optional[Snapshot], after: Snapshot) -> None:
        old = before.tasks if before is not None else {}
        changed = [{"i": instance_id, "t": t, "b": body} for t, body in after.tasks.items()
                   if t in old and old[t] != body]
        added = [{"instance_id": instance_id, "task_id": t, "body": body} for t, body in after.tasks.items()
                 if t not in old]
        removed = [t for t in old if t not in after.tasks]
        if changed:
            self.sql.execute_many(_UPDATE_CASE_TASK, changed)
        if added:
            self.sql.execute_many(_INSERT_CASE_TASK, added)
        if removed:
            self.sql.execute_many(_DELETE_CASE_TASK, [{"i": instance_id, "t": t} for t in removed])

    def _sync_human_tasks(self, loaded: Loaded, status: str, now: datetime) -> dict[str, int]:
        """Open a row for each newly ready human task and cancel those no longer ready; returns the open ones."""
        record, compiled = loaded.record, loaded.case.definition
        ready = {str(t.id): t for t in loaded.case.ready_human_tasks()} if status == "running" else {}
        gone = [spiff_id for spiff_id in loaded.open_at_start
                if spiff_id not in ready and spiff_id not in self._completed]
        for spiff_id in gone:  # a boundary event, a cancellation or an error took them away
            for task_id, step_id in self.sql.all(_CANCEL_HUMAN_TASK, {"case_id": record.id, "spiff_id": spiff_id}):
                self.log(record.id, "task_cancelled", None, now, task_id, step_id)
        open_tasks = {spiff_id: task_id for spiff_id, task_id in loaded.open_at_start.items() if spiff_id in ready}
        new = []
        unresolved: dict[str, str] = {}  # why a computed assignment was not used, by the task's SpiffWorkflow id
        for spiff_id, spiff_task in ready.items():
            if spiff_id in open_tasks:
                continue
            step_id = spiff_task.task_spec.bpmn_id
            note = compiled.annotations.steps.get(step_id)
            target = note.target_for(record.segment) if note else None
            role, assignee = (note.role, note.assignee) if note else (None, None)
            if note is not None and (note.computed_groups or note.computed_assignee):
                role, assignee, why = self._computed_owner(note, spiff_task.data, compiled, role, assignee)
                if why:
                    unresolved[spiff_id] = f"{why}: the task waits in the queue of {role}" if role else why
            new.append({
                "instance_id": record.id, "spiff_task_id": spiff_id, "step_id": step_id,
                "name": spiff_task.task_spec.bpmn_name or step_id,
                "lane": note.lane if note else spiff_task.task_spec.lane, "role": role,
                "customer_value": note.customer_value if note else None,
                "value_class": note.value_class if note else None, "target_seconds": target,
                "created_at": now, "due_at": compiled.calendar.due(now, target) if target is not None else None,
                # a task its diagram assigns to a person is in their hands from the start
                "assignee": assignee, "claimed_at": now if assignee else None,
                "status": "open", "row_version": 1,
            })
        # In a PostgreSQL batch a new task's id is not fetched half-way: its jobs and events are written right
        # after it and take it on the server (NEW_HUMAN_TASK_ID), after the events queued so far. A task opened in
        # someone's hands is the exception: its assignment may notify (engine.storage.outbox), which needs its id.
        on_server = self.sql.batching and any(not row["assignee"] for row in new)
        if on_server:
            self.flush_events()
        for row in new:
            events: list[tuple[str, Optional[dict[str, Any]]]] = [("task_created", None)]
            if row["assignee"]:
                events.append(("task_assigned", {"assignee": row["assignee"]}))
            if row["spiff_task_id"] in unresolved:
                events.append(("assignment_unresolved", {"reason": unresolved[row["spiff_task_id"]]}))
            if on_server and not row["assignee"]:
                self._new_ids.append((row["spiff_task_id"], self.sql.first_later(_INSERT_HUMAN_TASK, row)))
                if row["due_at"] is not None:
                    self.jobs.add_for_new_task(record.id, {
                        AT_RISK: compiled.calendar.at_risk_from(now, row["target_seconds"]), BREACH: row["due_at"]})
                self.sql.execute_many(_INSERT_EVENT_OF_NEW_TASK, [
                    {"instance_id": record.id, "type": kind, "step_id": row["step_id"], "actor": None, "at": now,
                     "detail": detail} for kind, detail in events])
                continue
            [task_id] = self.sql.first(_INSERT_HUMAN_TASK, row)
            open_tasks[row["spiff_task_id"]] = task_id
            if row["due_at"] is not None:
                self.jobs.add(AT_RISK, record.id,
                              compiled.calendar.at_risk_from(now, row["target_seconds"]), task_id)
                self.jobs.add(BREACH, record.id, row["due_at"], task_id)
            for kind, detail in events:
                self.log(record.id, kind, None, now, task_id, row["step_id"], detail)
        return open_tasks

    def _sync_service_tasks(self, loaded: Loaded, status: str, now: datetime) -> None:
        """Open an external task, or a connector's job, for each service task the case now waits at, and close
        those it no longer waits at (done, cancelled by a boundary event, or the case stopped)."""
        record, steps = loaded.record, loaded.case.definition.service_steps
        if not steps:
            return
        waiting = {str(t.id): t for t in loaded.case.waiting_service_tasks()} if status == "running" else {}
        external, called = self.external.of_case(record.id), self.jobs.service_tasks(record.id)
        for spiff_id in external - waiting.keys():
            self.external.close(record.id, spiff_id)
        for spiff_id in called - waiting.keys():
            self.jobs.drop_service(record.id, spiff_id)
        for spiff_id, task in waiting.items():
            step = steps[task.task_spec.bpmn_id]
            if step.topic is not None and spiff_id not in external:
                self.external.open(record.id, spiff_id, step.step_id, step.name, step.topic, now)
            elif step.connector is not None and spiff_id not in called:
                self.jobs.add(SERVICE, record.id, now, spiff_task_id=spiff_id)

    def _computed_owner(self, note: StepAnnotation, data: dict[str, Any], compiled: CompiledDefinition,
                        role: Optional[str], assignee: Optional[str]) -> tuple[Optional[str], Optional[str], str]:
        """The role and assignee of a task whose step computes them from the case data (engine.cases.owners):
        the computed ones when they name a role and an enabled user, else the step's own; and why not, if not."""
        from engine.cases.owners import computed_owner

        owner = computed_owner(note, data, compiled.script_engine.environment)
        reasons = list(owner.reasons)
        if owner.assignee is not None:
            account = self.sql.first(_USER_DISABLED, {"name": owner.assignee})
            if account is None:
                reasons.append(f"its assignee {note.computed_assignee} is {owner.assignee!r}, who is not a Valueflow "
                               "user")
            elif account[0]:
                reasons.append(f"its assignee {note.computed_assignee} is {owner.assignee!r}, whose account is "
                               "disabled")
            else:
                assignee = owner.assignee
        return owner.role or role, assignee, "; ".join(reasons)
