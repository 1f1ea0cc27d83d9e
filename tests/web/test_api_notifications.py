"""The caller's notification settings over the API: read (the defaults until saved), replaced with the page's
checks, a webhook's secret answered once; a refused field is a 422 naming it, and nothing changes. The bank's chat
tool is internal, its host allowed by the operator; any other internal address is refused."""

from __future__ import annotations

from typing import Any

import pytest

from engine.notify import settings
from engine.outbound.destinations import ALLOW_HOSTS
from tests.web.test_api import Api, assert_error

CHAT = "https://chat.bank.test/hooks/ana"


@pytest.fixture(autouse=True)
def bank_chat_allowed(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ALLOW_HOSTS, "chat.bank.test")


class Me(Api):
    def put(self, body: Any) -> Any:
        return self.client.put("/api/v1/me/notifications", json=body, headers=self.headers)


@pytest.fixture
def me(client, new_uow):  # type: ignore[no-untyped-def]
    return Me(client, new_uow, "credit-analyst")


def test_the_defaults_are_read_until_the_user_saves_theirs(me):
    answer = me.get("/me/notifications")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "email": None, "webhook_url": None, "has_secret": False, "saved": False,
        "mail_configured": settings.mail_configured(),
        "choices": {"assigned": ["email"], "at_risk": [], "breached": [], "incident": ["email"]}}


def test_saved_settings_are_read_back_the_secret_answered_once_and_the_page_shows_them(me, new_uow, client):
    answer = me.put({"email": "ana@bank.test", "webhook_url": CHAT,
                     "choices": {"assigned": ["email", "webhook"], "breached": ["webhook"]}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    saved = answer.get_json()
    assert len(saved.pop("secret")) >= 16
    assert saved == {"email": "ana@bank.test", "webhook_url": CHAT, "has_secret": True, "saved": True,
                     "mail_configured": settings.mail_configured(),
                     "choices": {"assigned": ["email", "webhook"], "at_risk": [], "breached": ["webhook"],
                                 "incident": []}}
    assert me.get("/me/notifications").get_json() == saved  # the secret is never shown again
    again = me.put({"email": "ana@bank.test", "webhook_url": CHAT, "choices": {"breached": ["webhook"]}})
    assert again.get_json()["secret"] is None and again.get_json()["has_secret"]  # kept, not made anew
    shown = settings.settings_of(new_uow(), "credit-analyst")
    assert (shown.email, shown.webhook_url, shown.choices["breached"]) == ("ana@bank.test", CHAT, {"webhook"})


@pytest.mark.parametrize("change, field, words", [
    ({"email": "ana at bank"}, "email", "'ana at bank' is not an email address"),
    ({"webhook_url": "ftp://chat.bank.test/in"}, "webhook_url", "must start with https:// (or http://), not ftp:"),
    ({"webhook_url": "http://10.0.0.5/hook"}, "webhook_url", "10.0.0.5 is an internal address (private)"),
    ({"webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook_url",
     "169.254.169.254 is an internal address (link-local)"),
    ({"secret": "short"}, "secret", "16 to 200 characters"),
    ({"choices": {"lunch": ["email"]}}, "choices", "there is no 'lunch' notification by 'email'"),
    ({"choices": {"assigned": ["pigeon"]}}, "choices", "there is no 'assigned' notification by 'pigeon'"),
    ({"email": None, "choices": {"incident": ["email"]}}, "email", "give an email address to get mail"),
    ({"choices": {"assigned": "email"}}, "choices", "not a valid list"),
    ({"choices": None}, "choices", "may not be null"),
    ({"new_secret": "please"}, "new_secret", "not a valid boolean"),
    ({"new_secret": "yes"}, "new_secret", "not a valid boolean"),
])
def test_a_refused_field_is_a_422_naming_it_and_nothing_changes(me, change, field, words):
    before = {"email": "ana@bank.test", "webhook_url": CHAT, "choices": {"assigned": ["email"],
                                                                         "at_risk": ["webhook"]}}
    assert me.put(before).status_code == 200
    kept = me.get("/me/notifications").get_json()
    found = assert_error(me.put({**before, **change}), 422, words, (field,))
    assert words.lower() in found["fields"][field].lower()
    assert me.get("/me/notifications").get_json() == kept


def test_a_body_without_choices_is_refused_and_a_caller_without_a_token_is_told_to_send_one(me, client):
    assert_error(me.put({"email": "ana@bank.test"}), 422, "choices", ("choices",))
    assert me.get("/me/notifications").get_json()["saved"] is False
    assert_error(client.get("/api/v1/me/notifications"), 401, "Authorization: Bearer")
