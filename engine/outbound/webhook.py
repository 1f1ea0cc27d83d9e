"""JSON webhooks signed with HMAC-SHA256, so that the receiver can tell the call is Valueflow's and unchanged.

The body is compact JSON; ``X-Valueflow-Signature: sha256=<hex>`` is the HMAC of the exact body bytes under the
subscriber's secret, and ``X-Valueflow-Timestamp`` the Unix time of sending, which the receiver may use to refuse
replays (it is covered by the signature: the HMAC is over ``<timestamp>.<body>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional

SIGNATURE_HEADER = "X-Valueflow-Signature"
TIMESTAMP_HEADER = "X-Valueflow-Timestamp"


class WebhookFailed(Exception):
    """The receiver could not be reached in time or did not answer 2xx; worth a retry later."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value that signs ``body`` sent at ``timestamp`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` at ``timestamp`` under ``secret`` (constant-time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def post_json(url: str, payload: Any, secret: str, timeout: float = 10.0, now: Optional[float] = None) -> int:
    """POST ``payload`` as signed JSON to ``url``; the status of a 2xx answer, else WebhookFailed saying why."""
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookFailed(f"{url!r} is not an http:// or https:// address")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    timestamp = str(int(time.time() if now is None else now))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Valueflow",
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (the URL is the admin's)
            return answer.status
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"{url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookFailed(f"could not reach {url}: {reason}") from None
