"""My tasks and my roles' queues, most urgent first; the filters live in the URL."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from engine.work import inbox as engine_inbox
from web import db, params
from web.auth import login_required, staff_or_manager

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
FILTERS = ("process", "step", "segment", "role")
MAX_PAGE = 1_000_000


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    staff_or_manager()
    account = g.account
    chosen = {name: request.args.get(name, "").strip() or None for name in FILTERS}
    page_number = params.whole_number("page number", request.args.get("page", "").strip() or "1", 1, MAX_PAGE)
    page = engine_inbox.inbox(
        db.uow(), account.name, account.staff_roles, everyone=account.is_manager,
        view=request.args.get("view", "auto"), filters=engine_inbox.InboxFilter(**chosen),
        page=page_number, per_page=current_app.config["PER_PAGE"])
    suggestion = None
    if session.pop("just_completed", None):
        suggestion = engine_inbox.next_task(db.uow(), account.name, account.staff_roles)
    kept = {k: v for k, v in chosen.items() if v}

    def link(**changes: object) -> str:
        args = {"view": page["view"], **kept, **changes}
        return url_for("inbox.index", **{k: v for k, v in args.items() if v not in (None, "", 1)})

    tabs = [("mine", "My tasks", page["counts"]["mine"]), ("queues", "Queues", page["counts"]["queued"])]
    if account.is_manager:
        tabs.append(("all", "All open tasks", page["counts"]["all"]))
    return render_template(
        "inbox/index.html", page=page, chosen=chosen, kept=kept, link=link, tabs=tabs, suggestion=suggestion,
        filtered=bool(set(kept) - {"role"}))
