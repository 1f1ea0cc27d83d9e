"""Users and roles for the web app: who may sign in, who holds which role.

Reads go through a unit of work like engine.work.queries; ``set_roles`` is the one
use case here (an admin replacing a user's roles) and commits like those of
engine.service.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from sqlalchemy import select

from engine.errors import NotAllowed, NotFound
from engine.storage.tables import User, UserRole
from engine.storage.uow import UnitOfWork
from engine.work.passwords import check_password, hash_password

BUILT_IN_ROLES = ("admin", "process-owner", "manager")
MANAGING_ROLES = frozenset({"manager", "admin"})


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when a name is unknown, so that a wrong name costs as long as a wrong password."""
    return hash_password("valueflow: no such user")


@dataclass(frozen=True)
class Account:
    """A signed-in user: the name and the roles held now."""

    name: str
    roles: frozenset[str]

    @property
    def is_manager(self) -> bool:
        """Managers and admins assign and reassign any open task."""
        return bool(self.roles & MANAGING_ROLES)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def staff_roles(self) -> frozenset[str]:
        """The lane roles: whose queues this user works."""
        return frozenset(r for r in self.roles if r not in BUILT_IN_ROLES)


def authenticate(uow: UnitOfWork, name: str, password: str) -> Optional[Account]:
    """The account if ``password`` is the user's, else None (also for unknown names and users without one)."""
    with uow:
        user = uow.users.by_name(name)
        stored = user.password_hash if user is not None and user.password_hash else None
        matches = check_password(password, stored or _dummy_hash())
        if user is None or stored is None or not matches:
            return None
        return Account(user.name, frozenset(uow.users.roles(user)))


def account(uow: UnitOfWork, name: str) -> Optional[Account]:
    """The user's roles as they are now, or None if there is no such user (a reader: it never waits for a writer)."""
    with uow.reading():
        user = uow.users.by_name(name)
        if user is None:
            return None
        return Account(user.name, frozenset(uow.users.roles(user)))


def list_users(uow: UnitOfWork) -> list[dict[str, object]]:
    """Every user with their roles, by name."""
    with uow:
        users = uow.session.scalars(select(User).order_by(User.name)).all()
        roles: dict[int, list[str]] = {}
        for user_id, role in uow.session.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
            roles.setdefault(user_id, []).append(role)
        return [{"name": u.name, "roles": roles.get(u.id, []), "created_at": u.created_at,
                 "can_sign_in": u.password_hash is not None} for u in users]


def users_with_role(uow: UnitOfWork, role: str) -> list[str]:
    """Names of the users holding ``role``, sorted."""
    with uow:
        return sorted(u.name for u in uow.users.holding(role))


def known_roles(uow: UnitOfWork) -> list[str]:
    """The built-in roles, then every lane role of a deployed process and any other role a user holds."""
    with uow:
        lane_roles = uow.definitions.lane_roles() | set(uow.session.scalars(select(UserRole.role).distinct()))
        return list(BUILT_IN_ROLES) + sorted(lane_roles - set(BUILT_IN_ROLES))


def set_roles(uow: UnitOfWork, name: str, roles: Iterable[str], actor: str) -> None:
    """An admin replaces the roles of a user (an admin cannot take the admin role from themself)."""
    wanted = {r.strip() for r in roles if r.strip()}
    if not wanted:
        raise ValueError("choose at least one role")
    with uow:
        admin = uow.users.by_name(actor)
        if admin is None or "admin" not in uow.users.roles(admin):
            raise NotAllowed(f"{actor} is not an admin and cannot change roles")
        user = uow.users.by_name(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if name == actor and "admin" not in wanted:
            raise NotAllowed("you cannot take the admin role from yourself; ask another admin")
        uow.users.set_roles(user, wanted)
        uow.commit()
