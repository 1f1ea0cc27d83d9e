"""The catalogue of deployed processes, each with what it gives the customer and who starts it."""

from __future__ import annotations

from flask import Blueprint, g, render_template
from flask.typing import ResponseReturnValue

from engine.work import case_pages
from web import db
from web.auth import login_required

bp = Blueprint("processes", __name__, url_prefix="/processes")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    processes = [{**p, "can_start": p["start_role"] in g.account.roles} for p in case_pages.catalogue(db.uow())]
    return render_template("processes/index.html", processes=processes)
