"""SQL building blocks for the analytics, the same on SQLite and PostgreSQL.

- ``seconds_between(a, b)``: b − a in seconds, as a float (SQLite: julianday
  arithmetic; PostgreSQL: ``EXTRACT(EPOCH …)``).
- ``week_start(ts)``: the Monday (a date) of the ISO week holding ``ts``.
- ``percentiles``: the median and 90th percentile of a column per group, as
  PostgreSQL's ``percentile_cont`` defines them (linear interpolation between
  the two values around rank ``(n − 1) × p``), computed by the database: on
  PostgreSQL with ``percentile_cont`` itself; on SQLite, which has no such
  aggregate, by counting each group and then reading the two values at that
  rank with ``ORDER BY … LIMIT 2 OFFSET k``, which an index on (group columns,
  the metric) answers by walking k entries, without sorting. The fact tables
  (engine.facts) have such an index per metric.

No row of the underlying data reaches Python: only counts and the picked values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional, Sequence

from sqlalchemy import Date, Float, Integer, bindparam, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement

from engine.tables import UTCDateTime

PERCENTS = (50, 90)


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


class week_start(FunctionElement[date]):  # noqa: N801
    """The Monday of the week of a timestamp, as a date (SQLite gives it as text, see ``as_date``)."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start)
def _week_generic(element: week_start, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"CAST(date_trunc('week', {compiler.process(ts, **kw)}) AS DATE)"


@compiles(week_start, "sqlite")
def _week_sqlite(element: week_start, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"date({compiler.process(ts, **kw)}, 'weekday 0', '-6 days')"


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


# -- percentiles -------------------------------------------------------------------

def percentiles(session: Any, metric: Any, where: Sequence[Any], groups: Sequence[Any] = (),
                counts: Optional[dict[tuple, int]] = None) -> dict[tuple, "Spread"]:
    """The median and p90 of ``metric`` over the rows matching ``where``, per distinct value of ``groups``.

    ``counts``, when the caller has them already, is each group's number of non-NULL values of ``metric``.
    """
    conditions = [*where, metric.is_not(None)]
    width = len(groups)
    if session.get_bind().dialect.name == "postgresql":
        query = select(*groups, func.count(metric),
                       *[func.percentile_cont(p / 100).within_group(metric) for p in PERCENTS]).where(*conditions)
        return {tuple(row[:width]): Spread(int(row[width]), *(None if v is None else round(float(v), 6)
                                                              for v in row[width + 1:]))
                for row in session.execute(query.group_by(*groups))}
    return walked_percentiles(session, metric, where, groups, counts)


def walked_percentiles(session: Any, metric: Any, where: Sequence[Any], groups: Sequence[Any] = (),
                       counts: Optional[dict[tuple, int]] = None) -> dict[tuple, "Spread"]:
    """``percentiles`` read by walking an index on (group columns, metric), on either database.

    SQLite has no other way; on PostgreSQL it beats ``percentile_cont``, which sorts every row, when
    such an index exists and the groups are few.
    """
    conditions = [*where, metric.is_not(None)]
    width = len(groups)
    connection = session.connection()
    pick = select(metric).where(*conditions, *[group == bindparam(f"group_{i}") for i, group in enumerate(groups)]) \
        .order_by(metric).limit(2).offset(bindparam("skip", type_=Integer))
    if counts is None:
        counts = {tuple(row[:width]): int(row[width]) for row in
                  connection.execute(select(*groups, func.count(metric)).where(*conditions).group_by(*groups))}
    found = {}
    for key, n in counts.items():
        if not n:
            continue
        values = {f"group_{i}": value for i, value in enumerate(key)}
        if any(value is None for value in key):
            continue  # a group without a value (no segment) has no percentile to show
        picked = []
        for p in PERCENTS:
            pair = connection.execute(pick, {**values, "skip": (n - 1) * p // 100}).scalars().all()
            picked.append(_between(pair, ((n - 1) * p % 100) / 100))
        found[key] = Spread(n, *picked)
    return found


def spreads(session: Any, metrics: dict[str, Any], where: Sequence[Any], groups: Sequence[Any] = (),
            counts: Optional[dict[str, dict[tuple, int]]] = None) -> dict[str, dict[tuple, "Spread"]]:
    """``percentiles`` of several metrics over the same rows (PostgreSQL: in one pass over them)."""
    if session.get_bind().dialect.name != "postgresql":
        return {name: percentiles(session, column, where, groups, (counts or {}).get(name))
                for name, column in metrics.items()}
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
