"""The JSON API's answers besides success, as its OpenAPI document lists them: every error status an operation
answers, why it comes, the error body it carries (web.api_schemas.Error) and the headers sent with it.

An operation's refusals are its view's own (``refuses``), those its request brings (a body, a query) and those its
blueprint shares (a caller, a role; the Idempotency-Key of a POST), merged by status into one response each, in
that order; the example body of each carries the first.
"""

from __future__ import annotations

import http
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar

from apispec import APISpec
from flask_smorest import Blueprint

from web.api_errors import CODES
from web.api_schemas import Error

View = TypeVar("View", bound=Callable[..., Any])
HEADERS: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {"description": 'Always `Bearer realm="Valueflow"`: send an API token as '
                                        "`Authorization: Bearer <token>`.", "schema": {"type": "string"}},
    "Retry-After": {"description": "While the first request with the same Idempotency-Key is still being handled: "
                                   "the seconds to wait before asking again.",
                    "schema": {"type": "integer", "minimum": 1}},
}


@dataclass(frozen=True)
class Refusal:
    """An error answer: its status, why it comes, the ``code`` of its body (the blueprint's code for the status
    when None) and the headers sent with it (names of ``HEADERS``)."""

    status: int
    reason: str
    code: Optional[str] = None
    headers: tuple[str, ...] = ()


SIGNED_IN = Refusal(401, "no API token was sent (nor a browser session), or the token is unknown or revoked, or "
                         "its user is disabled", headers=("WWW-Authenticate",))
WRITE = (Refusal(400, "signed in with the browser's session, without its `X-CSRF-Token` header"),
         Refusal(413, "the body is larger than the server accepts"))
JSON_BODY = (Refusal(400, "the body is not JSON that can be read: malformed, nested too deeply, or a number of "
                          "more than 4,300 digits"),
             Refusal(415, "the body was not sent with `Content-Type: application/json`"),
             Refusal(422, "a field of the body was not accepted; `fields` names each, with why"))
QUERY = (Refusal(422, "a query parameter was not accepted; `fields` names each, with why"),)


def register_headers(spec: APISpec) -> None:
    """The headers that error answers send, once, for the responses to refer to."""
    for name, header in HEADERS.items():
        spec.components.header(name, header)


class DocumentedBlueprint(Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint whose operations list every error status they answer. ``shared`` refusals
    come from every view (the checks before each request), ``posted`` from every POST, which also takes the
    ``post_parameters``; ``codes`` are the ``code`` of the error body for each status."""

    def __init__(self, *args: Any, shared: Iterable[Refusal] = (), posted: Iterable[Refusal] = (),
                 post_parameters: Iterable[Mapping[str, Any]] = (), codes: Mapping[int, str] = CODES,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared = list(shared)
        self.posted = list(posted)
        self.post_parameters = list(post_parameters)
        self.codes = codes
        self._prepare_doc_cbks.append(self._prepare_refusals_doc)

    def guard(self, check: Callable[[], Any], refusal: Refusal) -> None:
        """Run ``check`` before each request of this blueprint; ``refusal`` is what it answers when it refuses."""
        self.before_request(check)
        self.shared.append(refusal)

    def refuses(self, status: int, *reasons: str, code: Optional[str] = None) -> Callable[[View], View]:
        """Document that the view answers ``status`` for each of ``reasons``."""
        def decorator(view: View) -> View:
            doc = deepcopy(getattr(view, "_apidoc", {}))
            doc.setdefault("refusals", []).extend(Refusal(status, reason, code) for reason in reasons)
            view._apidoc = doc  # type: ignore[attr-defined]
            return view
        return decorator

    def _prepare_refusals_doc(self, doc: dict[str, Any], doc_info: dict[str, Any], *, method: str,
                              **_: Any) -> dict[str, Any]:
        """The operation's error responses (after flask-smorest's: ``doc`` holds the body and query it reads)."""
        queried = any(parameter.get("in") == "query" for parameter in doc.get("parameters", []))
        refusals = [*doc_info.get("refusals", []), *(JSON_BODY if "requestBody" in doc else ()),
                    *(QUERY if queried else ()), *self.shared, *(WRITE if method in ("post", "put") else ()),
                    *(self.posted if method == "post" else ())]
        responses = doc.setdefault("responses", {})
        for status in sorted({r.status for r in refusals}):
            documented = responses.pop(status, None)
            responses[str(status)] = self._response(status, [r for r in refusals if r.status == status],
                                                    documented if isinstance(documented, dict) else None)
        if method == "post" and self.post_parameters:
            doc.setdefault("parameters", []).extend(deepcopy(self.post_parameters))
        return doc

    def _response(self, status: int, refusals: list[Refusal], documented: Optional[dict[str, Any]]) -> dict[str, Any]:
        """One status's response: why it comes, as a list; with a response the view documents itself (another
        body for the same status), that one first and its body as one of those the answer may carry."""
        codes = list(dict.fromkeys(r.code or self.codes[status] for r in refusals))
        reasons = "\n".join(f"- {reason}" for reason in dict.fromkeys(r.reason for r in refusals))
        description = (f"{http.HTTPStatus(status).phrase} (`code` {' or '.join(f'`{code}`' for code in codes)}), "
                       f"when:\n\n{reasons}")
        body: dict[str, Any] = {"schema": Error, "example": {"error": {
            "code": codes[0], "message": f"{refusals[0].reason[:1].upper()}{refusals[0].reason[1:]}.", "fields": {}}}}
        if documented is not None:
            description = f"{documented['description']}.\n\nOr an error: {description}"
            body["schema"] = {"oneOf": [documented["content"]["application/json"]["schema"], Error]}
        response: dict[str, Any] = {"description": description, "content": {"application/json": body}}
        headers = dict.fromkeys(name for r in refusals for name in r.headers)
        if headers:
            response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
        return response
