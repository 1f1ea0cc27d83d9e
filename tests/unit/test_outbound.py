"""Mail and webhooks reach real local peers: an SMTP server and an HTTP server started by the test, on a loopback
address the test allows webhooks to reach; without that allowance, and for every other internal address, the
call is refused before anything is sent."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.outbound.destinations import ALLOW_HOSTS, Allowlist, DestinationRefused, checked_address
from engine.outbound.mail import MailFailed, MailNotConfigured, MailSettings, send_mail
from engine.outbound.webhook import (DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookFailed, post_json,
                                     verify)
from tests.conftest import REPO
from tests.peers import free_port, receiver, smtp_server  # noqa: F401 (fixtures)


def test_a_message_arrives_at_the_smtp_server(smtp_server):
    controller, inbox = smtp_server
    settings = MailSettings.from_environ({"VALUEFLOW_SMTP_HOST": "127.0.0.1",
                                          "VALUEFLOW_SMTP_PORT": str(controller.port),
                                          "VALUEFLOW_MAIL_FROM": "valueflow@bank.test"})
    send_mail(settings, "ana@bank.test", "Task assigned: Credit review", "Loan 17 waits for you.")
    [envelope] = inbox.messages
    assert envelope.mail_from == "valueflow@bank.test" and envelope.rcpt_tos == ["ana@bank.test"]
    text = envelope.content.decode()
    assert "Subject: Task assigned: Credit review" in text and "Loan 17 waits for you." in text


def test_a_refused_recipient_and_an_unreachable_server_say_why(smtp_server):
    controller, _ = smtp_server
    settings = MailSettings(host="127.0.0.1", port=controller.port)
    with pytest.raises(MailFailed, match="refused the recipient.*550"):
        send_mail(settings, "ghost@nowhere.test", "s", "b")
    with pytest.raises(MailFailed, match="could not send mail through 127.0.0.1"):
        send_mail(MailSettings(host="127.0.0.1", port=free_port(), timeout=2), "ana@bank.test", "s", "b")


@pytest.mark.parametrize("environ, message", [
    ({}, "VALUEFLOW_SMTP_HOST"),
    ({"VALUEFLOW_SMTP_HOST": "mail", "VALUEFLOW_SMTP_PORT": "twenty"}, "VALUEFLOW_SMTP_PORT is 'twenty'"),
    ({"VALUEFLOW_SMTP_HOST": "mail", "VALUEFLOW_SMTP_TLS": "yes"}, "VALUEFLOW_SMTP_TLS is 'yes'"),
    ({"VALUEFLOW_SMTP_HOST": "mail", "VALUEFLOW_SMTP_USER": "ana"}, "both VALUEFLOW_SMTP_USER"),
])
def test_settings_that_cannot_work_name_the_variable(environ, message):
    with pytest.raises(MailNotConfigured, match=message):
        MailSettings.from_environ(environ)


@pytest.fixture
def loopback_allowed(monkeypatch):  # type: ignore[no-untyped-def]
    """The operator allows webhooks to 127.0.0.1, where the test's receiver listens."""
    monkeypatch.setenv(ALLOW_HOSTS, "127.0.0.1")


