"""The inbox: a user's tasks and the queues of their roles, most urgent first.

Everything is counted and ordered in SQL over the ``human_task`` indexes, one
page at a time, so the inbox stays fast with a hundred thousand open tasks
(``bench/inbox.py`` measures it). Tasks without a target come after those
with one, so that the ordering by ``due_at`` can walk an index. Each statement
is built once for each shape a page asks for (which filters are set, how many
roles) and run on the driver's cursor (engine.storage.driver_statements), as
the inbox is opened before each piece of work.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select

from engine.definitions.annotations import ProcessAnnotations
from engine.storage.driver_statements import Prepared
from engine.storage.repository import KNOWN_SEGMENTS
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

    ``view`` is ``mine`` (assigned to ``user``), ``queues`` (unassigned tasks of ``queue_roles``) or ``all``
    (every open task; only when ``everyone``, for managers); ``filters.role`` narrows each to that role's tasks.
    Any other ``view`` (e.g. ``auto``) means ``mine``, or ``queues`` when nothing is assigned to the user.
    Counts of every view and of each queue honour the process, step and segment filters.
    """
    roles = sorted(set(queue_roles))
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    narrowed = _Narrowed(filters)
    with uow.reading():
        now = uow.clock.now()
        counts, due = _counts(uow, user, roles, everyone, narrowed)
        if view not in VIEWS or (view == "all" and not everyone):
            view = "queues" if counts["mine"] == 0 and counts["queued"] > 0 else "mine"
        wanted = [role for role in roles if filters.role in (None, role)] if view == "queues" else []
        if view == "queues":
            total_open = sum(counts["queues"][role] for role in wanted)
            total_due = sum(due["queues"].get(role, 0) for role in wanted)
        elif filters.role:
            total_open, total_due = _counted(uow, narrowed.of(view, user, []))
        else:
            total_open, total_due = counts[view], due[view]
        queueless = view == "queues" and not wanted  # no queue of the user's roles (or of the role asked for)
        ids = [] if queueless else _page_ids(uow, narrowed.of(view, user, wanted), total_due,
                                             (page - 1) * per_page, per_page)
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
    narrowed = _Narrowed(InboxFilter())
    wanted = [narrowed.of("mine", user, [])] + ([narrowed.of("queues", user, roles)] if roles else [])
    with uow.reading():
        for shown in wanted:
            ids = _page_ids(uow, shown, 0, 0, 1)
            if ids:
                return _rows(uow, ids, uow.clock.now())[0]
    return None


_statements: dict[tuple[Any, ...], Prepared] = {}  # by shape: what a statement is for, its filters, its roles


