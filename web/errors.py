"""Readable error pages: what happened, in words, and where to go next; under /api/, the same as JSON.

An error of Valueflow's own (500) is logged by Flask with its traceback; the person or program that sent the
request gets a page or JSON that says so, never the traceback."""

from __future__ import annotations

from flask import Flask, g, render_template, url_for
from werkzeug.exceptions import HTTPException

from web import api_errors, auth

TITLES = {400: "The request could not be accepted", 403: "Not allowed", 404: "Not found",
          405: "Not possible here", 409: "Changed meanwhile", 500: "Something went wrong on our side"}
OWN_FAULT = ("Valueflow could not finish this request because of an error of its own, written to the server's "
             "log. Look whether what you sent was saved before you send it again.")


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code < 400 or code > 500:
            return error
        message = OWN_FAULT if code == 500 else error.description
        if api_errors.is_api_request():
            return api_errors.error(500, message) if code == 500 else api_errors.http_error(error)
        account = g.get("account")
        way_back = auth.landing(account) if account is not None else ("Sign in", url_for("auth.login"))
        return render_template("errors/error.html", code=code, title=TITLES.get(code, error.name),
                               message=message, way_back=way_back), code
