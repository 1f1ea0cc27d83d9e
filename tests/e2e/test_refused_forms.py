"""A refused form in the browser: the address bar holds the form's page, not the POST address, and the page
opens at the error."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, sign_in


def test_a_refused_hourly_rate_opens_the_dashboard_at_its_error_and_a_reload_sends_nothing(
        page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, "admin")
    page.goto(f"{server.url}/dashboard/loan_decision")
    page.get_by_label("Hourly rate of credit-analyst").fill("ten")
    page.get_by_role("button", name="Save the rate of credit-analyst").click()
    error = page.locator("#rate-error")
    expect(error).to_contain_text("The rate of credit-analyst was not changed")
    expect(page).to_have_url(re.compile(r"/dashboard/loan_decision(\?version=\d+)?#rate-error$"))  # filters kept
    expect(page.get_by_label("Hourly rate of credit-analyst")).to_have_value("ten")
    assert page.evaluate("window.scrollY") > 0
    expect(error).to_be_in_viewport()
    reloaded = page.reload()
    assert reloaded is not None and reloaded.request.method == "GET"
    expect(page.locator("#rate-error")).to_have_count(0)
