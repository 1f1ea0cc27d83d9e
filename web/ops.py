"""For operators and load balancers: liveness, readiness and Prometheus metrics, without signing in."""

from __future__ import annotations

from typing import Optional

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from engine.jobs import KINDS as JOB_KINDS
from engine.metrics import REGISTRY, collected
from engine.storage.health import Backlog, backlog, readiness
from web import access, db

bp = Blueprint("ops", __name__)

REQUEST_SECONDS = Histogram(
    "valueflow_http_request_seconds", "Time to answer an HTTP request, by route.", ["method", "route", "status"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)
JOB_BACKLOG = {
    "jobs_due": "Jobs due now (timers to fire, breaches to record, notifications, connector calls), by kind, "
                "running or not yet.",
    "jobs_overdue": "Jobs due for over a minute and not done: no worker keeps up, or they keep failing.",
}
DATABASE_UP = ("1 when this scrape read the backlog from the database, 0 when it could not (the backlog is then "
               "left out).")
BACKLOG = {
    "incidents_open": "Cases stopped in error.",
    "tasks_open": "Human tasks open.",
    "tasks_breached": "Open human tasks past their target.",
}


def init_app(app: Flask) -> None:
    """Time every request by its route (the URL rule, so that ids do not make new series), on web.access's clock."""
    @app.after_request
    def _observe(response: Response) -> Response:
        seconds = access.seconds_taken()
        if seconds is not None:
            route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
            REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(seconds)
        return response


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive and answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready for traffic: the database answers and its schema is current (503 with the reason otherwise)."""
    found = readiness(db.factory().engine)
    body = {"status": "ready" if found.ready else "not ready", "database": found.database,
            "schema_current": found.schema_current}
    if found.problem:
        body["problem"] = found.problem
    return jsonify(body), 200 if found.ready else 503


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Request and step latencies and the job figures of the worker in this process (of every web and worker
    process when they share a metrics folder, as under ``serve --processes``), and the database's backlog read
    now; the figures even while the database is away."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_BacklogCollector(backlog(db.uow())))
    return Response(generate_latest(collected()) + generate_latest(scraped), content_type=CONTENT_TYPE_LATEST)


class _BacklogCollector:
    def __init__(self, found: Optional[Backlog]) -> None:
        self.found = found

    def collect(self):  # type: ignore[no-untyped-def]
        yield GaugeMetricFamily("valueflow_database_up", DATABASE_UP, value=int(self.found is not None))
        if self.found is None:
            return
        for name, text in JOB_BACKLOG.items():
            found = GaugeMetricFamily(f"valueflow_{name}", text, labels=["kind"])
            for kind, count in sorted({**dict.fromkeys(JOB_KINDS, 0), **getattr(self.found, name)}.items()):
                found.add_metric([kind], count)
            yield found
        for name, text in BACKLOG.items():
            yield GaugeMetricFamily(f"valueflow_{name}", text, value=getattr(self.found, name))
