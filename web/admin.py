"""Users and roles, for admins: list, add a user, set a user's roles."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import service
from engine.work import accounts
from web import db, refused
from web.auth import login_required, require

bp = Blueprint("admin", __name__, url_prefix="/admin")
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 8


@bp.before_request
@login_required
def admins_only() -> None:
    require(g.account.is_admin, "User administration is for admins; you do not hold the admin role.")


def _render(code: int = 200, **values: Any) -> tuple[str, int]:
    values.setdefault("new", {"name": "", "roles": []})
    values.setdefault("errors", {})
    return render_template("admin/users.html", users=accounts.list_users(db.uow()),
                           roles=accounts.known_roles(db.uow()), **values), code


def _refused(**kept: Any) -> ResponseReturnValue:
    """Back to the users page, scrolled to the refusal: the add form's fields or the alert."""
    return refused.back_to(url_for("admin.users"), "add-heading" if "errors" in kept else "users-alert", 400,
                           lambda: _render(400, **kept), **kept)


@bp.get("/users")
def users() -> ResponseReturnValue:
    kept, code = refused.taken()
    return _render(code, **kept)


@bp.post("/users")
def add_user() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    roles = request.form.getlist("roles")
    known = accounts.known_roles(db.uow())
    errors = {}
    if not USER_NAME.fullmatch(name):
        errors["name"] = ("A user name has letters, digits, dots, dashes, underscores or @ "
                          "(100 at most), like a.moss.")
    elif accounts.account(db.uow(), name) is not None:
        errors["name"] = f"There is already a user named {name}; change their roles in the list below."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"The password needs at least {MIN_PASSWORD} characters."
    if not roles:
        errors["roles"] = "Choose at least one role."
    elif set(roles) - set(known):
        errors["roles"] = "Unknown role: " + ", ".join(sorted(set(roles) - set(known))) + "."
    if errors:
        return _refused(new={"name": name, "roles": roles}, errors=errors)
    service.add_user(db.uow(), name, roles, password)
    flash(f"User {name} added with the roles {', '.join(sorted(roles))}.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/roles")
def set_roles(name: str) -> ResponseReturnValue:
    roles = request.form.getlist("roles")
    unknown = set(roles) - set(accounts.known_roles(db.uow()))
    if unknown:
        return _refused(alert="Unknown role: " + ", ".join(sorted(unknown)) + ". Nothing was changed.")
    try:
        accounts.set_roles(db.uow(), name, roles, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except (ValueError, service.NotAllowed) as exc:
        return _refused(alert=f"The roles of {name} were not changed: {exc}.")
    flash(f"{name} now holds: {', '.join(sorted(roles))}.", "success")
    return redirect(url_for("admin.users"))
