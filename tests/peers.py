"""Real local peers for what Valueflow sends out: an SMTP server (aiosmtpd), an HTTP server that records the
webhook calls it gets, and one that never answers. Import the fixtures into a test module to use them; each listens
on 127.0.0.1, which a test allows webhooks to reach (VALUEFLOW_WEBHOOK_ALLOW_HOSTS)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailInbox:
    """What the SMTP server accepted; a recipient at nowhere.test is refused."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.endswith("@nowhere.test"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, MailInbox]]:
    inbox = MailInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@dataclass
class Receiver:
    """A webhook receiver: its address, the calls it got (headers, body), and the status it answers."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    peer = Receiver(f"http://127.0.0.1:{server.server_port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            peer.received.append((dict(self.headers), body))
            self.send_response(peer.status)
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server.RequestHandlerClass = Handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield peer
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """The address of a webhook receiver that takes the connection and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)  # the connections wait in the backlog: never accepted, never answered
        yield f"http://127.0.0.1:{listening.getsockname()[1]}/hook"
