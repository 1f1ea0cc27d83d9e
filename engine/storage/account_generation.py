"""The accounts' generation: one number, raised in the transaction of every change to a user, their roles,
their API tokens or their signed-out sessions.

A process that keeps who is signed in (engine.work.signed_in) reads it before it trusts what it kept: the
same number means that no account changed since, in any process; another means it must look again. It is
raised on the ORM session's flush, where every change to those rows is made, so no use case can forget it;
a token's last use (written at most once a minute) is not a change of the account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.storage.driver_statements import Prepared
from engine.storage.tables import AccountGeneration, ApiToken, EndedSession, User, UserRole

_TABLE = AccountGeneration.__table__
_RAISE = update(_TABLE).where(_TABLE.c.id == 1).values(generation=_TABLE.c.generation + 1)
CURRENT = Prepared(select(_TABLE.c.generation).where(_TABLE.c.id == 1))
_ACCOUNT_ROWS = (User, UserRole, ApiToken, EndedSession)
_NOT_A_CHANGE = {ApiToken: {"last_used_at"}}


def raise_on_account_changes(session_factory: sessionmaker[Session]) -> None:
    """Make every flush of the factory's sessions that changes an account raise the generation with it."""
    event.listen(session_factory, "after_flush", _after_flush)


def _after_flush(session: Session, _context: Any) -> None:
    # The session's new, dirty and deleted objects, and their attributes' history, still show what this
    # flush wrote.
    if (any(isinstance(row, _ACCOUNT_ROWS) for row in (*session.new, *session.deleted))
            or any(_changed(row) for row in session.dirty if isinstance(row, _ACCOUNT_ROWS))):
        session.connection().execute(_RAISE)


def _changed(row: object) -> bool:
    ignored = _NOT_A_CHANGE.get(type(row), set())
    return any(attribute.history.has_changes() for attribute in inspect(row).attrs if attribute.key not in ignored)
