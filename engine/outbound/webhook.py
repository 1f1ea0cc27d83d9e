"""JSON webhooks signed with HMAC-SHA256, so that the receiver can tell the call is Valueflow's and unchanged.

The body is compact JSON; ``X-Valueflow-Signature: sha256=<hex>`` is the HMAC of the exact body bytes under the
subscriber's secret, and ``X-Valueflow-Timestamp`` the Unix time of sending, which the receiver may use to refuse
replays (it is covered by the signature: the HMAC is over ``<timestamp>.<body>``). ``X-Valueflow-Delivery``, when
the sender gives one, names what is delivered, the same on each retry, so that a receiver can drop a repeat.

The host is checked first (engine.outbound.destinations) and the connection made to the very address that
passed; redirects are not followed, so an answer cannot send the call on to an internal host.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from typing import Any, Optional
from urllib.parse import urlsplit

from engine.outbound.destinations import DestinationRefused, checked_destination

SIGNATURE_HEADER = "X-Valueflow-Signature"
TIMESTAMP_HEADER = "X-Valueflow-Timestamp"
DELIVERY_HEADER = "X-Valueflow-Delivery"


class WebhookFailed(Exception):
    """The call did not succeed; ``lasting`` when trying again cannot help (the address is refused), else the
    receiver could not be reached in time or did not answer 2xx, worth a retry later."""

    def __init__(self, message: str, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


class _PinnedConnection(http.client.HTTPConnection):
    """A connection for ``host`` opened to ``address``, the one its check passed, over TLS when ``tls`` is given
    (the certificate is checked against ``host``)."""

    def __init__(self, host: str, port: int, address: str, timeout: float, tls: Optional[ssl.SSLContext]) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address, self.tls = address, tls

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value that signs ``body`` sent at ``timestamp`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` at ``timestamp`` under ``secret`` (constant-time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def post_json(url: str, payload: Any, secret: str, timeout: float = 10.0, now: Optional[float] = None,
              delivery: Optional[str] = None) -> int:
    """POST ``payload`` as signed JSON to ``url``, with ``delivery`` as its delivery id if given; the status of a 2xx
    answer, else WebhookFailed saying why."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise WebhookFailed(f"{url!r} is not an http:// or https:// address", lasting=True)
    try:
        port, address = checked_destination(parts)
    except ValueError:
        raise WebhookFailed(f"{url!r} has no valid port", lasting=True) from None
    except DestinationRefused as exc:
        raise WebhookFailed(f"{url} is refused: {exc}", lasting=exc.lasting) from None
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    timestamp = str(int(time.time() if now is None else now))
    connection = _PinnedConnection(parts.hostname, port, address, timeout,
                                   ssl.create_default_context() if parts.scheme.lower() == "https" else None)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, {
            "Host": parts.netloc.rpartition("@")[2], "Content-Type": "application/json", "User-Agent": "Valueflow",
            TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body),
            **({DELIVERY_HEADER: delivery} if delivery is not None else {})})
        answer = connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        raise WebhookFailed(f"could not reach {url}: {exc}") from None
    finally:
        connection.close()
    if not 200 <= answer.status < 300:
        raise WebhookFailed(f"{url} answered {answer.status} {answer.reason}")
    return answer.status
