"""The API's dashboard figures of a process: its summary, step table, segments, work at risk and costs, and its
event log as XES or CSV; for managers, admins and process owners, as the dashboard pages. The filters are the
dashboard's (``from``, ``to``, ``version``, ``segment``, ``role``, ``assignee``), checked as the pages check them."""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

from flask import Response, g, request, stream_with_context
from flask.views import MethodView
from marshmallow import Schema

from engine.analytics import costs, cycle_times, exports, risk, segments
from engine.analytics.dashboards import dashboard_options, read_filters
from engine.analytics.filters import Filters
from web import api, db
from web.api_answers import Refusal
from web.api_errors import error
from web.api_report_schemas import Costs, DashboardFilter, RiskFilter, Segments, StepTable, Summary, WorkAtRisk
from web.present import currency

bp = api.blueprint("api_dashboards", "dashboards", "Dashboards: a process's cycle-time figures against its "
                                                   "targets, and its event log.")
LOG_TYPES = {"xes": "application/xml", "csv": "text/csv"}
View = TypeVar("View", bound=Callable[..., Any])


def dashboard_readers() -> Optional[Response]:
    account = g.account
    if account.reads_dashboards:
        return None
    return error(403, "Dashboards are for managers and process owners; your roles ("
                 + (", ".join(sorted(account.roles)) or "none") + ") do not include manager, admin or process owner.")


bp.guard(dashboard_readers, Refusal(403, "your roles include no manager, admin or process owner"))
NO_PROCESS = "no process with this key is deployed"
FILTER_REFUSED = "a filter names what the process does not have (a version, segment, role or assignee), or a " \
                 "period that ends before it starts; `fields` names each such query parameter"


def _filters(key: str) -> Filters:
    """The query's filters for the process ``key``: NotFound for an unknown process, FiltersRefused (a 422
    naming each bad value) for a filter it does not have."""
    return read_filters(dashboard_options(db.factory(), key), request.args)


def figures(answer: type[Schema], query: type[Schema] = DashboardFilter) -> Callable[[View], View]:
    """An operation answering ``answer``, a process's figures under the dashboard's filters (``query``): 404 for
    a process that does not exist, 422 naming each refused filter."""
    def documented(view: View) -> View:
        for decorator in (bp.response(200, answer), bp.refuses(422, FILTER_REFUSED), bp.refuses(404, NO_PROCESS),
                          bp.arguments(query, location="query")):
            view = decorator(view)
        return view
    return documented


@bp.route("/<key>/summary")
class ProcessSummary(MethodView):
    @figures(Summary)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """Cases started, finished, cancelled and running, and the end-to-end time of those finished against
        the target."""
        return cycle_times.process_summary(db.uow(), _filters(key))


@bp.route("/<key>/steps")
class StepFigures(MethodView):
    @figures(StepTable)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """Each user task's cycle, waiting and working time against its target, and its open and breached
        tasks now."""
        return {"steps": cycle_times.step_table(db.uow(), _filters(key))}


@bp.route("/<key>/segments")
class SegmentFigures(MethodView):
    @figures(Segments)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """Each customer segment's finished cases and steps against the segment's own targets."""
        return segments.segment_report(db.uow(), _filters(key))


@bp.route("/<key>/risk")
class Risk(MethodView):
    @figures(WorkAtRisk, RiskFilter)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """Open tasks past their due time and those close to it, now (the period is not used)."""
        return risk.work_at_risk(db.uow(), _filters(key), query["limit"])


@bp.route("/<key>/costs")
class CaseCosts(MethodView):
    @figures(Costs)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """What the cases finished in the period cost (each one's work time × its role's hourly rate, at today's
        rates), week by week, and each role's hourly rate; every sum in ``currency``."""
        options = dashboard_options(db.factory(), key)
        summary = costs.cost_per_case(db.uow(), read_filters(options, request.args))
        rates = costs.role_rates(db.uow())
        return {"currency": currency(), "cases": summary.cases, "cost": summary.cost, "mean": summary.mean,
                "total": summary.total, "weeks": summary.weeks, "roles_without_rate": summary.roles_without_rate,
                "rates": [{"role": role, "hourly_rate": rates.get(role)} for role in options.roles]}


def _log_doc(kind: str) -> dict[str, Any]:
    return {"responses": {"200": {"description": f"the event log as {kind.upper()}",
                                  "content": {LOG_TYPES[kind]: {"schema": {"type": "string"}}}}}}


def _event_log(key: str, kind: str) -> Response:
    log = exports.event_log(db.uow(), _filters(key))
    body = log.xes() if kind == "xes" else log.csv()
    return Response(stream_with_context(body), mimetype=LOG_TYPES[kind],
                    headers={"Content-Disposition": f'attachment; filename="{key}-events.{kind}"'})


@bp.route("/<key>/events.xes")
class EventLogXes(MethodView):
    @bp.arguments(DashboardFilter, location="query")
    @bp.refuses(404, NO_PROCESS)
    @bp.refuses(422, FILTER_REFUSED)
    @bp.doc(**_log_doc("xes"))
    def get(self, query: dict[str, Any], key: str) -> Response:
        """Every case's events as an XES log (IEEE 1849), for process-mining tools."""
        return _event_log(key, "xes")


@bp.route("/<key>/events.csv")
class EventLogCsv(MethodView):
    @bp.arguments(DashboardFilter, location="query")
    @bp.refuses(404, NO_PROCESS)
    @bp.refuses(422, FILTER_REFUSED)
    @bp.doc(**_log_doc("csv"))
    def get(self, query: dict[str, Any], key: str) -> Response:
        """Every case's events as CSV, one event a row."""
        return _event_log(key, "csv")
