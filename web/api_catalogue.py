"""The API's processes: the catalogue, one process with its versions and steps, and a version's files (its BPMN
and its package as a zip), for everyone signed in, as the process pages."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from engine.work import case_pages, process_pages
from web import api, db
from web.api_process_schemas import CataloguePage, ProcessDetail, VersionChoice
from web.api_schemas import Paging

bp = api.blueprint("api_catalogue", "processes", "Processes: the catalogue, each process's versions and steps, "
                                                 "and a version's BPMN and package.")
FILE = {"bpmn": "application/xml", "zip": "application/zip"}
NO_VERSION = "no process with this key is deployed, or it has no such version"


def _file_doc(kind: str) -> dict[str, Any]:
    return {"responses": {"200": {"description": f"the version's {kind} file",
                                  "content": {FILE[kind]: {"schema": {"type": "string", "format": "binary"}}}}}}


@bp.route("")
class Catalogue(MethodView):
    @bp.arguments(Paging, location="query")
    @bp.response(200, CataloguePage)
    def get(self, query: dict[str, Any]) -> Any:
        """The deployed processes, by name, each with its newest version, who starts it and its running cases."""
        entries = sorted(case_pages.catalogue(db.uow()), key=lambda p: (p["name"], p["key"]))
        page, per_page = query["page"], query["per_page"]
        return {"rows": entries[(page - 1) * per_page:page * per_page], "total": len(entries), "page": page,
                "per_page": per_page, "pages": max((len(entries) + per_page - 1) // per_page, 1)}


@bp.route("/<key>")
class OneProcess(MethodView):
    @bp.arguments(VersionChoice, location="query")
    @bp.response(200, ProcessDetail)
    @bp.refuses(404, "no process with this key is deployed, or it has no such version")
    def get(self, query: dict[str, Any], key: str) -> Any:
        """A process: every version (newest first) with who deployed it and its cases, and one version's steps
        with why each exists for the customer."""
        return process_pages.process_page(db.uow(), key, query.get("version"))


def _version_file(key: str, version: int, kind: str) -> Response:
    bpmn, package = process_pages.version_files(db.uow(), key, version)
    body = bpmn.encode("utf-8") if kind == "bpmn" else package
    return Response(body, mimetype=FILE[kind],
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{version}.{kind}"'})


@bp.route("/<key>/versions/<int:version>.bpmn")
class VersionBpmn(MethodView):
    @bp.doc(**_file_doc("bpmn"))
    @bp.refuses(404, NO_VERSION)
    def get(self, key: str, version: int) -> Response:
        """The version's BPMN document."""
        return _version_file(key, version, "bpmn")


@bp.route("/<key>/versions/<int:version>.zip")
class VersionPackage(MethodView):
    @bp.doc(**_file_doc("zip"))
    @bp.refuses(404, NO_VERSION)
    def get(self, key: str, version: int) -> Response:
        """The version's whole package as a zip of its folder: the BPMN, its decision tables and its forms."""
        return _version_file(key, version, "zip")
