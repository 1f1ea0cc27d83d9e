"""Which cases and tasks a dashboard looks at: the filters and their SQL conditions.

A dashboard shows one process, optionally narrowed to one version, a period,
a customer segment, a role or an assignee (docs/design.md). ``Filters``
holds those choices (and round-trips them through a URL's query string);
``resolve`` turns them into a ``Scope``: the matching definitions with their
annotations, and the SQL conditions every analytics query shares.

What the period means: cases *started* in it are counted as started, cases
*finished* in it give the end-to-end figures, tasks *completed* in it give the
step figures; "open now" and "at risk" are about the clock's now. A role or
assignee narrows the step figures to that role's or person's tasks, and the
case figures to the cases they worked on. Finished cases and completed tasks
are read from their facts (engine.analytics.facts: ``case_facts``, ``task_facts``),
open work and cases started from the engine's own rows (``cases``, ``open_tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping, Optional

from sqlalchemy import and_, exists, select, true
from sqlalchemy.sql.elements import ColumnElement

from engine.analytics.sql import moment, seconds_between
from engine.definitions.annotations import ProcessAnnotations, StepAnnotation
from engine.errors import NotFound
from engine.storage.tables import CaseFact, HumanTask, ProcessDefinition, ProcessInstance, TaskFact
from engine.storage.uow import UnitOfWork
from engine.time.calendar import WorkingCalendar, calendar_for
from engine.time.clock import as_utc

I, T = ProcessInstance, HumanTask
TF, CF = TaskFact, CaseFact
OPEN_CASE_STATUSES = ("running", "error")
ALL_VERSIONS = "all"  # the query-string value of a version filter that covers every version


class FilterInvalid(ValueError):
    """A filter's value that cannot be used; ``parameter`` is its name in the query string (``from``, ``to``,
    ``version``)."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Filters:
    """A dashboard's choices; ``start``/``end`` bound the period [start, end) in UTC."""

    process: str
    start: Optional[datetime] = None
    end: Optional[datetime] = None
    version: Optional[int] = None
    segment: Optional[str] = None
    role: Optional[str] = None
    assignee: Optional[str] = None

    def __post_init__(self) -> None:
        if self.start is not None:
            object.__setattr__(self, "start", as_utc(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", as_utc(self.end))
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise FilterInvalid("the period must end after it starts", "to")

    def but(self, **changes: Any) -> "Filters":
        """The same filters with some changed (e.g. ``but(version=2)``)."""
        return replace(self, **changes)

    @classmethod
    def from_params(cls, process: str, params: Mapping[str, str]) -> "Filters":
        """Filters from a query string: ``from``, ``to`` (dates, ``to`` inclusive, or ISO instants),
        ``version``, ``segment``, ``role``, ``assignee``; empty values are ignored. FilterInvalid for a bad value."""
        def text(name: str) -> Optional[str]:
            value = (params.get(name) or "").strip()
            return value or None

        version = text("version")
        if version == ALL_VERSIONS:
            version = None
        elif version is not None and not version.isdecimal():
            raise FilterInvalid(f"version must be a number or {ALL_VERSIONS!r}, not {version!r}", "version")
        return cls(process=process, start=_instant(text("from"), "from", end=False),
                   end=_instant(text("to"), "to", end=True), version=int(version) if version else None,
                   segment=text("segment"), role=text("role"), assignee=text("assignee"))

    def to_params(self) -> dict[str, str]:
        """The query-string form read back by ``from_params`` (dates when the bounds are midnights; ``version``
        is ``all`` when the filters cover every version)."""
        params: dict[str, str] = {"version": ALL_VERSIONS}
        if self.start is not None:
            params["from"] = _date_or_instant(self.start, end=False)
        if self.end is not None:
            params["to"] = _date_or_instant(self.end, end=True)
        for name in ("version", "segment", "role", "assignee"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        return params


def _instant(value: Optional[str], name: str, end: bool) -> Optional[datetime]:
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), timezone.utc)
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):  # not a date, or one at the calendar's very end
        raise FilterInvalid(f"{name} must be a date like 2026-01-31, not {value!r}", name) from None


