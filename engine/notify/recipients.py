"""Who hears of a notification, and by which channel.

A task assigned to someone: that person. A task at risk or past its target: its assignee, or its queue's role
while no one holds it. An incident: the admins and the process's owner (``processOwner`` names a user, or else
a role). A role hears by its own channels (set by an admin) and through each of its members' choices. Nobody
hears of what they did themselves, nor does a disabled user; an address gets one message however many ways
lead to it, and mail goes out only where this process can send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select, tuple_

from engine.definitions.annotations import role_key
from engine.notify.messages import About
from engine.notify.settings import ROLE, USER, wanted
from engine.storage.tables import NotificationSetting, User, UserRole
from engine.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Delivery:
    """One message to send: to whom (``user alice``, ``role manager``), by which channel, to which address."""

    recipient: str
    channel: str
    address: str


def deliveries(uow: UnitOfWork, item: About, mail_ready: bool) -> list[Delivery]:
    """The messages a notification makes, one per channel and address, by the subscribers' saved choices."""
    subscribers = _subscribers(uow, item)
    if not subscribers:
        return []
    S = NotificationSetting
    rows = {(row.subscriber_kind, row.subscriber): row for row in uow.session.scalars(
        select(S).where(tuple_(S.subscriber_kind, S.subscriber).in_(subscribers)))}
    found: dict[tuple[str, str], Delivery] = {}
    for kind, name in subscribers:
        row = rows.get((kind, name))
        if row is None:
            continue
        channels = wanted(row.choices, item.event)
        if "email" in channels and row.email and mail_ready:
            found.setdefault(("email", row.email.lower()), Delivery(f"{kind} {name}", "email", row.email))
        if "webhook" in channels and row.webhook_url:
            found.setdefault(("webhook", row.webhook_url), Delivery(f"{kind} {name}", "webhook", row.webhook_url))
    return list(found.values())


def _subscribers(uow: UnitOfWork, item: About) -> list[tuple[str, str]]:
    """The users and roles the notification is for, each role followed by its enabled members, without the
    person who caused it."""
    found: list[tuple[str, str]] = []
    for kind, name in _addressed(uow, item):
        if kind == ROLE:
            found.append((ROLE, name))
            found += [(USER, member) for member in uow.session.scalars(
                select(User.name).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == name, User.disabled_at.is_(None)).order_by(User.name))]
        elif _enabled_user(uow, name):
            found.append((USER, name))
    return list(dict.fromkeys(s for s in found if not (s[0] == USER and s[1] == item.actor)))


def _addressed(uow: UnitOfWork, item: About) -> list[tuple[str, str]]:
    if item.event == "assigned":
        assignee = item.detail.get("assignee")
        return [(USER, assignee)] if assignee else []
    if item.event in ("at_risk", "breached"):
        if item.assignee:
            return [(USER, item.assignee)]
        return [(ROLE, item.role)] if item.role else []
    if item.event == "incident":
        owner = _owner(uow, item.process_owner)
        return [(ROLE, "admin")] + ([owner] if owner else [])
    return []


def _owner(uow: UnitOfWork, owner: Optional[str]) -> Optional[tuple[str, str]]:
    """The process owner a ``processOwner`` property names: a user of that name, else the role it names."""
    if not owner or not owner.strip():
        return None
    owner = owner.strip()
    if uow.session.scalar(select(User.id).where(User.name == owner)) is not None:
        return USER, owner
    return ROLE, role_key(owner)


def _enabled_user(uow: UnitOfWork, name: str) -> bool:
    return uow.session.scalar(select(User.id).where(User.name == name, User.disabled_at.is_(None))) is not None
