"""Who a request comes from, resolved once per process while no account changes anywhere.

The web app keeps one ``SignedIn`` per database. A lookup first reads the accounts' generation (one row by
its key, engine.storage.account_generation); while it is the one the kept answers were read at, a session's
or a token's account is answered from memory, without a query of the user. Any change to a user, their
roles or their tokens, made by any process, raises the generation, and the next lookup in every process
reads the accounts again. A session ends when it is signed out (engine.work.accounts.end_session), when its
user is removed or disabled, or when their session generation moves past the one the session signed in at
(a password change or reset).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Optional, Union

from engine.storage.uow import UnitOfWork
from engine.work import tokens
from engine.work.accounts import Account

KEPT_AT_MOST = 10_000  # answers kept per generation; past it they are forgotten (and read again)


class SignedIn:
    """Accounts by session (user name, session generation, session id) and by token, read at one accounts'
    generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: Optional[int] = None
        self._sessions: dict[tuple[str, int, str], Optional[Account]] = {}
        self._tokens: dict[str, tuple[Optional[Account], datetime]] = {}

    def session(self, uow: UnitOfWork, name: str, session_generation: int, session_id: str) -> Optional[Account]:
        """The account of the session ``session_id``, signed in as ``name`` at ``session_generation``; None when
        it has ended."""
        key = (name, session_generation, session_id)
        with uow.reading():
            generation = uow.cases.account_generation()
            kept = self._kept(generation, self._sessions, key)
            if kept is not _MISSING:
                return kept  # type: ignore[return-value]
            state = uow.cases.sign_in_state(name, session_id)
        account = None
        if state is not None:
            user_generation, disabled, ended, roles = state
            if not disabled and not ended and user_generation == session_generation:
                account = Account(name, frozenset(roles), user_generation)
        self._keep(generation, self._sessions, key, account)
        return account

    def token(self, uow: UnitOfWork, secret: str) -> Optional[Account]:
        """The account an API token acts as, or None (see engine.work.tokens.token_account); the token's last
        use is still written once a minute."""
        key = tokens.digest(secret)
        now = uow.clock.now()
        with uow.reading():
            generation = uow.cases.account_generation()
        kept = self._kept(generation, self._tokens, key)
        if kept is not _MISSING:
            account, looked_up = kept  # type: ignore[misc]
            if now - looked_up < tokens.LAST_USE_PRECISION:
                return account  # type: ignore[no-any-return]
        account = tokens.token_account(uow, secret)
        self._keep(generation, self._tokens, key, (account, now))
        return account

    def _kept(self, generation: int, answers: dict[Any, Any], key: Union[str, tuple[str, int, str]]) -> object:
        with self._lock:
            if generation != self._generation:
                return _MISSING
            return answers.get(key, _MISSING)

    def _keep(self, generation: int, answers: dict[Any, Any], key: Union[str, tuple[str, int, str]], answer: object) -> None:
        with self._lock:
            if self._generation is None or generation > self._generation:
                self._generation = generation
                self._sessions.clear()
                self._tokens.clear()
            if generation == self._generation:  # an answer read at an older generation is not kept
                if len(answers) >= KEPT_AT_MOST:
                    answers.clear()
                answers[key] = answer


_MISSING = object()
