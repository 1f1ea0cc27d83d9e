"""The API's ``/me``: the caller's own notification settings, read and replaced with the checks of their page
(``/account/notifications``); a refused field is a 422 naming it, and nothing is saved."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from flask.views import MethodView

from engine.notify import settings
from web import api, db
from web.api_errors import error
from web.api_schemas import NotificationSettings, NotificationSettingsChange, SavedNotificationSettings

bp = api.blueprint("api_me", "me", "You: your own notification settings.")


@bp.route("/notifications")
class Notifications(MethodView):
    @bp.response(200, NotificationSettings)
    def get(self) -> Any:
        """What you hear of and how: your mail address, webhook and the channels of each event (the defaults,
        ``saved`` false, until you save your own)."""
        return shown(settings.settings_of(db.uow(), g.account.name))

    @bp.arguments(NotificationSettingsChange)
    @bp.response(200, SavedNotificationSettings)
    @bp.refuses(422, "an address is not valid, or the webhook's host is internal; `fields` names it")
    def put(self, body: dict[str, Any]) -> Any:
        """Replace your settings: an address left out or null is removed (a webhook's secret with it). A webhook
        given without a secret of yours gets one made, answered in ``secret`` this once; refused with 422, naming
        the field, when an address is not valid or the webhook's host is internal."""
        form = settings.SettingsForm(
            email=body["email"] or "", webhook_url=body["webhook_url"] or "", secret=body["secret"] or "",
            new_secret=body["new_secret"],
            choices=frozenset((event, channel) for event, channels in body["choices"].items() for channel in channels))
        try:
            made = settings.save_settings(db.uow(), g.account.name, form)
        except settings.SettingsRefused as exc:
            return refused(exc)
        return {**shown(settings.settings_of(db.uow(), g.account.name)), "secret": made}


def shown(found: settings.Settings) -> dict[str, Any]:
    return {"email": found.email, "webhook_url": found.webhook_url, "has_secret": found.has_secret,
            "choices": {event: sorted(channels) for event, channels in found.choices.items()}, "saved": found.saved,
            "mail_configured": found.mail_configured}


def refused(exc: settings.SettingsRefused) -> Response:
    message = f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing was saved."
    return error(422, message, {exc.field: message})
