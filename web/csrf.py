"""Every POST carries ``csrf_token``: a random token kept in the signed session and echoed by each form.

Scripts calling the JSON API from a page send the same token in the ``X-CSRF-Token`` header instead.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

SESSION_KEY = "_csrf"
HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REFUSED = ("This form could not be accepted: its security token is missing or out of date (the page may be "
           "old, or you signed in elsewhere). Nothing was changed. Go back, reload the page and try again.")


def token() -> str:
    """The session's token, made on first use."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[SESSION_KEY])


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = token

    @app.before_request
    def refuse_forged_posts() -> None:
        if request.method not in UNSAFE:
            return
        sent = request.headers.get(HEADER) or request.form.get("csrf_token", "")
        expected = session.get(SESSION_KEY, "")
        if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
            abort(400, REFUSED)
