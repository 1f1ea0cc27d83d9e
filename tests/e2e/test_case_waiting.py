"""A loan waiting for the customer's documents, seen and moved on from its case page in a real browser."""

from __future__ import annotations

import uuid

from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.work import queries
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.web.conftest import MEDIUM_RISK


def test_customer_service_sees_the_loan_wait_for_documents_and_records_their_arrival(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    customer = f"Ada Moss {uuid.uuid4().hex[:6]}"
    instance_id = service.start_instance(new_uow(), "loan_decision",
                                         service.CustomerRef(f"c-{uuid.uuid4().hex[:6]}", customer, "standard"), {})
    for data in ({**MEDIUM_RISK, "documents_complete": False},
                 {"missing_documents": "bank statements for May", "request_channel": "email"}):
        task = queries.list_tasks(new_uow(), instance_id=instance_id)[0]
        service.claim_task(new_uow(), task["id"], "customer-service")
        service.complete_task(new_uow(), task["id"], "customer-service", data)

    sign_in(page, server.url, "customer-service")
    page.goto(f"{server.url}/instances/{instance_id}")
    waiting = page.locator("#waiting-for")
    expect(waiting.get_by_role("heading", name="Waiting for")).to_be_visible()
    expect(waiting).to_contain_text("Documents received — a message from outside (documents_received), waiting since")
    expect(waiting).to_contain_text("My application moves on the moment my papers arrive")
    expect(waiting).to_contain_text("Two days without documents — a timer, due")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.locator(".vf-waiting-badge")).to_have_count(2)  # the message event and the timer, on the diagram
    waiting.get_by_label("Documents received").fill("Bank statements for May, by email")
    screenshot(page, "case-waiting-for-message")

    # Submitting without the documents says so and records nothing; then the real recording.
    waiting.get_by_label("Documents received").fill("")
    waiting.get_by_role("button", name="Record: Documents received").click()
    expect(page.get_by_text("Documents received is required.")).to_be_visible()
    expect(page.locator("#waiting-for")).to_be_visible()
    page.locator("#waiting-for").get_by_label("Documents received").fill("Bank statements for May, by email")
    page.locator("#waiting-for").get_by_role("button", name="Record: Documents received").click()

    expect(page.get_by_text(f"Recorded: Documents received for {customer} (case {instance_id}).")).to_be_visible()
    expect(page.locator("#waiting-for")).to_have_count(0)
    expect(page.locator(".events")).to_contain_text("Message received")
    expect(page.locator(".events tr", has_text="Message received")).to_contain_text("customer-service")
    expect(page.locator("table.compact").first).to_contain_text("Review credit")  # the case moved on
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    screenshot(page, "case-after-message")
