"""The API's incidents: the cases stopped in error, for admins and process owners; retry them after a fix, one or
many, or cancel one."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

from flask import Response, g
from flask.views import MethodView

from engine import incidents
from engine.work import queries
from web import api, db
from web.api_answers import Refusal
from web.api_schemas import Case, IncidentFilter, IncidentPage, IncidentsToRetry, RetryOutcome, RetryOutcomes

bp = api.blueprint("api_incidents", "incidents", "Incidents: cases stopped in error; retry after a fix, or cancel.")


def owners_only() -> Optional[Response]:
    if g.account.edits_processes:  # signed in: the API's first check answered 401 otherwise
        return None
    return api.refused_roles("Incidents are for admins and process owners")


bp.guard(owners_only, Refusal(403, "your roles include no admin or process owner"))
NO_CASE = "no case has this id"
NOT_IN_ERROR = "the case is not in error (it runs, or was finished or cancelled meanwhile)"


@bp.route("")
class Incidents(MethodView):
    @bp.arguments(IncidentFilter, location="query")
    @bp.response(200, IncidentPage)
    @bp.refuses(422, "a filter is longer than the engine keeps")
    def get(self, query: dict[str, Any]) -> Any:
        """The cases in error, the newest first: the failing step, the message, since when, and how many runs
        of the step failed in a row."""
        found = incidents.list_incidents(db.uow(), g.account.name, query.get("process"), query.get("step"),
                                         query.get("message"), query["page"], query["per_page"])
        return {"rows": [asdict(row) for row in found.rows], "total": found.total, "page": found.page,
                "per_page": found.per_page, "pages": found.pages, "processes": list(found.processes)}


@bp.route("/retry")
class Retries(MethodView):
    @bp.arguments(IncidentsToRetry)
    @bp.response(200, RetryOutcomes)
    def post(self, body: dict[str, Any]) -> Any:
        """Retry many cases in error, each on its own: the failed step runs again (after a fix of its cause)."""
        outcomes = incidents.retry_incidents(db.factory(), body["instances"], g.account.name)
        return {"results": [{"instance_id": i, "status": o.status, "refusal": o.refusal}
                            for i, o in outcomes.items()]}


@bp.route("/<int:instance_id>/retry")
class Retry(MethodView):
    @bp.response(200, RetryOutcome)
    @bp.refuses(404, NO_CASE)
    @bp.refuses(409, NOT_IN_ERROR, "the case changed at the same moment")
    def post(self, instance_id: int) -> Any:
        """Run the failed step of a case in error again; ``status`` is ``error`` if it failed again (409 when the
        case is not in error)."""
        status = incidents.retry_incident(db.uow(), instance_id, g.account.name)
        return {"instance_id": instance_id, "status": status, "refusal": None}


@bp.route("/<int:instance_id>/cancel")
class Cancellation(MethodView):
    @bp.response(200, Case)
    @bp.refuses(404, NO_CASE)
    @bp.refuses(409, NOT_IN_ERROR, "the case changed at the same moment")
    def post(self, instance_id: int) -> Any:
        """Give up on a case in error: it is cancelled (409 when the case is not in error)."""
        incidents.cancel_incident(db.uow(), instance_id, g.account.name)
        return queries.instance_view(db.uow(), instance_id)
