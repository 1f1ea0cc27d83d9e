"""Users and roles, for admins: find users a page at a time, add one, and on each user's page set their roles,
disable or enable them, and reset their password."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import service
from engine.work import accounts
from web import db, present, refused
from web.auth import login_required, require

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
LONGEST_SEARCH = 100


@bp.before_request
@login_required
def admins_only() -> None:
    require(g.account.is_admin, "User administration is for admins; you do not hold the admin role.")


def _render(code: int = 200, **values: Any) -> tuple[str, int]:
    """The user list (one page of it, narrowed by the search in the address) beside the form to add a user."""
    text = request.args.get("q", "").strip()
    if len(text) > LONGEST_SEARCH:
        abort(400, f"Search for at most {LONGEST_SEARCH} characters of a user name or role.")
    page_number = request.args.get("page", "1")
    if not PAGE_NUMBER.fullmatch(page_number):
        abort(400, "The page number must be a whole number from 1.")
    values.setdefault("new", {"name": "", "roles": []})
    values.setdefault("errors", {})
    found = accounts.list_users(db.uow(), text, int(page_number), current_app.config["PER_PAGE"])

    def link(page: int) -> str:
        return url_for("admin.users", **{k: v for k, v in (("q", text), ("page", page)) if v not in ("", 1)})

    return render_template("admin/users.html", found=found, q=text, link=link,
                           roles=accounts.known_roles(db.uow()), **values), code


def _render_user(name: str, code: int = 200, **values: Any) -> tuple[str, int]:
    """One user's page: roles, access, password, and the account's log."""
    try:
        user = accounts.user_page(db.uow(), name)
    except service.NotFound as exc:
        abort(404, str(exc))
    return render_template("admin/user.html", user=user, roles=accounts.known_roles(db.uow()),
                           held=accounts.tasks_held(db.uow(), name), is_self=name == g.account.name, **values), code


def _user_refused(name: str, alert: str) -> ResponseReturnValue:
    """Back to the user's page, scrolled to the reason nothing was changed."""
    return refused.back_to(url_for("admin.show", name=name), "user-alert", 400,
                           lambda: _render_user(name, 400, alert=alert), alert=alert)


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
    if not accounts.USER_NAME.fullmatch(name):
        errors["name"] = present.sentence(accounts.USER_NAME_RULE)
    elif (taken := accounts.name_taken(db.uow(), name)) is not None:
        errors["name"] = (f"There is already a user named {name}; change their roles on their page." if taken == name
                          else f"There is already a user named {taken}, which differs from {name} only in "
                               "capitals; choose another name.")
    shortest, longest = accounts.PASSWORD_LENGTHS
    if not password:
        errors["password"] = "Enter a password for the new user."
    elif not shortest <= len(password) <= longest:  # the field's help names the bounds
        errors["password"] = f"This password has {len(password)} characters; it needs {shortest} to {longest}."
    if not roles:
        errors["roles"] = "Choose at least one role."
    elif set(roles) - set(known):
        errors["roles"] = "Unknown role: " + ", ".join(sorted(set(roles) - set(known))) + "."
    if errors:
        kept = {"new": {"name": name, "roles": roles}, "errors": errors}
        return refused.back_to(url_for("admin.users"), "add-heading", 400, lambda: _render(400, **kept), **kept)
    service.add_user(db.uow(), name, roles, password, actor=g.account.name)
    flash(f"User {name} added with the roles {', '.join(sorted(roles))}.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/users/<name>")
def show(name: str) -> ResponseReturnValue:
    kept, code = refused.taken()
    return _render_user(name, code, **kept)


@bp.post("/users/<name>/roles")
def set_roles(name: str) -> ResponseReturnValue:
    roles = request.form.getlist("roles")
    unknown = set(roles) - set(accounts.known_roles(db.uow()))
    if unknown:
        return _user_refused(name, "Unknown role: " + ", ".join(sorted(unknown)) + ". Nothing was changed.")
    try:
        accounts.set_roles(db.uow(), name, roles, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except (ValueError, service.NotAllowed) as exc:
        return _user_refused(name, f"The roles of {name} were not changed: {exc}.")
    flash(f"{name} now holds: {', '.join(sorted(roles))}.", "success")
    return redirect(url_for("admin.show", name=name))


@bp.post("/users/<name>/disable")
def disable(name: str) -> ResponseReturnValue:
    return _set_disabled(name, True)


@bp.post("/users/<name>/enable")
def enable(name: str) -> ResponseReturnValue:
    return _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> ResponseReturnValue:
    try:
        changed = accounts.set_disabled(db.uow(), name, disabled, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except service.NotAllowed as exc:
        return _user_refused(name, f"Nothing was changed for {name}: {exc}.")
    state = "disabled: they cannot sign in, and their open sessions have ended" if disabled else \
        "enabled: they can sign in again"
    flash(f"{name} is {state}.{_still_held(name) if disabled else ''}" if changed
          else f"{name} was already {'disabled' if disabled else 'enabled'}.", "success" if changed else "info")
    return redirect(url_for("admin.show", name=name))


def _still_held(name: str) -> str:
    """What the flash of a disabled user adds about the open tasks they still hold ("" when none)."""
    count = accounts.tasks_held(db.uow(), name).count
    if count == 0:
        return ""
    if count == 1:
        return " They still hold 1 open task (listed below): a manager can release it to its queue or reassign it."
    return (f" They still hold {count} open tasks (listed below): a manager can release them to their queues or "
            "reassign them.")


@bp.post("/users/<name>/password")
def reset_password(name: str) -> ResponseReturnValue:
    """A new random password, shown on this answer only; the user's open sessions end."""
    try:
        password = accounts.reset_password(db.uow(), name, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except service.NotAllowed as exc:
        return _user_refused(name, f"The password of {name} was not reset: {exc}.")
    page, code = _render_user(name, new_password=password)
    return page, code, {"Cache-Control": "no-store"}
