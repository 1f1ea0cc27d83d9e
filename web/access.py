"""Each request's id, its clock, and its line in the access log.

A request keeps the id its client or proxy sent as ``X-Request-Id`` when that is 1 to 64 letters, digits, dots,
underscores, colons or dashes; any other (or none) is replaced by a new one, never repeated. Every answer sends
the id back as ``X-Request-Id``, and the log of an error of Valueflow's own names it, so that a user's report
leads to the traceback.

With ``ACCESS_LOG`` (``VALUEFLOW_ACCESS_LOG``, true by default) each request is one line of the logger
``valueflow.access``, which ``valueflow serve`` writes to stdout (``log_to_stdout``)::

    2026-12-06T06:20:48.123Z 203.0.113.7 ada GET /inbox 200 5123 12.4ms 0f8e6d...

the time the answer was ready (UTC), the client's address (a proxy's client under ``VALUEFLOW_PROXY_HOPS``),
the user signed in or of the API token (``-``: none), the method, the path without its query string (queries
carry customers' names and search text), the status, the answer's bytes (``-``: sent as it is made), the
milliseconds the app took, and the request's id. A character that could split a field or a line is written %XX.
A load balancer's probes (``/healthz``, ``/readyz``) are logged only when they fail.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from types import TracebackType
from typing import Optional
from urllib.parse import quote

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
LOGGER = logging.getLogger("valueflow.access")
LINE = "%s %s %s %s %d %s %s %s"
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
BODILESS = (204, 304)  # answers that send no body, whatever length the response was made with
# A load balancer's probes, asked every few seconds: logged only when they fail.
PROBES = frozenset({"/healthz", "/readyz"})
KEPT_IN_FIELDS = "/:@!$&'()*+,;="  # besides letters, digits and _.-~: the characters of a path left as they are


def init_app(app: Flask) -> None:
    """Call before any other part adds its hooks: the clock starts before theirs, and the id is set on the answer
    (and the line written) after theirs."""
    app.before_request(_start_clock)
    app.after_request(_answered_and_logged if app.config["ACCESS_LOG"] else _answered)

    def log_exception(exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None]) -> None:
        app.logger.error("Exception on %s [%s], request id %s", _field(request.path), request.method, request_id(),
                         exc_info=exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]


def request_id() -> str:
    """This request's id: the client's when sane, else a new one."""
    found: Optional[str] = g.get("request_id")
    if found is None:
        sent = request.headers.get(HEADER, "")
        found = g.request_id = sent if SANE_ID.fullmatch(sent) else secrets.token_hex(16)
    return found


def seconds_taken() -> Optional[float]:
    """Seconds since this request's first hook ran (None when it did not run)."""
    began: Optional[float] = g.get("request_began")
    return None if began is None else time.perf_counter() - began


def log_to_stdout(app: Flask) -> None:
    """Write the access log to stdout, one line a request, unless ``app``'s ACCESS_LOG is off; once a process."""
    if not app.config["ACCESS_LOG"] or LOGGER.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(UtcFormatter("%(asctime)s %(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


class UtcFormatter(logging.Formatter):
    """Times in ISO 8601, UTC, to the millisecond: 2026-12-06T06:20:48.123Z."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


def _start_clock() -> None:
    g.request_began = time.perf_counter()


def _answered(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    return response


def _answered_and_logged(response: Response) -> Response:
    if request.path in PROBES and response.status_code < 400:
        return _answered(response)
    seconds = seconds_taken()
    account = g.get("account")
    size = 0 if response.status_code in BODILESS or request.method == "HEAD" else response.content_length
    LOGGER.info(LINE, _field(request.remote_addr or "-"), "-" if account is None else _field(account.name),
                request.method, _field(request.path), response.status_code, "-" if size is None else size,
                "-" if seconds is None else f"{seconds * 1000:.1f}ms", request_id())
    return _answered(response)


def _field(text: str) -> str:
    """``text`` with no space, control character or other byte that could end a field or a line (as %XX)."""
    return quote(text, safe=KEPT_IN_FIELDS)
