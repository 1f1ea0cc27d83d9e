"""The API's interactive reference page at /api/v1/docs: Swagger UI, served by the app itself, reading
/api/v1/openapi.json; its start-up is a file of our own, as the Content-Security-Policy forbids inline script."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue

from web.api_errors import PREFIX

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)


@bp.get("/docs")
def show() -> ResponseReturnValue:
    return render_template("api/docs.html", document=url_for("api-docs.openapi_json"))
