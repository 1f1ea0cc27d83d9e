"""The JSON endpoints the modeler talks to: validate, deploy, and a process's draft (docs/design.md, "Addresses").

A package travels as ``{"bpmn": "<xml>", "dmn": {...}, "forms": {...}, "files": {...}}`` (engine.definitions.package_json);
``unpack`` turns an uploaded zip of a package folder into that shape.
In the browser they take the session and the ``X-CSRF-Token`` header; only process owners and admins
may call them. Every error is JSON: ``{"error": {"code", "message", "fields"}}``. The OpenAPI document
describes their bodies (web.api_process_schemas); the views read and answer them as they are, so a form's
fields keep their order.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine import service
from engine.definitions.package_json import MalformedPackage, package_from_json, package_json_from_zip
from engine.errors import NotAllowed, NotFound
from engine.storage.uow import ConcurrentUpdate
from web import db, errors, nul
from web.api_answers import DocumentedBlueprint, Refusal
from web.api_errors import CHALLENGE, CODES
from web.api_process_schemas import Deployed, Draft, DraftToSave, Package, PackageToDeploy, Problems, SavedDraft

EDITORS = (Refusal(401, "nobody is signed in: no API token was sent, nor a browser session",
                   headers=("WWW-Authenticate",)),
           Refusal(401, "the API token is unknown or revoked, or its user is disabled",
                   headers=("WWW-Authenticate",)),
           Refusal(403, "your roles include no process owner or admin"))
bp = DocumentedBlueprint("api_processes", __name__, url_prefix="/api/v1/processes",
                         description="Modeling (process owners and admins): validate and deploy a package, unpack a "
                                     "zipped package folder, keep a draft.", shared=(nul.REFUSAL, *EDITORS))
MAX_BODY = 5 * 1024 * 1024
NOT_A_PACKAGE = ("the body is not JSON, or not a package: `{\"bpmn\": \"<xml>\", \"dmn\": {...}, \"forms\": {...}, "
                 "\"files\": {...}}`")
# Engine errors as the HTTP status and error code a client can act on.
STATUS = ((MalformedPackage, 400, "bad_package"), (NotAllowed, 403, "forbidden"), (NotFound, 404, "not_found"),
          (service.DraftConflict, 409, "conflict"), (service.StaleEdit, 409, "conflict"),
          (ConcurrentUpdate, 409, "conflict"),
          (ValueError, 422, "invalid"))


def answer(payload: Any, status: int = 200) -> Response:
    """JSON with its keys in their order (Flask's own JSON sorts them), so a form's fields keep the order staff see."""
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    return answer({"error": {"code": code, "message": message, "fields": fields or {}}}, status)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    exc = errors.described(exc)
    return error(exc.code or 500, CODES.get(exc.code or 500, "error"), exc.description or exc.name)


@bp.url_value_preprocessor
def larger_bodies(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Packages take up to MAX_BODY. Set before every ``before_request`` hook (this runs ahead of them, the app's
    included), so that a hook that reads the body reads it with this limit."""
    request.max_content_length = MAX_BODY


@bp.before_request
def editors_only() -> ResponseReturnValue | None:
    if g.account is None:
        refused = error(401, CODES[401], "Sign in first.")
        refused.headers["WWW-Authenticate"] = CHALLENGE
        return refused
    if not g.account.edits_processes:
        return error(403, "forbidden", "Editing and deploying processes is for process owners and admins.")
    return None


def body() -> Any:
    """The request's JSON (a 400 when it is not JSON, a 413 past 5 MB)."""
    data = request.get_json(silent=True)
    if data is None:
        raise MalformedPackage("the request body must be JSON (Content-Type: application/json)")
    return data


def problems(validation_errors: Any, warnings: Any) -> dict[str, list[dict[str, Any]]]:
    def listed(found: Any) -> list[dict[str, Any]]:
        return [{"element_id": p.element_id, "element_name": p.element_name, "message": p.message} for p in found]
    return {"errors": listed(validation_errors), "warnings": listed(warnings)}


def draft_json(draft: service.Draft, with_package: bool) -> dict[str, Any]:
    found = {"key": draft.key, "revision": draft.revision, "saved_by": draft.saved_by,
             "saved_at": draft.saved_at.isoformat()}
    return {**found, "package": draft.package} if with_package else found


@bp.errorhandler(Exception)
def engine_error(exc: Exception) -> ResponseReturnValue:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return error(status, code, str(exc))
    raise exc


def _body_doc(schema: Any, *content_types: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {kind: {"schema": schema}
                                                          for kind in content_types or ("application/json",)}}}