def _prepared(shape: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Prepared:
    """The statement of this shape, built by ``build()`` the first time; on PostgreSQL planned for each query's
    values (one role's queue and every open task differ a thousandfold)."""
    found = _statements.get(shape)
    if found is None:
        found = _statements.setdefault(shape, Prepared(build(), planned_each_time=True))
    return found


def _listed(name: str, count: int) -> list[Any]:
    """``count`` bound values called ``name_0``, ``name_1`` … (an IN list of a fixed length)."""
    return [bindparam(f"{name}_{i}") for i in range(count)]


def _values(name: str, listed: Iterable[Any]) -> dict[str, Any]:
    return {f"{name}_{i}": value for i, value in enumerate(listed)}


class _Narrowed:
    """Open tasks narrowed by the filters, as statements of one shape per combination of filters set."""

    def __init__(self, filters: InboxFilter) -> None:
        self.filters = filters
        self.shape = (bool(filters.process), bool(filters.step), bool(filters.segment), bool(filters.role))
        self.values = {"process": filters.process, "step": filters.step, "segment": filters.segment,
                       "role": filters.role}

    def query(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to open tasks; the process and segment filters look each open task's case up only
        when set.

        Each task's own case is looked up by its key, rather than every case of
        the process or segment listed first: those include every finished case,
        which on SQLite made a segment-filtered queue take 0.9 s beside 400,000
        completed tasks, and 0.1 s this way (bench/README.md).
        """
        query = query.where(HumanTask.is_open())
        if self.filters.step:
            query = query.where(HumanTask.step_id == bindparam("step"))
        if self.filters.role:
            query = query.where(HumanTask.role == bindparam("role"))
        if self.filters.process or self.filters.segment:
            case = select(ProcessInstance.id).where(ProcessInstance.id == HumanTask.instance_id).correlate(HumanTask)
            if self.filters.process:
                case = case.where(ProcessInstance.definition_id.in_(
                    select(ProcessDefinition.id).where(ProcessDefinition.key == bindparam("process"))
                    .scalar_subquery()))
            if self.filters.segment:
                case = case.where(ProcessInstance.segment == bindparam("segment"))
            query = query.where(case.exists())
        return query

    def of(self, view: str, user: str, roles: list[str]) -> "_Shown":
        """The tasks of one view: the user's (``mine``), unassigned ones of ``roles`` (``queues``), or all."""
        return _Shown(self, view, len(roles), {**self.values, "user": user, **_values("want", roles)})


@dataclass(frozen=True)
class _Shown:
    """The open tasks of one view, narrowed: statements built on them, and their bound values."""

    narrowed: _Narrowed
    view: str
    roles: int
    values: dict[str, Any]

    def statement(self, purpose: str, build: Callable[[Select[Any]], Select[Any]]) -> Prepared:
        """The statement ``build(query)`` of the tasks of this view, once per shape."""
        return _prepared((purpose, self.view, self.roles, self.narrowed.shape), lambda: build(
            self.narrowed.query(select(HumanTask.id)).where(*self._where())))

    def _where(self) -> list[ColumnElement[bool]]:
        if self.view == "mine":
            return [HumanTask.assignee == bindparam("user")]
        if self.view == "queues":
            return [HumanTask.assignee.is_(None), HumanTask.role.in_(_listed("want", self.roles))]
        return []


def _counted(uow: UnitOfWork, shown: _Shown) -> tuple[int, int]:
    """How many tasks the view shows, and how many of them have a due time."""
    counted = shown.statement("count", lambda query: query.with_only_columns(
        func.count(HumanTask.id), func.count(HumanTask.due_at)))
    found = uow.cases.sql.first(counted, shown.values)
    return (found[0] or 0, found[1] or 0) if found else (0, 0)


def _page_ids(uow: UnitOfWork, shown: _Shown, total_due: int, offset: int, limit: int) -> list[int]:
    """Task ids of one page: tasks with a due time by due time, then those without one by id."""
    window = {"offset": offset, "limit": limit}
    due = shown.statement("due", lambda query: query.where(HumanTask.due_at.is_not(None)).order_by(
        HumanTask.due_at, HumanTask.id).offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer)))
    ids = [task_id for (task_id,) in uow.cases.sql.all(due, {**shown.values, **window})]
    if len(ids) < limit:
        undue = shown.statement("undue", lambda query: query.where(HumanTask.due_at.is_(None)).order_by(
            HumanTask.id).offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer)))
        window = {"offset": max(offset - total_due, 0), "limit": limit - len(ids)}
        ids += [task_id for (task_id,) in uow.cases.sql.all(undue, {**shown.values, **window})]
    return ids


_ROW_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.step_id, HumanTask.name, HumanTask.role,
                HumanTask.assignee, HumanTask.customer_value, HumanTask.value_class, HumanTask.target_seconds,
                HumanTask.created_at, HumanTask.due_at, HumanTask.claimed_at, HumanTask.status,
                Customer.id, Customer.name, Customer.segment,
                ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)


