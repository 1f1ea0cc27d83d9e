"""Users and roles for the web app: who may sign in, who holds which role, and what admins do to accounts.

Reads go through a unit of work like engine.work.queries. The use cases here (an admin setting a user's
roles, disabling or enabling them, resetting their password; a user changing their own) commit like those
of engine.service, and each is appended to the account's log. An actor of None is the ``valueflow`` command,
run by an operator who holds the database itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Iterable, Optional

from sqlalchemy import delete, func, select

from engine.errors import NotAllowed, NotFound
from engine.storage.tables import AccountEvent, EndedSession, HumanTask, User, UserRole
from engine.storage.uow import UnitOfWork
from engine.work.passwords import check_password, hash_password, needs_rehash

# A user name: ASCII letters and digits, dots, dashes, underscores and @, so that no name can look like
# another's (no look-alike letters of other scripts, no spaces, no invisible characters).
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
USER_NAME_RULE = "a user name has letters, digits, dots, dashes, underscores or @ (100 at most), like a.moss"

BUILT_IN_ROLES = ("admin", "process-owner", "manager", "external-worker")
MANAGING_ROLES = frozenset({"manager", "admin"})
EDITING_ROLES = frozenset({"process-owner", "admin"})
# Who fetches, completes and fails external tasks through the API: the system accounts of outside workers, and admins.
WORKING_ROLES = frozenset({"external-worker", "admin"})
PASSWORD_LENGTHS = (8, 200)
HISTORY_SHOWN = 50
TASKS_SHOWN = 25


class AccountDisabled(Exception):
    """The password is right, but an admin has disabled the user."""


class PasswordRefused(ValueError):
    """A new password was not accepted; the message says why."""


class WrongPassword(PasswordRefused):
    """The current password given to change it is not the user's."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when a name is unknown, so that a wrong name costs as long as a wrong password."""
    return hash_password("valueflow: no such user")


@dataclass(frozen=True)
class Account:
    """A signed-in user: the name, the roles held now, and the session generation signed in at."""

    name: str
    roles: frozenset[str]
    session_generation: int = 0

    @property
    def is_manager(self) -> bool:
        """Managers and admins assign and reassign any open task."""
        return bool(self.roles & MANAGING_ROLES)

    @property
    def reads_dashboards(self) -> bool:
        """Managers and admins, and process owners, who own the outcome (read-only: only admins set rates)."""
        return self.is_manager or "process-owner" in self.roles

    @property
    def edits_processes(self) -> bool:
        """Process owners and admins open the modeler, save drafts and deploy."""
        return bool(self.roles & EDITING_ROLES)

    @property
    def works_external_tasks(self) -> bool:
        """Outside workers' system accounts (and admins) fetch, complete and fail external tasks."""
        return bool(self.roles & WORKING_ROLES)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def staff_roles(self) -> frozenset[str]:
        """The lane roles: whose queues this user works."""
        return frozenset(r for r in self.roles if r not in BUILT_IN_ROLES)


def account_of(uow: UnitOfWork, user: User) -> Account:
    """The account of a loaded user, with the roles they hold now."""
    return Account(user.name, frozenset(uow.users.roles(user)), user.session_generation)


def authenticate(uow: UnitOfWork, name: str, password: str) -> Optional[Account]:
    """The account if ``password`` is the user's, else None (also for unknown names and users without one).

    AccountDisabled when the password is right but the user is disabled.
    """
    with uow:
        user = uow.users.by_name(name)
        stored = user.password_hash if user is not None and user.password_hash else None
        matches = check_password(password, stored or _dummy_hash())
        if user is None or stored is None or not matches:
            return None
        if user.disabled_at is not None:
            raise AccountDisabled(f"{name} was disabled by an admin")
        if needs_rehash(stored):  # made with an older scheme or weaker parameters: replace it while we know the password
            user.password_hash = hash_password(password)
            uow.commit()
        return account_of(uow, user)


def account(uow: UnitOfWork, name: str) -> Optional[Account]:
    """The user's roles as they are now, or None if there is no such user (a reader: it never waits for a writer)."""
    with uow.reading():
        user = uow.users.by_name(name)
        return None if user is None else account_of(uow, user)


def name_taken(uow: UnitOfWork, name: str) -> Optional[str]:
    """The name of the user called ``name`` but for upper and lower case, if there is one: a second such user
    would be taken for the first in every list and log."""
    with uow.reading():
        user = uow.users.by_name_in_any_case(name)
        return None if user is None else user.name


