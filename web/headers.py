"""Security headers on every response: only the app's own scripts and styles, never framed, no sniffing.

The Content-Security-Policy allows scripts, styles, fonts and connections
from the app itself only (no inline script: pages pass data to their scripts
in ``<script type="application/json">`` blocks; the one exception is the import map of web.vendor, let through
by its hash), images from the app and
``data:`` URIs (bpmn-js draws its logo from one), and no framing at all.
``SESSION_COOKIE_SECURE`` (``VALUEFLOW_SESSION_COOKIE_SECURE=true``) marks
the session cookie for HTTPS only; set it when the app is served over HTTPS.
"""

from __future__ import annotations

from flask import Flask, Response

from web.vendor import IMPORT_MAP_HASH

POLICY = "; ".join([
    "default-src 'self'",
    f"script-src 'self' {IMPORT_MAP_HASH}",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_BY_LOWER_NAME = tuple((name.lower(), name, value) for name, value in HEADERS.items())


def init_app(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        # Each header the view has not set itself; one look through the answer's headers (Werkzeug's setdefault
        # looks through them twice and raises an exception for every header missing).
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        headers.extend([(name, value) for lower, name, value in _BY_LOWER_NAME if lower not in present])
        return response
