"""The catalogue of deployed processes, each with what it gives the customer and who starts it; each process's
page (its versions, its diagram, why each step exists) and the files of a version."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import NotFound
from engine.work import case_pages, process_pages
from web import db
from web.auth import login_required

bp = Blueprint("processes", __name__, url_prefix="/processes")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    processes = [{**p, "can_start": p["start_role"] in g.account.roles} for p in case_pages.catalogue(db.uow())]
    return render_template("processes/index.html", processes=processes)


@bp.get("/<key>")
@login_required
def show(key: str) -> ResponseReturnValue:
    version = request.args.get("version", type=int)
    try:
        page = process_pages.process_page(db.uow(), key, version)
    except NotFound as exc:
        abort(404, str(exc))
    return render_template("processes/show.html", p=page)


@bp.get("/<key>/versions/<int:version>.<any(bpmn, zip):kind>")
@login_required
def download(key: str, version: int, kind: str) -> ResponseReturnValue:
    try:
        bpmn, package = process_pages.version_files(db.uow(), key, version)
    except NotFound as exc:
        abort(404, str(exc))
    name = f"{key}-v{version}.{kind}"
    body, mimetype = (bpmn.encode("utf-8"), "application/xml") if kind == "bpmn" else (package, "application/zip")
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
