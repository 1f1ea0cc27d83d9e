"""An admin reads the audit log in a real browser: a failed sign-in from its address, then only one kind."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.web.conftest import open_task, start_loan


def test_an_admin_finds_a_failed_sign_in_and_an_assignment_in_the_audit_log(page: Page, server: LiveServer,
                                                                             live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    loan = start_loan(new_uow)
    service.assign_task(new_uow(), open_task(new_uow, loan)["id"], "customer-service", "manager")
    page.goto(f"{server.url}/login")
    page.get_by_label("User name").fill("credit-analyst")
    page.get_by_label("Password").fill("a guess")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That user name and password do not match")).to_be_visible()

    sign_in(page, server.url, "admin")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    failed = page.locator("tr.audit-sign_in_failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("from 127.0.0.1")
    expect(failed).to_contain_text("as “credit-analyst” · wrong user name or password")
    screenshot(page, "audit-log")

    page.get_by_label("Kind").select_option(label="Task assigned")
    page.get_by_label("User").fill("manager")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"case {loan} · Capture application · to customer-service")
    expect(page.get_by_label("Kind")).to_have_value("task_assigned")
    screenshot(page, "audit-log-filtered")
