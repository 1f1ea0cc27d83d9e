"""My tasks and my roles' queues, most urgent first; the filters live in the URL."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from engine.work import inbox as engine_inbox
from engine.work.accounts import Account
from web import db, params, present
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
        "inbox/index.html", page=page, rows=_shown(page["rows"], account), chosen=chosen, kept=kept, link=link,
        tabs=tabs, suggestion=suggestion, filtered=bool(set(kept) - {"role"}))


def _shown(rows: list[dict[str, Any]], account: Account) -> list[dict[str, Any]]:
    """Each task as its row reads, every text made here once: per row, Jinja's macro calls, filters and
    url_for cost more than the rest of the page."""
    address = params.record_addresses("tasks.show", "task_id")
    roles = account.roles
    shown = []
    for t in rows:
        urgency, customer = t["urgency"], t["customer"]
        shown.append({
            "id": t["id"], "url": address(t["id"]), "state": urgency["state"],
            "urgency": present.urgency_word(urgency), "time_left": present.time_left(urgency),
            "customer": customer["name"], "segment": customer["segment"],
            "segment_tag": str(customer["segment"]).lower(), "name": t["name"],
            "process": t["process"]["name"], "case": t["instance_id"], "role": present.humanize(t["role"]),
            "waited": present.duration(t["waited_seconds"]), "assignee": t["assignee"] or "Unclaimed",
            "claimable": t["assignee"] is None and t["role"] in roles,
        })
    return shown
