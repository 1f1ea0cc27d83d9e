"""Calls to an HTTP service of the installation, for the ``http`` connector; its settings come from the
environment, never from a diagram.

A diagram names the service (``http.service`` = ``crm``); ``VALUEFLOW_CONNECTOR_CRM_URL`` is its base address,
``VALUEFLOW_CONNECTOR_CRM_TOKEN`` (optional) a bearer token sent with each call, ``VALUEFLOW_CONNECTOR_CRM_TIMEOUT``
the seconds a call may take (10). A call sends JSON and reads JSON, with an ``Idempotency-Key`` header the
receiver can use to do a repeated call once.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

LARGEST_ANSWER = 1_000_000  # bytes
DEFAULT_TIMEOUT = 10.0
# Answers worth trying again: the service was busy or timed out; any other 4xx would be refused again.
_TRANSIENT_REFUSALS = (408, 425, 429)
_SETTING = re.compile(r"VALUEFLOW_CONNECTOR_(.+)_(?:URL|TOKEN|TIMEOUT)")


class ServiceNotConfigured(Exception):
    """The installation does not say where the service is, or its settings are not valid."""


class CallFailed(Exception):
    """The call did not succeed; ``lasting`` when trying again cannot help (the service refused the request)."""

    def __init__(self, message: str, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class HttpService:
    name: str
    url: str
    token: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_environ(cls, name: str, environ: Mapping[str, str]) -> "HttpService":
        """The service's settings; ServiceNotConfigured naming the variable to set when they are missing or wrong."""
        prefix = f"VALUEFLOW_CONNECTOR_{name.upper()}_"
        url = environ.get(f"{prefix}URL", "").strip()
        if not url:
            raise ServiceNotConfigured(f"connector {name}: set {prefix}URL (the service's address)")
        if not is_web_address(url):
            raise ServiceNotConfigured(f"connector {name}: {prefix}URL is {url!r}; it must be an http:// or https:// "
                                       "address with a host (https://crm.internal/api)")
        text = environ.get(f"{prefix}TIMEOUT", "").strip()
        try:
            timeout = float(text) if text else DEFAULT_TIMEOUT
        except ValueError:
            timeout = 0.0
        if not 0 < timeout <= 300:
            raise ServiceNotConfigured(f"connector {name}: {prefix}TIMEOUT is {text!r}; it must be a number of seconds "
                                       "above 0, at most 300")
        return cls(name, url, environ.get(f"{prefix}TOKEN", "").strip() or None, timeout)


def check_services(environ: Mapping[str, str]) -> None:
    """Refuse (ServiceNotConfigured) the malformed settings of any service the environment names
    (``VALUEFLOW_CONNECTOR_<NAME>_URL``, ``_TOKEN`` or ``_TIMEOUT``) when a process starts, rather than at its
    first call."""
    for name in sorted({found.group(1) for found in map(_SETTING.fullmatch, environ) if found}):
        HttpService.from_environ(name.lower(), environ)


def is_web_address(url: str) -> bool:
    """Whether ``url`` is an http:// or https:// address with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def call(service: HttpService, method: str, path: str, body: Optional[Any], idempotency_key: str) -> Any:
    """Send ``body`` as JSON to the service at ``path``; its JSON answer (None when empty), or CallFailed."""
    url = service.url.rstrip("/") + "/" + path.lstrip("/") if path else service.url
    headers = {"Accept": "application/json", "Idempotency-Key": idempotency_key}
    data = None
    if body is not None:
        data = json.dumps(body, default=str).encode()
        headers["Content-Type"] = "application/json"
    if service.token:
        headers["Authorization"] = f"Bearer {service.token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=service.timeout) as answer:
            raw = answer.read(LARGEST_ANSWER + 1)
    except urllib.error.HTTPError as refused:
        text = refused.read(300).decode(errors="replace").strip()
        raise CallFailed(f"{service.name} answered {refused.code} {refused.reason} to {method} {url}"
                         + (f": {text}" if text else ""),
                         lasting=400 <= refused.code < 500 and refused.code not in _TRANSIENT_REFUSALS) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CallFailed(f"could not reach {service.name} at {url}: {reason}") from None
    if len(raw) > LARGEST_ANSWER:
        raise CallFailed(f"{service.name} answered more than {LARGEST_ANSWER:,} bytes to {method} {url}",
                         lasting=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise CallFailed(f"{service.name} answered {method} {url} with something that is not JSON",
                         lasting=True) from None
