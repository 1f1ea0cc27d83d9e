"""Incidents, for admins and process owners: the cases stopped in error, filtered and a page at a time; retry
one or many after a fix, or cancel a case."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import incidents, service
from web import db, present
from web.auth import login_required, require

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
FILTERS = ("process", "step", "message")
MOST_AT_ONCE = 200


@bp.before_request
@login_required
def owners_only() -> None:
    require(g.account.edits_processes, "Incidents are for admins and process owners; you hold neither role.")


@bp.get("")
def index() -> ResponseReturnValue:
    chosen = {name: request.args.get(name, "").strip() for name in FILTERS}
    page_number = request.args.get("page", "1")
    if not PAGE_NUMBER.fullmatch(page_number):
        abort(400, "The page number must be a whole number from 1.")
    try:
        found = incidents.list_incidents(db.uow(), g.account.name, page=int(page_number),
                                         per_page=current_app.config["PER_PAGE"],
                                         **{name: value or None for name, value in chosen.items()})
    except ValueError as exc:
        abort(400, present.sentence(exc))

    def link(page: int) -> str:
        return url_for("incidents.index", **{k: v for k, v in chosen.items() if v}, **({"page": page} if page > 1
                                                                                        else {}))

    return render_template("incidents/index.html", found=found, chosen=chosen, link=link)


@bp.post("/retry")
def retry() -> ResponseReturnValue:
    """Retry the cases ticked on the list (or the one whose button was pressed), each on its own."""
    chosen = request.form.getlist("instance")
    if not chosen:
        flash("Tick the cases to retry first: nothing was retried.", "error")
        return _back_to_the_list()
    if len(chosen) > MOST_AT_ONCE or not all(PAGE_NUMBER.fullmatch(i) for i in chosen):
        abort(400, f"Tick 1 to {MOST_AT_ONCE} cases to retry.")
    outcomes = incidents.retry_incidents(db.factory(), [int(i) for i in chosen], g.account.name)
    going = [str(i) for i, outcome in sorted(outcomes.items()) if outcome.status not in (None, "error")]
    failed = [str(i) for i, outcome in sorted(outcomes.items()) if outcome.status == "error"]
    if going:
        flash(f"Retried, and going on: case {', '.join(going)}.", "success")
    if failed:
        flash(f"Retried, and failed again (one attempt more): case {', '.join(failed)}.", "error")
    for instance_id, outcome in outcomes.items():
        if outcome.refusal:
            flash(f"Case {instance_id} was not retried: {outcome.refusal}.", "error")
    return _back_to_the_list()


@bp.post("/<int:instance_id>/cancel")
def cancel(instance_id: int) -> ResponseReturnValue:
    try:
        incidents.cancel_incident(db.uow(), instance_id, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except incidents.NotAnIncident as exc:
        flash(f"Case {instance_id} was not cancelled: {present.sentence(exc)}", "error")
        return _back_to_the_list()
    flash(f"Case {instance_id} was cancelled.", "success")
    return _back_to_the_list()


def _back_to_the_list() -> ResponseReturnValue:
    """The list as it was filtered when the form was sent (its filters come back as hidden fields)."""
    kept = {name: request.form.get(name, "").strip()[:incidents.LONGEST_FILTER] for name in FILTERS}
    return redirect(url_for("incidents.index", **{k: v for k, v in kept.items() if v}), 303)
