"""Readable error pages: what happened, in words, and where to go next."""

from __future__ import annotations

from flask import Flask, g, render_template, url_for
from werkzeug.exceptions import HTTPException

from web import auth

TITLES = {400: "The request could not be accepted", 403: "Not allowed", 404: "Not found",
          405: "Not possible here", 409: "Changed meanwhile"}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code < 400 or code >= 500:
            return error
        account = g.get("account")
        way_back = auth.landing(account) if account is not None else ("Sign in", url_for("auth.login"))
        return render_template("errors/error.html", code=code, title=TITLES.get(code, error.name),
                               message=error.description, way_back=way_back), code
