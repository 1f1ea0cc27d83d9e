"""Readable error pages: what happened, in words, and where to go next; under /api/, the same as JSON.

An error of Valueflow's own (500) is logged with its traceback and the request's id (web.access); the person or
program that sent the request gets a page or JSON that says so and gives the id to quote, never the traceback;
when the cause is a database that cannot be reached, a 503 that says so and when to try again."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from engine.storage.health import readiness
from web import access, api_errors, auth, db

TITLES = {400: "The request could not be accepted", 403: "Not allowed", 404: "Not found",
          405: "Not possible here", 409: "Changed meanwhile", 500: "Something went wrong on our side",
          503: "Not available just now"}
OWN_FAULT = ("Valueflow could not finish this request because of an error of its own, written to the server's "
             "log. Look whether what you sent was saved before you send it again.")
NO_DATABASE = ("Valueflow cannot reach its database just now. Try again in a minute, and look whether what you "
               "sent was saved before you send it again.")
QUOTE_THE_ID = "Quote the request id {} when you report it."
RETRY_AFTER_SECONDS = 60


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code < 400 or code > 500:
            return error
        if code == 500:
            if not readiness(db.factory().engine).database:
                return _page_or_json(503, _quoting_the_id(NO_DATABASE)), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return _page_or_json(500, _quoting_the_id(OWN_FAULT)), 500
        error = described(error)
        if api_errors.is_api_request():
            return api_errors.http_error(error)
        return _page_or_json(code, error.description, error.name), code


def _quoting_the_id(message: str) -> str:
    return f"{message} {QUOTE_THE_ID.format(access.request_id())}"


def _page_or_json(code: int, message: str, name: str = "") -> Any:
    """The error page, or under /api/ the error as JSON."""
    if api_errors.is_api_request():
        return api_errors.error(code, message)
    account = g.get("account")
    way_back = auth.landing(account) if account is not None else ("Sign in", url_for("auth.login"))
    return render_template("errors/error.html", code=code, title=TITLES.get(code, name), message=message,
                           way_back=way_back)


def described(error: HTTPException) -> HTTPException:
    """The error with a description that helps: an address no route answers says so (under /api/, where the
    reference is); a body over this request's limit is told the limit, and when it is
    the limit of every request, the setting that raises it. Any other error (a 413 for a multipart form part over
    Werkzeug's own limits among them) is returned as it is."""
    if isinstance(error, NotFound) and request.url_rule is None:  # no address of the app matched
        if api_errors.is_api_request():
            return NotFound(f"No endpoint of the API answers {request.method} {request.path}: the reference at "
                            f"{url_for('api_docs.show')} lists them (ids in addresses are whole numbers).")
        return NotFound(f"There is no page at {request.path}. Check the address, or start again from the menu.")
    limit = request.max_content_length
    if not isinstance(error, RequestEntityTooLarge) or limit is None or (
            request.content_length is not None and request.content_length <= limit):
        return error
    if limit == current_app.config["MAX_CONTENT_LENGTH"]:
        return RequestEntityTooLarge(f"The request is larger than the {size(limit)} this server accepts. An operator "
                                     "can raise the limit with the setting VALUEFLOW_MAX_CONTENT_LENGTH (in bytes).")
    return RequestEntityTooLarge(f"The request is larger than the {size(limit)} this server accepts at this address.")


def size(count: int) -> str:
    """A number of bytes in the largest unit it fills, like 1 MB, 1.5 MB or 500 KB."""
    for unit, bytes_in_unit in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if count >= bytes_in_unit:
            return f"{count / bytes_in_unit:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"
