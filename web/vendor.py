"""Browser libraries installed by ``npm ci`` into node_modules/ and served from the app itself (no CDN):
bpmn-js (the diagrams), dmn-js (the modeler's decision tables) and Chart.js (the dashboard's charts), all
pinned in package.json."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("vendor", __name__, url_prefix="/vendor")
ENDPOINTS = ("vendor.bpmn_js", "vendor.chart_js", "vendor.dmn_js")


def _serve(package: str, what: str, filename: str) -> ResponseReturnValue:
    folder = Path(current_app.config["NODE_MODULES"]) / package / "dist"
    if not folder.is_dir():
        abort(404, f"The {what} is not installed: run `npm ci` in the Valueflow folder.")
    return send_from_directory(folder, filename, max_age=86400)


@bp.get("/bpmn-js/<path:filename>")
def bpmn_js(filename: str) -> ResponseReturnValue:
    return _serve("bpmn-js", "diagram viewer", filename)


@bp.get("/chart.js/<path:filename>")
def chart_js(filename: str) -> ResponseReturnValue:
    return _serve("chart.js", "chart library", filename)


@bp.get("/dmn-js/<path:filename>")
def dmn_js(filename: str) -> ResponseReturnValue:
    return _serve("dmn-js", "decision table editor", filename)
