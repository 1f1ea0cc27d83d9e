"""A process owner in a real browser: a helper release breaks the routing of service requests; the owner finds
the cases in error, and once the corrected helper is deployed (a restarted server) retries them and cancels one."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.work import queries
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.web.conftest import password_of
from web import create_app
from workflows import service_request

TRIAGE = {"category": "delivery", "severity": "high", "description": "The parcel never came"}


def broken_release(*_args):  # type: ignore[no-untyped-def]
    raise LookupError("the team directory is being migrated")


def test_a_process_owner_finds_the_cases_a_broken_helper_stopped_and_retries_them_after_the_fix(
        page: Page, live_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(service_request.HELPERS, "specialist_team_for", broken_release)
    new_uow = live_app.extensions["valueflow"]
    service.add_user(new_uow(), "desk", ["service-desk"], password_of("desk"))
    stopped = []
    for n in range(3):
        instance_id = service.start_instance(new_uow(), "service_request",
                                             service.CustomerRef(f"c-{n}", f"Customer {n}", "standard"))
        [triage] = queries.list_tasks(new_uow(), instance_id=instance_id)
        service.claim_task(new_uow(), triage["id"], "desk")
        service.complete_task(new_uow(), triage["id"], "desk", TRIAGE)
        stopped.append(instance_id)

    with LiveServer(live_app) as broken:
        sign_in(page, broken.url, "process-owner")
        page.get_by_role("link", name="Incidents").click()
        expect(page.get_by_text("Page 1 of 1 · 3 cases in error")).to_be_visible()
        expect(page.get_by_role("cell", name="the team directory is being migrated").first).to_be_visible()
        page.get_by_label("Message").fill("directory")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("table.incidents tbody tr")).to_have_count(3)
        screenshot(page, "incidents-after-a-broken-helper")

    monkeypatch.undo()  # the corrected helper is deployed: the server starts again with it
    fixed_app = create_app({"SECRET_KEY": "e2e", "DATABASE_URL": str(new_uow.engine.url)})
    try:
        with LiveServer(fixed_app) as fixed:  # the session goes on: same secret, same host
            page.goto(f"{fixed.url}/incidents?message=directory")
            page.get_by_label(f"Case {stopped[0]}").check()
            page.get_by_label(f"Case {stopped[1]}").check()
            page.get_by_role("button", name="Retry the ticked cases").click()
            expect(page.get_by_text(f"Retried, and going on: case {stopped[0]}, {stopped[1]}.")).to_be_visible()
            expect(page.locator("table.incidents tbody tr")).to_have_count(1)
            page.locator("tr", has_text=f"#{stopped[2]}").get_by_text("Cancel case…").click()  # cannot be undone
            expect(page.get_by_text(f"Case {stopped[2]} was cancelled.")).to_be_hidden()
            page.get_by_role("button", name=f"Cancel case {stopped[2]} for good").click()
            expect(page.get_by_text(f"Case {stopped[2]} was cancelled.")).to_be_visible()
            expect(page.get_by_text("No case in error matches these filters.")).to_be_visible()
            screenshot(page, "incidents-retried-and-cancelled")
    finally:
        fixed_app.extensions["valueflow"].dispose()
    check = live_app.extensions["valueflow"]
    for instance_id in stopped[:2]:
        case = queries.instance_view(check(), instance_id)
        assert case["status"] == "running" and case["data"]["specialist_team"]
    assert queries.instance_view(check(), stopped[2])["status"] == "cancelled"
