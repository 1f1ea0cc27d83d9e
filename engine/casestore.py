"""Cases in the database, read and written with as few statements as possible.

This is the hot path of every step (start, complete, message, timer), so it
uses SQLAlchemy Core on the unit of work's connection instead of the ORM:
one locking read, then only the writes the step needs. A case's tasks are
rows of ``case_task`` and only the changed ones are written. A process keeps
the cases it has just saved in memory (``CaseCache``), keyed by row version,
so the next step of a case skips rebuilding it from JSON; a stale or missing
entry just means a read from the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Connection, String, Text, bindparam, delete, func, insert, select, update

from engine.definitions import CompiledDefinition
from engine.model import Case
from engine.state import Snapshot
from engine.tables import CaseTask, Customer, HumanTask, ProcessDefinition, ProcessInstance, TaskEvent

_INSTANCE = ProcessInstance.__table__
_CASE_TASK = CaseTask.__table__
_HUMAN_TASK = HumanTask.__table__
_EVENT = TaskEvent.__table__
_DEFINITION = ProcessDefinition.__table__
_CUSTOMER_T = Customer.__table__
_INSTANCE_COLUMNS = (_INSTANCE.c.id, _INSTANCE.c.definition_id, _INSTANCE.c.customer_id, _INSTANCE.c.segment,
                     _INSTANCE.c.status, _INSTANCE.c.row_version, _INSTANCE.c.next_timer_at)


_STATUS_EVENTS = {"completed": "instance_completed", "error": "instance_errored",
                  "cancelled": "instance_cancelled", "running": "instance_resumed"}


class StaleCase(Exception):
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
    """A case being worked on: its row, its run state, and the human tasks open when it was read."""

    record: CaseRecord
    case: Case
    saved: Optional[Snapshot]
    open_at_start: dict[str, int] = field(default_factory=dict)


class CaseCache:
    """Recently saved cases of this process, by instance id and row version (LRU, thread-safe)."""

    def __init__(self, size: int = 2000) -> None:
        self._size = size
        self._entries: OrderedDict[int, tuple[int, Case, Snapshot]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, row_version: int) -> Optional[tuple[Case, Snapshot]]:
        """Remove and return the case if the cached copy is the version the database holds."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None or entry[0] != row_version:
            return None
        return entry[1], entry[2]

    def keep(self, instance_id: int, row_version: int, case: Case, saved: Snapshot) -> None:
        with self._lock:
            self._entries[instance_id] = (row_version, case, saved)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_TASK_COLUMNS = (_HUMAN_TASK.c.id, _HUMAN_TASK.c.instance_id, _HUMAN_TASK.c.spiff_task_id, _HUMAN_TASK.c.step_id,
                 _HUMAN_TASK.c.name, _HUMAN_TASK.c.role, _HUMAN_TASK.c.status, _HUMAN_TASK.c.assignee,
                 _HUMAN_TASK.c.completed_by, _HUMAN_TASK.c.row_version)


# Statements are built once: building them costs more than running them on SQLite.
_LOCK_CASE = select(*_INSTANCE_COLUMNS).where(_INSTANCE.c.id == bindparam("instance_id")).with_for_update()
_LOCK_TASK = (select(*_TASK_COLUMNS, *_INSTANCE_COLUMNS)
              .join(_INSTANCE, _INSTANCE.c.id == _HUMAN_TASK.c.instance_id)
              .where(_HUMAN_TASK.c.id == bindparam("task_id")).with_for_update())
_OPEN_TASKS = select(_HUMAN_TASK.c.spiff_task_id, _HUMAN_TASK.c.id).where(
    _HUMAN_TASK.c.instance_id == bindparam("instance_id"), _HUMAN_TASK.c.status == "open")
