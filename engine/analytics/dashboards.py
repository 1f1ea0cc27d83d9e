"""A manager's dashboard of one process, gathered from the analytics modules.

The web app's dashboard pages call this module only: ``dashboard_options``
says what the filters may choose (versions, segments, roles, people),
``read_filters`` turns a query string into checked ``Filters`` (every problem
named), ``dashboard_page`` reads the options and gathers every figure of the page, and
``version_comparison`` sets two versions side by side. The figures come from
engine.analytics.cycle_times, engine.analytics.costs, engine.work.feedback, engine.analytics.risk and
engine.analytics.segments; what is read here directly is the process's versions and
the names the filters offer.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from sqlalchemy import Engine, select

from engine.analytics import costs, cycle_times, risk, satisfaction, segments
from engine.analytics.cycle_times import SlowCase, StepFigures
from engine.analytics.facts import fresh_scope
from engine.analytics.filters import FilterInvalid, Filters, resolve
from engine.errors import NotFound
from engine.storage.repository import known_segments
from engine.storage.tables import ProcessDefinition, User, UserRole
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory

SLOWEST = 10
AT_RISK_ROWS = 10


class FiltersRefused(ValueError):
    """A filter value the dashboard cannot use; ``problems`` names each one, ``parameters`` maps each query-string
    parameter refused to its problem, and ``options`` (when read) are what the filters may choose."""

    def __init__(self, problems: list[str], options: Optional[Options] = None,
                 parameters: Optional[Mapping[str, str]] = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.options = options
        self.parameters = dict(parameters or {})


@dataclass(frozen=True)
class VersionInfo:
    version: int
    deployed_at: datetime
    deployed_by: Optional[str]
    target_seconds: Optional[int]


@dataclass(frozen=True)
class Options:
    """What a process's dashboard filters may choose; versions newest first."""

    process: str
    name: str
    versions: tuple[VersionInfo, ...]
    segments: tuple[str, ...]
    roles: tuple[str, ...]
    assignees: tuple[str, ...]

    @property
    def newest(self) -> int:
        return self.versions[0].version


def dashboard_options(new_uow: UnitOfWorkFactory, key: str) -> Options:
    """The versions of ``key``, the segments customers are in, its lane roles and the people holding them."""
    with new_uow().reading() as uow:
        return _options(uow, key)


def _options(uow: UnitOfWork, key: str) -> Options:
    rows = uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.name,
               ProcessDefinition.deployed_at, ProcessDefinition.deployed_by)
        .where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise NotFound(f"no process {key!r} is deployed")
    versions, roles = [], set()
    for row in rows:
        notes = uow.annotations(row.id)
        versions.append(VersionInfo(row.version, row.deployed_at, row.deployed_by, notes.process.target_seconds))
        roles |= {step.role for step in notes.steps.values() if step.role}
    people = uow.session.scalars(
        select(User.name).distinct().join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(sorted(roles))).order_by(User.name)).all() if roles else []
    return Options(key, rows[0].name, tuple(versions), tuple(sorted(known_segments(uow.session))),
                   tuple(sorted(roles)), tuple(people))


