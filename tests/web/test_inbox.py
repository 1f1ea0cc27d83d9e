"""The inbox: my tasks and my roles' queues, most urgent first, with filters in the URL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from engine import service
from engine.definitions.packages import Package, read_package
from tests.conftest import SHIPPED
from tests.web.conftest import open_task, start_loan, text_of


def rows(response) -> list[str]:
    """The customer names of the task rows, top to bottom."""
    html = response.get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [chunk.split('<span class="strong">', 1)[1].split("</span>", 1)[0]
            for chunk in body.split("<tr")[1:]]


def three_cases(new_uow, clock):
    """Standard at T0 (due +1h), premium at +10 min (due +40 min), standard at +20 min (due +1h20)."""
    start_loan(new_uow, "c-a", "Anna Standard", "standard")
    clock.advance(timedelta(minutes=10))
    start_loan(new_uow, "c-b", "Bruno Premium", "premium")
    clock.advance(timedelta(minutes=10))
    start_loan(new_uow, "c-c", "Clara Later", "standard")


def test_the_queue_lists_the_smallest_time_left_first(client, auth, new_uow, clock):
    three_cases(new_uow, clock)
    auth.login("customer-service")
    response = client.get("/inbox?view=queues")
    assert rows(response) == ["Bruno Premium", "Anna Standard", "Clara Later"]


def test_each_row_shows_customer_segment_process_step_role_waiting_and_time_left_in_words(client, auth, new_uow,
                                                                                          clock):
    three_cases(new_uow, clock)
    clock.advance(timedelta(minutes=15))  # T0+35 min
    auth.login("customer-service")
    page = text_of(client.get("/inbox?view=queues"))
    assert "Bruno Premium premium Capture application Loan decision · case 2 Customer service 25 min" in page
    assert "At risk · 5 min left" in page          # 5 of 30 minutes left: under a quarter
    assert "On track · 25 min left" in page        # Anna: 25 of 60 minutes left
    clock.advance(timedelta(minutes=30))  # T0+65 min
    page = text_of(client.get("/inbox?view=queues"))
    assert "Breached · 25 min over" in page        # Bruno
    assert "Breached · 5 min over" in page         # Anna


def test_the_inbox_opens_on_the_queues_when_nothing_is_assigned_and_counts_each_queue(client, auth, new_uow, clock):
    three_cases(new_uow, clock)
    auth.login("customer-service")
    page = text_of(client.get("/inbox"))
    assert "My tasks 0 Queues 3" in page
    assert "Customer service 3" in page
    assert rows(client.get("/inbox")) == ["Bruno Premium", "Anna Standard", "Clara Later"]


def test_filters_live_in_the_url_and_narrow_the_list_and_the_counts(client, auth, new_uow, clock):
    three_cases(new_uow, clock)
    auth.login("customer-service")
    response = client.get("/inbox?view=queues&segment=standard")
    assert rows(response) == ["Anna Standard", "Clara Later"]
    assert "Queues 2" in text_of(response)
    assert rows(client.get("/inbox?view=queues&process=order_to_cash")) == []
    assert rows(client.get("/inbox?view=queues&process=loan_decision&step=capture_application")) == [
        "Bruno Premium", "Anna Standard", "Clara Later"]
    assert rows(client.get("/inbox?view=queues&step=credit_review")) == []
    html = client.get("/inbox?view=queues&segment=standard").get_data(as_text=True)
    assert '<option value="standard" selected>' in html


def test_my_tasks_hold_what_i_claimed_and_the_queue_no_longer_does(client, auth, new_uow, clock):
    three_cases(new_uow, clock)
    task = open_task(new_uow, 3)
    auth.login("customer-service")
    assert auth.post(f"/tasks/{task['id']}/claim").status_code == 302
    assert rows(client.get("/inbox?view=mine")) == ["Clara Later"]
    assert rows(client.get("/inbox?view=queues")) == ["Bruno Premium", "Anna Standard"]
    assert rows(client.get("/inbox")) == ["Clara Later"]  # mine first once I have work


def test_a_role_queue_can_be_picked_and_a_manager_sees_all_open_tasks_with_their_holder(client, auth, new_uow,
                                                                                          clock):
    three_cases(new_uow, clock)
    service.claim_task(new_uow(), open_task(new_uow, 1)["id"], "customer-service")
    auth.login("manager")
    page = text_of(client.get("/inbox?view=all"))
    assert "All open tasks 3" in page
    assert "customer-service" in page and "Unclaimed" in page
    auth.logout()
    auth.login("customer-service")
    assert rows(client.get("/inbox?view=queues&role=customer-service")) == ["Bruno Premium", "Clara Later"]
    assert "All open tasks" not in text_of(client.get("/inbox?view=all"))


def test_a_manager_with_no_queue_of_their_own_is_shown_the_way_to_all_open_tasks(client, auth, new_uow, clock):
    three_cases(new_uow, clock)
    auth.login("manager")
    response = client.get("/inbox?view=queues")
    assert response.status_code == 200
    assert rows(response) == []
    page = text_of(response)
    assert "None of your roles has a queue" in page and "See all open tasks" in page
    assert rows(client.get("/inbox?view=all")) == ["Bruno Premium", "Anna Standard", "Clara Later"]


def test_the_inbox_pages_through_many_tasks(client, auth, new_uow, clock, app):
    app.config["PER_PAGE"] = 2
    three_cases(new_uow, clock)
    auth.login("customer-service")
    first = client.get("/inbox?view=queues")
    assert rows(first) == ["Bruno Premium", "Anna Standard"]
    assert "Page 1 of 2 · 3 tasks" in text_of(first)
    assert rows(client.get("/inbox?view=queues&page=2")) == ["Clara Later"]
    past_the_end = text_of(client.get("/inbox?view=queues&page=7"))
    assert "There is no page 7: 3 tasks fill 2 pages." in past_the_end and "No open tasks here" not in past_the_end
    refused = client.get("/inbox?view=queues&page=nonsense")
    assert refused.status_code == 400 and "The page number must be a whole number" in text_of(refused)


def test_an_empty_inbox_says_so(client, auth):
    auth.login("underwriter")
    page = text_of(client.get("/inbox"))
    assert "Nothing is assigned to you." in page


def step_options(response) -> list[str]:
    """The choices of the Step filter, as shown."""
    select = response.get_data(as_text=True).split('<select id="f-step"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select)


def process_options(response) -> list[str]:
    """The choices of the Process filter, as shown."""
    select = response.get_data(as_text=True).split('<select id="f-process"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select)


def test_the_process_filter_offers_the_processes_with_steps_of_the_users_roles(client, auth):
    auth.login("credit-analyst")
    assert process_options(client.get("/inbox")) == ["Loan decision"]
    auth.logout()
    auth.login("manager")
    assert process_options(client.get("/inbox")) == ["Loan decision", "Order to cash", "Service request"]


def test_the_step_filter_offers_the_steps_of_the_users_roles_and_managers_every_step(client, auth):
    auth.login("credit-analyst")
    assert step_options(client.get("/inbox")) == ["Review credit"]
    auth.logout()
    auth.login("customer-service")
    assert step_options(client.get("/inbox")) == ["Capture application", "Explain decline to customer",
                                                   "Prepare loan offer", "Request missing documents"]
    auth.logout()
    auth.login("manager")
    everything = step_options(client.get("/inbox"))
    assert len(everything) == 16 and {"Review credit", "Pick and pack", "Triage request"} <= set(everything)
    assert step_options(client.get("/inbox?process=service_request")) == [
        "Confirm with customer", "Resolve request", "Review escalation", "Triage request"]


def test_the_step_filter_decodes_each_deployed_version_once_and_offers_a_new_version_at_once(client, auth, new_uow):
    statements: list[str] = []
    event.listen(new_uow.engine, "before_cursor_execute", lambda _c, _k, statement, *_: statements.append(statement))
    auth.login("credit-analyst")
    client.get("/inbox")
    statements.clear()
    assert step_options(client.get("/inbox")) == ["Review credit"]
    assert not [s for s in statements if "annotations" in s], "the inbox decoded stored annotations again"
    shipped = read_package(SHIPPED / "loan_decision")
    renamed = {path: text.replace('name="Review credit"', 'name="Review credit and income"')
               for path, text in shipped.files.items()}
    service.deploy(new_uow(), Package(shipped.name, shipped.bpmn_file, renamed), actor="tests")
    assert step_options(client.get("/inbox")) == ["Review credit and income"]
