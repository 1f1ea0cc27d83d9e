"""Notification settings: each user's own (``/account/notifications``), and, for admins, each role's and the
messages that failed (``/admin/notifications``)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import NotAllowed, NotFound
from engine.notify import deliveries, settings
from engine.work import accounts
from web import db, refused
from web.auth import login_required, require

bp = Blueprint("notifications", __name__)
CHOICE_FIELD = "choice"  # checkboxes valued "<event>:<channel>"
EVENT_LABELS = {
    "user": {"assigned": "A task is assigned to me by someone else",
             "at_risk": "A task of mine, or of my roles' queues, is at risk (a quarter of its target left)",
             "breached": "A task of mine, or of my roles' queues, is past its target",
             "incident": "A case stops in error (for admins and the process's owner)"},
    "role": {"at_risk": "A task waiting in this role's queue is at risk (a quarter of its target left)",
             "breached": "A task waiting in this role's queue is past its target",
             "incident": "A case stops in error (for the admin role, and a role that owns the process)"},
}


@bp.get("/account/notifications")
@login_required
def mine() -> ResponseReturnValue:
    kept, code = refused.taken()
    return _page(settings.settings_of(db.uow(), g.account.name), url_for("notifications.save_mine"), code, **kept)


@bp.post("/account/notifications")
@login_required
def save_mine() -> ResponseReturnValue:
    return _save(lambda form: settings.save_settings(db.uow(), g.account.name, form),
                 lambda: settings.settings_of(db.uow(), g.account.name), url_for("notifications.mine"),
                 url_for("notifications.save_mine"), "Your notification settings are saved.")


@bp.get("/admin/notifications")
@login_required
def admin() -> ResponseReturnValue:
    _admins_only()
    saved = {s.subscriber: s for s in settings.role_settings(db.uow(), g.account.name)}
    return render_template("notifications/admin.html", roles=accounts.known_roles(db.uow()), saved=saved,
                           troubles=deliveries.troubles(db.uow(), g.account.name),
                           mail_configured=settings.mail_configured())


@bp.get("/admin/notifications/roles/<role>")
@login_required
def role(role: str) -> ResponseReturnValue:
    _admins_only()
    kept, code = refused.taken()
    return _page(_role_settings(role), url_for("notifications.save_role", role=role), code, **kept)


@bp.post("/admin/notifications/roles/<role>")
@login_required
def save_role(role: str) -> ResponseReturnValue:
    _admins_only()
    _role_settings(role)
    return _save(lambda form: settings.save_role_settings(db.uow(), g.account.name, role, form),
                 lambda: _role_settings(role), url_for("notifications.role", role=role),
                 url_for("notifications.save_role", role=role), f"The notifications of the role {role} are saved.")


def _admins_only() -> None:
    require(g.account.is_admin, "A role's notifications are set by admins; you do not hold the admin role.")


def _role_settings(role: str) -> settings.Settings:
    try:
        return settings.role_settings_of(db.uow(), g.account.name, role)
    except NotFound as exc:
        abort(404, f"{exc}.")
    except NotAllowed as exc:
        abort(403, f"{exc}.")


def _save(save: Callable[[settings.SettingsForm], Optional[str]], current: Callable[[], settings.Settings],
          page: str, action: str, saved: str) -> ResponseReturnValue:
    form = settings.SettingsForm(
        email=request.form.get("email", ""), webhook_url=request.form.get("webhook_url", ""),
        secret=request.form.get("secret", ""), new_secret=request.form.get("new_secret") == "yes",
        choices=frozenset(tuple(value.split(":", 1)) for value in request.form.getlist(CHOICE_FIELD)
                          if ":" in value))
    try:
        made = save(form)
    except settings.SettingsRefused as exc:
        kept = {"typed": {"email": form.email, "webhook_url": form.webhook_url,
                          "choices": sorted(f"{e}:{c}" for e, c in form.choices)},
                "errors": {exc.field: f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing was saved."}}
        return refused.back_to(page, "settings-form", 400, lambda: _page(current(), action, 400, **kept), **kept)
    if made is not None:  # shown this once, in the answer itself, never kept in the session
        return _page(current(), action, 201, made=made)
    flash(saved, "success")
    return redirect(page)


def _page(shown: settings.Settings, action: str, code: int, typed: Optional[dict[str, Any]] = None,
          errors: Optional[dict[str, str]] = None, made: Optional[str] = None) -> ResponseReturnValue:
    chosen = (set(typed["choices"]) if typed is not None
              else {f"{event}:{channel}" for event, channels in shown.choices.items() for channel in channels})
    values = {"email": shown.email or "", "webhook_url": shown.webhook_url or ""} | (
        {k: typed[k] for k in ("email", "webhook_url")} if typed else {})
    return render_template("notifications/settings.html", shown=shown, action=action, values=values, chosen=chosen,
                           labels=EVENT_LABELS[shown.kind], channels=settings.CHANNELS, errors=errors or {},
                           made=made, field=CHOICE_FIELD), code
