"""Managers' dashboards: cycle time against target per process and per step, the heat map, exports, rates.

Filters live in the URL (``from``, ``to``, ``version``, ``segment``, ``role``, ``assignee``, and ``step`` for
the step chosen on the heat map); every figure comes from engine.analytics.dashboards and the modules it gathers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from flask import (Blueprint, Response, abort, flash, g, redirect, render_template, request, stream_with_context,
                   url_for)
from flask.typing import ResponseReturnValue

from engine import service
from engine.analytics import costs, cycle_times, exports
from engine.analytics.dashboards import (FiltersRefused, Options, dashboard_options, dashboard_page, read_filters,
                                         version_comparison)
from engine.analytics.filters import Filters
from engine.work import case_pages
from web import charts, db, refused
from web.auth import login_required, require
from web.present import currency, money

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
# The currency of costs and rates, for the dashboard's pages alone (not a context every other page builds).
bp.context_processor(lambda: {"currency": currency()})
FILTER_NAMES = ("from", "to", "version", "segment", "role", "assignee")
PRESETS = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90))


@bp.before_request
@login_required
def managers_only() -> None:
    account = g.account
    require(account.reads_dashboards, "Dashboards are for managers and process owners; your roles ("
            + (", ".join(sorted(account.roles)) or "none") + ") do not include manager, admin or process owner.")


def _options(key: str) -> Options:
    try:
        return dashboard_options(db.factory(), key)
    except service.NotFound as exc:
        abort(404, f"There is no dashboard for {key!r}: {exc}.")


def _typed() -> dict[str, str]:
    """The filter values as sent (kept on the page, also when refused)."""
    return {name: request.args.get(name, "").strip() for name in FILTER_NAMES}


def _kept(options: Options, filters: Optional[Filters]) -> dict[str, str]:
    """The filters as a query string, without the version when it is the default one (the newest)."""
    params = filters.to_params() if filters is not None else {}
    if params.get("version") == str(options.newest):
        del params["version"]
    return params


def _link_maker(endpoint: str, options: Options, filters: Optional[Filters]):  # type: ignore[no-untyped-def]
    key, kept = options.process, _kept(options, filters)

    def link(**changes: Any) -> str:
        args = {**kept, **changes}
        return url_for(endpoint, key=key, **{k: v for k, v in args.items() if v not in (None, "")})
    return link


def _presets(options: Options, filters: Optional[Filters]) -> list[dict[str, Any]]:
    """All time and the last 7/30/90 days (UTC dates ending today), each with the other filters kept."""
    key, today = options.process, db.now().date()
    kept = {k: v for k, v in _kept(options, filters).items() if k not in ("from", "to")}
    chosen = (filters.to_params().get("from"), filters.to_params().get("to")) if filters else (None, None)
    items = [{"label": "All time", "url": url_for("dashboard.show", key=key, **kept),
              "current": chosen == (None, None)}]
    for label, days in PRESETS:
        start, end = (today - timedelta(days=days - 1)).isoformat(), today.isoformat()
        items.append({"label": label, "url": url_for("dashboard.show", key=key, **kept, **{"from": start, "to": end}),
                      "current": chosen == (start, end)})
    return items


@bp.get("")
def index() -> ResponseReturnValue:
    processes = case_pages.catalogue(db.uow())
    summaries = {p["key"]: cycle_times.process_summary(db.uow(), Filters(p["key"], version=p["version"]))
                 for p in processes}
    return render_template("dashboard/index.html", processes=processes, summaries=summaries)


@bp.get("/<key>")
def show(key: str) -> ResponseReturnValue:
    kept, code = refused.taken()
    return _render(key, code, kept.get("rate_error"))


def _render(key: str, code: int = 200, rate_error: Optional[dict[str, str]] = None) -> ResponseReturnValue:
    typed = _typed()
    step_id = request.args.get("step", "").strip() or None
    try:
        dashboard = dashboard_page(db.factory(), key, request.args, step_id)
    except service.NotFound as exc:
        abort(404, f"There is no dashboard for {key!r}: {exc}.")
    except FiltersRefused as exc:
        options = exc.options
        return render_template("dashboard/show.html", options=options, typed=typed, problems=exc.problems, d=None,
                               version_chosen=typed["version"], presets=_presets(options, None),
                               link=_link_maker("dashboard.show", options, None),
                               heat_words=charts.HEAT_WORDS, heat_meanings=charts.HEAT_MEANINGS), 400
    options, filters = dashboard.options, dashboard.filters
    link = _link_maker("dashboard.show", options, filters)
    data = {"xml": dashboard.diagram_xml,
            "cells": charts.heat_cells(dashboard, lambda s: link(step=s, _anchor="step-detail")),
            "charts": charts.dashboard_charts(dashboard, currency())}
    return render_template(
        "dashboard/show.html", options=options, typed=typed, problems=[], d=dashboard, data=data, link=link,
        version_chosen=filters.to_params()["version"], presets=_presets(options, filters),
        export=_link_maker("dashboard.events", options, filters),
        steps_csv=_link_maker("dashboard.steps_csv", options, filters)(),
        lead_status=cycle_times.heat_status(dashboard.summary.within_target, dashboard.summary.with_target),
        rate_error=rate_error or {}, heat_words=charts.HEAT_WORDS, heat_meanings=charts.HEAT_MEANINGS,
        shown_steps=[dashboard.step] if dashboard.step else dashboard.steps), code


def _checked_filters(options: Options) -> Filters:
    try:
        return read_filters(options, request.args)
    except FiltersRefused as exc:
        abort(400, "The filters cannot be used: " + "; ".join(exc.problems) + ".")


@bp.get("/<key>/steps.csv")
def steps_csv(key: str) -> ResponseReturnValue:
    filters = _checked_filters(_options(key))
    text = exports.step_table_csv(cycle_times.step_table(db.uow(), filters))
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{key}-steps.csv"'})


@bp.get("/<key>/events.<fmt>")
def events(key: str, fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404, f"The event log comes as events.xes or events.csv, not events.{fmt}.")
    filters = _checked_filters(_options(key))
    try:
        log = exports.event_log(db.uow(), filters)
    except service.NotFound as exc:
        abort(404, str(exc))
    body = log.xes() if fmt == "xes" else log.csv()
    mimetype = "application/xml" if fmt == "xes" else "text/csv"
    return Response(stream_with_context(body), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{key}-events.{fmt}"'})


@bp.get("/<key>/compare")
def compare(key: str) -> ResponseReturnValue:
    options = _options(key)
    typed = _typed()
    versions = [v.version for v in options.versions]
    chosen = {name: request.args.get(name, "").strip() for name in ("first", "second")}
    context: dict[str, Any] = {"options": options, "typed": typed, "chosen": chosen, "comparison": None}
    if len(versions) < 2:
        return render_template("dashboard/compare.html", problems=[
            f"{options.name} has only one version deployed so far; deploy a redesign to compare."], **context)
    problems = [f"{name} must be a version number, not {value!r}" for name, value in chosen.items()
                if value and not value.isdecimal()]
    try:
        filters = read_filters(options, {**request.args, "version": ""})
    except FiltersRefused as exc:
        problems += exc.problems
        filters = None
    if problems or filters is None:
        return render_template("dashboard/compare.html", problems=problems, **context), 400
    first = int(chosen["first"]) if chosen["first"] else versions[1]
    second = int(chosen["second"]) if chosen["second"] else versions[0]
    try:
        comparison = version_comparison(db.factory(), filters, options, first, second)
    except FiltersRefused as exc:
        return render_template("dashboard/compare.html", problems=exc.problems, **context), 400
    context.update(comparison=comparison, chosen={"first": str(first), "second": str(second)},
                   back=_link_maker("dashboard.show", options, filters)())
    return render_template("dashboard/compare.html", problems=[], **context)


@bp.post("/<key>/rates")
def set_rate(key: str) -> ResponseReturnValue:
    account = g.account
    require(account.is_admin, "Hourly rates are set by admins; you do not hold the admin role. Nothing was changed.")
    options = _options(key)
    role = request.form.get("role", "").strip()
    rate = request.form.get("hourly_rate", "").strip()
    back = url_for("dashboard.show", key=key, **{k: v for k, v in _typed().items() if v})

    def refuse(rate_error: dict[str, str]) -> ResponseReturnValue:
        return refused.back_to(back, "rate-error", 400, lambda: _render(key, 400, rate_error), rate_error=rate_error)

    if role not in options.roles:
        return refuse({"role": role, "message": f"{role or 'That'!r} is not a role of {options.name}; "
                                                "nothing was changed."})
    if not rate:
        return refuse({"role": role, "message": "Enter an hourly rate, such as 45 or 62.50."})
    try:
        costs.set_role_rate(db.uow(), role, rate, account.name)
    except ValueError as exc:
        return refuse({"role": role, "value": rate, "message": f"The rate of {role} was not changed: {exc}."})
    except service.NotAllowed as exc:
        abort(403, f"{exc}. Nothing was changed.")
    stored = costs.role_rates(db.uow())[role]
    flash(f"The hourly rate of {role} is now {money(stored, currency())}; every cost is counted at today's "
          "rates.", "success")
    return redirect(f"{back}#costs")
