"""A process whose package holds two diagrams, in the browser: the modeler draws the main one and deploys the package
whole; the case page draws a case whose open step is inside the called process."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.definitions.packages import read_package
from engine.work import queries
from tests.e2e.conftest import LiveServer, screenshot, sign_in, sign_out

ORDER = Path(__file__).resolve().parent.parent / "dialects" / "two_file_order"


def test_the_modeler_edits_the_main_diagram_and_deploys_the_called_one_with_it(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    service.deploy(new_uow(), read_package(ORDER), actor="tests")
    service.add_user(new_uow(), "sam", ["sales"], "pw-sam-1234")
    instance_id = service.start_instance(new_uow(), "two_file_order", service.CustomerRef("c-2f", "Ines Ray",
                                                                                           "standard"))
    [take] = queries.list_tasks(new_uow(), instance_id=instance_id)
    service.claim_task(new_uow(), take["id"], "sam")
    service.complete_task(new_uow(), take["id"], "sam", {})

    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/two_file_order")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator('g.djs-element[data-element-id="Call_credit_check"]').click()
    expect(page.locator("#panel h2")).to_have_text("Check credit")
    expect(page.locator("#panel")).to_contain_text("Calls the process credit_check, drawn in credit_check.bpmn of "
                                                   "this package: it is deployed with this diagram, unchanged.")
    screenshot(page, "modeler-call-activity")
    page.locator('g.djs-element[data-element-id="Task_take_order"]').click()
    page.get_by_label("Customer value").fill("The order is taken as the customer said it, once")
    page.get_by_label("Customer value").press("Tab")
    page.get_by_role("button", name="Deploy").click()  # without credit_check.bpmn the call would be refused
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    sign_out(page)

    sign_in(page, server.url, "manager")
    page.goto(f"{server.url}/instances/{instance_id}")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text("Assess the customer's credit").first).to_be_visible()
    # the open step is inside the called process: its call activity is marked open on the main diagram
    expect(page.locator('g.djs-element.vf-open[data-element-id="Call_credit_check"]')).to_have_count(1)
    expect(page.get_by_role("cell", name="Task_assess_credit")).to_have_count(0)  # the history names the step
    screenshot(page, "case-in-called-process")
