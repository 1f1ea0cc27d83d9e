"""Signing in and out, the signed-in account on ``g``, and the guards views use."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, TypeVar

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from engine.work import accounts, audit
from engine.work.signed_in import SignedIn
from web import db, vendor
from web.api_errors import error

bp = Blueprint("auth", __name__)
View = TypeVar("View", bound=Callable[..., Any])
SIGNED_IN = "valueflow.signed_in"


@bp.record_once
def _keep_signed_in(state: BlueprintSetupState) -> None:
    state.app.extensions[SIGNED_IN] = SignedIn()


@bp.before_app_request
def load_account() -> Optional[ResponseReturnValue]:
    """``g.account`` is the signed-in user with the roles held now, or None (not looked up for assets).

    A request with ``Authorization: Bearer <token>`` acts as the token's user and ignores the session; an
    unknown or revoked token is answered 401 at once. Accounts are kept by the app while no account changes
    (engine.work.signed_in), so most requests do not query the user.
    """
    g.account = None
    if request.endpoint == "static" or request.endpoint in vendor.ENDPOINTS:
        return None
    signed_in: SignedIn = current_app.extensions[SIGNED_IN]
    secret = bearer_token()
    if secret is not None:
        g.account = signed_in.token(db.uow(), secret) if secret else None
        if g.account is None:
            return error(401, "The API token is unknown, revoked, or its user is disabled; make a new one "
                                  "under Account, API tokens.")
        return None
    name, session_id = session.get("user"), session.get("id")
    g.account = (signed_in.session(db.uow(), name, session.get("generation", 0), session_id)
                 if name and session_id else None)
    if name and g.account is None:  # signed out, the user was removed or disabled, or their password changed
        session.clear()
        flash("Your session has ended: your account was changed. Sign in again.", "info")
    return None


def bearer_token() -> Optional[str]:
    """The token of an ``Authorization: Bearer`` header ('' when the header names Bearer without one), or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def login_required(view: View) -> View:
    """Send anonymous requests to the login page, then back."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.account is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def require(allowed: bool, message: str) -> None:
    """Answer 403 with ``message`` unless ``allowed``."""
    if not allowed:
        abort(403, message)


def staff_or_manager() -> None:
    """Inbox, tasks and cases are for staff (lane roles), managers and admins."""
    account = g.account
    require(bool(account.staff_roles) or account.is_manager,
            "The inbox and cases are for front-line staff and managers; your roles ("
            + (", ".join(sorted(account.roles)) or "none") + ") do not include one of them.")


def landing(account: accounts.Account) -> tuple[str, str]:
    """(label, address) of the page a signed-in user starts from: the inbox for staff and managers, else the
    process catalogue, which everyone signed in may read."""
    if account.staff_roles or account.is_manager:
        return "Go to your inbox", url_for("inbox.index")
    return "Go to the processes", url_for("processes.index")


def _safe_next(target: Optional[str], account: accounts.Account) -> str:
    """``target`` when it is an address on this site; else the user's landing page."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return landing(account)[1]


@bp.route("/login", methods=("GET", "POST"))
def login() -> ResponseReturnValue:
    target = request.values.get("next")
    if request.method == "GET":
        if g.account is not None:
            return redirect(_safe_next(target, g.account))
        return render_template("auth/login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        found = accounts.authenticate(db.uow(), username, password) if username and password else None
    except accounts.AccountDisabled:
        audit.record_failed_sign_in(db.uow(), username, request.remote_addr, "account disabled")
        return render_template("auth/login.html", next=target, username=username,
                               error="Your account is disabled; ask an admin to enable it."), 403
    if found is None and username:
        audit.record_failed_sign_in(db.uow(), username, request.remote_addr,
                                    "wrong user name or password" if password else "no password given")
    if found is None:  # answered in place: the sign-in throttle counts these 401s
        message = ("Enter your user name and password." if not username or not password
                   else "That user name and password do not match. Check them and try again.")
        return render_template("auth/login.html", next=target, username=username, error=message), 401
    session.clear()
    session["user"] = found.name
    session["generation"] = found.session_generation
    session["id"] = accounts.new_session_id()
    return redirect(_safe_next(target, found))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: the session ends on the server too, so a copy of its cookie no longer signs anyone in."""
    if session.get("id"):
        accounts.end_session(db.uow(), session["id"], current_app.permanent_session_lifetime)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
