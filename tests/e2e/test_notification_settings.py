"""A user sets their notifications in a real browser: a refused webhook address is marked at its field with
what was typed kept, then an address, a webhook (to the bank's chat tool, whose internal host the operator allows)
and a box of the grid are saved and the secret shown once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from engine.outbound.destinations import ALLOW_HOSTS
from tests.e2e.conftest import LiveServer, screenshot, sign_in


def test_a_user_sets_mail_and_a_webhook_and_a_wrong_scheme_is_marked_at_its_field(
        page: Page, server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_HOSTS, "chat.bank.test")
    sign_in(page, server.url, "credit-analyst")
    page.goto(f"{server.url}/account/notifications")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your notifications")
    page.get_by_label("Email address").fill("ana@bank.test")
    page.get_by_label("Webhook address").fill("ftp://chat.bank.test/hooks/1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#webhook-error")).to_contain_text("must start with https:// (or http://), not ftp:")
    expect(page.get_by_label("Webhook address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email address")).to_have_value("ana@bank.test")

    page.get_by_label("Webhook address").fill("https://chat.bank.test/hooks/1")
    page.get_by_label("A task of mine, or of my roles' queues, is at risk (a quarter of its target left): by webhook"
                      ).check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#secret-made")).to_contain_text("shown only this once")
    expect(page.locator("#choice-at_risk-webhook")).to_be_checked()
    expect(page.locator("#choice-assigned-email")).to_be_checked()
    screenshot(page, "notification-settings")
