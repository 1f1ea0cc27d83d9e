"""The loan story in a real browser: a loan application from capture to decision, seen on the diagram."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from engine import service
from engine.work import queries
from tests.e2e.conftest import LiveServer, screenshot, sign_in, sign_out
from tests.web.conftest import MEDIUM_RISK


def claim_from_queue(page: Page, server: LiveServer, customer: str, step: str) -> None:
    page.goto(f"{server.url}/inbox?view=queues")
    row = page.locator("tr", has_text=customer).filter(has_text=step)
    row.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("The task is yours now.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(step)


def test_a_loan_application_goes_from_capture_to_a_decision_and_shows_finished_on_the_diagram(
        page: Page, server: LiveServer) -> None:
    customer = f"Ada Moss {uuid.uuid4().hex[:6]}"

    # Customer service starts a loan application for a new customer and lands on its first task.
    sign_in(page, server.url, "customer-service")
    page.get_by_role("link", name="Processes").click()
    page.locator("section", has_text="Loan decision").get_by_role("link", name="Start a case").click()
    page.get_by_label("Customer's name", exact=False).fill(customer)
    page.get_by_label("Segment").select_option("standard")
    page.get_by_role("button", name="Start the case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Capture application")
    expect(page.get_by_text("Its first step is yours.")).to_be_visible()
    expect(page.get_by_text("I tell my story once and my application is on its way")).to_be_visible()

    # One bad value first: the error is shown at that field and every other value is kept.
    page.get_by_label("Loan amount").fill("250,000")
    page.get_by_label("Purpose").select_option("purchase")
    page.get_by_label("Annual gross income").fill("sixty thousand")
    page.get_by_label("Outstanding debts").fill("15000")
    page.get_by_label("Years with current employer").fill("3")
    page.get_by_label("Property value").fill("300000")
    page.get_by_label("All documents received").check()
    page.get_by_label("Notes").fill("Buying her first flat.")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator("#form-errors")).to_contain_text("1 field needs attention")
    expect(page).to_have_url(re.compile(r"/tasks/\d+#form-errors$"))  # not the POST address: a reload sends nothing
    expect(page.get_by_text("Annual gross income must be a number")).to_be_visible()
    expect(page.get_by_label("Annual gross income")).to_have_value("sixty thousand")
    expect(page.get_by_label("Loan amount")).to_have_value("250,000")
    expect(page.get_by_label("Purpose")).to_have_value("purchase")
    expect(page.get_by_label("Outstanding debts")).to_have_value("15000")
    expect(page.get_by_label("Years with current employer")).to_have_value("3")
    expect(page.get_by_label("Property value")).to_have_value("300000")
    expect(page.get_by_label("All documents received")).to_be_checked()
    expect(page.get_by_label("Notes")).to_have_value("Buying her first flat.")
    page.get_by_label("Annual gross income").fill("60000")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text(f"Done: Capture application for {customer}")).to_be_visible()
    sign_out(page)

    # The credit analyst claims the review from the queue, reads the case and completes it.
    sign_in(page, server.url, "credit-analyst")
    claim_from_queue(page, server, customer, "Review credit")
    expect(page.get_by_text("Someone looks at my whole situation, not just a number")).to_be_visible()
    data = page.locator(".case-data")
    expect(data).to_contain_text("Loan amount")
    expect(data).to_contain_text("250,000")
    expect(data).to_contain_text("MEDIUM")
    expect(page.locator(".history")).to_contain_text("Capture application by customer-service")
    screenshot(page, "task-page")
    page.get_by_label("Income verified").check()
    page.get_by_label("Affordability confirmed").check()
    page.get_by_label("Recommendation").select_option("approve")
    page.get_by_label("Review notes").fill("Stable job, deposit of 50,000.")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text(f"Done: Review credit for {customer}")).to_be_visible()
    sign_out(page)

    # The underwriter decides.
    sign_in(page, server.url, "underwriter")
    claim_from_queue(page, server, customer, "Decide on the loan")
    page.wait_for_load_state()  # the fragment's place is where the next Tab starts from once the page has loaded
    page.keyboard.press("Tab")  # the claim lands at the form: its first field is the next Tab
    expect(page.get_by_label("Decision")).to_be_focused()
    page.get_by_label("Decision").select_option("approve")
    page.get_by_label("Reasons").fill("Affordable, well secured.")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text(f"Done: Decide on the loan for {customer}")).to_be_visible()
    sign_out(page)

    # Customer service sends the offer, the last step of an approved loan.
    sign_in(page, server.url, "customer-service")
    claim_from_queue(page, server, customer, "Prepare loan offer")
    page.get_by_label("Interest rate (% a year)").fill("3.5")
    page.get_by_label("Term (years)").fill("25")
    page.get_by_label("Offer valid until").fill("2030-12-31")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text(f"Done: Prepare loan offer for {customer}")).to_be_visible()

    # The instance page, found by the customer's name, shows the case finished on its diagram.
    page.get_by_label("Find a case by customer name or id").fill(customer)
    page.keyboard.press("Enter")
    page.locator("tr", has_text=customer).get_by_role("link").first.click()
    expect(page.locator("#case-status")).to_have_text("Completed")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    for step in ("capture_application", "credit_review", "underwriting_decision", "prepare_offer", "end_approved"):
        expect(page.locator(f'#diagram g.djs-element.vf-done[data-element-id="{step}"]')).to_have_count(1)
    expect(page.locator("#diagram g.djs-element.vf-open")).to_have_count(0)
    expect(page.locator(".events")).to_contain_text("Case completed")
    screenshot(page, "instance-page")


def test_a_task_claimed_by_one_analyst_cannot_be_completed_by_another(browser, server: LiveServer) -> None:
    new_uow = server.app.extensions["valueflow"]
    customer = f"Ben Ortiz {uuid.uuid4().hex[:6]}"
    instance_id = service.start_instance(new_uow(), "loan_decision", service.CustomerRef(
        f"c-{uuid.uuid4().hex[:8]}", customer, "premium"), {}, actor="customer-service")
    capture = queries.list_tasks(new_uow(), instance_id=instance_id)[0]["id"]
    service.claim_task(new_uow(), capture, "customer-service")
    service.complete_task(new_uow(), capture, "customer-service", MEDIUM_RISK)
    review = queries.list_tasks(new_uow(), instance_id=instance_id)[0]["id"]

    first = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    second = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    sign_in(first, server.url, "credit-analyst")
    sign_in(second, server.url, "analyst-2")
    second.goto(f"{server.url}/tasks/{review}")                  # both see it unclaimed
    first.goto(f"{server.url}/tasks/{review}")
    first.get_by_role("button", name="Claim this task").click()
    expect(first.get_by_text("The task is yours now.")).to_be_visible()

    # The second analyst's page is stale: claiming now is refused, plainly.
    second.get_by_role("button", name="Claim this task").click()
    expect(second.locator("#task-alert")).to_contain_text("already claimed by credit-analyst")
    expect(second.get_by_role("button", name="Complete")).to_have_count(0)
    expect(second.locator(".assignee")).to_contain_text("Claimed by credit-analyst")

    # Even a hand-made completion is refused and changes nothing.
    token = second.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = second.request.post(f"{server.url}/tasks/{review}/complete", form={
        "csrf_token": token, "income_verified": "on", "affordability_confirmed": "on",
        "recommendation": "decline", "review_notes": "not mine to decide"})
    assert answer.status == 403
    assert "only its assignee can complete it" in answer.text()
    task = queries.list_tasks(new_uow(), instance_id=instance_id)[0]
    assert (task["id"], task["status"], task["assignee"]) == (review, "open", "credit-analyst")

    # The analyst who claimed it completes it.
    first.get_by_label("Income verified").check()
    first.get_by_label("Affordability confirmed").check()
    first.get_by_label("Recommendation").select_option("approve")
    first.get_by_label("Review notes").fill("Fine.")
    first.get_by_role("button", name="Complete").click()
    expect(first.get_by_text(f"Done: Review credit for {customer}")).to_be_visible()
    first.context.close()
    second.context.close()
