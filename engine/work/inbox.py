"""The inbox: a user's tasks and the queues of their roles, most urgent first.

Everything is counted and ordered in SQL over the ``human_task`` indexes, one
page at a time, so the inbox stays fast with a hundred thousand open tasks
(``bench/inbox.py`` measures it). Tasks without a target come after those
with one, so that the ordering by ``due_at`` can walk an index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.definitions.annotations import ProcessAnnotations
from engine.storage.repository import known_segments
from engine.storage.tables import Customer, HumanTask, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork

VIEWS = ("mine", "queues", "all")
# Less than this share of the target left puts a task at risk.
AT_RISK_SHARE = 0.25


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox is narrowed to; None means any."""

    process: Optional[str] = None
    step: Optional[str] = None
    segment: Optional[str] = None   # the segment the case started in, which set its targets
    role: Optional[str] = None


def urgency(due_at: Optional[datetime], target_seconds: Optional[int], now: datetime) -> dict[str, Any]:
    """Time left to the due time and what it means: on_track, at_risk (under a quarter left), breached or none."""
    if due_at is None:
        return {"state": "none", "seconds_left": None}
    left = int((due_at - now).total_seconds())
    if left <= 0:
        state = "breached"
    elif target_seconds and left < target_seconds * AT_RISK_SHARE:
        state = "at_risk"
    else:
        state = "on_track"
    return {"state": state, "seconds_left": left}


