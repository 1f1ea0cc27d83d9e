"""The inbox, the task page, a process page, a dashboard and the admin lists on a phone (390 px wide): nothing
wider than the screen."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from engine import service
from tests.e2e.conftest import LiveServer, screenshot, sign_in

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def overflow(page: Page) -> dict[str, object]:
    """How far the document reaches past the viewport, and the elements that stick out."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length)
            .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                             + ' ' + Math.round(e.getBoundingClientRect().right));
        return {document: document.documentElement.scrollWidth, viewport: width, wide: wide};
    }""")


def test_the_inbox_and_a_task_fit_a_phone_screen(phone: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    long_name = f"Maximiliane Oberhauser-Wittgenstein {uuid.uuid4().hex[:6]}"
    service.start_instance(new_uow(), "loan_decision",
                           service.CustomerRef(f"c-{uuid.uuid4().hex[:8]}", long_name, "premium"),
                           {}, actor="customer-service")
    for n in range(3):
        service.start_instance(new_uow(), "loan_decision",
                               service.CustomerRef(f"c-{uuid.uuid4().hex[:8]}", f"Ada Moss {n}", "standard"), {},
                               actor="customer-service")
    sign_in(phone, server.url, "customer-service")
    phone.goto(f"{server.url}/inbox?view=queues")
    expect(phone.get_by_text(long_name, exact=True)).to_be_visible()
    inbox = overflow(phone)
    screenshot(phone, "inbox-phone")
    assert inbox["document"] <= inbox["viewport"], inbox

    phone.locator("tr", has_text=long_name).get_by_role("button", name="Claim").click()
    expect(phone.get_by_text("The task is yours now.")).to_be_visible()
    phone.get_by_label("Notes").fill("Needs the " + "documents-" * 30 + " before Friday.")
    phone.get_by_role("button", name="Complete").click()
    expect(phone.locator("#form-errors")).to_be_visible()
    task = overflow(phone)
    screenshot(phone, "task-phone")
    assert task["document"] <= task["viewport"], task


@pytest.mark.parametrize("name, address", [
    ("customer-service", "/processes/loan_decision"), ("manager", "/dashboard/loan_decision"),
    ("admin", "/incidents"), ("admin", "/admin/users")])
def test_process_dashboard_and_admin_pages_fit_a_phone_screen(phone: Page, server: LiveServer, name: str,
                                                               address: str) -> None:
    sign_in(phone, server.url, name)
    phone.goto(f"{server.url}{address}")
    expect(phone.locator("h1")).to_be_visible()
    found = overflow(phone)
    assert found["document"] <= found["viewport"], found
