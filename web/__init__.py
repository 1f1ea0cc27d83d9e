"""The Valueflow web app: an application factory, one blueprint per part (flaskr style).

Views translate HTTP into calls of the engine's public functions and engine
results into HTML; nothing here imports SpiffWorkflow. Flask and the views
are imported by ``create_app``, not with this package, so that loading the
``serve`` command (web.commands) for ``valueflow --help`` stays cheap.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the app; ``config`` (tests) overrides the instance's config.py and VALUEFLOW_* variables."""
    from flask import Flask, g, redirect
    from flask.typing import ResponseReturnValue
    from werkzeug.middleware.proxy_fix import ProxyFix

    from web import (access, account, admin, api, api_catalogue, api_customers, api_dashboards, api_docs,
                     api_external_tasks, api_incidents, api_instances, api_me, api_processes, api_tasks, audit, auth,
                     csrf, customers, dashboard, db, errors, feedback, headers, inbox, incidents, instances, modeler,
                     notifications, nul, ops, params, present, processes, sessions, settings, tasks, throttle,
                     vendor)

    app = Flask(__name__, instance_relative_config=True)
    app.jinja_environment = present.PageEnvironment
    app.session_interface = sessions.SigningKeptSessions()
    app.config.from_mapping(
        DATABASE_URL=None,          # None: VALUEFLOW_DATABASE_URL or the SQLite file valueflow.db
        CLOCK=None,                 # None: the real time; tests pass an engine.time.clock.FixedClock
        TIMEZONE="UTC",             # how times are shown
        PER_PAGE=25,
        CURRENCY=None,              # the ISO 4217 code costs and hourly rates are in; None: shown without one
        NODE_MODULES=str(Path(__file__).resolve().parent.parent / "node_modules"),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=False,  # True when served over HTTPS (VALUEFLOW_SESSION_COOKIE_SECURE=true)
        PROXY_HOPS=0,               # reverse proxies in front whose X-Forwarded-For/-Proto to trust
        MAX_CONTENT_LENGTH=1024 * 1024,  # a request body; the modeler's package endpoints take up to 5 MB
        ACCESS_LOG=True,            # a line per request; `valueflow serve` writes them to stdout (web.access)
    )
    if config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(config)
    app.config.from_prefixed_env("VALUEFLOW")
    settings.check(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    access.init_app(app)  # first: its clock starts before every other hook, its line is written after them
    db.init_app(app)
    csrf.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    present.init_app(app)
    vendor.init_app(app)
    ops.init_app(app)
    app.url_map.converters["int"] = params.RecordId  # every whole number in a path names a row
    for module in (auth, inbox, tasks, instances, customers, processes, dashboard, feedback, admin, audit, account,
                   vendor, ops, modeler, api_docs, incidents, notifications):
        app.register_blueprint(module.bp)
    nul.init_app(app)  # after the signed-in account is known (auth's hook), before any view's work
    api.init_app(app, [api_processes.bp, api_catalogue.bp, api_instances.bp, api_instances.messages, api_tasks.bp,
                       api_customers.bp, api_dashboards.bp, api_incidents.bp,
                       api_external_tasks.bp, api_me.bp])
    throttle.init_app(app)

    @app.get("/")
    @auth.login_required
    def home() -> ResponseReturnValue:
        return redirect(auth.landing(g.account)[1])

    return app


def _instance_secret(folder: Path) -> str:
    """A signing key kept in the instance folder, made on first start, so sessions survive restarts."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
