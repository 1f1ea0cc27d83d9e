"""Requests whose text holds the NUL character (U+0000) are refused before any work is done: PostgreSQL cannot
store it in text, and no name, id or value in Valueflow has a use for it. The address, the query string, a
form's fields and file names, and a JSON body are looked at; the answer (400) says where the character was."""

from __future__ import annotations

import re
from typing import Iterable, Optional

from flask import Flask, Response, abort, request

from web import api_errors
from web.api_answers import Refusal

NUL = "\x00"
# ``\u0000`` in JSON text, not preceded by a backslash that escapes its own backslash (``\\u0000`` is text).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
REFUSAL = Refusal(400, "text of the address, query or body holds the NUL character (U+0000); `fields` names "
                       "where, when a field holds it")


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)


def refuse_nul() -> Optional[Response]:
    where = _where_nul()
    if where is None:
        return None
    place, field = where
    message = (f"The {place} holds the NUL character (U+0000), which Valueflow does not take in text; "
               "remove it and send the request again. Nothing was changed.")
    if api_errors.is_api_request():
        return api_errors.error(400, message, {field: "holds the NUL character (U+0000)"} if field else None)
    abort(400, message)


def _where_nul() -> Optional[tuple[str, Optional[str]]]:
    """Where the request's text holds NUL: a phrase for the message and the field's name (None: no field)."""
    if NUL in request.path:
        return "address", None
    name = _first_holding(request.args.items(multi=True))
    if name is not None:
        return f"query parameter {name!r}", name
    if request.is_json:
        body = request.get_data(cache=True)
        if b"\x00" in body or _ESCAPED_NUL.search(body):
            return "JSON body", "body"
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        name = _first_holding(request.form.items(multi=True))
        if name is not None:
            return f"form field {name!r}", name
        for field, upload in request.files.items(multi=True):
            if NUL in (upload.filename or ""):
                return f"name of the file sent as {field!r}", field
    return None


def _first_holding(pairs: Iterable[tuple[str, str]]) -> Optional[str]:
    """The name of the first pair whose name or value holds NUL."""
    for name, value in pairs:
        if NUL in name or NUL in value:
            return name.replace(NUL, "\\0")
    return None