_HEADER = select(_INSTANCE.c.state).where(_INSTANCE.c.id == bindparam("instance_id"))
_BODIES = select(_CASE_TASK.c.task_id, _CASE_TASK.c.body).where(_CASE_TASK.c.instance_id == bindparam("instance_id"))
_NEW_CASE = insert(_INSTANCE).returning(_INSTANCE.c.id)
_COMPLETE_TASK = update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.id == bindparam("task_id"), _HUMAN_TASK.c.row_version == bindparam("seen_version")).values(
    status="completed", completed_at=bindparam("now"), completed_by=bindparam("user"),
    row_version=_HUMAN_TASK.c.row_version + 1)
_LATEST_DEFINITION = (select(_DEFINITION.c.id, _DEFINITION.c.version).where(_DEFINITION.c.key == bindparam("key"))
                      .order_by(_DEFINITION.c.version.desc()).limit(1))
_CUSTOMER = select(_CUSTOMER_T.c.name, _CUSTOMER_T.c.segment).where(_CUSTOMER_T.c.id == bindparam("customer_id"))
_NEW_CUSTOMER = insert(_CUSTOMER_T)
_RENAME_CUSTOMER = update(_CUSTOMER_T).where(_CUSTOMER_T.c.id == bindparam("customer_id")).values(
    name=bindparam("new_name"), segment=bindparam("new_segment"))
_SAVE_CASE = update(_INSTANCE).where(
    _INSTANCE.c.id == bindparam("case_id"), _INSTANCE.c.row_version == bindparam("seen_version")).values(
    state=bindparam("new_state"), status=bindparam("new_status"), row_version=bindparam("new_version"),
    next_timer_at=bindparam("next_timer", type_=_INSTANCE.c.next_timer_at.type),
    error_step=func.coalesce(bindparam("error_step_", type_=String), _INSTANCE.c.error_step),
    error_message=func.coalesce(bindparam("error_message_", type_=Text), _INSTANCE.c.error_message),
    ended_at=func.coalesce(_INSTANCE.c.ended_at, bindparam("ended", type_=_INSTANCE.c.ended_at.type)))
_UPDATE_CASE_TASK = update(_CASE_TASK).where(
    _CASE_TASK.c.instance_id == bindparam("i"), _CASE_TASK.c.task_id == bindparam("t")).values(body=bindparam("b"))
_INSERT_CASE_TASK = insert(_CASE_TASK)
_DELETE_CASE_TASKS = delete(_CASE_TASK).where(
    _CASE_TASK.c.instance_id == bindparam("instance_id"), _CASE_TASK.c.task_id.in_(bindparam("ids", expanding=True)))
_CANCEL_HUMAN_TASKS = (update(_HUMAN_TASK).where(
    _HUMAN_TASK.c.instance_id == bindparam("case_id"), _HUMAN_TASK.c.status == "open",
    _HUMAN_TASK.c.spiff_task_id.in_(bindparam("ids", expanding=True)))
    .values(status="cancelled", row_version=_HUMAN_TASK.c.row_version + 1)
    .returning(_HUMAN_TASK.c.id, _HUMAN_TASK.c.step_id))
_INSERT_HUMAN_TASK = insert(_HUMAN_TASK).returning(_HUMAN_TASK.c.id, sort_by_parameter_order=True)
_INSERT_ONE_HUMAN_TASK = insert(_HUMAN_TASK).returning(_HUMAN_TASK.c.id)
_INSERT_EVENT = insert(_EVENT)