def _date_or_instant(moment_: datetime, end: bool) -> str:
    if moment_.time() == time() and moment_.tzinfo is not None and moment_.utcoffset() == timedelta(0):
        return (moment_.date() - timedelta(days=1) if end else moment_.date()).isoformat()
    return moment_.isoformat()


@dataclass(frozen=True)
class Version:
    """One deployed version in scope."""

    id: int
    version: int
    name: str
    annotations: ProcessAnnotations
    calendar: WorkingCalendar


@dataclass(frozen=True)
class VersionTarget:
    """One version's target in seconds (None when that version sets none)."""

    version: int
    seconds: Optional[int]


@dataclass(frozen=True)
class Scope:
    """The filters resolved against the database: the versions they cover, newest first.

    ``reads`` keeps what the figures of one page share, read once: the sums of engine.analytics.rollups (per
    segment, whatever the segment filter), the open work of engine.analytics.risk, the rates; scopes that differ
    in the segment alone share it.
    """

    filters: Filters
    versions: tuple[Version, ...]
    now: datetime
    reads: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    ids: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(v.id for v in self.versions))

    @property
    def newest(self) -> Version:
        return self.versions[0]

    def but(self, **changes: Any) -> "Scope":
        """The same versions and now with some filters changed (not the process or version: those choose
        the versions, so change them through ``resolve``)."""
        if {"process", "version"} & set(changes):
            raise ValueError("resolve the filters again to change the process or version")
        return Scope(self.filters.but(**changes), self.versions, self.now,
                     self.reads if set(changes) == {"segment"} else {})

    @property
    def name(self) -> str:
        return self.newest.name

    def step(self, step_id: str) -> Optional[StepAnnotation]:
        """The step's annotation in the newest version that has it."""
        for version in self.versions:
            if step_id in version.annotations.steps:
                return version.annotations.steps[step_id]
        return None

    def step_ids(self) -> list[str]:
        """Every user task of the versions in scope, the newest version's first, in diagram order."""
        seen: dict[str, None] = {}
        for version in self.versions:
            for step_id in version.annotations.steps:
                seen.setdefault(step_id, None)
        return list(seen)

    @property
    def all_time(self) -> bool:
        """Whether the period is unbounded: every fact of the versions counts."""
        return self.filters.start is None and self.filters.end is None

    def process_target(self, segment: Optional[str] = None) -> Optional[int]:
        return self.newest.annotations.process.target_for(segment)

    def process_targets(self, segment: Optional[str] = None) -> tuple[VersionTarget, ...]:
        """Each version's end-to-end target for ``segment``, newest first: figures over several versions
        measure each case against its own version's."""
        return tuple(VersionTarget(v.version, v.annotations.process.target_for(segment)) for v in self.versions)

    def step_targets(self, step_id: str, segment: Optional[str] = None) -> tuple[VersionTarget, ...]:
        """Each version's target for the step (versions without it left out), newest first."""
        return tuple(VersionTarget(v.version, v.annotations.steps[step_id].target_for(segment))
                     for v in self.versions if step_id in v.annotations.steps)

    # -- conditions ----------------------------------------------------------------

    def cases(self, *, with_people: bool = True) -> list[ColumnElement[bool]]:
        """Conditions on ProcessInstance: the versions, the segment, and (``with_people``) the role/assignee."""
        f = self.filters
        conditions: list[ColumnElement[bool]] = [I.definition_id.in_(self.ids)]
        if f.segment:
            conditions.append(I.segment == f.segment)
        if with_people and (f.role or f.assignee):
            conditions.append(exists(select(T.id).where(T.instance_id == I.id, *self._people())))
        return conditions

    def open_tasks(self, *, joined: bool = False) -> list[ColumnElement[bool]]:
        """Conditions on HumanTask alone for its open tasks: the database starts from the few open tasks (by
        their status index) and looks each one's case up, rather than going through every case. ``joined``:
        the query joins each task's ProcessInstance already, and the conditions on the case are put on that
        join rather than on a second lookup of it."""
        f = self.filters
        case_conditions = [I.definition_id.in_(self.ids)]
        if f.segment:
            case_conditions.append(I.segment == f.segment)
        if joined:
            return [T.is_open(), *case_conditions, *self._people()]
        return [T.is_open(), select(I.id).where(I.id == T.instance_id, *case_conditions).correlate(T).exists(),
                *self._people()]

    def _people(self) -> list[ColumnElement[bool]]:
        f = self.filters
        conditions = []
        if f.role:
            conditions.append(T.role == f.role)
        if f.assignee:
            conditions.append(T.assignee == f.assignee)
        return conditions

    def in_period(self, column: Any) -> list[ColumnElement[bool]]:
        f = self.filters
        conditions = []
        if f.start is not None:
            conditions.append(column >= moment(f.start))
        if f.end is not None:
            conditions.append(column < moment(f.end))
        return conditions

    # -- on the facts (engine.analytics.facts) ---------------------------------------------------

    def task_facts(self, *, with_segment: bool = True) -> list[ColumnElement[bool]]:
        """Conditions on TaskFact: tasks of the process completed in the period, narrowed by the filters."""
        f = self.filters
        conditions: list[ColumnElement[bool]] = [TF.process == f.process, *self.in_period(TF.completed_at)]
        if f.version is not None:
            conditions.append(TF.definition_id.in_(self.ids))
        if with_segment and f.segment:
            conditions.append(TF.segment == f.segment)
        if f.role:
            conditions.append(TF.role == f.role)
        if f.assignee:
            conditions.append(TF.assignee == f.assignee)
        return conditions

    def case_facts(self, *, with_segment: bool = True) -> list[ColumnElement[bool]]:
        """Conditions on CaseFact: cases of the process finished in the period, narrowed by the filters."""
        f = self.filters
        conditions: list[ColumnElement[bool]] = [CF.process == f.process, *self.in_period(CF.ended_at)]
        if f.version is not None:
            conditions.append(CF.definition_id.in_(self.ids))
        if with_segment and f.segment:
            conditions.append(CF.segment == f.segment)
        people = [column == value for column, value in ((TF.role, f.role), (TF.assignee, f.assignee)) if value]
        if people:
            conditions.append(exists().where(TF.instance_id == CF.instance_id, *people))
        return conditions


