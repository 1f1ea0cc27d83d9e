"""Browser libraries installed by ``npm ci`` into node_modules/ and served from the app itself (no CDN):
bpmn-js (the diagrams), dmn-js (the modeler's decision tables), Chart.js (the dashboard's charts),
Swagger UI (the API's reference page) and bpmn-auto-layout (positions for a diagram drawn without them), all
pinned in package.json.

bpmn-auto-layout and the packages it imports are ES modules that import each other by name; the import map
(``IMPORT_MAP``, written into the pages that draw diagrams) tells the browser where each is served. Its hash
(``IMPORT_MAP_HASH``) lets it through the Content-Security-Policy, which refuses every other inline script."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from markupsafe import Markup

bp = Blueprint("vendor", __name__, url_prefix="/vendor")
ENDPOINTS = ("vendor.bpmn_js", "vendor.chart_js", "vendor.dmn_js", "vendor.swagger_ui", "vendor.module")
MODULES = ("bpmn-auto-layout", "bpmn-moddle", "moddle", "moddle-xml", "saxen", "min-dash")
IMPORT_MAP = json.dumps({"imports": {name: f"{bp.url_prefix}/modules/{name}/index.js" for name in MODULES}},
                        separators=(",", ":"))
IMPORT_MAP_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode() + "'"


def _serve(package: str, what: str, filename: str, folder_name: str = "dist") -> ResponseReturnValue:
    folder = Path(current_app.config["NODE_MODULES"]) / package / folder_name
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


@bp.get("/swagger-ui/<path:filename>")
def swagger_ui(filename: str) -> ResponseReturnValue:
    return _serve("swagger-ui-dist", "API reference viewer", filename, folder_name="")


@bp.get("/modules/<name>/<path:filename>")
def module(name: str, filename: str) -> ResponseReturnValue:
    if name not in MODULES:
        abort(404, f"No browser module {name!r} is served here.")
    return _serve(name, "automatic diagram layout", filename)


def init_app(app: Flask) -> None:
    """Pages write the import map as ``{{ import_map }}``, byte for byte the text its hash was taken of."""
    app.jinja_env.globals["import_map"] = Markup(IMPORT_MAP)
