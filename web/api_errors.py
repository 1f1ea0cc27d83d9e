"""The JSON API's errors: ``{"error": {"code", "message", "fields"}}`` with the HTTP status, for HTTP errors
under /api/ and for the engine's refusals; ``fields`` names each field of the request that was not accepted."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from engine import service
from engine.analytics.dashboards import FiltersRefused
from engine.cases.model import MessageNotExpected
from engine.definitions.forms import FormInvalid
from engine.errors import NotAllowed, NotFound
from engine.storage.uow import ConcurrentUpdate
from engine.work.idempotency import ClaimTakenOver
from web.present import sentence

PREFIX = "/api/v1"
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
         500: "internal_error", 503: "unavailable"}
# The engine's refusals as the status a client can act on.
REFUSALS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404), (service.TaskTaken, 409), (NotAllowed, 403), (service.TaskClosed, 409), (ConcurrentUpdate, 409),
    (MessageNotExpected, 409), (service.DuplicateBusinessKey, 409), (ClaimTakenOver, 409), (FormInvalid, 422),
    (ValueError, 422))


CHALLENGE = 'Bearer realm="Valueflow"'  # a 401's WWW-Authenticate: the scheme to authenticate with (RFC 6750)


def error(status: int, message: str, fields: Optional[Mapping[str, str]] = None) -> Response:
    response = jsonify(error={"code": CODES.get(status, "error"), "message": message, "fields": dict(fields or {})})
    response.status_code = status
    if status == 401:  # HTTP clients read it to send their token
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def http_error(exc: HTTPException) -> Response:
    """An HTTP error as JSON; webargs' 422 names each refused field of the body or query."""
    data: Any = getattr(exc, "data", None) or {}
    fields: dict[str, str] = {}
    whole: list[str] = []
    for location, found in (data.get("messages") or {}).items():
        if isinstance(found, dict):
            fields.update({name: "; ".join(_texts(texts)) for name, texts in found.items()})
        else:
            whole += [f"the {location} body: {text}" for text in _texts(found)]
    message = exc.description or exc.name
    if fields or whole:
        message = "The request was not accepted: " + "; ".join(whole + [f"{k}: {v}" for k, v in fields.items()])
    response = error(exc.code or 500, message, fields)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _texts(found: Any) -> list[str]:
    """Marshmallow's messages for one field (a list, or a dict for nested fields) as plain sentences."""
    if isinstance(found, dict):
        return [f"{key}: {text}" for key, value in found.items() for text in _texts(value)]
    return [str(text) for text in (found if isinstance(found, list) else [found])]


def refused(exc: Exception) -> Response:
    """An engine refusal as JSON with its status; a form's refusal names each field, a dashboard's refused
    filters each query parameter."""
    status = next(code for kind, code in REFUSALS if isinstance(exc, kind))
    if isinstance(exc, FormInvalid):
        fields = {name or "data": text for name, text in exc.errors.items()}
        return error(422, "The form's values were not accepted: "
                     + "; ".join(f"{k} {v}" for k, v in fields.items()), fields)
    if isinstance(exc, FiltersRefused) and exc.parameters:
        return error(422, "The request was not accepted: "
                     + "; ".join(f"{k}: {v}" for k, v in exc.parameters.items()), exc.parameters)
    return error(status, sentence(exc))