def all_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The conjunction of ``conditions`` (true for none)."""
    return and_(true(), *conditions)


def share(part: Optional[float], whole: Optional[float]) -> Optional[float]:
    """``part`` ÷ ``whole`` to four decimals; None when there is nothing to divide."""
    if not whole or part is None:
        return None
    return round(float(part) / float(whole), 4)


def wait_seconds() -> ColumnElement[float]:
    """A task's wait: created → claimed."""
    return seconds_between(T.created_at, T.claimed_at)


def work_seconds() -> ColumnElement[float]:
    """A task's work: claimed → completed."""
    return seconds_between(T.claimed_at, T.completed_at)


def resolve(uow: UnitOfWork, filters: Filters) -> Scope:
    """The versions the filters cover (inside an open unit of work); NotFound for an unknown process or version.

    The facts are read as they are: ``engine.analytics.facts.fresh_scope`` brings them up to date first.
    """
    query = (select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.name)
             .where(ProcessDefinition.key == filters.process).order_by(ProcessDefinition.version.desc()))
    if filters.version is not None:
        query = query.where(ProcessDefinition.version == filters.version)
    rows = uow.session.execute(query).all()
    if not rows:
        if filters.version is not None:
            raise NotFound(f"process {filters.process!r} has no version {filters.version}")
        raise NotFound(f"no process {filters.process!r} is deployed")
    versions = []
    for row in rows:
        annotations = uow.annotations(row.id)
        versions.append(Version(row.id, row.version, row.name, annotations,
                                calendar_for(annotations.process.calendar)))
    return Scope(filters, tuple(versions), uow.clock.now())
