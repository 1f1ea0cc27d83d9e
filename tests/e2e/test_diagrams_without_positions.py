"""A process whose file holds no positions for its shapes (no BPMN DI, as engines' test files and generated
processes come) is laid out in the browser: the process page, the case page and the modeler draw it and say so."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.definitions.packages import Package
from tests import samples
from tests.e2e.conftest import LiveServer, screenshot, sign_in

LAID_OUT = "came without positions for its shapes"


def deploy_without_positions(live_app: Flask) -> int:
    """The two-step sample (no DI) deployed, and a case of it waiting at its first step; the case's id."""
    new_uow = live_app.extensions["valueflow"]
    xml = samples.two_step("unplaced")
    assert "BPMNShape" not in xml
    service.deploy(new_uow(), Package("unplaced", "unplaced.bpmn", {"unplaced.bpmn": xml}))
    return service.start_instance(new_uow(), "unplaced", service.CustomerRef("c-41", "Ada Moss", "standard"), {})


def test_the_process_page_and_the_case_page_lay_out_and_draw_a_process_without_positions(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    case_id = deploy_without_positions(live_app)
    sign_in(page, server.url, "manager")

    page.goto(f"{server.url}/processes/unplaced")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text(LAID_OUT)).to_be_visible()
    for step in ("begin", "review", "approve", "finish", "f_begin_review", "f_review_approve", "f_approve_finish"):
        expect(page.locator(f'#diagram g.djs-element[data-element-id="{step}"]')).to_have_count(1)
    expect(page.locator("#diagram")).to_contain_text("Review")
    screenshot(page, "process-page-laid-out")

    page.goto(f"{server.url}/instances/{case_id}")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.locator('#diagram g.djs-element[data-element-id="review"].vf-open')).to_have_count(1)
    expect(page.get_by_text(LAID_OUT)).to_be_visible()


def test_the_modeler_lays_out_a_process_without_positions_and_a_deploy_keeps_them(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    deploy_without_positions(live_app)
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/unplaced")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator(".modeler-status")).to_contain_text(LAID_OUT)
    expect(page.locator('#canvas g.djs-element[data-element-id="approve"]')).to_have_count(1)
    screenshot(page, "modeler-laid-out")

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(live_app.extensions["valueflow"](), "unplaced", "process-owner")
    # the next version keeps the positions made in the browser, the flows' too
    assert "BPMNShape" in stored.package["bpmn"] and 'bpmnElement="f_review_approve"' in stored.package["bpmn"]
    page.goto(f"{server.url}/processes/unplaced")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text(LAID_OUT)).to_have_count(0)