class CaseStore:
    """Reads, locks and writes cases inside one unit of work."""

    def __init__(self, connection: Connection, cache: CaseCache) -> None:
        self.connection = connection
        self.cache = cache
        self._events: list[dict[str, Any]] = []
        self._after_commit: list[tuple[int, int, Case, Snapshot]] = []

    # -- reading -----------------------------------------------------------------

    def lock_case(self, instance_id: int) -> Optional[CaseRecord]:
        """The case's row, locked against other writers until the unit of work ends."""
        row = self.connection.execute(_LOCK_CASE, {"instance_id": instance_id}).first()
        return CaseRecord(*row) if row else None

    def lock_task(self, task_id: int) -> Optional[tuple[TaskRecord, CaseRecord]]:
        """A human task with its case, both locked, as they are once any concurrent writer is done."""
        row = self.connection.execute(_LOCK_TASK, {"task_id": task_id}).first()
        if row is None:
            return None
        width = len(_TASK_COLUMNS)
        return TaskRecord(*row[:width]), CaseRecord(*row[width:])

    def load(self, record: CaseRecord, definition: CompiledDefinition) -> Loaded:
        """The case's run state for a change, from this process's cache when it holds the current version."""
        cached = self.cache.take(record.id, record.row_version)
        if cached is not None:
            case, saved = cached
        else:
            saved = self._stored_snapshot(record.id)
            case = Case.restore(saved.header, saved.tasks.values(), definition)
        loaded = Loaded(record, case, saved)
        if record.status == "running":
            open_rows = self.connection.execute(_OPEN_TASKS, {"instance_id": record.id}).all()
            loaded.open_at_start = {spiff_id: task_id for spiff_id, task_id in open_rows}
        return loaded

    def read(self, instance_id: int, definition: CompiledDefinition) -> Case:
        """The case's run state for reading only (a fresh copy, never shared with writers)."""
        saved = self._stored_snapshot(instance_id)
        return Case.restore(saved.header, saved.tasks.values(), definition)

    def _stored_snapshot(self, instance_id: int) -> Snapshot:
        header = self.connection.execute(_HEADER, {"instance_id": instance_id}).scalar_one()
        bodies = self.connection.execute(_BODIES, {"instance_id": instance_id}).all()
        return Snapshot(header, {task_id: body for task_id, body in bodies})

    def latest_definition(self, key: str) -> Optional[tuple[int, int]]:
        """The id and version number of the newest deployed version of process ``key``."""
        row = self.connection.execute(_LATEST_DEFINITION, {"key": key}).first()
        return (row[0], row[1]) if row else None

    # -- writing -----------------------------------------------------------------

    def put_customer(self, customer_id: str, name: str, segment: str) -> None:
        """Record a new customer, or their current name and segment."""
        known = self.connection.execute(_CUSTOMER, {"customer_id": customer_id}).first()
        if known is None:
            self.connection.execute(_NEW_CUSTOMER, {"id": customer_id, "name": name, "segment": segment})
        elif tuple(known) != (name, segment):
            self.connection.execute(_RENAME_CUSTOMER, {"customer_id": customer_id, "new_name": name,
                                                       "new_segment": segment})

    def create(self, definition_id: int, customer_id: str, segment: str, case: Case, now: datetime) -> Loaded:
        """A new case row (its state is written by ``save``)."""
        instance_id = self.connection.execute(_NEW_CASE, {
            "definition_id": definition_id, "customer_id": customer_id, "segment": segment, "status": "running",
            "started_at": now, "state": "", "row_version": 1}).scalar_one()
        record = CaseRecord(instance_id, definition_id, customer_id, segment, "running", 1, None)
        return Loaded(record, case, None)

    def log(self, instance_id: int, kind: str, actor: Optional[str], now: datetime,
            task_id: Optional[int] = None, step_id: Optional[str] = None,
            detail: Optional[dict[str, Any]] = None) -> None:
        """Queue an event for the log; written with the case by ``save`` or ``flush_events``."""
        self._events.append({"instance_id": instance_id, "task_id": task_id, "type": kind, "step_id": step_id,
                             "actor": actor, "at": now, "detail": detail})

    def complete_task(self, task: TaskRecord, user: str, now: datetime) -> None:
        """Mark a task completed (its case must be saved in the same unit of work)."""
        changed = self.connection.execute(_COMPLETE_TASK, {
            "task_id": task.id, "seen_version": task.row_version, "now": now, "user": user})
        if changed.rowcount != 1:
            raise StaleCase(f"task {task.id} changed meanwhile")

    def save(self, loaded: Loaded, now: datetime, actor: Optional[str]) -> str:
        """Write the case's changed state, open/close human task rows, write queued events; returns the status."""
        case, record = loaded.case, loaded.record
        status = case.status
        state = case.snapshot(loaded.saved)
        self._write_tasks(record.id, loaded.saved, state)
        changed = self.connection.execute(_SAVE_CASE, {
            "case_id": record.id, "seen_version": record.row_version, "new_version": record.row_version + 1,
            "new_state": state.header, "new_status": status,
            "next_timer": case.next_timer_at() if status == "running" else None,
            "error_step_": case.error.step_id if case.error else None,
            "error_message_": case.error.message if case.error else None,
            "ended": now if status in ("completed", "cancelled") else None,
        })
        if changed.rowcount != 1:
            raise StaleCase(f"instance {record.id} changed meanwhile")
        self._sync_human_tasks(loaded, status, now)
        if status != record.status:
            detail = {"step": case.error.step_id, "message": case.error.message} if case.error else None
            self.log(record.id, _STATUS_EVENTS[status], actor, now, detail=detail)
        self.flush_events()
        self._after_commit.append((record.id, record.row_version + 1, case, state))
        return status

    def flush_events(self) -> None:
        if self._events:
            self.connection.execute(_INSERT_EVENT, self._events)
            self._events = []

    def committed(self) -> None:
        """Keep the saved cases for the next step (call only once the transaction committed)."""
        for instance_id, row_version, case, state in self._after_commit:
            self.cache.keep(instance_id, row_version, case, state)
        self._after_commit = []

    def _write_tasks(self, instance_id: int, before: Optional[Snapshot], after: Snapshot) -> None:
        old = before.tasks if before is not None else {}
        changed = [{"i": instance_id, "t": t, "b": body} for t, body in after.tasks.items()
                   if t in old and old[t] != body]
        added = [{"instance_id": instance_id, "task_id": t, "body": body} for t, body in after.tasks.items()
                 if t not in old]
        removed = [t for t in old if t not in after.tasks]
        if changed:
            self.connection.execute(_UPDATE_CASE_TASK, changed)
        if added:
            self.connection.execute(_INSERT_CASE_TASK, added)
        if removed:
            self.connection.execute(_DELETE_CASE_TASKS, {"instance_id": instance_id, "ids": removed})

    def _sync_human_tasks(self, loaded: Loaded, status: str, now: datetime) -> None:
        """Open a row for each newly ready human task; cancel the rows of tasks that are no longer ready."""
        record, compiled = loaded.record, loaded.case.definition
        ready = {str(t.id): t for t in loaded.case.ready_human_tasks()} if status == "running" else {}
        gone = [spiff_id for spiff_id in loaded.open_at_start if spiff_id not in ready]
        if gone:
            cancelled = self.connection.execute(_CANCEL_HUMAN_TASKS, {"case_id": record.id, "ids": gone}).all()
            for task_id, step_id in cancelled:
                self.log(record.id, "task_cancelled", None, now, task_id, step_id)
        new = []
        for spiff_id, spiff_task in ready.items():
            if spiff_id in loaded.open_at_start:
                continue
            step_id = spiff_task.task_spec.bpmn_id
            note = compiled.annotations.steps.get(step_id)
            target = note.target_for(record.segment) if note else None
            new.append({
                "instance_id": record.id, "spiff_task_id": spiff_id, "step_id": step_id,
                "name": spiff_task.task_spec.bpmn_name or step_id,
                "lane": note.lane if note else spiff_task.task_spec.lane, "role": note.role if note else None,
                "customer_value": note.customer_value if note else None,
                "value_class": note.value_class if note else None, "target_seconds": target,
                "created_at": now, "due_at": compiled.calendar.due(now, target) if target is not None else None,
                "status": "open", "row_version": 1,
            })
        if len(new) == 1:  # the common case; a single-row insert is cheaper than a batch
            ids = [self.connection.execute(_INSERT_ONE_HUMAN_TASK, new[0]).scalar_one()]
        else:
            ids = self.connection.execute(_INSERT_HUMAN_TASK, new).scalars().all() if new else []
        for task_id, row in zip(ids, new):
            self.log(record.id, "task_created", None, now, task_id, row["step_id"])
