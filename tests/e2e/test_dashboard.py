"""The manager's dashboard in a real browser, on demo data: charts drawn, the heat map on the diagram, a red step
clicked down to its slowest cases.

The data: three simulated days of ``valueflow demo`` (engine.simulation) on a fresh database, then enough loan
applications captured late (three hours against the one-hour target of Capture application) that this step
is red however the demo's own traffic turned out.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from engine import service, simulation
from engine.analytics import cycle_times
from engine.analytics.filters import Filters
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from engine.work import queries
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.web.conftest import MEDIUM_RISK, password_of
from web import create_app

DEMO_START = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
DEMO_DAYS = 3
RED_STEP = "capture_application"
CHARTS = ("chart-trend", "chart-split", "chart-cost", "chart-satisfaction")


def make_a_step_red(new_uow, clock: FixedClock) -> None:
    """Capture application taken three hours late on enough new applications that fewer than half met the target."""
    step = next(s for s in cycle_times.step_table(new_uow(), Filters("loan_decision")) if s.step_id == RED_STEP)
    late = max(0, 2 * step.within_target - step.with_target + 1)
    clerk = "customer-service"
    service.add_user(new_uow(), clerk, [clerk], password_of(clerk))
    started = []
    for i in range(late):
        started.append(service.start_instance(new_uow(), "loan_decision", service.CustomerRef(
            f"late-{i:03d}", f"Late Applicant {i}", "standard"), {}, actor=clerk))
    clock.advance(timedelta(hours=3))
    for instance_id in started:
        [task] = queries.list_tasks(new_uow(), instance_id=instance_id)
        service.claim_task(new_uow(), task["id"], clerk)
        service.complete_task(new_uow(), task["id"], clerk, MEDIUM_RISK)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    path = tmp_path_factory.mktemp("demo") / "valueflow.db"
    clock = FixedClock(DEMO_START)
    new_uow = connect(f"sqlite:///{path}", clock, migrate=True)
    simulation.run_demo(new_uow, days=DEMO_DAYS, seed=7, start=DEMO_START, progress=None)
    service.add_user(new_uow(), "manager", ["manager"], password_of("manager"))
    make_a_step_red(new_uow, clock)
    now = clock.now()
    new_uow.dispose()
    return path, now


@pytest.fixture
def demo_server(demo_database: tuple[Path, datetime], tmp_path: Path) -> Iterator[LiveServer]:
    seeded, now = demo_database
    shutil.copy(seeded, tmp_path / "valueflow.db")
    app: Flask = create_app({"SECRET_KEY": "e2e", "DATABASE_URL": f"sqlite:///{tmp_path / 'valueflow.db'}",
                             "CLOCK": FixedClock(now)})
    with LiveServer(app) as live:
        yield live
    app.extensions["valueflow"].dispose()


def painted_pixels(page: Page, canvas_id: str) -> int:
    """How many pixels of the canvas are not transparent: zero for a chart that was never drawn."""
    return page.evaluate("""id => {
        const canvas = document.getElementById(id);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) { painted += 1; } }
        return painted;
    }""", canvas_id)


def test_a_manager_opens_the_loan_dashboard_and_follows_a_red_step_to_its_slowest_cases(
        page: Page, demo_server: LiveServer) -> None:
    sign_in(page, demo_server.url, "manager")
    page.get_by_role("link", name="Dashboards").click()
    page.get_by_role("link", name="Open the dashboard of Loan decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Loan decision")

    # The charts are drawn.
    for chart in CHARTS:
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true")
        assert painted_pixels(page, chart) > 500, f"{chart} is blank"

    # The diagram of the newest version carries an overlay on each of its user tasks, coloured and worded.
    heatmap = page.locator("#heatmap")
    expect(heatmap).to_have_attribute("data-state", "ready")
    for step in ("capture_application", "credit_review", "underwriting_decision", "prepare_offer"):
        expect(heatmap.locator(f'.vf-heat-badge[data-step="{step}"]')).to_have_count(1)
    red = heatmap.locator(f'.vf-heat-badge[data-step="{RED_STEP}"]')
    expect(red).to_have_attribute("data-status", "red")
    expect(red).to_contain_text("Over target")
    expect(heatmap.locator(f'g.djs-element.vf-heat-red[data-element-id="{RED_STEP}"]')).to_have_count(1)
    screenshot(page, "dashboard")

    # Clicking the red step narrows the step table to it and lists its slowest cases, each linked to its case.
    red.click()
    page.wait_for_url(f"**/dashboard/loan_decision?step={RED_STEP}#step-detail")
    expect(page.get_by_role("heading", name="Slowest cases at Capture application")).to_be_visible()
    expect(page.locator("#step-table tbody tr")).to_have_count(1)
    expect(page.locator("#step-table")).to_contain_text("Median over target")
    slowest = page.locator("#slowest-cases tbody tr")
    expect(slowest).to_have_count(10)
    expect(page.locator(f'#heatmap .vf-heat-badge-chosen[data-step="{RED_STEP}"]')).to_have_count(1)
    screenshot(page, "dashboard-step")
    slowest.first.get_by_role("link", name="Case").click()
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Case ")


def test_the_dashboard_opens_on_the_newest_version_and_over_all_versions_names_each_versions_target(
        page: Page, demo_server: LiveServer) -> None:
    sign_in(page, demo_server.url, "manager")
    page.goto(f"{demo_server.url}/dashboard/loan_decision")
    target_of_capture = page.locator('#step-table tr[data-step="capture_application"] td:nth-of-type(7)')
    expect(page.locator("#f-version")).to_have_value("2")
    expect(page.locator(".lead")).to_contain_text("Version 2")
    expect(page.locator("#kpi-median + .kpi-note")).to_contain_text("target 2 d")
    expect(target_of_capture).to_have_text(re.compile(r"^1 h 00 min\s*premium 30 min$"))

    # Over all versions, the redesign's targets and the old process's are named side by side.
    page.locator("#f-version").select_option("all")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/loan_decision?*version=all*")
    expect(page.locator(".lead")).to_contain_text("All 2 versions")
    expect(page.locator("#kpi-median + .kpi-note")).to_have_text("target v2 2 d · v1 7 d")
    expect(target_of_capture).to_have_text("v2 1 h 00 min · v1 1 d")
    expect(page.get_by_role("heading", name="Heat map · version 2")).to_be_visible()
    expect(page.locator("#heat-map")).to_contain_text("the figures of version 2 alone")
    expect(page.locator("#heatmap")).to_have_attribute("data-state", "ready")
    expect(page.locator("#chart-trend")).to_have_attribute("data-drawn", "true")
    screenshot(page, "dashboard-versions")


def test_no_heat_map_badge_covers_another_where_steps_stand_side_by_side(page: Page,
                                                                         demo_server: LiveServer) -> None:
    sign_in(page, demo_server.url, "manager")
    page.goto(f"{demo_server.url}/dashboard/order_to_cash")  # Pick and pack, then Ship order, right beside it
    expect(page.locator("#heatmap")).to_have_attribute("data-state", "ready")
    boxes = [box for box in (badge.bounding_box() for badge in page.locator(".vf-heat-badge").all()) if box]
    assert len(boxes) >= 6
    clashes = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
               and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]]
    assert clashes == []
