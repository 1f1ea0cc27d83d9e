"""The audit log, for admins: deploys, work on cases, changes to accounts and failed sign-ins, newest first,
narrowed by kind, user and period (UTC dates), a page at a time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from flask import Blueprint, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.work import audit
from web import db, params
from web.auth import login_required, require

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
LONGEST_NAME = 100
FILTERS = ("kind", "user", "from", "to")


@bp.before_request
@login_required
def admins_only() -> None:
    require(g.account.is_admin, "The audit log is for admins; you do not hold the admin role.")


@bp.get("")
def index() -> ResponseReturnValue:
    chosen = {name: request.args.get(name, "").strip() for name in FILTERS}
    try:
        since, until = _filters(chosen)
    except ValueError as exc:  # the filters come back as chosen, with what to change
        return render_template("audit/index.html", found=None, problem=str(exc), chosen=chosen,
                               kinds=audit.KINDS), 400
    page = params.whole_number("page", request.args.get("page", "1"), 1, 10**9)
    found = audit.audit_log(db.uow(), chosen["kind"] or None, chosen["user"] or None,
                            _start(since), _start(until + timedelta(days=1)) if until and until < date.max else None,
                            page, current_app.config["PER_PAGE"])

    def link(number: int) -> str:
        return url_for("audit.index", **{k: v for k, v in chosen.items() if v}, **({"page": number} if number > 1 else {}))

    return render_template("audit/index.html", found=found, chosen=chosen, kinds=audit.KINDS, link=link)


def _filters(chosen: dict[str, str]) -> tuple[Optional[date], Optional[date]]:
    """The period's first and last day; ValueError, in words, when a filter cannot be used."""
    if chosen["kind"] and chosen["kind"] not in audit.KINDS:
        raise ValueError(f"There is no kind {chosen['kind']!r} in the audit log; choose one from the list.")
    if len(chosen["user"]) > LONGEST_NAME:
        raise ValueError(f"A user name has at most {LONGEST_NAME} characters.")
    since, until = _day("from", chosen["from"]), _day("to", chosen["to"])
    if since and until and until < since:
        raise ValueError("The period ends before it starts: choose a “to” date on or after the “from” date.")
    return since, until


def _day(name: str, text: str) -> Optional[date]:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"The “{name}” date must be written YYYY-MM-DD, like 2026-03-31, not {text[:40]!r}.") \
            from None


def _start(day: Optional[date]) -> Optional[datetime]:
    return datetime.combine(day, time.min, tzinfo=timezone.utc) if day else None
