"""What a case costs: its work time priced at each role's hourly rate.

An admin sets an hourly rate per role (``set_role_rate``); the cost of a case
is the sum over its completed tasks of work time (claimed → completed) × the
rate of the task's role, at today's rates. Waiting costs nothing here: it is
the customer who pays for it, and the cycle-time figures show it. Each
finished case's cost is kept in its fact (engine.analytics.facts); changing a rate
prices again the cases that role worked on, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from sqlalchemy import select

from engine.analytics.facts import fresh_scope, reprice
from engine.analytics.filters import Filters, Scope
from engine.analytics.rollups import added, case_sums, week_spreads
from engine.analytics.sql import Spread, as_date, percentiles
from engine.errors import NotAllowed, NotFound
from engine.storage.tables import CaseFact, RoleRate
from engine.storage.uow import UnitOfWork

CF = CaseFact
RATE_SETTERS = frozenset({"admin"})


def set_role_rate(uow: UnitOfWork, role: str, hourly_rate: float | str | Decimal, actor: str) -> None:
    """An admin sets (or changes) the hourly rate of a role; ValueError for a rate that is not a sum of money."""
    role = role.strip()
    if not role:
        raise ValueError("name the role whose rate this is")
    try:
        rate = Decimal(str(hourly_rate)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"the hourly rate must be a number, not {hourly_rate!r}") from None
    if not rate.is_finite() or rate < 0 or rate >= Decimal("1e10"):
        raise ValueError(f"the hourly rate must be zero or more, not {hourly_rate!r}")
    with uow:
        roles = uow.cases.user_roles(actor)
        if roles is None:
            raise NotFound(f"no user named {actor!r}")
        if not roles & RATE_SETTERS:
            raise NotAllowed(f"the user {actor} is not an admin and cannot set hourly rates")
        row = uow.session.get(RoleRate, role)
        if row is None:
            uow.session.add(RoleRate(role=role, hourly_rate=rate, updated_at=uow.clock.now(), updated_by=actor))
        else:
            row.hourly_rate, row.updated_at, row.updated_by = rate, uow.clock.now(), actor
        uow.flush()
        reprice(uow, role)
        uow.commit()


def role_rates(uow: UnitOfWork) -> dict[str, float]:
    """Every role's hourly rate, by role."""
    with uow.reading():
        return {role: float(rate) for role, rate in uow.session.execute(
            select(RoleRate.role, RoleRate.hourly_rate).order_by(RoleRate.role))}


def rates_of(uow: UnitOfWork, scope: Scope) -> dict[str, Optional[Decimal]]:
    """Every role's hourly rate, by role, read once for the scope's page."""
    found = scope.reads.get("rates")
    if found is None:
        found = scope.reads["rates"] = dict(uow.session.connection().execute(
            select(RoleRate.role, RoleRate.hourly_rate)).all())
    return found


@dataclass(frozen=True)
class CostWeek:
    week: date
    cases: int
    cost: Spread


@dataclass(frozen=True)
class CostSummary:
    """Cost per finished case: median and p90, the total, the weekly trend, and roles that lack a rate."""

    cases: int
    cost: Spread
    total: float
    mean: Optional[float]
    weeks: tuple[CostWeek, ...]
    roles_without_rate: tuple[str, ...]


def cost_per_case(uow: UnitOfWork, filters: Filters) -> CostSummary:
    """The cost of the cases finished in the period, at today's rates (work of a role without a rate costs 0);
    ``roles_without_rate`` names the roles of the process's steps that have none."""
    with uow:
        return cost_of(uow, fresh_scope(uow, filters))


def cost_of(uow: UnitOfWork, scope: Scope) -> CostSummary:
    """``cost_per_case`` for a resolved scope, inside an open unit of work."""
    where = scope.case_facts()
    by_week: dict[Any, list[dict[str, Any]]] = {}
    for (_, week), sums in case_sums(uow, scope).items():
        by_week.setdefault(week, []).append(sums)
    weeks = [(week, *added(rows, "cases", "cost")) for week, rows in by_week.items()]
    n, total = sum(int(cases) for _, cases, _ in weeks), sum((float(cost) for _, _, cost in weeks), 0.0)
    cost = percentiles(uow.session, CF.cost, where, counts={(): n}, walk=scope.all_time).get((), Spread.empty())
    by_week = week_spreads(uow, scope)["cost"]
    rated = set(rates_of(uow, scope))
    roles = {step.role for v in scope.versions for step in v.annotations.steps.values() if step.role}
    money = round(total, 2)
    return CostSummary(
        cases=int(n), cost=_money(cost), total=money, mean=round(money / n, 2) if n else None,
        weeks=tuple(sorted((CostWeek(as_date(key[0]), spread.n, _money(spread)) for key, spread in by_week.items()),
                           key=lambda w: w.week)),
        roles_without_rate=tuple(sorted(roles - rated)))


def _money(spread: Spread) -> Spread:
    return Spread(spread.n, None if spread.median is None else round(spread.median, 2),
                  None if spread.p90 is None else round(spread.p90, 2))
