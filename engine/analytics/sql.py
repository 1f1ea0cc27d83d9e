"""SQL building blocks for the analytics, the same on SQLite and PostgreSQL.

- ``seconds_between(a, b)``: b − a in seconds, as a float (SQLite: julianday
  arithmetic; PostgreSQL: ``EXTRACT(EPOCH …)``).
- ``day_of(ts)``: the UTC day (a date) of ``ts``; ``week_start(ts)``: the
  Monday (a date) of the ISO week holding ``ts``.
- ``bucket_of(value, edges)``: how many of the ascending ``edges`` lie at or
  below ``value`` (PostgreSQL: ``width_bucket`` over an array; SQLite: a
  ``CASE`` of the edges in turn).
- ``insert_for(session, table)``: an INSERT that can skip or merge rows whose
  key is already there (``ON CONFLICT``, on both databases).
- ``percentiles``: the median and 90th percentile of a column per group, as
  PostgreSQL's ``percentile_cont`` defines them (linear interpolation between
  the two values around rank ``(n − 1) × p``), computed by the database: on
  PostgreSQL with ``percentile_cont`` itself; on SQLite, which has no such
  aggregate, by counting each group (or taking the caller's counts) and then
  reading the two values at that rank with ``ORDER BY … LIMIT 2 OFFSET k``,
  which an index on (group columns, the metric) answers by walking k entries,
  without sorting; from the top end (``DESC``) when the rank is nearer to it,
  so a p90 walks a tenth of the entries, not nine tenths, or from the bucket of
  values that holds the rank when the caller counted them per bucket
  (engine.analytics.rollups). The fact tables (engine.analytics.facts) have such an index per
  metric. PostgreSQL walks too when the caller says it pays, every walk of a call in one
  statement (``UNION ALL``): there each statement is a round trip to the server.

No row of the underlying data reaches Python: only counts and the picked values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional, Sequence

from sqlalchemy import Date, Float, Integer, bindparam, func, literal, literal_column, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement

from engine.storage.types import UTCDateTime

PERCENTS = (50, 90)
Buckets = dict[tuple, list[tuple[Optional[float], int]]]  # per group: (a bucket's lowest value, its count)…


class seconds_between(FunctionElement[float]):  # noqa: N801 - used like a SQL function
    """``b − a`` in seconds (a float); NULL when either is NULL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_generic(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return (f"CAST(EXTRACT(EPOCH FROM ({compiler.process(b, **kw)} - {compiler.process(a, **kw)}))"
            " AS DOUBLE PRECISION)")


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    # SQLite keeps julian days to the millisecond: rounding there makes whole seconds exact.
    return f"ROUND((julianday({compiler.process(b, **kw)}) - julianday({compiler.process(a, **kw)})) * 86400.0, 3)"


class _OfTimestamp(FunctionElement[date]):
    """A date worked out from one timestamp: ``generic`` and ``sqlite`` are its SQL, ``{}`` the timestamp."""

    type = Date()
    inherit_cache = True
    generic = sqlite = "{}"


@compiles(_OfTimestamp)
def _of_timestamp_generic(element: _OfTimestamp, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return element.generic.format(compiler.process(ts, **kw))


@compiles(_OfTimestamp, "sqlite")
def _of_timestamp_sqlite(element: _OfTimestamp, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return element.sqlite.format(compiler.process(ts, **kw))


class day_of(_OfTimestamp):  # noqa: N801 - used like a SQL function
    """The UTC day of a timestamp, as a date (SQLite gives it as ISO text, see ``as_date``)."""

    inherit_cache = True
    name = "day_of"
    generic, sqlite = "CAST({} AS DATE)", "date({})"


class week_start(_OfTimestamp):  # noqa: N801
    """The Monday of the week of a timestamp, as a date (SQLite gives it as text, see ``as_date``)."""

    inherit_cache = True
    name = "week_start"
    generic, sqlite = "CAST(date_trunc('week', {}) AS DATE)", "date({}, 'weekday 0', '-6 days')"


class bucket_of(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """How many of ``edges`` (ascending numbers) lie at or below the value: its bucket. The edges are written into
    the SQL, so a statement of several such columns stays short and free of parameters."""

    type = Integer()
    inherit_cache = True
    name = "bucket_of"

    def __init__(self, value: Any, edges: Sequence[float]) -> None:
        super().__init__(value, *[literal_column(repr(float(edge))) for edge in edges])


@compiles(bucket_of)
def _bucket_of_generic(element: bucket_of, compiler: Any, **kw: Any) -> str:
    value, *edges = [compiler.process(clause, **kw) for clause in element.clauses]
    return f"width_bucket(CAST({value} AS DOUBLE PRECISION), ARRAY[{', '.join(edges)}]::DOUBLE PRECISION[])"


@compiles(bucket_of, "sqlite")
def _bucket_of_sqlite(element: bucket_of, compiler: Any, **kw: Any) -> str:
    value, *edges = [compiler.process(clause, **kw) for clause in element.clauses]
    whens = " ".join(f"WHEN {value} < {edge} THEN {index}" for index, edge in enumerate(edges))
    return f"CASE {whens} ELSE {len(edges)} END"


def as_date(value: Any) -> Optional[date]:
    """A date from what the database returned for ``week_start`` (a date, a datetime or ISO text)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def moment(value: datetime) -> ColumnElement[datetime]:
    """A bound instant, stored the way the UTC columns store theirs."""
    return literal(value, UTCDateTime())


def insert_for(session: Any, table: Any) -> Any:
    """An INSERT of the session's database that takes ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table)


# -- percentiles -------------------------------------------------------------------

def percentiles(session: Any, metric: Any, where: Sequence[Any], groups: Sequence[Any] = (),
                counts: Optional[dict[tuple, int]] = None, *, walk: bool = False,
                percents: Sequence[int] = PERCENTS, buckets: Optional[Buckets] = None) -> dict[tuple, "Spread"]:
    """The median and p90 of ``metric`` over the rows matching ``where``, per distinct value of ``groups``.

    ``counts``, when the caller has them already, is each group's number of non-NULL values of ``metric``.
    PostgreSQL sorts the matching rows (``percentile_cont``) unless ``walk``: the caller knows that an index
    lists each group's values in order and that ``where`` keeps most of them (no period), so that walking
    the index reads fewer rows than a sort of them all. ``buckets``, when the caller has them, is per group
    how many of those values lie in each bucket, as (its lowest value, how many) from the lowest bucket up
    (None: no lower bound): a walk then starts at the bucket that holds the rank sought. Only ``percents``
    are read.
    """
    if session.get_bind().dialect.name != "postgresql" or walk:
        return _walked(session, metric, where, groups, counts, percents, buckets)
    width = len(groups)
    query = select(*groups, func.count(metric), *[func.percentile_cont(p / 100).within_group(metric)
                                                  for p in percents]).where(*where, metric.is_not(None))
    found = {}
    for row in session.execute(query.group_by(*groups)):
        picked = dict(zip(percents, (None if v is None else round(float(v), 6) for v in row[width + 1:])))
        found[tuple(row[:width])] = Spread(int(row[width]), *(picked.get(p) for p in PERCENTS))
    return found


def spreads(session: Any, metrics: dict[str, Any], where: Sequence[Any], groups: Sequence[Any] = (),
            counts: Optional[dict[str, dict[tuple, int]]] = None, *, walk: bool = False,
            buckets: Optional[dict[str, Optional[Buckets]]] = None) -> dict[str, dict[tuple, "Spread"]]:
    """``percentiles`` of several metrics (by name) over the same rows; PostgreSQL sorts them in one pass, or,
    with ``walk``, walks them all in one statement. ``counts`` and ``buckets`` are by metric name."""
    if session.get_bind().dialect.name != "postgresql":
        return {name: percentiles(session, column, where, groups, (counts or {}).get(name), walk=walk,
                                  buckets=(buckets or {}).get(name)) for name, column in metrics.items()}
    if walk:  # every metric's walks in one statement
        planned = {name: _planned(session, column, where, groups, (counts or {}).get(name), PERCENTS,
                                  (buckets or {}).get(name)) for name, column in metrics.items()}
        pairs = iter(_walks(session.connection(), [walk for walks in planned.values() for walk in walks]))
        return {name: _picked(walks, [next(pairs) for _ in walks]) for name, walks in planned.items()}
    width = len(groups)
    parts = []
    for column in metrics.values():
        parts.append(func.count(column))
        parts += [func.percentile_cont(p / 100).within_group(column) for p in PERCENTS]
    found: dict[str, dict[tuple, Spread]] = {name: {} for name in metrics}
    for row in session.execute(select(*groups, *parts).where(*where).group_by(*groups)):
        key = tuple(row[:width])
        for index, name in enumerate(metrics):
            n, *values = row[width + index * 3: width + index * 3 + 3]
            if n:
                found[name][key] = Spread(int(n), *(round(float(v), 6) for v in values))
    return found


def _walked(session: Any, metric: Any, where: Sequence[Any], groups: Sequence[Any],
            counts: Optional[dict[tuple, int]], percents: Sequence[int],
            buckets: Optional[Buckets]) -> dict[tuple, "Spread"]:
    """``percentiles`` read by walking an index on (group columns, metric), on either database: from the
    bucket holding the rank when there are ``buckets``, else from the nearer end (``_planned``, ``_walks``)."""
    walks = _planned(session, metric, where, groups, counts, percents, buckets)
    return _picked(walks, _walks(session.connection(), walks))


def _planned(session: Any, metric: Any, where: Sequence[Any], groups: Sequence[Any],
             counts: Optional[dict[tuple, int]], percents: Sequence[int],
             buckets: Optional[Buckets]) -> list["_Walk"]:
    """The walks that read ``percents`` of ``metric`` per group (counting the groups first without ``counts``
    or ``buckets``)."""
    conditions = [*where, metric.is_not(None)]
    width = len(groups)
    if buckets is not None:
        counts = {key: sum(count for _, count in counted) for key, counted in buckets.items()}
    elif counts is None:
        counts = {tuple(row[:width]): int(row[width]) for row in session.connection().execute(
            select(*groups, func.count(metric)).where(*conditions).group_by(*groups))}
    walks = []
    for key, n in counts.items():
        if not n or any(value is None for value in key):
            continue  # a group without a value (no segment) has no percentile to show
        for p in percents:
            rank = (n - 1) * p // 100
            low, below = _bucket_of(buckets[key], rank) if buckets is not None else (None, 0)
            downward = low is None and buckets is None and rank > (n - 1) // 2  # nearer the top: rank + 1, rank
            walks.append(_Walk(metric, conditions, tuple(groups), key, p, n, downward,
                               max(n - 2 - rank, 0) if downward else rank - below, low))
    return walks


def _picked(walks: Sequence["_Walk"], pairs: Sequence[list[Any]]) -> dict[tuple, "Spread"]:
    """The spreads the walks' values give, per group."""
    picked: dict[tuple, tuple[int, dict[int, Optional[float]]]] = {}
    for walk, pair in zip(walks, pairs):
        rank, fraction = (walk.n - 1) * walk.p // 100, ((walk.n - 1) * walk.p % 100) / 100
        if walk.downward:
            pair = pair[::-1] if rank < walk.n - 1 else pair[:1]
        picked.setdefault(walk.key, (walk.n, {p: None for p in PERCENTS}))[1][walk.p] = _between(pair, fraction)
    return {key: Spread(n, *values.values()) for key, (n, values) in picked.items()}


@dataclass(frozen=True)
class _Walk:
    """One walk down a group's index of ``metric``: the two values from ``skip`` on (from ``low`` up, if set),
    upward or downward, for the ``p``-th percentile of the group's ``n`` values."""

    metric: Any
    conditions: Sequence[Any]
    groups: tuple[Any, ...]
    key: tuple
    p: int
    n: int
    downward: bool
    skip: int
    low: Optional[float]


def _walks(connection: Any, walks: Sequence[_Walk]) -> list[list[Any]]:
    """Each walk's values, in its order: one statement per walk, or on PostgreSQL all in one (UNION ALL), since
    each statement is a round trip to a server that may be busy."""
    if connection.dialect.name != "postgresql" or len(walks) < 2:
        statements: dict[int, tuple[Any, Any, Any]] = {}
        pairs = []
        for walk in walks:
            found = statements.get(id(walk.conditions))
            if found is None:
                found = statements[id(walk.conditions)] = _statements(walk)
            upward, downward, upward_from = found
            values = {**{f"group_{i}": value for i, value in enumerate(walk.key)}, "skip": walk.skip}
            statement = downward if walk.downward else upward if walk.low is None else upward_from
            pairs.append(connection.execute(statement, values if walk.low is None else {**values, "low": walk.low})
                         .scalars().all())
        return pairs
    parts = []
    for index, walk in enumerate(walks):
        metric = walk.metric
        chosen = [*walk.conditions, *[group == value for group, value in zip(walk.groups, walk.key)]]
        if walk.low is not None:
            chosen.append(metric >= literal(walk.low, metric.type))
        parts.append(select(literal(index, Integer).label("walk"), metric.label("value")).where(*chosen)
                     .order_by(metric.desc() if walk.downward else metric).limit(2).offset(walk.skip))
    found: list[list[Any]] = [[] for _ in walks]
    for index, value in connection.execute(union_all(*parts)):
        found[index].append(value)
    for walk, values in zip(walks, found):
        values.sort(reverse=walk.downward)
    return found


def _statements(walk: _Walk) -> tuple[Any, Any, Any]:
    """The walks of a group's index of ``walk.metric`` (upward, downward, upward from a value), the group's
    values and the offset bound when they run."""
    metric = walk.metric
    chosen = [*walk.conditions, *[group == bindparam(f"group_{i}") for i, group in enumerate(walk.groups)]]
    skip = bindparam("skip", type_=Integer)
    return (select(metric).where(*chosen).order_by(metric).limit(2).offset(skip),
            select(metric).where(*chosen).order_by(metric.desc()).limit(2).offset(skip),
            select(metric).where(*chosen, metric >= bindparam("low", type_=metric.type))
            .order_by(metric).limit(2).offset(skip))


def _bucket_of(counted: list[tuple[Optional[float], int]], rank: int) -> tuple[Optional[float], int]:
    """The lowest value of the bucket that holds ``rank`` (None: the first), and how many values lie below it."""
    below = 0
    for low, count in counted:
        if rank < below + count:
            return low, below
        below += count
    return None, 0


def _between(pair: Sequence[Any], fraction: float) -> Optional[float]:
    if not pair:
        return None
    low = float(pair[0])
    value = low if fraction == 0 or len(pair) < 2 else low + fraction * (float(pair[1]) - low)
    return round(value, 6)


@dataclass(frozen=True)
class Spread:
    """How many values, and their median and 90th percentile (None when there are none)."""

    n: int
    median: Optional[float]
    p90: Optional[float]

    @classmethod
    def empty(cls) -> "Spread":
        return cls(0, None, None)
