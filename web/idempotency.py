"""``Idempotency-Key`` on the API's POSTs: a retried request gets the first one's answer, and nothing is done twice.

The key is the caller's own (per user). A request is the same when its method, path and JSON body (its keys in
any order) are; the same key with another request is a 422. While the first request with a key is still being
handled, a second waits for its answer up to ``WAIT_SECONDS``, then is told to ask again (409). Answers with a
server error are not kept, so the request can be retried.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Optional

from flask import Response, g, request

from engine.work import idempotency
from web import db
from web.api_errors import error

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10.0
DOC: dict[str, Any] = {"parameters": [{
    "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Any unique string of yours (e.g. a UUID): a retry with the same key gets the first answer, "
                   "and nothing is done twice; the same key with a different request is a 422."}]}


def _request_hash() -> str:
    body = request.get_data()
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read: hashed as it came
        pass
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def claim_or_replay() -> Optional[Response]:
    """Before a POST with a key: claim the key, or answer with the first request's answer."""
    g.idempotency_key = None
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or g.account is None:
        return None
    request_hash = _request_hash()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            answer = idempotency.claim(db.uow(), g.account.name, key, request_hash)
        except ValueError as exc:
            return error(400, f"{exc}.", {HEADER: str(exc)})
        except idempotency.KeyReused as exc:
            return error(422, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", {HEADER: "used for another request"})
        except idempotency.StillRunning as exc:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            return error(409, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        if answer is None:
            g.idempotency_key = key
            return None
        replayed = Response(answer.body, status=answer.status, mimetype="application/json")
        replayed.headers["Idempotent-Replayed"] = "true"
        return replayed


def keep_answer(response: Response) -> Response:
    """After the request that claimed a key: keep its answer, or give the key back after a server error."""
    key = g.get("idempotency_key")
    if key is not None:
        g.idempotency_key = None
        if response.status_code < 500:
            idempotency.keep(db.uow(), g.account.name, key,
                             idempotency.Answer(response.status_code, response.get_data(as_text=True)))
        else:
            idempotency.give_back(db.uow(), g.account.name, key)
    return response


def give_back_on_failure(error: Optional[BaseException]) -> None:
    """A request that claimed a key and failed without an answer gives the key back."""
    key = g.get("idempotency_key")
    if key is not None:
        g.idempotency_key = None
        idempotency.give_back(db.uow(), g.account.name, key)
