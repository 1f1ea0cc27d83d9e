"""bpmn-js, installed by ``npm ci`` into node_modules/, served from the app itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.get("/bpmn-js/<path:filename>")
def bpmn_js(filename: str) -> ResponseReturnValue:
    folder = Path(current_app.config["NODE_MODULES"]) / "bpmn-js" / "dist"
    if not folder.is_dir():
        abort(404, "The diagram viewer is not installed: run `npm ci` in the Valueflow folder.")
    return send_from_directory(folder, filename, max_age=86400)
