"""The signed-in user's own account: changing their password."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from engine.work import accounts
from web import db
from web.auth import login_required

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/password")
@login_required
def password() -> ResponseReturnValue:
    return render_template("account/password.html", error=None)


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    current, new = request.form.get("current", ""), request.form.get("new", "")
    if new != request.form.get("repeat", ""):
        return _refused("The new password and its repetition differ; type them again.", 400)
    try:
        session["generation"] = accounts.change_password(db.uow(), g.account.name, current, new)
    except accounts.PasswordRefused as exc:  # a wrong current password is 401, which web.throttle counts
        return _refused(f"Your password was not changed: {exc}.", 401 if isinstance(exc, accounts.WrongPassword)
                        else 400)
    flash("Your password is changed. Sessions elsewhere with the old one have ended.", "success")
    return redirect(url_for("account.password"))


def _refused(error: str, code: int) -> ResponseReturnValue:
    return render_template("account/password.html", error=error), code
