"""The signed-in user's own account: changing their password, making and revoking their API tokens."""

from __future__ import annotations

from typing import Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from engine.errors import NotFound
from engine.work import accounts, tokens
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


@bp.get("/tokens")
@login_required
def tokens_page() -> ResponseReturnValue:
    return _tokens_page(None, None, 200)


@bp.post("/tokens")
@login_required
def create_token() -> ResponseReturnValue:
    name = request.form.get("name", "")
    try:
        secret = tokens.create_token(db.uow(), g.account.name, name, actor=g.account.name)
    except ValueError as exc:
        return _tokens_page(None, f"No token was made: {exc}.", 400)
    return _tokens_page({"name": name.strip(), "secret": secret}, None, 201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    try:
        revoked = tokens.revoke_token(db.uow(), g.account.name, token_id, actor=g.account.name)
    except NotFound as exc:
        abort(404, f"{exc}.")
    flash("The token is revoked: requests with it are refused from now on." if revoked
          else "That token was already revoked.", "success" if revoked else "info")
    return redirect(url_for("account.tokens_page"))


def _tokens_page(made: Optional[dict[str, str]], error: Optional[str], code: int) -> ResponseReturnValue:
    return render_template("account/tokens.html", tokens=tokens.tokens_of(db.uow(), g.account.name), made=made,
                           error=error), code
