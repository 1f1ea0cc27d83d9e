"""The task page and its actions: claim, release, assign, complete."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest

from engine import service
from engine.work import accounts, queries
from tests.web.conftest import MEDIUM_RISK, Auth, open_task, start_loan, text_of

CAPTURE_FORM = {"loan_amount": "250000", "loan_purpose": "purchase", "annual_income": "60000",
                "existing_debts": "15000", "years_employed": "3", "property_value": "300000",
                "documents_complete": "on", "application_notes": "First home."}


def at_review(new_uow, clock, segment="standard") -> int:
    """A case whose capture is done: returns the open credit review's task id."""
    instance_id = start_loan(new_uow, segment=segment)
    capture = open_task(new_uow, instance_id)["id"]
    service.claim_task(new_uow(), capture, "customer-service")
    clock.advance(timedelta(minutes=50))
    service.complete_task(new_uow(), capture, "customer-service", MEDIUM_RISK)
    return open_task(new_uow, instance_id)["id"]


def test_the_task_page_shows_customer_case_data_value_target_time_left_and_history(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    clock.advance(timedelta(hours=3, minutes=30))
    auth.login("credit-analyst")
    page = text_of(client.get(f"/tasks/{review}"))
    assert "Review credit for Ada Moss standard" in page
    assert "“Someone looks at my whole situation, not just a number”" in page
    assert "BVA Business value-adding" in page
    assert "Target 4 h 00 min" in page
    assert "At risk · 30 min left" in page
    assert "Loan amount 250,000" in page and "All documents received Yes" in page and "Risk MEDIUM" in page
    assert "Purpose Purchase" in page and "Purpose purchase" not in page  # the form's words for the choice
    assert "Capture application by customer-service took 50 min of 1 h 00 min On target" in page
    assert "Claim this task" in page
    assert "The form (claim the task to fill it in)" in page


def test_the_form_of_a_task_someone_else_holds_names_them_instead_of_offering_a_claim(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    service.claim_task(new_uow(), review, "analyst-2")
    for user in ("credit-analyst", "manager"):
        auth.login(user)
        page = text_of(client.get(f"/tasks/{review}"))
        assert "The form, which analyst-2 fills in" in page and "claim the task" not in page
        auth.logout()
    auth.login("manager")
    service.release_task(new_uow(), review, "analyst-2")
    assert "The form, for whoever claims the task" in text_of(client.get(f"/tasks/{review}"))


def test_claiming_makes_the_form_yours_and_releasing_puts_it_back(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("credit-analyst")
    response = auth.post(f"/tasks/{review}/claim")
    assert response.headers["Location"] == f"/tasks/{review}#task-form"  # the keyboard's next Tab: its first field
    page = text_of(client.get(f"/tasks/{review}"))
    assert "The task is yours now." in page and "Claimed by credit-analyst" in page
    assert "Income verified" in page and "Complete" in page and "Release to the queue" in page
    released = auth.post(f"/tasks/{review}/release")
    assert released.headers["Location"] == "/inbox"
    assert "Review credit for Ada Moss is back in the Credit analyst queue." in text_of(client.get("/inbox"))
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"] is None


def test_a_task_already_claimed_by_someone_else_is_a_conflict_naming_who_holds_it(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    service.claim_task(new_uow(), review, "analyst-2")
    auth.login("credit-analyst")
    response = auth.post(f"/tasks/{review}/claim", follow_redirects=True)
    assert response.status_code == 409
    assert "You could not claim this task: task 2 is already claimed by analyst-2." in text_of(response)


def test_a_task_of_a_role_you_do_not_hold_is_refused(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("underwriter")
    response = client.get(f"/tasks/{review}")
    assert response.status_code == 403
    assert "work for the role credit-analyst, which you do not hold" in text_of(response)
    assert auth.post(f"/tasks/{review}/claim").status_code == 403
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"] is None


def test_an_unknown_task_is_a_404_page(client, auth):
    auth.login("credit-analyst")
    response = client.get("/tasks/999")
    assert response.status_code == 404
    assert "no task 999" in text_of(response)


def test_completing_goes_to_the_inbox_with_a_confirmation_and_the_next_task_suggested(client, auth, new_uow, clock):
    instance_id = start_loan(new_uow)
    start_loan(new_uow, "c-2", "Ben Ortiz")
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    response = auth.post(f"/tasks/{task}/complete", data=CAPTURE_FORM)
    assert response.headers["Location"] == "/inbox"
    page = text_of(client.get("/inbox"))
    assert "Done: Capture application for Ada Moss (case 1)." in page
    assert "Next suggested task Capture application — Ben Ortiz" in page
    view = queries.instance_view(new_uow(), instance_id)
    assert view["data"]["loan_amount"] == 250000 and view["data"]["documents_complete"] is True
    assert view["data"]["application_notes"] == "First home."
    assert [s["step_id"] for s in view["open_steps"]] == ["credit_review"]
    assert "Next suggested task" not in text_of(client.get("/inbox"))  # shown once, after completing


def test_bad_values_re_render_the_form_with_a_message_at_each_field_and_every_value_kept(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    bad = {**CAPTURE_FORM, "annual_income": "sixty thousand", "years_employed": "3.5", "loan_amount": "500",
           "existing_debts": ""}
    response = auth.post(f"/tasks/{task}/complete", data=bad, follow_redirects=True)
    assert response.status_code == 400
    page = text_of(response)
    assert "4 fields need attention; nothing was saved yet." in page
    assert "Annual gross income must be a number, like 250000 or 3.5." in page
    assert "Years with current employer must be a whole number, like 3." in page
    assert "Loan amount must be at least 1000." in page
    assert "Outstanding debts is required." in page
    html = response.get_data(as_text=True)
    for value in ('value="sixty thousand"', 'value="3.5"', 'value="500"', 'value="300000"', "First home.",
                  '<option value="purchase" selected>'):
        assert value in html
    assert 'id="field-documents_complete" name="documents_complete" checked' in html
    assert 'aria-invalid="true"' in html
    assert html.count(" autofocus") == 1 and 'id="field-loan_amount" autofocus' in html  # keyboard on the 1st
    view = queries.instance_view(new_uow(), instance_id)
    assert [s["step_id"] for s in view["open_steps"]] == ["capture_application"]
    assert "loan_amount" not in view["data"]


def test_numbers_may_be_typed_with_thousands_separators(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    response = auth.post(f"/tasks/{task}/complete", data={**CAPTURE_FORM, "loan_amount": "250,000",
                                                         "annual_income": "60 000"})
    assert response.status_code == 302
    data = queries.instance_view(new_uow(), instance_id)["data"]
    assert (data["loan_amount"], data["annual_income"]) == (250000, 60000)


def test_an_empty_optional_field_is_left_out_and_an_unticked_box_is_no(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    form = {k: v for k, v in CAPTURE_FORM.items() if k != "documents_complete"}
    assert auth.post(f"/tasks/{task}/complete", data={**form, "application_notes": ""}).status_code == 302
    view = queries.instance_view(new_uow(), instance_id)
    assert view["data"]["documents_complete"] is False and "application_notes" not in view["data"]
    assert [s["step_id"] for s in view["open_steps"]] == ["request_documents"]


def test_a_task_completed_by_someone_else_meanwhile_says_so_and_nothing_is_doubled(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("credit-analyst")
    auth.post(f"/tasks/{review}/claim")
    service.assign_task(new_uow(), review, "analyst-2", "manager")
    service.complete_task(new_uow(), review, "analyst-2", {"income_verified": True, "affordability_confirmed": True,
                                                          "recommendation": "approve", "review_notes": "ok"})
    mine = {"income_verified": "on", "recommendation": "decline", "review_notes": "my own notes"}
    response = auth.post(f"/tasks/{review}/complete", data=mine, follow_redirects=True)
    assert response.status_code == 409
    page = text_of(response)
    assert "Your values were not saved: task 2 (Review credit) was already completed by analyst-2." in page
    assert "Your values (not saved)" in page and "my own notes" in page
    events = [e["type"] for e in queries.instance_view(new_uow(), 1)["events"]]
    assert events.count("task_completed") == 2  # capture and the one review
    assert queries.instance_view(new_uow(), 1)["data"]["recommendation"] == "approve"


def test_values_sent_with_a_mistake_to_a_task_done_meanwhile_are_told_it_is_done_not_the_mistake(client, auth,
                                                                                                new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("credit-analyst")
    auth.post(f"/tasks/{review}/claim")
    service.complete_task(new_uow(), review, "credit-analyst", {"income_verified": True, "affordability_confirmed": True,
                                                               "recommendation": "approve", "review_notes": "ok"})
    second_tab = {"recommendation": "maybe", "review_notes": "typed in another tab"}
    response = auth.post(f"/tasks/{review}/complete", data=second_tab, follow_redirects=True)
    assert response.status_code == 409
    page = text_of(response)
    assert "Your values were not saved: task 2 (Review credit) is already completed." in page
    assert "need attention" not in page and "typed in another tab" in page
    assert queries.instance_view(new_uow(), 1)["data"]["recommendation"] == "approve"


def test_a_task_taken_over_meanwhile_cannot_be_completed_by_its_former_holder(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("credit-analyst")
    auth.post(f"/tasks/{review}/claim")
    service.assign_task(new_uow(), review, "analyst-2", "manager")
    response = auth.post(f"/tasks/{review}/complete", data={"recommendation": "approve", "review_notes": "x"}, follow_redirects=True)
    assert response.status_code == 403
    assert "task 2 is assigned to analyst-2; only its assignee can complete it" in text_of(response)
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["status"] == "open"


def test_a_manager_assigns_a_task_to_a_holder_of_its_role(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("manager")
    page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert '<option value="analyst-2"' in page and '<option value="credit-analyst"' in page
    assert '<option value="underwriter"' not in page
    response = auth.post(f"/tasks/{review}/assign", data={"assignee": "analyst-2"})
    assert response.status_code == 302
    assert "The task is assigned to analyst-2." in text_of(client.get(response.headers["Location"]))
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"] == "analyst-2"


@pytest.mark.parametrize("assignee, code, message", [
    ("underwriter", 403, "underwriter does not hold the role 'credit-analyst'"),
    ("no-such-person", 400, "no user named 'no-such-person'"),
    ("", 400, "Choose the person to assign the task to."),
])
def test_assigning_to_someone_who_cannot_take_the_task_is_refused_clearly(client, auth, new_uow, clock, assignee,
                                                                          code, message):
    review = at_review(new_uow, clock)
    auth.login("manager")
    response = auth.post(f"/tasks/{review}/assign", data={"assignee": assignee}, follow_redirects=True)
    assert response.status_code == code
    assert message in text_of(response)
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"] is None


def test_a_disabled_user_is_not_offered_nor_given_tasks(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    accounts.set_disabled(new_uow(), "analyst-2", True, "admin")
    auth.login("manager")
    page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert '<option value="credit-analyst"' in page and '<option value="analyst-2"' not in page
    response = auth.post(f"/tasks/{review}/assign", data={"assignee": "analyst-2"}, follow_redirects=True)
    assert response.status_code == 403
    assert "analyst-2 is disabled and cannot sign in to work on task" in text_of(response)
    assert queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"] is None


def test_staff_cannot_assign_tasks(client, auth, new_uow, clock):
    review = at_review(new_uow, clock)
    auth.login("credit-analyst")
    assert 'name="assignee"' not in client.get(f"/tasks/{review}").get_data(as_text=True)
    response = auth.post(f"/tasks/{review}/assign", data={"assignee": "analyst-2"}, follow_redirects=True)
    assert response.status_code == 403
    assert "credit-analyst is not a manager or admin and cannot assign tasks" in text_of(response)


def test_a_step_without_a_form_gets_a_comment_box_and_done(client, auth, new_uow, app):
    from engine.definitions.packages import read_package
    from tests.samples import two_step, write
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as folder:
        service.deploy(new_uow(), read_package(write(Path(folder), two_step())))
    service.add_user(new_uow(), "bo", ["back-office"], "pw-bo-123456")
    instance_id = service.start_instance(new_uow(), "two_step", service.CustomerRef("c-9", "Cy", "standard"))
    task = open_task(new_uow, instance_id)["id"]
    auth.login("bo", "pw-bo-123456")
    auth.post(f"/tasks/{task}/claim")
    page = text_of(client.get(f"/tasks/{task}"))
    assert "Comment" in page and "Done" in page
    assert auth.post(f"/tasks/{task}/complete", data={"comment": "checked"}).status_code == 302
    assert queries.instance_view(new_uow(), instance_id)["data"]["comment"] == "checked"


def test_nested_case_data_reads_as_fields_and_a_long_value_is_folded(client, auth, new_uow):
    note = "bank statements " * 400
    instance_id = service.start_instance(
        new_uow(), "loan_decision", service.CustomerRef("c-9", "Ada Moss", "standard"),
        {"received_documents": {"documents": "bank statements for May", "pages": 12},
         "guarantors": [{"name": "Bo Moss", "income": 41000}], "channels": ["phone", "email"], "scan_note": note},
        actor="customer-service")
    auth.login("customer-service")
    response = client.get(f"/tasks/{open_task(new_uow, instance_id)['id']}")
    data = text_of(response).split("The case so far", 1)[1].split("Steps done", 1)[0]
    assert "Received documents Documents bank statements for May Pages 12" in data
    assert "Guarantors 1. Name Bo Moss Income 41,000" in data
    assert "Channels phone, email" in data
    assert "{" not in data and "[" not in data
    folded = re.search(r'<details class="long-value"><summary><span class="fold-preview">([^<]*)… ', response.get_data(as_text=True))
    assert folded is not None and len(folded.group(1)) < 300 and note.startswith(folded.group(1))
    assert "show all 6,400 characters" in data


def test_dates_in_the_case_data_read_as_the_page_writes_its_own_dates(client, auth, new_uow):
    instance_id = service.start_instance(
        new_uow(), "loan_decision", service.CustomerRef("c-9", "Ada Moss", "standard"),
        {"offer_valid_until": "2026-02-28", "reply_expected_by": "not a date", "reviewed_on": date(2026, 1, 2)},
        actor="customer-service")
    auth.login("customer-service")
    page = text_of(client.get(f"/tasks/{open_task(new_uow, instance_id)['id']}"))
    data = page.split("The case so far", 1)[1].split("Steps done", 1)[0]
    assert "Offer valid until 28 Feb 2026" in data and "Reviewed on 2 Jan 2026" in data
    assert "Reply expected by not a date" in data
    assert "Due Mon 5 Jan 2026, 10:00" in page


def test_a_text_over_the_length_cap_is_refused_at_its_field_and_nothing_is_saved(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    form = text_of(client.get(f"/tasks/{task}"))
    assert "Notes Anything the credit analyst should know. (up to 10,000 characters)" in form
    response = auth.post(f"/tasks/{task}/complete", data={**CAPTURE_FORM, "application_notes": "x" * 200_000})
    assert response.status_code == 400
    assert ("must be at most 10,000 characters (it has 200,000), the most any field takes when its form sets no "
            "limit.") in text_of(response)
    assert [s["step_id"] for s in queries.instance_view(new_uow(), instance_id)["open_steps"]] == [
        "capture_application"]


@pytest.mark.parametrize("typed", ["9999-12-31", "0001-01-01"])
def test_an_absurd_date_is_refused_at_its_field_with_the_range_and_nothing_is_saved(client, auth, new_uow, typed):
    instance_id = start_loan(new_uow)
    capture = open_task(new_uow, instance_id)["id"]
    service.claim_task(new_uow(), capture, "customer-service")
    service.complete_task(new_uow(), capture, "customer-service", {**MEDIUM_RISK, "documents_complete": False})
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    request = {"missing_documents": "payslip for March", "request_channel": "email", "reply_expected_by": typed}
    response = auth.post(f"/tasks/{task}/complete", data=request, follow_redirects=True)
    assert response.status_code == 400
    assert ("Reply expected by must be a date from 5 Jan 1926 to 5 Jan 2126, the widest range a date field takes "
            "when its form sets none: 100 years either side of today.") in text_of(response)
    picker = re.search(r'<input type="date"[^>]*name="reply_expected_by"[^>]*>', response.get_data(as_text=True))
    assert picker and 'min="1926-01-05"' in picker[0] and 'max="2126-01-05"' in picker[0]
    assert [s["step_id"] for s in queries.instance_view(new_uow(), instance_id)["open_steps"]] == [
        "request_documents"]
    response = auth.post(f"/tasks/{task}/complete", data={**request, "reply_expected_by": "2026-01-19"})
    assert response.status_code == 302
    assert queries.instance_view(new_uow(), instance_id)["data"]["reply_expected_by"] == "2026-01-19"


def test_a_refused_form_redirects_to_the_task_page_at_its_errors_and_a_reload_sends_nothing(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/claim")
    response = auth.post(f"/tasks/{task}/complete", data={**CAPTURE_FORM, "annual_income": "sixty thousand"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tasks/{task}#form-errors"
    shown = client.get(f"/tasks/{task}")
    assert shown.status_code == 400
    assert "Annual gross income must be a number, like 250000 or 3.5." in text_of(shown)
    assert 'value="sixty thousand"' in shown.get_data(as_text=True) and "First home." in text_of(shown)
    reloaded = client.get(f"/tasks/{task}")
    assert reloaded.status_code == 200 and "nothing was saved yet" not in text_of(reloaded)
    assert [s["step_id"] for s in queries.instance_view(new_uow(), instance_id)["open_steps"]] == [
        "capture_application"]


def test_of_two_people_claiming_at_once_one_gets_the_task_and_the_other_a_conflict_naming_them(app, new_uow, clock):
    review = at_review(new_uow, clock)
    people = {name: Auth(app.test_client()) for name in ("credit-analyst", "analyst-2")}
    for name, person in people.items():
        person.login(name)
    start = threading.Barrier(len(people))
    answers: dict[str, int] = {}

    def claim(name: str) -> None:
        start.wait()
        answers[name] = people[name].post(f"/tasks/{review}/claim").status_code

    threads = [threading.Thread(target=claim, args=(name,)) for name in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    holder = queries.list_tasks(new_uow(), instance_id=1)[0]["assignee"]
    loser = next(name for name in people if name != holder)
    assert answers == {holder: 302, loser: 303}  # the loser goes back to the task page, which answers 409
    page = people[loser].client.get(f"/tasks/{review}")
    assert page.status_code == 409
    assert f"You could not claim this task: task {review} is already claimed by {holder}." in text_of(page)
