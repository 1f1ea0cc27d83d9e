"""With JavaScript off, a page whose diagram, charts or modeler only a script can draw says so, and shows no
endless "Drawing the diagram…" or empty chart frame."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from engine import service
from tests.e2e.conftest import LiveServer, screenshot, sign_in, sign_out


def shown(page: Page) -> str:
    """The page's text as rendered (Playwright's text locators pass over <noscript>, the browser does not)."""
    return page.inner_text("main")


@pytest.fixture
def scriptless(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_pages_drawn_by_scripts_say_they_need_javascript(scriptless: Page, server: LiveServer,
                                                          live_app: Flask) -> None:
    case_id = service.start_instance(live_app.extensions["valueflow"](), "loan_decision",
                                  service.CustomerRef(f"c-{uuid.uuid4().hex[:8]}", "Ada Moss", "standard"), {},
                                  actor="customer-service")
    sign_in(scriptless, server.url, "manager")

    scriptless.goto(f"{server.url}/instances/{case_id}")
    assert "The diagram needs JavaScript, which is off in this browser" in shown(scriptless)
    expect(scriptless.get_by_text("Drawing the diagram…")).to_be_hidden()

    scriptless.goto(f"{server.url}/dashboard/loan_decision")
    assert "The heat map needs JavaScript" in shown(scriptless)
    assert "This chart needs JavaScript" in shown(scriptless)
    expect(scriptless.locator(".chart-box").first).to_be_hidden()
    screenshot(scriptless, "dashboard-without-javascript")

    scriptless.goto(f"{server.url}/processes/loan_decision")
    assert "The diagram needs JavaScript" in shown(scriptless)

    sign_out(scriptless)
    sign_in(scriptless, server.url, "process-owner")
    scriptless.goto(f"{server.url}/modeler/loan_decision")
    assert "The modeler needs JavaScript" in shown(scriptless)
    expect(scriptless.get_by_role("button", name="Deploy")).to_be_hidden()
