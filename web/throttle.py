"""Sign-in attempts are limited per account and per address (Flask-Limiter), so passwords cannot be guessed at speed.

Only failed attempts count. Once a user name has had ``FAILURES_PER_ACCOUNT``
failures, every attempt for it is refused with 429 and ``Retry-After`` (sent
with the refusal only) until the window has passed, whatever the password; the same for an address, and for
a signed-in user giving wrong current passwords to change theirs. The
counts live in ``RATELIMIT_STORAGE_URI`` (``VALUEFLOW_RATELIMIT_STORAGE_URI``):
``memory://`` by default, which one process keeps for itself; several web
processes share ``redis://host:6379``. While Redis cannot be reached, each process counts in its own memory
(Flask-Limiter's fallback, which says so on stderr, and again when Redis answers and is used again), so that
sign-ins go on, still limited. Behind a reverse proxy, the address is
the proxy's unless the app is told to trust its ``X-Forwarded-For``
(``VALUEFLOW_PROXY_HOPS``, handled in ``create_app``).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable

from flask import Flask, Response, g, request
from flask.logging import default_handler
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

FAILURES_PER_ACCOUNT = "10 per 15 minutes"
FAILURES_PER_ADDRESS = "50 per 15 minutes"
ACCOUNT_REFUSED = ("Too many failed sign-ins for this user name. Wait 15 minutes and try again, "
                   "or ask an admin to reset the password.")
ADDRESS_REFUSED = "Too many failed sign-ins from your address. Wait 15 minutes and try again."
PASSWORD_CHANGE_REFUSED = ("Too many wrong current passwords given to change yours. Wait 15 minutes and try "
                           "again, or ask an admin to reset the password.")


def init_app(app: Flask) -> None:
    """Limit failed POSTs to the login view, and wrong current passwords given to change one's own; call once
    their blueprints are registered."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "valueflow")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter = Limiter(get_remote_address, app=app)
    limiter.logger.addHandler(default_handler)  # its warning that Redis is away, and that it is back, in the log
    limiter.logger.setLevel(logging.INFO)
    per_account = limiter.limit(FAILURES_PER_ACCOUNT, key_func=_user_name, methods=["POST"], deduct_when=_failed,
                                error_message=ACCOUNT_REFUSED, scope="login-account")
    per_address = limiter.limit(FAILURES_PER_ADDRESS, methods=["POST"], deduct_when=_failed,
                                error_message=ADDRESS_REFUSED, scope="login-address")
    app.view_functions["auth.login"] = per_account(per_address(app.view_functions["auth.login"]))
    per_signed_in = limiter.limit(FAILURES_PER_ACCOUNT, key_func=_signed_in_name, methods=["POST"],
                                  deduct_when=_failed, error_message=PASSWORD_CHANGE_REFUSED, scope="password-change")
    app.view_functions["account.change_password"] = per_signed_in(app.view_functions["account.change_password"])
    _hooks_only_where_limited(app, limiter, frozenset({"auth.login", "account.change_password"}))


def _hooks_only_where_limited(app: Flask, limiter: Limiter, endpoints: frozenset[str]) -> None:
    """Flask-Limiter hooks every request (a check before it, its headers and the failed-only deduction after it,
    a reset at its end), some 0.3 ms each; only ``endpoints`` are limited, so its hooks run for those alone.
    Its headers keep ``Retry-After`` for the refusal itself (429): an attempt it lets through need not wait."""
    def ours(hook: Any) -> bool:
        return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and limiter in hook.args)

    for hooks in (app.before_request_funcs[None], app.teardown_request_funcs[None]):
        hooks[:] = [_where_limited(hook, endpoints) if ours(hook) else hook for hook in hooks]
    after = app.after_request_funcs[None]
    after[:] = [_where_limited(_retry_after_when_refused(hook), endpoints) if ours(hook) else hook for hook in after]


def _retry_after_when_refused(hook: Callable[..., Any]) -> Callable[[Response], Response]:
    def run(response: Response) -> Response:
        own = response.headers.get("Retry-After")  # the view's own, as a 503's
        response = hook(response)
        if response.status_code != 429:
            response.headers.pop("Retry-After", None)
            if own is not None:
                response.headers["Retry-After"] = own
        return response
    return run


def _where_limited(hook: Callable[..., Any], endpoints: frozenset[str]) -> Callable[..., Any]:
    def run(*given: Any) -> Any:
        if request.endpoint in endpoints:
            return hook(*given)
        return given[0] if given else None  # an after-request hook hands the response on
    return run


def _signed_in_name() -> str:
    """The account changing its password (a session without one gets the login page, and counts by address)."""
    return g.account.name if g.account is not None else get_remote_address()


def _user_name() -> str:
    return request.form.get("username", "").strip().lower()


def _failed(response: Response) -> bool:
    return response.status_code == 401