def new_session_id() -> str:
    """A random id for a new signed-in session, so that signing out can end exactly that session."""
    return secrets.token_hex(16)


def end_session(uow: UnitOfWork, session_id: str, lifetime: timedelta) -> None:
    """Sign the session ``session_id`` out for good: a copy of its cookie no longer signs anyone in. Ended
    sessions older than ``lifetime`` (after which no cookie of theirs is accepted anyway) are forgotten."""
    with uow:
        now = uow.clock.now()
        uow.session.execute(delete(EndedSession).where(EndedSession.ended_at < now - lifetime))
        if uow.session.get(EndedSession, session_id) is None:
            uow.session.add(EndedSession(session_id=session_id, ended_at=now))
        uow.commit()


def list_users(uow: UnitOfWork, text: str = "", page: int = 1, per_page: int = 25) -> dict[str, Any]:
    """One page of the users, by name: all, or those whose name or one of whose roles contains ``text``."""
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    with uow.reading():
        query = select(User)
        if text:
            holders = select(UserRole.user_id).where(UserRole.role.icontains(text, autoescape=True))
            query = query.where(User.name.icontains(text, autoescape=True) | User.id.in_(holders))
        total = uow.session.scalar(query.with_only_columns(func.count(User.id))) or 0
        users = uow.session.scalars(query.order_by(User.name).offset((page - 1) * per_page).limit(per_page)).all()
        roles: dict[int, list[str]] = {}
        if users:
            for user_id, role in uow.session.execute(select(UserRole.user_id, UserRole.role).where(
                    UserRole.user_id.in_([u.id for u in users])).order_by(UserRole.role)):
                roles.setdefault(user_id, []).append(role)
        return {"rows": [_user_row(u, roles.get(u.id, [])) for u in users], "total": total, "page": page,
                "per_page": per_page, "pages": max((total + per_page - 1) // per_page, 1)}


def _user_row(user: User, roles: list[str]) -> dict[str, Any]:
    return {"name": user.name, "roles": roles, "created_at": user.created_at,
            "can_sign_in": user.password_hash is not None, "disabled_at": user.disabled_at}


def user_page(uow: UnitOfWork, name: str) -> dict[str, Any]:
    """One user with their roles and the newest entries of their account log."""
    with uow.reading():
        user = user_named(uow, name)
        history = uow.session.scalars(select(AccountEvent).where(AccountEvent.user_id == user.id)
                                      .order_by(AccountEvent.id.desc()).limit(HISTORY_SHOWN)).all()
        return {**_user_row(user, sorted(uow.users.roles(user))),
                "history": [{"type": e.type, "actor": e.actor, "at": e.at, "detail": e.detail or {}}
                            for e in history]}


@dataclass(frozen=True)
class HeldTask:
    id: int
    instance_id: int
    name: str
    role: Optional[str]
    due_at: Optional[datetime]


@dataclass(frozen=True)
class TasksHeld:
    """The open tasks assigned to a user: how many, and the most urgent of them (``TASKS_SHOWN`` at most)."""

    count: int
    most_urgent: tuple[HeldTask, ...]


def tasks_held(uow: UnitOfWork, name: str) -> TasksHeld:
    """The open tasks ``name`` holds, the most urgent first (due soonest, then those without a target)."""
    held = (HumanTask.assignee == name, HumanTask.is_open())
    with uow.reading():
        count = uow.session.scalar(select(func.count(HumanTask.id)).where(*held)) or 0
        tasks = uow.session.scalars(select(HumanTask).where(*held).order_by(
            HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(TASKS_SHOWN)).all()
        return TasksHeld(count, tuple(HeldTask(t.id, t.instance_id, t.name, t.role, t.due_at) for t in tasks))


def users_with_role(uow: UnitOfWork, role: str) -> list[str]:
    """Names of the users holding ``role`` who are not disabled, sorted."""
    with uow.reading():
        return sorted(u.name for u in uow.users.holding(role))


def known_roles(uow: UnitOfWork) -> list[str]:
    """The built-in roles, then every lane role of a deployed process and any other role a user holds."""
    with uow.reading():
        lane_roles = uow.definitions.lane_roles() | set(uow.session.scalars(select(UserRole.role).distinct()))
        return list(BUILT_IN_ROLES) + sorted(lane_roles - set(BUILT_IN_ROLES))


# -- use cases ---------------------------------------------------------------------

def set_roles(uow: UnitOfWork, name: str, roles: Iterable[str], actor: Optional[str]) -> tuple[str, ...]:
    """An admin, or the command line (``actor`` None), replaces the roles of a user; returns the roles held
    before. No admin takes the admin role from themself, and nobody from the only enabled admin."""
    wanted = {r.strip() for r in roles if r.strip()}
    if not wanted:
        raise ValueError("choose at least one role")
    with uow:
        if actor is not None:
            require_admin(uow, actor, "change roles")
        user = user_named(uow, name)
        if name == actor and "admin" not in wanted:
            raise NotAllowed("you cannot take the admin role from yourself; ask another admin")
        if "admin" not in wanted:
            _keep_an_admin(uow, user, "take the admin role from them")
        held = tuple(sorted(uow.users.roles(user)))
        uow.users.set_roles(user, wanted)
        uow.users.log(user, "roles_set", actor, uow.clock.now(), {"roles": sorted(wanted)})
        uow.commit()
        return held


def set_disabled(uow: UnitOfWork, name: str, disabled: bool, actor: Optional[str]) -> bool:
    """An admin, or the command line (``actor`` None), disables a user (who then cannot sign in, and whose
    sessions end and tokens are refused) or enables them again; returns whether anything changed. No admin
    disables themself, and nobody the only enabled admin."""
    with uow:
        if actor is not None:
            require_admin(uow, actor, "disable or enable users")
        user = user_named(uow, name)
        if disabled and name == actor:
            raise NotAllowed("you cannot disable yourself; ask another admin")
        if (user.disabled_at is not None) == disabled:
            return False
        if disabled:
            _keep_an_admin(uow, user, "disable them")
        now = uow.clock.now()
        user.disabled_at = now if disabled else None
        uow.users.log(user, "disabled" if disabled else "enabled", actor, now)
        uow.commit()
        return True


def _keep_an_admin(uow: UnitOfWork, user: User, what: str) -> None:
    """NotAllowed when ``user`` is the only enabled admin: ``what`` would leave no one to manage users."""
    if [admin.id for admin in uow.users.holding("admin")] == [user.id]:
        raise NotAllowed(f"{user.name} is the only enabled admin; make another user an admin before you {what}")


def reset_password(uow: UnitOfWork, name: str, actor: Optional[str]) -> str:
    """An admin, or the command line (``actor`` None), gives a user a new random password, returned to be
    shown once; the user's sessions end."""
    password = secrets.token_urlsafe(12)
    with uow:
        if actor is not None:
            require_admin(uow, actor, "reset passwords")
        user = user_named(uow, name)
        if name == actor:
            raise NotAllowed("change your own password on the page for it, with your current password")
        _set_password(user, password)
        uow.users.log(user, "password_reset", actor, uow.clock.now())
        uow.commit()
    return password


def change_password(uow: UnitOfWork, name: str, current: str, new: str) -> int:
    """A user replaces their own password, knowing the current one; their other sessions end.

    Returns the session generation the user's own session carries on with.
    """
    shortest, longest = PASSWORD_LENGTHS
    if not shortest <= len(new) <= longest:
        raise PasswordRefused(f"the new password needs {shortest} to {longest} characters")
    if new == current:
        raise PasswordRefused("the new password is the current one; choose another")
    with uow:
        user = user_named(uow, name)
        if user.password_hash is None or not check_password(current, user.password_hash):
            raise WrongPassword("the current password is not right")
        _set_password(user, new)
        uow.users.log(user, "password_changed", name, uow.clock.now())
        generation = user.session_generation
        uow.commit()
        return generation


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_generation += 1


def user_named(uow: UnitOfWork, name: str) -> User:
    """The user called ``name``; NotFound when there is none."""
    user = uow.users.by_name(name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def require_admin(uow: UnitOfWork, actor: str, what: str) -> None:
    """NotAllowed unless ``actor`` is an enabled admin; ``what`` says what they tried to do."""
    admin = uow.users.by_name(actor)
    if admin is None or admin.disabled_at is not None or "admin" not in uow.users.roles(admin):
        raise NotAllowed(f"the user {actor} is not an admin and cannot {what}")