def read_filters(options: Options, params: Mapping[str, str]) -> Filters:
    """Filters from a query string (``from``, ``to``, ``version``, ``segment``, ``role``, ``assignee``), each
    checked against ``options``; FiltersRefused naming every bad value and its parameter. Without a version, the newest;
    ``version=all`` covers every version."""
    refused: dict[str, str] = {}
    try:
        filters = Filters.from_params(options.process, params)
    except FilterInvalid as exc:
        refused[exc.parameter] = str(exc)
        filters = None
    version = (params.get("version") or "").strip()
    if version.isdecimal() and int(version) not in {v.version for v in options.versions}:
        refused["version"] = (f"{options.name} has no version {int(version)}; its versions are "
                              + ", ".join(str(v.version) for v in reversed(options.versions)))
    for name, known, what in (("segment", options.segments, "customer segment"),
                              ("role", options.roles, "role of this process"),
                              ("assignee", options.assignees, "person holding a role of this process")):
        value = (params.get(name) or "").strip()
        if value and value not in known:
            refused[name] = f"{value!r} is not a {what}" + (f" (choose one of: {', '.join(known)})" if known else "")
    if refused or filters is None:
        raise FiltersRefused(list(refused.values()), parameters=refused)
    return filters if version else filters.but(version=options.newest)


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard page shows for one set of filters."""

    filters: Filters
    options: Options
    summary: cycle_times.ProcessSummary
    trend: list[cycle_times.Week]
    steps: list[StepFigures]
    efficiency: cycle_times.Efficiency
    segments: segments.SegmentReport
    risk: risk.WorkAtRisk
    cost: costs.CostSummary
    rates: dict[str, Optional[float]]
    satisfaction: satisfaction.SatisfactionReport
    diagram_version: int
    diagram_xml: str
    heat_steps: list[StepFigures]  # the steps of the diagram's version alone, which the heat map colours
    step: Optional[StepFigures]
    slowest: list[SlowCase]


def dashboard_page(new_uow: UnitOfWorkFactory, key: str, params: Mapping[str, str],
                   step_id: Optional[str] = None) -> Dashboard:
    """Every figure of the dashboard of ``key`` for a query string (``read_filters``); with ``step_id``, that
    step's figures and slowest cases too.

    The diagram is the chosen version's, or the newest one's when the figures cover every version; the heat
    map on it colours that version's own figures.
    NotFound for a process not deployed; FiltersRefused, with the ``options``, for filters or a step the process
    does not have. The page is one unit of work: the options are read, the facts refreshed and the filters
    resolved once, and every figure is read on that scope.
    """
    with new_uow() as uow:
        options = _options(uow, key)
        try:
            return _figures(uow, read_filters(options, params), options, step_id)
        except (FiltersRefused, NotFound) as exc:
            problems = exc.problems if isinstance(exc, FiltersRefused) else [str(exc)]
            raise FiltersRefused(problems, options) from None


def _figures(uow: UnitOfWork, filters: Filters, options: Options, step_id: Optional[str]) -> Dashboard:
    scope = fresh_scope(uow, filters)  # the one facts refresh and scope of the page
    steps = cycle_times.steps_of(uow, scope)
    chosen = None
    if step_id:
        chosen = next((s for s in steps if s.step_id == step_id), None)
        if chosen is None:
            raise FiltersRefused([f"{options.name} has no step {step_id!r}"])
    rates = costs.rates_of(uow, scope)
    diagram_version = filters.version or options.newest
    heat_steps = steps if len(scope.versions) == 1 else \
        cycle_times.steps_of(uow, resolve(uow, filters.but(version=diagram_version)))
    return Dashboard(
        filters=filters, options=options, summary=cycle_times.summary_of(uow, scope),
        trend=cycle_times.trend_of(uow, scope), steps=steps, efficiency=cycle_times.efficiency_of(uow, scope),
        segments=segments.report_of(uow, scope), risk=risk.risk_of(uow, scope, limit=AT_RISK_ROWS),
        cost=costs.cost_of(uow, scope),
        rates={role: float(rates[role]) if rates.get(role) is not None else None for role in options.roles},
        satisfaction=satisfaction.satisfaction_of(uow, scope),
        diagram_version=diagram_version, diagram_xml=_version_xml(uow, options.process, diagram_version),
        heat_steps=heat_steps,
        step=chosen, slowest=cycle_times.slowest_of(uow, scope, step_id, SLOWEST) if chosen and step_id else [])


def version_xml(new_uow: UnitOfWorkFactory, key: str, version: int) -> str:
    """The BPMN of one version of a process; NotFound when there is no such version."""
    with new_uow().reading() as uow:
        return _version_xml(uow, key, version)


# A deployed version's BPMN never changes: each database's (engine's) are read once per process.
_XML: "weakref.WeakKeyDictionary[Engine, dict[tuple[str, int], str]]" = weakref.WeakKeyDictionary()


def _version_xml(uow: UnitOfWork, key: str, version: int) -> str:
    known = _XML.setdefault(uow.session.get_bind().engine, {})
    xml = known.get((key, version))
    if xml is None:
        xml = uow.session.scalar(select(ProcessDefinition.bpmn_xml).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version))
        if xml is None:
            raise NotFound(f"process {key!r} has no version {version}")
        known[(key, version)] = xml
    return xml


@dataclass(frozen=True)
class StepPair:
    """One step in two versions (None where a version does not have it)."""

    step_id: str
    name: str
    first: Optional[StepFigures]
    second: Optional[StepFigures]


@dataclass(frozen=True)
class Comparison:
    first: cycle_times.VersionFigures
    second: cycle_times.VersionFigures
    steps: tuple[StepPair, ...]


def version_comparison(new_uow: UnitOfWorkFactory, filters: Filters, options: Options, first: int,
                       second: int) -> Comparison:
    """Two versions' figures side by side, with their steps paired by BPMN id (the second version's, by share
    of its time, then those only the first has);
    FiltersRefused for a version the process does not have or the same version twice."""
    known = {v.version for v in options.versions}
    problems = [f"{options.name} has no version {v}" for v in dict.fromkeys((first, second)) if v not in known]
    if not problems and first == second:
        problems.append("choose two different versions to compare")
    if problems:
        raise FiltersRefused(problems)
    one, two = cycle_times.compare_versions(new_uow(), filters.but(version=None), first, second)
    by_id = [{s.step_id: s for s in figures.steps} for figures in (one, two)]
    pairs = []
    for step_id in dict.fromkeys([s.step_id for s in two.steps] + [s.step_id for s in one.steps]):
        a, b = by_id[0].get(step_id), by_id[1].get(step_id)
        pairs.append(StepPair(step_id, (b or a).name if (b or a) else step_id, a, b))
    return Comparison(one, two, tuple(pairs))