@bp.post("/validate")
@bp.doc(**_body_doc(Package))
@bp.response(200, Problems)
@bp.refuses(400, NOT_A_PACKAGE, code="bad_package")
def validate() -> ResponseReturnValue:
    """Check a package as a deploy would, storing nothing: every error and warning by element."""
    found = service.validate_package(package_from_json(body()))
    return answer(problems(found.errors, found.warnings))


@bp.post("/unpack")
@bp.doc(**_body_doc({"type": "string", "format": "binary"}, "application/zip", "application/octet-stream"))
@bp.response(200, Package)
@bp.refuses(400, "the body is not a zip archive, holds more than 5 MB once unpacked, or a file in it cannot be read "
                 "(not UTF-8 text, a form that is not JSON)", code="bad_package")
def unpack() -> ResponseReturnValue:
    """A zipped package folder (the request's body) as the package JSON the modeler opens; stores nothing."""
    return answer(package_json_from_zip(request.get_data()))


@bp.post("/deploy")
@bp.doc(**_body_doc(PackageToDeploy))
@bp.response(201, Deployed, description="Stored as the process's next version")
@bp.alt_response(200, schema=Deployed, description="That content is already a version; nothing was stored")
@bp.alt_response(422, schema=Problems, description="Refused, with every error; nothing was stored")
@bp.refuses(400, NOT_A_PACKAGE, code="bad_package")
@bp.refuses(409, "the process has had a version deployed since the edit's `base_version`",
            "another version of the process was deployed at the same moment")
@bp.refuses(422, "`base_version` is not a number or null")
def deploy() -> ResponseReturnValue:
    """Validate a package and store it as the next version of its process."""
    try:
        result = service.deploy_edited(db.uow(), body(), g.account.name)
    except service.DeploymentRefused as refused:
        return answer(problems([p for p in refused.problems if not p.warning],
                               [p for p in refused.problems if p.warning]), 422)
    return answer({"key": result.key, "version": result.version, "created": result.created,
                   "changes": [c.to_dict() for c in result.changes], "warnings": list(result.warnings),
                   "draft_removed": result.draft_removed},
                  201 if result.created else 200)


@bp.get("/<key>/draft")
@bp.response(200, Draft)
@bp.refuses(404, "no draft of this process is saved")
def show_draft(key: str) -> ResponseReturnValue:
    """The draft saved for a process (a 404 when none is)."""
    return answer(draft_json(service.get_draft(db.uow(), key, g.account.name), with_package=True))


@bp.put("/<key>/draft")
@bp.doc(**_body_doc(DraftToSave))
@bp.response(200, SavedDraft)
@bp.refuses(400, 'the body is not JSON, or not `{"package": {...}, "base_revision": <a number>}`', code="bad_package")
@bp.refuses(409, "the draft was saved by someone since `base_revision`, or at the same moment")
@bp.refuses(422, "the diagram's executable process is not this process")
def save_draft(key: str) -> ResponseReturnValue:
    """Save an undeployed edit; a 409 naming who saved when the draft moved on since ``base_revision``."""
    data = body()
    if not isinstance(data, dict) or not isinstance(data.get("base_revision"), int) or "package" not in data:
        raise MalformedPackage('a draft is {"package": {...}, "base_revision": <the revision it was based on, '
                               '0 for the first>}')
    draft = service.save_draft(db.uow(), key, data["package"], data["base_revision"], g.account.name)
    return answer(draft_json(draft, with_package=False))
