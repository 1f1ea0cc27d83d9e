"""The API's reference page draws the generated document with Swagger UI served by the app, under its
Content-Security-Policy, and a call tried from it with a token reaches the API."""

from __future__ import annotations

from engine.work import tokens
from tests.e2e.conftest import ARTIFACTS, screenshot


def test_the_reference_page_lists_the_api_and_tries_a_call_with_a_token(page, server):
    secret = tokens.create_token(server.app.extensions["valueflow"](), "manager", "docs")
    page.goto(f"{server.url}/api/v1/docs")
    page.get_by_text("Valueflow", exact=False).first.wait_for()
    for path in ("/api/v1/instances", "/api/v1/tasks/{task_id}/complete", "/api/v1/messages"):
        page.locator(f".opblock-summary-path[data-path='{path}']").first.wait_for()
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").first.fill(secret)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.get_by_role("button", name="Close").first.click()
    page.locator("#operations-api_tasks-get_api_v1_tasks, [id^='operations-api_tasks-get'][id$='tasks']").first \
        .locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    page.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    assert page.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip() == "200"
    screenshot(page, "api-docs")


def test_the_reference_says_why_completing_a_task_can_conflict_and_when_to_ask_again(page, server):
    page.goto(f"{server.url}/api/v1/docs")
    page.locator(".opblock-summary-path[data-path='/api/v1/tasks/{task_id}/complete']").first.click()
    conflict = page.locator(".responses-table tr.response[data-code='409']").first
    conflict.wait_for()
    conflict.scroll_into_view_if_needed()
    shown = conflict.inner_text()
    assert "the task was completed by someone else, or cancelled" in shown
    assert '"code": "conflict"' in shown and "Retry-After" in shown
    assert [row.get_attribute("data-code") for row in page.locator(".responses-table").first
            .locator("tr.response").all()] == ["200", "400", "401", "403", "404", "409", "413", "415", "422"]
    ARTIFACTS.mkdir(exist_ok=True)
    conflict.screenshot(path=str(ARTIFACTS / "api-docs-complete-409.png"))
