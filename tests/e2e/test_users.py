"""An admin among fifty users in a real browser: find one, reset their password, disable them."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from engine import service
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.web.conftest import password_of


def test_an_admin_finds_a_user_among_fifty_resets_their_password_and_disables_them(
        page: Page, browser: Browser, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    for number in range(50):
        service.add_user(new_uow(), f"staff-{number:02d}", ["underwriter" if number % 2 else "credit-analyst"],
                         password_of("staff"))

    sign_in(page, server.url, "admin")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_text("Page 1 of 3 · 57 users")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollHeight") < 2500  # one page of names, not a wall
    screenshot(page, "admin-users")

    page.get_by_label("User name or role").fill("staff-4")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("table.users tbody tr")).to_have_count(10)
    page.get_by_role("link", name="Edit staff-41").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("staff-41")
    expect(page.get_by_label("underwriter")).to_be_checked()

    page.get_by_text("Reset password…").click()  # asks first: the old password stops working at once
    expect(page.locator("code.secret")).to_have_count(0)
    page.get_by_role("button", name="Reset staff-41's password").click()
    password = page.locator("code.secret").inner_text()
    expect(page.get_by_text("It is shown only now")).to_be_visible()
    screenshot(page, "admin-user-password-reset")

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    other.goto(f"{server.url}/login")
    other.get_by_label("User name").fill("staff-41")
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("heading", name="Inbox")).to_be_visible()

    page.get_by_role("button", name="Disable staff-41").click()
    expect(page.get_by_text("staff-41 is disabled")).to_be_visible()
    expect(page.get_by_role("cell", name="Disabled")).to_be_visible()
    screenshot(page, "admin-user-disabled")

    other.reload()
    expect(other.get_by_text("Your session has ended: your account was changed. Sign in again.")).to_be_visible()
    other.get_by_label("User name").fill("staff-41")
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_text("Your account is disabled; ask an admin to enable it.")).to_be_visible()
    other.context.close()
