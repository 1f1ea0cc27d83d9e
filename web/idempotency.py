"""``Idempotency-Key`` on the API's POSTs: a retried request gets the first one's answer, and nothing is done twice.

The key is the caller's own (per user). A request is the same when its method, path and JSON body (its keys in
any order) are; the same key with another request is a 422. While the first request with a key is still being
handled, a second waits for its answer up to ``WAIT_SECONDS``, then is told to ask again (409, ``Retry-After``
the seconds until the first one's claim lapses). Once it has lapsed unanswered (its process died), a retry does
the work if the first request committed none, or is told that it was done and its answer lost, also a 409
(engine.work.idempotency). Answers with a server error are not kept, so that the request can be retried, unless
its work was committed.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any, Optional

from flask import Response, g, request

from engine.work import idempotency
from web import db
from web.api_answers import Refusal
from web.api_errors import PREFIX, error
from web.present import sentence

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10.0
PARAMETER: dict[str, Any] = {
    "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Any unique string of yours (e.g. a UUID): a retry with the same key gets the first answer, "
                   "and nothing is done twice; the same key with a different request is a 422. A 409 while the "
                   "first is still being handled (ask again after Retry-After), or once it was done but its "
                   "answer was lost."}
REFUSALS = (
    Refusal(400, f"the {HEADER} is empty or longer than 200 characters"),
    Refusal(409, f"a request with the same {HEADER} is still being handled (ask again after Retry-After), or it "
                 "was done and its answer lost, or a retry took this request's key over",
            headers=("Retry-After",)),
    Refusal(422, f"the {HEADER} was sent before with a different request"))


def request_hash() -> str:
    """What the request is known by, the same for a retry of it: a hash of its method, path and JSON body."""
    body = request.get_data()
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read: hashed as it came
        pass
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def claim_or_replay() -> Optional[Response]:
    """Before a POST with a key: claim the key, or answer with the first request's answer."""
    db.hold(None)
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or g.account is None:
        return None
    hashed = request_hash()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            found = idempotency.claim(db.uow(), g.account.name, key, hashed)
        except ValueError as exc:
            return error(400, f"{exc}.", {HEADER: str(exc)})
        except idempotency.KeyReused as exc:
            return error(422, sentence(exc), {HEADER: "used for another request"})
        except idempotency.AnswerLost as exc:
            return error(409, sentence(exc) + " See what it did with a GET of the task or case it was about "
                         f"({PREFIX}/tasks/<id>, {PREFIX}/instances/<id>).")
        except idempotency.StillRunning as exc:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            return _still_running(exc)
        if isinstance(found, idempotency.Claim):
            db.hold(found)
            return None
        replayed = Response(found.body, status=found.status, mimetype="application/json")
        if found.location is not None:
            replayed.headers["Location"] = found.location
        replayed.headers["Idempotent-Replayed"] = "true"
        return replayed


def _still_running(exc: idempotency.StillRunning) -> Response:
    """409, saying when to ask again: ``Retry-After`` is the seconds until the first request's claim lapses."""
    answer = error(409, sentence(exc))
    if exc.until is not None:
        answer.headers["Retry-After"] = str(max(1, math.ceil((exc.until - db.now()).total_seconds())))
    return answer


def keep_answer(response: Response) -> Response:
    """After the request that claimed a key: keep its answer, or give the key back after a server error."""
    claim = db.held()
    if claim is not None:
        db.hold(None)
        if response.status_code < 500:
            idempotency.keep(db.uow(), claim, idempotency.Answer(
                response.status_code, response.get_data(as_text=True), response.headers.get("Location")))
        else:
            idempotency.give_back(db.uow(), claim)
    return response


def give_back_on_failure(error: Optional[BaseException]) -> None:
    """A request that claimed a key and failed without an answer gives the key back."""
    claim = db.held()
    if claim is not None:
        db.hold(None)
        idempotency.give_back(db.uow(), claim)
