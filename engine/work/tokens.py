"""Personal API tokens: a user makes named tokens that act as them, sees when each was last used, and revokes them.

The secret is shown once, when made; only its SHA-256 is stored (a 256-bit random secret needs no slow hash).
A token acts with its user's roles as they are when it is used; it stops working when revoked, or while its
user is disabled. Making and revoking a token are appended to the account's log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from engine.errors import NotFound
from engine.storage.tables import ApiToken, User
from engine.storage.uow import UnitOfWork
from engine.work.accounts import Account, account_of, user_named

PREFIX = "vf_"
NAME_LENGTH = 100
LAST_USE_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    created_at: datetime
    last_used_at: Optional[datetime]
    revoked_at: Optional[datetime]


def digest(secret: str) -> str:
    """What is kept of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(uow: UnitOfWork, user_name: str, name: str, actor: Optional[str] = None) -> str:
    """Make a token named ``name`` for the user; returns its secret, which is not kept and cannot be shown again.
    Logged on the user's account with ``actor`` (None from the command line)."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name that says where it is used, e.g. loan-portal")
    if len(name) > NAME_LENGTH:
        raise ValueError(f"a token's name has at most {NAME_LENGTH} characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    with uow:
        user = user_named(uow, user_name)
        now = uow.clock.now()
        row = ApiToken(user_id=user.id, name=name, secret_hash=digest(secret), created_at=now)
        uow.session.add(row)
        uow.session.flush()
        uow.users.log(user, "token_created", actor, now, {"token": row.id, "name": name})
        uow.commit()
    return secret


def revoke_token(uow: UnitOfWork, user_name: str, token_id: int, actor: Optional[str]) -> bool:
    """Revoke one of the user's tokens; returns whether it was still in use. Logged on the user's account with
    ``actor``: the user themself, or None from the command line."""
    with uow:
        user = user_named(uow, user_name)
        row = uow.session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"{user_name} has no API token {token_id}")
        if row.revoked_at is not None:
            return False
        now = uow.clock.now()
        row.revoked_at = now
        uow.users.log(user, "token_revoked", actor, now, {"token": row.id, "name": row.name})
        uow.commit()
        return True


def tokens_of(uow: UnitOfWork, user_name: str) -> list[TokenRow]:
    """The user's tokens, newest first, revoked ones too."""
    with uow:
        user = user_named(uow, user_name)
        rows = uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())).all()
        return [TokenRow(r.id, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def token_account(uow: UnitOfWork, secret: str) -> Optional[Account]:
    """The account a token acts as, its last use set to now (to the minute, so that a busy client does not
    write on every request); None for an unknown or revoked token, or a
    disabled user's."""
    with uow:
        found = uow.session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.secret_hash == digest(secret))).first()
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or user.disabled_at is not None:
            return None
        result = account_of(uow, user)
        now = uow.clock.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
            token.last_used_at = now
            uow.commit()
        return result