def _rows(uow: UnitOfWork, ids: list[int], now: datetime) -> list[dict[str, Any]]:
    if not ids:
        return []
    statement = _prepared(("rows", len(ids)), lambda: (
        select(*_ROW_COLUMNS)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(Customer, Customer.id == ProcessInstance.customer_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(HumanTask.id.in_(_listed("id", len(ids))))))
    by_id = {row[0]: row for row in uow.cases.sql.all(statement, _values("id", ids))}
    rows = []
    for task_id in ids:
        (_, instance_id, step_id, name, role, assignee, customer_value, value_class, target_seconds, created_at,
         due_at, claimed_at, status, customer_id, customer_name, segment, key, process_name, version) = by_id[task_id]
        rows.append({
            "id": task_id, "instance_id": instance_id, "step_id": step_id, "name": name,
            "role": role, "assignee": assignee, "customer_value": customer_value,
            "value_class": value_class, "target_seconds": target_seconds,
            "created_at": created_at, "due_at": due_at, "claimed_at": claimed_at,
            "status": status, "customer": {"id": customer_id, "name": customer_name, "segment": segment},
            "process": {"key": key, "name": process_name, "version": version},
            "waited_seconds": max(int((now - created_at).total_seconds()), 0),
            "urgency": urgency(due_at, target_seconds, now),
        })
    return rows


def _counts(uow: UnitOfWork, user: str, roles: list[str], everyone: bool,
            narrowed: _Narrowed) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open tasks of each view and of each of ``roles``' queues, by the process, step and segment filters; and,
    in the same shape, how many of them have a due time (a page's tasks without one come after those)."""
    unrolled = _Narrowed(InboxFilter(narrowed.filters.process, narrowed.filters.step, narrowed.filters.segment))
    values = {**unrolled.values, "user": user, **_values("role", roles)}
    mine = _prepared(("mine", unrolled.shape), lambda: unrolled.query(
        select(func.count(HumanTask.id), func.count(HumanTask.due_at))).where(HumanTask.assignee == bindparam("user")))
    mine_count, mine_due = uow.cases.sql.first(mine, values) or (0, 0)
    queues, queues_due = {role: 0 for role in roles}, {}
    if roles:
        grouped = _prepared(("queues", len(roles), unrolled.shape), lambda: unrolled.query(
            select(HumanTask.role, func.count(HumanTask.id), func.count(HumanTask.due_at))).where(
            HumanTask.assignee.is_(None), HumanTask.role.in_(_listed("role", len(roles)))).group_by(HumanTask.role))
        for role, count, with_due in uow.cases.sql.all(grouped, values):
            queues[role], queues_due[role] = count, with_due
    counts: dict[str, Any] = {"mine": mine_count or 0, "queues": queues, "queued": sum(queues.values())}
    due: dict[str, Any] = {"mine": mine_due or 0, "queues": queues_due}
    if everyone:
        every = _prepared(("all", unrolled.shape), lambda: unrolled.query(
            select(func.count(HumanTask.id), func.count(HumanTask.due_at))))
        all_count, all_due = uow.cases.sql.first(every, values) or (0, 0)
        counts["all"], due["all"] = all_count or 0, all_due or 0
    return counts, due


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


_DEFINITIONS = Prepared(select(ProcessDefinition.content_hash, ProcessDefinition.key, ProcessDefinition.name)
                       .order_by(ProcessDefinition.key, ProcessDefinition.version))
_SEGMENTS = Prepared(KNOWN_SEGMENTS)


def _options(uow: UnitOfWork, process: Optional[str], roles: Optional[set[str]]) -> dict[str, Any]:
    """What the filters can be set to: deployed processes and their human steps (only those with steps of
    ``roles``, unless it is None), known customer segments."""
    definitions = uow.cases.sql.all(_DEFINITIONS, {})
    choices = _definition_choices(uow, [content_hash for content_hash, _key, _name in definitions])
    processes: dict[str, str] = {}
    steps: dict[str, str] = {}
    segments: set[str] = set()
    for content_hash, key, name in definitions:
        if roles is None or any(role in roles for _step_id, _step_name, role in choices[content_hash].steps):
            processes[key] = name
        segments |= choices[content_hash].segments
        if process in (None, key):
            steps.update((step_id, step_name) for step_id, step_name, role in choices[content_hash].steps
                         if roles is None or role in roles)
    segments |= {segment for (segment,) in uow.cases.sql.all(_SEGMENTS, {})}
    return {"processes": sorted(processes.items(), key=lambda kv: kv[1]),
            "steps": sorted(steps.items(), key=lambda kv: kv[1]), "segments": sorted(segments)}