def inbox(uow: UnitOfWork, user: str, queue_roles: Iterable[str], *, everyone: bool = False, view: str = "mine",
          filters: InboxFilter = InboxFilter(), page: int = 1, per_page: int = 25) -> dict[str, Any]:
    """One page of the user's inbox.

    ``view`` is ``mine`` (assigned to ``user``), ``queues`` (unassigned tasks of ``queue_roles``, or of
    ``filters.role`` if it is one of them) or ``all`` (every open task; only when ``everyone``, for managers).
    Any other ``view`` (e.g. ``auto``) means ``mine``, or ``queues`` when nothing is assigned to the user.
    Counts of every view and of each queue honour the process, step and segment filters.
    """
    roles = sorted(set(queue_roles))
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    with uow.reading():
        now = uow.clock.now()
        counts = _counts(uow, user, roles, everyone, filters)
        if view not in VIEWS or (view == "all" and not everyone):
            view = "queues" if counts["mine"] == 0 and counts["queued"] > 0 else "mine"
        query = _narrowed(select(HumanTask.id), filters)
        if view == "mine":
            query = query.where(HumanTask.assignee == user)
        elif view == "queues":
            wanted = [filters.role] if filters.role in roles else roles
            query = query.where(HumanTask.assignee.is_(None), HumanTask.role.in_(wanted))
        total_due, total_open = uow.session.execute(
            query.with_only_columns(func.count(HumanTask.due_at), func.count()).order_by(None)).one()
        ids = _page_ids(uow, query, total_due, (page - 1) * per_page, per_page)
        rows = _rows(uow, ids, now)
        return {
            "view": view, "rows": rows, "total": total_open, "page": page, "per_page": per_page,
            "pages": max((total_open + per_page - 1) // per_page, 1), "counts": counts,
            "options": _options(uow, filters.process, None if everyone else set(roles)), "now": now,
        }


def next_task(uow: UnitOfWork, user: str, queue_roles: Iterable[str]) -> Optional[dict[str, Any]]:
    """The most urgent of the user's own tasks, else of their queues; None when there is no work.

    One row is looked up, without the counts and filter choices of a whole inbox page."""
    roles = sorted(set(queue_roles))
    open_tasks = _narrowed(select(HumanTask.id), InboxFilter())
    wanted = [open_tasks.where(HumanTask.assignee == user)]
    if roles:
        wanted.append(open_tasks.where(HumanTask.assignee.is_(None), HumanTask.role.in_(roles)))
    with uow.reading():
        for query in wanted:
            ids = _page_ids(uow, query, 0, 0, 1)
            if ids:
                return _rows(uow, ids, uow.clock.now())[0]
    return None


def _narrowed(query: Select[Any], filters: InboxFilter) -> Select[Any]:
    """Open tasks; the process and segment filters look each open task's case up only when set.

    Each task's own case is looked up by its key, rather than every case of
    the process or segment listed first: those include every finished case,
    which on SQLite made a segment-filtered queue take 0.9 s beside 400,000
    completed tasks, and 0.1 s this way (bench/README.md).
    """
    query = query.where(HumanTask.is_open())
    if filters.step:
        query = query.where(HumanTask.step_id == filters.step)
    if filters.process or filters.segment:
        case = select(ProcessInstance.id).where(ProcessInstance.id == HumanTask.instance_id).correlate(HumanTask)
        if filters.process:
            case = case.where(ProcessInstance.definition_id.in_(
                select(ProcessDefinition.id).where(ProcessDefinition.key == filters.process).scalar_subquery()))
        if filters.segment:
            case = case.where(ProcessInstance.segment == filters.segment)
        query = query.where(case.exists())
    return query


def _page_ids(uow: UnitOfWork, query: Select[Any], total_due: int, offset: int, limit: int) -> list[int]:
    """Task ids of one page: tasks with a due time by due time, then those without one by id."""
    ids = list(uow.session.scalars(query.where(HumanTask.due_at.is_not(None))
                                   .order_by(HumanTask.due_at, HumanTask.id).offset(offset).limit(limit)))
    if len(ids) < limit:
        ids += uow.session.scalars(query.where(HumanTask.due_at.is_(None)).order_by(HumanTask.id)
                                   .offset(max(offset - total_due, 0)).limit(limit - len(ids)))
    return ids


def _rows(uow: UnitOfWork, ids: list[int], now: datetime) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = uow.session.execute(
        select(HumanTask, Customer.id, Customer.name, Customer.segment, ProcessDefinition.key,
               ProcessDefinition.name, ProcessDefinition.version)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(Customer, Customer.id == ProcessInstance.customer_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(HumanTask.id.in_(ids))).all()
    by_id = {row[0].id: row for row in found}
    rows = []
    for task_id in ids:
        task, customer_id, customer_name, segment, key, process_name, version = by_id[task_id]
        rows.append({
            "id": task.id, "instance_id": task.instance_id, "step_id": task.step_id, "name": task.name,
            "role": task.role, "assignee": task.assignee, "customer_value": task.customer_value,
            "value_class": task.value_class, "target_seconds": task.target_seconds,
            "created_at": task.created_at, "due_at": task.due_at, "claimed_at": task.claimed_at,
            "status": task.status, "customer": {"id": customer_id, "name": customer_name, "segment": segment},
            "process": {"key": key, "name": process_name, "version": version},
            "waited_seconds": max(int((now - task.created_at).total_seconds()), 0),
            "urgency": urgency(task.due_at, task.target_seconds, now),
        })
    return rows


def _counts(uow: UnitOfWork, user: str, roles: list[str], everyone: bool, filters: InboxFilter) -> dict[str, Any]:
    unrolled = InboxFilter(filters.process, filters.step, filters.segment)
    mine = uow.session.scalar(_narrowed(select(func.count(HumanTask.id)), unrolled)
                              .where(HumanTask.assignee == user)) or 0
    queues = {role: 0 for role in roles}
    if roles:
        grouped = _narrowed(select(HumanTask.role, func.count(HumanTask.id)), unrolled).where(
            HumanTask.assignee.is_(None), HumanTask.role.in_(roles)).group_by(HumanTask.role)
        queues.update({role: count for role, count in uow.session.execute(grouped)})
    counts: dict[str, Any] = {"mine": mine, "queues": queues, "queued": sum(queues.values())}
    if everyone:
        counts["all"] = uow.session.scalar(_narrowed(select(func.count(HumanTask.id)), unrolled)) or 0
    return counts


@dataclass(frozen=True)
class _DefinitionChoices:
    """What one stored definition adds to the filters: its human steps (id, name, role) and the segments its
    targets name."""

    steps: tuple[tuple[str, str, Optional[str]], ...]
    segments: frozenset[str]


_choices: dict[str, _DefinitionChoices] = {}  # by content hash: the same package holds the same steps anywhere
_choices_lock = threading.Lock()


def _definition_choices(uow: UnitOfWork, hashes: list[str]) -> dict[str, _DefinitionChoices]:
    """Each deployed package's choices, decoded from its annotations the first time only (packages never change)."""
    missing = [h for h in hashes if h not in _choices]
    if missing:
        for content_hash, stored_annotations in uow.session.execute(
                select(ProcessDefinition.content_hash, ProcessDefinition.annotations)
                .where(ProcessDefinition.content_hash.in_(missing))):
            notes = ProcessAnnotations.from_dict(stored_annotations)
            found = _DefinitionChoices(
                tuple((s.step_id, s.name, s.role) for s in notes.steps.values() if s.step_id),
                frozenset(segment for s in notes.steps.values() for segment in s.segment_targets))
            with _choices_lock:
                _choices[content_hash] = found
    return {h: _choices[h] for h in hashes}


def _options(uow: UnitOfWork, process: Optional[str], roles: Optional[set[str]]) -> dict[str, Any]:
    """What the filters can be set to: deployed processes, their human steps (only those of ``roles``, unless it
    is None), known customer segments."""
    definitions = uow.session.execute(
        select(ProcessDefinition.content_hash, ProcessDefinition.key, ProcessDefinition.name)
        .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
    choices = _definition_choices(uow, [content_hash for content_hash, _key, _name in definitions])
    processes: dict[str, str] = {}
    steps: dict[str, str] = {}
    segments: set[str] = set()
    for content_hash, key, name in definitions:
        processes[key] = name
        segments |= choices[content_hash].segments
        if process in (None, key):
            steps.update((step_id, step_name) for step_id, step_name, role in choices[content_hash].steps
                         if roles is None or role in roles)
    segments |= known_segments(uow.session)
    return {"processes": sorted(processes.items(), key=lambda kv: kv[1]),
            "steps": sorted(steps.items(), key=lambda kv: kv[1]), "segments": sorted(segments)}
