"""Mail and webhooks reach real local peers: an SMTP server and an HTTP server started by the test."""

from __future__ import annotations

import json

import pytest

from engine.outbound.mail import MailFailed, MailNotConfigured, MailSettings, send_mail
from engine.outbound.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookFailed, post_json, verify
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


def test_a_webhook_arrives_signed_and_a_tampered_body_fails_the_check(receiver):
    assert post_json(receiver.url, {"event": "incident", "instance": 7}, "s3cret") == 204
    [(headers, body)] = receiver.received
    assert json.loads(body) == {"event": "incident", "instance": 7}
    assert verify("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("s3cret", headers[TIMESTAMP_HEADER], body.replace(b"7", b"8"), headers[SIGNATURE_HEADER])
    assert not verify("other", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_a_failing_receiver_and_a_non_http_address_say_why(receiver):
    receiver.status = 503
    with pytest.raises(WebhookFailed, match="answered 503"):
        post_json(receiver.url, {}, "s")
    with pytest.raises(WebhookFailed, match="not an http"):
        post_json("file:///etc/passwd", {}, "s")
    with pytest.raises(WebhookFailed, match="could not reach"):
        post_json(f"http://127.0.0.1:{free_port()}/", {}, "s", timeout=2)
