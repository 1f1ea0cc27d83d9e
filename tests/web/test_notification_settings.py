"""The notification settings pages: a user saves their address, webhook and choices and sees them again; a bad
address or URL is refused with the field named and nothing saved; the page says plainly when no mail can be
sent; an admin sets a role's webhook and sees the messages that failed. The bank's chat tool is internal, and
its host allowed by the operator; any other internal address is refused."""

from __future__ import annotations

import re

import pytest

from engine import jobs
from engine.notify import settings
from engine.outbound.destinations import ALLOW_HOSTS
from tests.peers import free_port
from tests.web.conftest import open_task, start_loan, text_of


@pytest.fixture(autouse=True)
def bank_chat_allowed(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ALLOW_HOSTS, "chat.bank.test")


def test_a_user_saves_their_choices_and_sees_them_again(auth, client, new_uow):
    auth.login("credit-analyst")
    page = client.get("/account/notifications")
    assert page.status_code == 200
    assert 'value="assigned:email" id="choice-assigned-email" checked' in page.get_data(as_text=True)  # a default
    answer = auth.post("/account/notifications", {"email": "ana@bank.test", "choice": [
        "assigned:email", "breached:email"]}, follow_redirects=True)
    assert answer.status_code == 200 and "Your notification settings are saved." in text_of(answer)
    html = answer.get_data(as_text=True)
    assert 'value="ana@bank.test"' in html
    assert 'id="choice-breached-email" checked' in html and 'id="choice-incident-email" checked' not in html
    shown = settings.settings_of(new_uow(), "credit-analyst")
    assert shown.email == "ana@bank.test" and shown.choices["breached"] == {"email"}


def test_a_webhook_gets_a_secret_shown_once(auth, client, new_uow):
    auth.login("manager")
    answer = auth.post("/account/notifications", {"webhook_url": "https://chat.bank.test/hooks/42",
                                                  "choice": ["at_risk:webhook"]})
    assert answer.status_code == 201
    html = answer.get_data(as_text=True)
    assert "shown only this once" in html and 'id="webhook-secret"' in html
    again = client.get("/account/notifications").get_data(as_text=True)
    assert 'id="webhook-secret"' not in again and "It has a signing secret." in again


def test_the_page_says_how_a_receiver_checks_a_webhook_call_and_drops_a_repeat(auth, client):
    auth.login("manager")
    text = re.sub(r" (?=[,)])|(?<=\() ", "", text_of(client.get("/account/notifications")))  # the code tags' spaces
    assert ("Each call carries X-Valueflow-Timestamp (the Unix time it was sent), X-Valueflow-Signature: "
            "sha256=<hex>, the HMAC-SHA256 under the signing secret of the timestamp, a dot and the body exactly as "
            "received (<timestamp>.<body>), and X-Valueflow-Delivery, the same on every retry of one message.") in text


@pytest.mark.parametrize("form, field, words", [
    ({"email": "ana at bank"}, "email", "'ana at bank' is not an email address"),
    ({"webhook_url": "ftp://files.bank.test/in"}, "webhook", "must start with https:// (or http://), not ftp:"),
    ({"webhook_url": "javascript:alert(1)"}, "webhook", "must start with https://"),
    ({"webhook_url": "https://"}, "webhook", "is not a web address with a host"),
    ({"choice": ["incident:email"]}, "email", "give an email address to get mail"),
    ({"choice": ["at_risk:webhook"]}, "webhook", "give a webhook address"),
    ({"webhook_url": "https://chat.bank.test/h", "secret": "short"}, "secret", "16 to 200 characters"),
    ({"webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook",
     "169.254.169.254 is an internal address (link-local)"),
    ({"webhook_url": "http://10.0.0.5/hook"}, "webhook", "10.0.0.5 is an internal address (private)"),
    ({"webhook_url": "http://localhost:8080/"}, "webhook", "localhost (127.0.0.1) is an internal address (loopback)"),
    ({"webhook_url": "https://chat.bank.invalid/h"}, "webhook", "the host chat.bank.invalid could not be found"),
    ({"choice": ["lunch:email"], "email": "a@bank.test"}, "choices", "there is no 'lunch' notification"),
])
def test_a_bad_field_is_refused_with_its_name_and_nothing_is_saved(auth, client, new_uow, form, field, words):
    auth.login("underwriter")
    answer = auth.post("/account/notifications", form, follow_redirects=True)
    assert answer.status_code == 400
    text = text_of(answer)
    assert "nothing was saved" in text and words.lower() in text.lower()
    assert f'id="{field}-error"' in answer.get_data(as_text=True) or field == "choices"
    assert settings.settings_of(new_uow(), "underwriter").saved is False


def test_the_page_says_plainly_when_no_mail_can_be_sent(auth, client, monkeypatch):
    auth.login("underwriter")
    monkeypatch.delenv("VALUEFLOW_SMTP_HOST", raising=False)
    assert "No mail is sent from this Valueflow" in text_of(client.get("/account/notifications"))
    monkeypatch.setenv("VALUEFLOW_SMTP_HOST", "127.0.0.1")
    assert "No mail is sent" not in text_of(client.get("/account/notifications"))


def test_an_admin_sets_a_roles_webhook_and_sees_the_messages_that_failed_while_the_assignment_went_through(auth, client, new_uow, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VALUEFLOW_SMTP_PORT", str(free_port()))  # no mail server listens there
    auth.login("admin")
    answer = auth.post("/admin/notifications/roles/underwriter", {
        "webhook_url": "https://chat.bank.test/underwriters", "secret": "a-secret-of-our-own",
        "choice": ["breached:webhook"]}, follow_redirects=True)
    assert answer.status_code == 200 and "The notifications of the role underwriter are saved." in text_of(answer)
    assert "https://chat.bank.test/underwriters" in text_of(client.get("/admin/notifications"))
    settings.save_settings(new_uow(), "customer-service", settings.SettingsForm(
        email="ana@bank.test", choices=frozenset({("assigned", "email")})))
    task = open_task(new_uow, start_loan(new_uow))
    assigned = auth.post(f"/tasks/{task['id']}/assign", {"assignee": "customer-service"}, follow_redirects=True)
    assert assigned.status_code == 200 and "The task is assigned to customer-service." in text_of(assigned)
    jobs.run_until_idle(new_uow, "worker")
    text = text_of(client.get("/admin/notifications"))
    assert "user customer-service by email: ana@bank.test" in text and "retrying (attempt 1" in text
    assert "could not send mail through 127.0.0.1" in text
    assert auth.post("/admin/notifications/roles/nobody-has-this", {}).status_code == 404


def test_role_settings_are_for_admins_only(auth, client):
    auth.login("manager")
    assert client.get("/admin/notifications").status_code == 403
    assert auth.post("/admin/notifications/roles/manager", {"email": "m@bank.test"}).status_code == 403