def test_a_webhook_arrives_signed_and_a_tampered_body_fails_the_check(receiver, loopback_allowed):
    assert post_json(receiver.url, {"event": "incident", "instance": 7}, "s3cret", delivery="41") == 204
    [(headers, body)] = receiver.received
    assert headers[DELIVERY_HEADER] == "41"
    assert json.loads(body) == {"event": "incident", "instance": 7}
    assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("s3cret", headers[TIMESTAMP_HEADER], body.replace(b"7", b"8"), headers[SIGNATURE_HEADER])
    assert not verify("other", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_the_readmes_python_check_accepts_a_call_as_received_and_refuses_a_changed_body(receiver, loopback_allowed):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [check] = re.findall(r"```python\n(.*?)\n *```", readme, flags=re.S)
    post_json(receiver.url, {"event": "incident", "instance": 7}, "s3cret", delivery="41")
    [(headers, body)] = receiver.received
    for sent, genuine in ((body, True), (body.replace(b"7", b"8"), False)):
        found: dict = {"secret": "s3cret", "headers": headers, "body": sent}
        exec(textwrap.dedent(check), found)  # the README's three lines, as a reader would paste them
        assert found["genuine"] is genuine


def test_a_failing_receiver_and_a_non_http_address_say_why(receiver, loopback_allowed):
    receiver.status = 503
    with pytest.raises(WebhookFailed, match="answered 503"):
        post_json(receiver.url, {}, "s")
    with pytest.raises(WebhookFailed, match="not an http"):
        post_json("file:///etc/passwd", {}, "s")
    with pytest.raises(WebhookFailed, match="could not reach"):
        post_json(f"http://127.0.0.1:{free_port()}/", {}, "s", timeout=2)


def test_a_webhook_to_an_internal_address_is_refused_before_anything_is_sent(receiver, monkeypatch):
    monkeypatch.delenv(ALLOW_HOSTS, raising=False)
    with pytest.raises(WebhookFailed, match=r"127\.0\.0\.1 is an internal address \(loopback\)") as refused:
        post_json(receiver.url, {"event": "incident"}, "s")
    assert refused.value.lasting and receiver.received == []
    monkeypatch.setenv(ALLOW_HOSTS, "10.0.0.0/8, hooks.internal")  # allows other internal hosts, not this one
    with pytest.raises(WebhookFailed, match="internal address"):
        post_json(receiver.url.replace("127.0.0.1", "localhost"), {"event": "incident"}, "s")
    assert receiver.received == []


def test_an_allowed_host_name_is_called_by_its_name_at_the_address_that_was_checked(receiver, monkeypatch):
    monkeypatch.setenv(ALLOW_HOSTS, "LOCALHOST")
    assert post_json(receiver.url.replace("127.0.0.1", "localhost"), {"event": "incident"}, "s") == 204
    [(headers, _)] = receiver.received
    assert headers["Host"] == receiver.url.split("/")[2].replace("127.0.0.1", "localhost")


def test_a_host_name_that_turns_internal_after_its_check_is_still_called_at_the_checked_address(receiver, monkeypatch):
    """DNS rebinding: the name's first answer passes the check, every later one names an internal address. The
    call must go where the check looked, not look the name up again."""
    monkeypatch.setenv(ALLOW_HOSTS, "127.0.0.1/32")  # the receiver's address passes; 127.0.0.9 is refused
    real_lookup, asked = socket.getaddrinfo, []

    def rebinding_lookup(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "hooks.rebind.test":
            return real_lookup(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "127.0.0.9"  # nobody listens at 127.0.0.9
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_lookup)
    assert post_json(receiver.url.replace("127.0.0.1", "hooks.rebind.test"), {"event": "incident"}, "s") == 204
    assert asked == ["hooks.rebind.test"] and len(receiver.received) == 1  # looked up once, called where checked
    with pytest.raises(WebhookFailed, match=r"\(127\.0\.0\.9\) is an internal address"):  # a new call looks again
        post_json(receiver.url.replace("127.0.0.1", "hooks.rebind.test"), {"event": "incident"}, "s")
    assert len(receiver.received) == 1


@pytest.mark.parametrize("host, kind", [
    ("127.0.0.1", "loopback"), ("localhost", "loopback"), ("::1", "loopback"), ("0.0.0.0", "unspecified"),
    ("169.254.169.254", "link-local"), ("10.1.2.3", "private"), ("192.168.0.10", "private"),
    ("172.16.5.4", "private"), ("fd00::1", "private"), ("::ffff:10.0.0.1", "private"), ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "not public"), ("2130706433", "loopback"),
])
def test_each_kind_of_internal_address_is_refused_and_named(host, kind, monkeypatch):
    monkeypatch.delenv(ALLOW_HOSTS, raising=False)
    with pytest.raises(DestinationRefused, match=f"internal address \\({kind}\\)") as refused:
        checked_address(host, 443)
    assert refused.value.lasting


def test_public_addresses_pass_and_the_allowlist_admits_its_networks_and_host_names(monkeypatch):
    monkeypatch.delenv(ALLOW_HOSTS, raising=False)
    assert checked_address("93.184.215.14", 443) == "93.184.215.14"
    assert checked_address("2606:4700::1111", 443) == "2606:4700::1111"
    monkeypatch.setenv(ALLOW_HOSTS, "10.20.0.0/16,192.168.1.7,localhost.")
    assert checked_address("10.20.3.4", 443) == "10.20.3.4"
    assert checked_address("192.168.1.7", 443) == "192.168.1.7"
    assert checked_address("localhost", 80) in ("127.0.0.1", "::1")
    with pytest.raises(DestinationRefused, match="private"):
        checked_address("10.21.0.1", 443)


def test_a_host_not_found_may_be_tried_again_and_a_bad_allowlist_names_the_variable(monkeypatch):
    with pytest.raises(DestinationRefused, match="the host hooks.invalid could not be found") as missing:
        checked_address("hooks.invalid", 443)
    assert not missing.value.lasting
    with pytest.raises(DestinationRefused, match=f"{ALLOW_HOSTS} holds '10.0.0.0/33'"):
        Allowlist.from_environ({ALLOW_HOSTS: "hooks.internal, 10.0.0.0/33"})


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An HTTPS receiver on 127.0.0.1 whose certificate (made by openssl) names localhost only, trusted through
    SSL_CERT_FILE; yields its port and the Host headers of the calls it got."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, hosts
    server.shutdown()
    server.server_close()


def test_an_https_webhook_is_sent_to_the_checked_address_with_the_certificate_checked_against_its_host_name(
        tls_receiver, monkeypatch):
    port, hosts = tls_receiver
    monkeypatch.setenv(ALLOW_HOSTS, "localhost,127.0.0.1")
    assert post_json(f"https://localhost:{port}/hook", {"event": "incident"}, "s") == 204
    assert hosts == [f"localhost:{port}"]
    with pytest.raises(WebhookFailed, match="certificate is not valid for '127.0.0.1'"):
        post_json(f"https://127.0.0.1:{port}/hook", {"event": "incident"}, "s")
    assert len(hosts) == 1
