"""What each user, and each role, wants to hear of and how: a mail address, a webhook address with its signing
secret, and a grid of events by channel. A user sets their own; an admin sets a role's (e.g. the managers'
chat tool's webhook). Every field is checked before anything is saved, a webhook's host included: one that is
internal, or not found, is refused (engine.outbound.destinations).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional
from urllib.parse import urlsplit

from sqlalchemy import select

from engine.errors import NotFound
from engine.outbound.destinations import DestinationRefused, check_to_save
from engine.outbound.mail import MailNotConfigured, MailSettings
from engine.storage.tables import NotificationSetting, UserRole
from engine.storage.uow import UnitOfWork
from engine.work.accounts import BUILT_IN_ROLES, require_admin

EVENTS = ("assigned", "at_risk", "breached", "incident")
# A role hears of what reaches its queue (tasks no one holds) and of incidents; a task is assigned to a person.
EVENTS_OF = {"user": EVENTS, "role": ("at_risk", "breached", "incident")}
CHANNELS = ("email", "webhook")
# Until someone saves their own choices: mail of the tasks given to them and of incidents, once they give an address.
DEFAULT_CHOICES: dict[str, tuple[str, ...]] = {"assigned": ("email",), "incident": ("email",)}
USER, ROLE = "user", "role"
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
LONGEST_EMAIL, LONGEST_URL = 254, 2000
SECRET_LENGTHS = (16, 200)


class SettingsRefused(ValueError):
    """A field of the notification settings is not valid; ``field`` names it. Nothing was saved."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Settings:
    """One subscriber's settings as the page shows them (the secret itself is never shown again)."""

    kind: str
    subscriber: str
    email: Optional[str]
    webhook_url: Optional[str]
    has_secret: bool
    choices: dict[str, frozenset[str]]
    saved: bool
    mail_configured: bool


