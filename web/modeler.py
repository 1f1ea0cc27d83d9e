"""The modeler: process owners and admins edit a process in bpmn-js with the customer-value panel
(web/static/modeler.js), and validate, draft and deploy it through web/api_processes.py."""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from jinja2.utils import htmlsafe_json_dumps

from engine import service
from engine.definitions.blank import blank_bpmn
from engine.errors import NotFound
from engine.time.calendar import countries_by_name
from engine.work import accounts
from web import csrf, db, headers
from web.auth import login_required, require
from web.params import LARGEST_ID, whole_number
from web.present import VALUE_CLASSES

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
# dmn-js draws its decision tables with style attributes in its markup; on this page alone styles (never
# scripts) may be inline, or the table editor's layout is refused.
POLICY = headers.POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@bp.before_request
@login_required
def editors_only() -> None:
    require(g.account.edits_processes,
            "The modeler is for process owners and admins; every signed-in user reads the process pages.")


@bp.get("/new")
def new() -> ResponseReturnValue:
    key = f"process_{secrets.token_hex(3)}"
    package = {"bpmn": blank_bpmn(key, "New process"), "dmn": {}, "forms": {}}
    return _page(key, None, package, None)


@bp.get("/<key>")
def edit(key: str) -> ResponseReturnValue:
    try:
        chosen = request.args.get("version")
        version = None if chosen is None else whole_number("version", chosen, 1, LARGEST_ID)
        editing = service.open_for_editing(db.uow(), key, g.account.name, version)
    except NotFound as exc:
        abort(404, str(exc))
    draft = editing.draft
    saved = {"revision": draft.revision, "saved_by": draft.saved_by, "saved_at": draft.saved_at.isoformat()} \
        if draft else None
    # a process drafted but never deployed opens on its draft
    package = editing.package or (draft.package if draft else None)
    return _page(key, editing.version, package, saved, editing.segments)


def _page(key: str, version: int | None, package: Any, draft: Any, segments: tuple[str, ...] = ()) -> Response:
    data = {
        "key": key, "version": version, "package": package, "draft": draft,
        "segments": list(segments), "roles": accounts.known_roles(db.uow()),
        "countries": [{"code": code, "name": name} for code, name in countries_by_name()],
        "value_classes": {code: {"name": name, "meaning": meaning} for code, (name, meaning) in VALUE_CLASSES.items()},
        "csrf": csrf.token(), "me": g.account.name, "timezone": current_app.config["TIMEZONE"],
        "urls": {"validate": url_for("api_processes.validate"), "deploy": url_for("api_processes.deploy"),
                 "unpack": url_for("api_processes.unpack"),
                 "draft": url_for("api_processes.show_draft", key="__KEY__"),
                 "descriptor": url_for("static", filename="spiffworkflow-moddle.json"),
                 "processes": url_for("processes.index")},
    }
    # keys in their order (the tojson filter sorts them), so a form's fields keep the order staff see
    page = render_template("modeler/edit.html", key=key, version=version, data=data,
                           data_json=htmlsafe_json_dumps(data, dumps=json.dumps))
    return Response(page, headers={"Content-Security-Policy": POLICY})