@dataclass(frozen=True)
class SettingsForm:
    """What a settings form sent: ``choices`` holds (event, channel) pairs; ``secret`` a secret of the
    subscriber's own (blank keeps the current one), ``new_secret`` asks for a new one to be made."""

    email: str = ""
    webhook_url: str = ""
    secret: str = ""
    new_secret: bool = False
    choices: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def mail_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process can send mail (engine.outbound.mail's settings are present and valid)."""
    try:
        MailSettings.from_environ(environ)
    except MailNotConfigured:
        return False
    return True


def settings_of(uow: UnitOfWork, user: str) -> Settings:
    """The signed-in user's own settings (the defaults until they save theirs)."""
    with uow.reading():
        return _settings(uow, USER, user)


def save_settings(uow: UnitOfWork, user: str, form: SettingsForm) -> Optional[str]:
    """Save the user's own settings; the webhook secret made for them, to be shown once, if one was made."""
    with uow:
        made = _save(uow, USER, user, form, user)
        uow.commit()
    return made


def role_settings_of(uow: UnitOfWork, actor: str, role: str) -> Settings:
    """A role's settings, for an admin."""
    with uow.reading():
        require_admin(uow, actor, "set a role's notifications")
        _require_role(uow, role)
        return _settings(uow, ROLE, role)


def save_role_settings(uow: UnitOfWork, actor: str, role: str, form: SettingsForm) -> Optional[str]:
    """An admin saves a role's settings; the webhook secret made, to be shown once, if one was made."""
    with uow:
        require_admin(uow, actor, "set a role's notifications")
        _require_role(uow, role)
        made = _save(uow, ROLE, role, form, actor)
        uow.commit()
    return made


def role_settings(uow: UnitOfWork, actor: str) -> list[Settings]:
    """Every role's settings saved so far, for an admin, by role."""
    with uow.reading():
        require_admin(uow, actor, "set a role's notifications")
        rows = uow.session.scalars(select(NotificationSetting).where(NotificationSetting.subscriber_kind == ROLE)
                                   .order_by(NotificationSetting.subscriber)).all()
        return [_shown(row, mail_configured()) for row in rows]


def wanted(choices: Mapping[str, Iterable[str]], event: str) -> frozenset[str]:
    """The channels a subscriber's stored choices send ``event`` by."""
    return frozenset(choices.get(event, ()))


def _settings(uow: UnitOfWork, kind: str, subscriber: str) -> Settings:
    row = _row(uow, kind, subscriber)
    if row is None:
        return Settings(kind, subscriber, None, None, False,
                        {event: frozenset(DEFAULT_CHOICES.get(event, ()) if kind == USER else ())
                         for event in EVENTS_OF[kind]},
                        False, mail_configured())
    return _shown(row, mail_configured())


def _shown(row: NotificationSetting, mail_ready: bool) -> Settings:
    return Settings(row.subscriber_kind, row.subscriber, row.email, row.webhook_url, bool(row.webhook_secret),
                    {event: wanted(row.choices, event) for event in EVENTS_OF[row.subscriber_kind]}, True, mail_ready)


def _row(uow: UnitOfWork, kind: str, subscriber: str) -> Optional[NotificationSetting]:
    return uow.session.scalar(select(NotificationSetting).where(NotificationSetting.subscriber_kind == kind,
                                                                NotificationSetting.subscriber == subscriber))


def _save(uow: UnitOfWork, kind: str, subscriber: str, form: SettingsForm, actor: str) -> Optional[str]:
    email, url, own_secret = _email(form.email), _url(form.webhook_url), _secret(form.secret)
    choices = _choices(form.choices, EVENTS_OF[kind], email, url)
    row = _row(uow, kind, subscriber)
    if row is None:
        row = NotificationSetting(subscriber_kind=kind, subscriber=subscriber, choices={})
        uow.session.add(row)
    made = None
    if url is None:
        row.webhook_secret = None
    elif own_secret is not None:
        row.webhook_secret = own_secret
    elif form.new_secret or not row.webhook_secret:
        row.webhook_secret = made = secrets.token_urlsafe(32)
    row.email, row.webhook_url, row.choices = email, url, choices
    row.updated_at, row.updated_by = uow.clock.now(), actor
    return made


def _email(text: str) -> Optional[str]:
    text = text.strip()
    if not text:
        return None
    if len(text) > LONGEST_EMAIL or not _EMAIL.fullmatch(text):
        raise SettingsRefused("email", f"{text[:80]!r} is not an email address (like name@example.com)")
    return text


def _url(text: str) -> Optional[str]:
    text = text.strip()
    if not text:
        return None
    if len(text) > LONGEST_URL:
        raise SettingsRefused("webhook_url", f"the webhook address has at most {LONGEST_URL} characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it checks the port)
    except ValueError:
        raise SettingsRefused("webhook_url", f"{text[:80]!r} is not a web address") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise SettingsRefused("webhook_url", "the webhook address must start with https:// (or http://), "
                                             f"not {parts.scheme + ':' if parts.scheme else 'no scheme'}")
    if not parts.hostname or any(c.isspace() for c in text):
        raise SettingsRefused("webhook_url", f"{text[:80]!r} is not a web address with a host")
    try:
        check_to_save(parts)
    except DestinationRefused as exc:
        raise SettingsRefused("webhook_url", f"the webhook address is refused: {exc}") from None
    return text


def _secret(text: str) -> Optional[str]:
    text = text.strip()
    if not text:
        return None
    shortest, longest = SECRET_LENGTHS
    if not shortest <= len(text) <= longest:
        raise SettingsRefused("secret", f"a webhook secret has {shortest} to {longest} characters")
    return text


def _choices(pairs: Iterable[tuple[str, str]], events: tuple[str, ...], email: Optional[str],
             url: Optional[str]) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for event, channel in sorted(set(pairs)):
        if event not in events or channel not in CHANNELS:
            raise SettingsRefused("choices", f"there is no {event!r} notification by {channel!r}")
        chosen.setdefault(event, []).append(channel)
    channels = {c for cs in chosen.values() for c in cs}
    if "email" in channels and email is None:
        raise SettingsRefused("email", "give an email address to get mail, or untick the mail boxes")
    if "webhook" in channels and url is None:
        raise SettingsRefused("webhook_url", "give a webhook address to get webhook calls, or untick the webhook "
                                             "boxes")
    return chosen


def _require_role(uow: UnitOfWork, role: str) -> None:
    known = set(BUILT_IN_ROLES) | uow.definitions.lane_roles() | set(
        uow.session.scalars(select(UserRole.role).distinct()))
    if role not in known:
        raise NotFound(f"there is no role {role!r}")
