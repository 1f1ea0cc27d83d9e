"""Every path of the three shipped processes, driven the way people and time drive them.

Only the public engine API is used (service, queries): deploy the package from
bpmn/, start a case for a customer, claim and complete the open task of a step,
deliver messages, move the clock and run the worker. Each test asserts what a
user would notice: which step opens next and for which role, what the scripts
and the decision table computed, targets by customer segment, breaches, and
how the case ends. Every snapshot these paths store is also checked against
SpiffWorkflow's own converter and a fresh conversion (``every_snapshot_is_checked``),
and every task query answered from a workflow's task table against SpiffWorkflow's
own tree walk (``every_task_query_is_checked``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterator

import pytest

from engine import jobs, service
from engine.cases import model, state
from engine.cases.model import MessageNotExpected
from engine.definitions.packages import read_package
from engine.work import queries
from tests.conftest import SHIPPED

HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)

STANDARD = service.CustomerRef("c-100", "Bob Stone", "standard")
PREMIUM = service.CustomerRef("c-200", "Ann Lee", "premium")

# One user per role of the three processes; the user name is the role's first letters.
STAFF = {
    "cs1": "customer-service", "ca1": "credit-analyst", "uw1": "underwriter",
    "sa1": "sales", "cc1": "credit-control", "wh1": "warehouse", "bi1": "billing", "ar1": "accounts-receivable",
    "sd1": "service-desk", "sp1": "specialist", "sm1": "service-manager",
}
BY_ROLE = {role: user for user, role in STAFF.items()}


@pytest.fixture(autouse=True)
def every_snapshot_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored snapshot reuses only JSON that converting again would give, written as SpiffWorkflow writes it,
    and restoring it gives a case whose snapshot is the same again (nothing is lost on the way)."""
    real = state.snapshot

    def checked(workflow, previous=None):  # type: ignore[no-untyped-def]
        taken = real(workflow, previous)
        assert taken.tasks == real(workflow).tasks, "a reused task body is out of date"
        predicted = json.loads(taken.header)["predicted"]
        for uuid, task in workflow.tasks.items():
            if str(uuid) in predicted:  # kept in the header, compared by restoring below
                assert str(uuid) not in taken.tasks
                continue
            assert json.loads(taken.tasks[str(uuid)]) == json.loads(state._dumps(state._REGISTRY.convert(task)))
        restored = state.restore(taken.header, taken.tasks.values(), workflow.spec, workflow.subprocess_specs)
        again = real(restored)
        assert (again.header, again.tasks) == (taken.header, taken.tasks), "restoring the snapshot lost something"
        assert {i: t.data for i, t in restored.tasks.items()} == {i: t.data for i, t in workflow.tasks.items()}
        return taken

    monkeypatch.setattr(model, "snapshot", checked)


@pytest.fixture(autouse=True)
def every_task_query_is_checked(table_answers: list[int]) -> Iterator[None]:
    yield
    assert table_answers[0] > 0, "no task query was answered from the task table"


@pytest.fixture
def staff(new_uow) -> None:
    for user, role in STAFF.items():
        service.add_user(new_uow(), user, [role])


def deploy(new_uow, key: str) -> None:
    service.deploy(new_uow(), read_package(SHIPPED / key))


def open_tasks(new_uow, instance_id: int) -> list[dict[str, Any]]:
    return queries.list_tasks(new_uow(), instance_id=instance_id)


def waiting_at(new_uow, instance_id: int) -> list[tuple[str, str]]:
    """The open steps of a case as (step id, role), sorted."""
    return sorted((t["step_id"], t["role"]) for t in open_tasks(new_uow, instance_id))


def task_of(new_uow, instance_id: int, step_id: str) -> dict[str, Any]:
    matching = [t for t in open_tasks(new_uow, instance_id) if t["step_id"] == step_id]
    assert len(matching) == 1, f"expected one open {step_id}, the case waits at {waiting_at(new_uow, instance_id)}"
    return matching[0]


def do(new_uow, instance_id: int, step_id: str, data: dict[str, Any], user: str | None = None) -> dict[str, Any]:
    """Claim and complete the open task of ``step_id`` as a holder of its role; returns the task as it was."""
    task = task_of(new_uow, instance_id, step_id)
    user = user or BY_ROLE[task["role"]]
    service.claim_task(new_uow(), task["id"], user)
    service.complete_task(new_uow(), task["id"], user, data)
    return task


def view(new_uow, instance_id: int) -> dict[str, Any]:
    return queries.instance_view(new_uow(), instance_id)


def data_of(new_uow, instance_id: int) -> dict[str, Any]:
    return view(new_uow, instance_id)["data"]


def event_types(new_uow, instance_id: int) -> list[str]:
    return [e["type"] for e in view(new_uow, instance_id)["events"]]


def completed_steps(new_uow, instance_id: int) -> list[str]:
    done = queries.list_tasks(new_uow(), instance_id=instance_id, status="completed")
    return sorted(t["step_id"] for t in done)


def assert_completed(new_uow, instance_id: int) -> None:
    case = view(new_uow, instance_id)
    assert (case["status"], case["open_steps"], case["error"]) == ("completed", [], None)
    assert case["ended_at"] is not None
    assert event_types(new_uow, instance_id)[-1] == "instance_completed"


def worker(new_uow, clock, after: timedelta) -> jobs.JobRound:
    clock.advance(after)
    result = jobs.run_until_idle(new_uow, "test-worker")
    assert result.errors == ()
    return result


# == loan_decision =================================================================================

LOW = {"loan_amount": 200000, "loan_purpose": "purchase", "annual_income": 80000, "existing_debts": 5000,
       "years_employed": 6, "property_value": 260000, "documents_complete": True}
MEDIUM = {**LOW, "loan_amount": 250000, "annual_income": 60000, "existing_debts": 15000, "years_employed": 3}
HIGH = {**LOW, "loan_amount": 250000, "annual_income": 30000, "existing_debts": 20000, "years_employed": 1}
UNAFFORDABLE = {**LOW, "loan_amount": 520000, "annual_income": 80000, "existing_debts": 0, "years_employed": 10}
LARGE_FOR_INCOME = {**LOW, "loan_amount": 360000, "annual_income": 80000, "existing_debts": 0, "years_employed": 10}

OFFER = {"interest_rate": 3.9, "term_years": 25, "offer_valid_until": "2026-02-05"}
REVIEW = {"income_verified": True, "affordability_confirmed": True, "recommendation": "approve",
          "review_notes": "Stable job, modest debts"}
APPROVE = {"decision": "approve", "decision_rationale": "Affordable with the current income"}
DECLINE = {"decision": "decline", "decision_rationale": "Repayments too high for the income"}
EXPLAIN = {"contact_channel": "phone", "explanation": "Repayments would exceed a third of income",
           "alternative_offered": True}
MISSING = {"missing_documents": "payslip for December", "request_channel": "email"}

ROLE_OF = {"capture_application": "customer-service", "request_documents": "customer-service",
           "credit_review": "credit-analyst", "underwriting_decision": "underwriter",
           "prepare_offer": "customer-service", "explain_decline": "customer-service"}


@pytest.fixture
def loans(new_uow, staff) -> None:
    deploy(new_uow, "loan_decision")


def apply_for_loan(new_uow, application: dict[str, Any], customer: service.CustomerRef = STANDARD) -> int:
    instance_id = service.start_instance(new_uow(), "loan_decision", customer, {})
    assert waiting_at(new_uow, instance_id) == [("capture_application", "customer-service")]
    do(new_uow, instance_id, "capture_application", application)
    return instance_id


def walk(new_uow, instance_id: int, route: list[tuple[str, dict[str, Any]]]) -> None:
    """Complete each step of ``route`` in turn, checking that it is the only one open and held by its role."""
    for step_id, form in route:
        assert waiting_at(new_uow, instance_id) == [(step_id, ROLE_OF[step_id])]
        do(new_uow, instance_id, step_id, form)


@pytest.mark.parametrize("application, score, loan_to_income, risk, route, approved", [
    pytest.param(LOW, 721, 2.5, "LOW", [("prepare_offer", OFFER)], True,
                 id="low risk is approved at once and only the offer is left to prepare"),
    pytest.param(MEDIUM, 562, 4.17, "MEDIUM",
                 [("credit_review", REVIEW), ("underwriting_decision", APPROVE), ("prepare_offer", OFFER)], True,
                 id="medium risk goes through review and an underwriter who approves"),
    pytest.param(MEDIUM, 562, 4.17, "MEDIUM",
                 [("credit_review", REVIEW), ("underwriting_decision", DECLINE), ("explain_decline", EXPLAIN)], False,
                 id="medium risk goes through review and an underwriter who declines"),
    pytest.param(HIGH, 300, 8.33, "HIGH", [("explain_decline", EXPLAIN)], False,
                 id="high risk is declined at once and explained to the customer"),
    pytest.param(UNAFFORDABLE, 660, 6.5, "HIGH", [("explain_decline", EXPLAIN)], False,
                 id="a good score does not save a loan over six times income"),
    pytest.param(LARGE_FOR_INCOME, 730, 4.5, "MEDIUM",
                 [("credit_review", REVIEW), ("underwriting_decision", APPROVE), ("prepare_offer", OFFER)], True,
                 id="a good score with a loan of four and a half times income still needs a review"),
])
def test_a_loan_with_complete_documents_is_scored_rated_and_routed_to_its_end(
        new_uow, loans, application, score, loan_to_income, risk, route, approved):
    instance_id = apply_for_loan(new_uow, application)
    data = data_of(new_uow, instance_id)
    assert (data["score"], data["loan_to_income"], data["risk"]) == (score, loan_to_income, risk)
    assert data["risk_reason"]
    walk(new_uow, instance_id, route)
    assert_completed(new_uow, instance_id)
    data = data_of(new_uow, instance_id)
    assert data.get("customer_notified", False) is approved
    if approved:
        assert data["approval_notice"].startswith(f"Good news: your purchase loan of {application['loan_amount']:,.2f}")
    else:
        assert "approval_notice" not in data
    assert "document_reminders" not in data  # nobody was asked for documents
    assert completed_steps(new_uow, instance_id) == sorted(["capture_application", *(s for s, _ in route)])


def test_the_underwriters_decision_and_reasons_stay_with_the_case(new_uow, loans):
    instance_id = apply_for_loan(new_uow, MEDIUM)
    walk(new_uow, instance_id, [("credit_review", REVIEW), ("underwriting_decision", DECLINE)])
    data = data_of(new_uow, instance_id)
    assert (data["recommendation"], data["decision"]) == ("approve", "decline")
    assert data["decision_rationale"] == "Repayments too high for the income"


@pytest.mark.parametrize("customer, targets", [
    pytest.param(STANDARD, {"capture_application": 1, "credit_review": 4, "underwriting_decision": 8,
                            "prepare_offer": 2}, id="standard customers get the default targets"),
    pytest.param(PREMIUM, {"capture_application": 0.5, "credit_review": 2, "underwriting_decision": 4,
                           "prepare_offer": 1}, id="premium customers get the shorter premium targets"),
])
def test_every_loan_step_is_due_within_the_target_of_the_customers_segment(new_uow, clock, loans, customer, targets):
    instance_id = service.start_instance(new_uow(), "loan_decision", customer, {})
    seen = {}
    for step_id, form in [("capture_application", MEDIUM), ("credit_review", REVIEW),
                          ("underwriting_decision", APPROVE), ("prepare_offer", OFFER)]:
        opened = clock.now()
        clock.advance(10 * MINUTE)
        task = do(new_uow, instance_id, step_id, form)
        seen[step_id] = task["target_seconds"] / 3600
        assert task["due_at"] == (opened + timedelta(seconds=task["target_seconds"])).isoformat()
    assert seen == targets
    assert_completed(new_uow, instance_id)


@pytest.mark.parametrize("customer", [STANDARD, PREMIUM], ids=["for a standard customer", "for a premium customer"])
def test_explaining_a_decline_has_the_same_four_hour_target_for_every_segment(new_uow, loans, customer):
    instance_id = apply_for_loan(new_uow, HIGH, customer)
    assert task_of(new_uow, instance_id, "explain_decline")["target_seconds"] == 4 * 3600


def test_a_loan_with_missing_documents_waits_is_reminded_every_two_days_and_resumes_on_their_arrival(
        new_uow, clock, loans):
    instance_id = apply_for_loan(new_uow, {**LOW, "documents_complete": False})
    assert waiting_at(new_uow, instance_id) == [("request_documents", "customer-service")]
    assert task_of(new_uow, instance_id, "request_documents")["target_seconds"] == 2 * 3600
    assert "score" not in data_of(new_uow, instance_id)
    do(new_uow, instance_id, "request_documents", MISSING)
    requested = clock.now()
    case = view(new_uow, instance_id)
    assert (case["status"], case["open_steps"]) == ("running", [])
    assert case["data"]["document_reminders"] == 0
    assert "payslip for December" in case["data"]["document_request"]
    assert case["next_timer_at"] == (requested + 2 * DAY).isoformat()

    assert worker(new_uow, clock, DAY).timers_fired == 0
    assert data_of(new_uow, instance_id)["document_reminders"] == 0

    assert worker(new_uow, clock, DAY + MINUTE).timers_fired == 1
    case = view(new_uow, instance_id)
    assert (case["status"], case["open_steps"], case["data"]["document_reminders"]) == ("running", [], 1)

    assert worker(new_uow, clock, 2 * DAY + MINUTE).timers_fired == 1
    assert data_of(new_uow, instance_id)["document_reminders"] == 2
    assert event_types(new_uow, instance_id).count("timer_fired") == 2

    documents = {"documents": ["payslip 2025-12", "bank statement 2025-12"]}
    service.deliver_message(new_uow(), instance_id, "documents_received", documents)
    data = data_of(new_uow, instance_id)
    assert data["received_documents"] == documents
    assert (data["score"], data["risk"], data["document_reminders"]) == (721, "LOW", 2)
    assert waiting_at(new_uow, instance_id) == [("prepare_offer", "customer-service")]
    assert view(new_uow, instance_id)["next_timer_at"] is None  # the reminder timer is gone

    assert worker(new_uow, clock, 3 * DAY).timers_fired == 0
    assert data_of(new_uow, instance_id)["document_reminders"] == 2
    do(new_uow, instance_id, "prepare_offer", OFFER)
    assert_completed(new_uow, instance_id)


def test_documents_arriving_before_any_reminder_go_straight_to_scoring_and_a_decline(new_uow, clock, loans):
    instance_id = apply_for_loan(new_uow, {**HIGH, "documents_complete": False})
    do(new_uow, instance_id, "request_documents", MISSING)
    clock.advance(5 * HOUR)
    service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": ["payslip 2025-12"]})
    data = data_of(new_uow, instance_id)
    assert (data["document_reminders"], data["score"], data["risk"]) == (0, 300, "HIGH")
    assert waiting_at(new_uow, instance_id) == [("explain_decline", "customer-service")]
    assert worker(new_uow, clock, 3 * DAY).timers_fired == 0
    do(new_uow, instance_id, "explain_decline", EXPLAIN)
    assert_completed(new_uow, instance_id)
    assert "customer_notified" not in data_of(new_uow, instance_id)


def test_a_task_left_past_its_due_time_is_recorded_as_breached_once(new_uow, clock, loans):
    instance_id = service.start_instance(new_uow(), "loan_decision", PREMIUM, {})
    task = task_of(new_uow, instance_id, "capture_application")
    assert task["target_seconds"] == 30 * 60
    assert worker(new_uow, clock, 29 * MINUTE).breaches == 0
    assert worker(new_uow, clock, 2 * MINUTE).breaches == 1
    [breach] = [e for e in view(new_uow, instance_id)["events"] if e["type"] == "task_breached"]
    assert (breach["step_id"], breach["task_id"], breach["actor"]) == ("capture_application", task["id"], None)
    assert breach["at"] == clock.now().isoformat()
    assert worker(new_uow, clock, HOUR).breaches == 0  # not again
    do(new_uow, instance_id, "capture_application", LOW)  # a late task can still be done
    assert waiting_at(new_uow, instance_id) == [("prepare_offer", "customer-service")]


def test_a_task_done_in_time_is_never_breached(new_uow, clock, loans):
    instance_id = service.start_instance(new_uow(), "loan_decision", STANDARD, {})
    clock.advance(59 * MINUTE)
    do(new_uow, instance_id, "capture_application", LOW)
    assert worker(new_uow, clock, 2 * MINUTE).breaches == 0
    assert "task_breached" not in event_types(new_uow, instance_id)


def test_documents_for_a_case_that_is_not_waiting_for_them_are_refused_and_change_nothing(new_uow, loans):
    instance_id = service.start_instance(new_uow(), "loan_decision", STANDARD, {})
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected, match="documents_received"):
        service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": ["id card"]})
    assert view(new_uow, instance_id) == before


def test_a_message_the_waiting_case_does_not_know_is_refused_and_changes_nothing(new_uow, loans):
    instance_id = apply_for_loan(new_uow, {**LOW, "documents_complete": False})
    do(new_uow, instance_id, "request_documents", MISSING)
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected, match="payment_received"):
        service.deliver_message(new_uow(), instance_id, "payment_received", {"amount": 10})
    assert view(new_uow, instance_id) == before
    service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": []})
    assert waiting_at(new_uow, instance_id) == [("prepare_offer", "customer-service")]


def test_documents_delivered_twice_are_refused_the_second_time(new_uow, loans):
    instance_id = apply_for_loan(new_uow, {**LOW, "documents_complete": False})
    do(new_uow, instance_id, "request_documents", MISSING)
    service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": ["a"]})
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected):
        service.deliver_message(new_uow(), instance_id, "documents_received", {"documents": ["b"]})
    assert view(new_uow, instance_id) == before


def test_a_message_for_a_finished_case_is_refused(new_uow, loans):
    instance_id = apply_for_loan(new_uow, HIGH)
    do(new_uow, instance_id, "explain_decline", EXPLAIN)
    with pytest.raises(service.TaskClosed, match="completed"):
        service.deliver_message(new_uow(), instance_id, "documents_received", {})


# == order_to_cash ================================================================================

ORDER = {"product_code": "VF-100", "quantity": 40, "order_amount": 4800.0,
         "requested_delivery_date": "2025-03-10", "delivery_address": "1 Harbour Road, Leith"}
LARGE_ORDER = {**ORDER, "quantity": 100, "order_amount": 12000.0}
PACK = {"packages": 2}
SHIP = {"carrier": "dhl", "shipped_on": "2026-01-06"}
INVOICE = {"invoice_number": "INV-0042", "invoice_date": "2026-01-06", "vat_percent": 20}


@pytest.fixture
def orders(new_uow, staff) -> None:
    deploy(new_uow, "order_to_cash")


def place_order(new_uow, order: dict[str, Any], customer: service.CustomerRef = STANDARD) -> int:
    instance_id = service.start_instance(new_uow(), "order_to_cash", customer, {})
    assert waiting_at(new_uow, instance_id) == [("enter_order", "sales")]
    do(new_uow, instance_id, "enter_order", order)
    return instance_id


def fulfil_and_invoice(new_uow, instance_id: int, invoice: dict[str, Any] = INVOICE) -> None:
    for step_id, role, form in [("pick_and_pack", "warehouse", PACK), ("ship_order", "warehouse", SHIP),
                                ("create_invoice", "billing", invoice)]:
        assert waiting_at(new_uow, instance_id) == [(step_id, role)]
        do(new_uow, instance_id, step_id, form)


@pytest.mark.parametrize("order, credit_checked, reminders", [
    pytest.param(ORDER, False, 0, id="a small order skips the credit check and is paid on the invoice"),
    pytest.param(LARGE_ORDER, True, 0, id="a large order passes the credit check and is paid on the invoice"),
    pytest.param(LARGE_ORDER, True, 1, id="a large order is paid after one reminder"),
    pytest.param(ORDER, False, 2, id="a small order is paid after two reminders"),
])
def test_an_order_is_fulfilled_invoiced_and_closed_by_payment(new_uow, clock, orders, order, credit_checked,
                                                              reminders):
    instance_id = place_order(new_uow, order)
    if credit_checked:
        assert waiting_at(new_uow, instance_id) == [("check_credit", "credit-control")]
        do(new_uow, instance_id, "check_credit", {"credit_approved": True, "credit_limit": 50000})
    fulfil_and_invoice(new_uow, instance_id)
    case = view(new_uow, instance_id)
    assert (case["status"], case["open_steps"]) == ("running", [])
    assert (case["data"]["amount_due"], case["data"]["reminders_sent"]) == (order["order_amount"] * 1.2, 0)
    for sent in range(1, reminders + 1):
        assert worker(new_uow, clock, 14 * DAY + MINUTE).timers_fired == 1
        assert data_of(new_uow, instance_id)["reminders_sent"] == sent
    assert worker(new_uow, clock, 13 * DAY).timers_fired == 0
    payment = {"amount": order["order_amount"] * 1.2, "reference": "INV-0042"}
    service.deliver_message(new_uow(), instance_id, "payment_received", payment)
    assert_completed(new_uow, instance_id)
    data = data_of(new_uow, instance_id)
    assert (data["payment"], data["reminders_sent"]) == (payment, reminders)
    assert "rejection_notice" not in data
    expected = ["create_invoice", "enter_order", "pick_and_pack", "ship_order"]
    assert completed_steps(new_uow, instance_id) == sorted(expected + (["check_credit"] if credit_checked else []))


def test_a_small_order_of_4800_is_invoiced_at_5760_with_twenty_percent_vat(new_uow, orders):
    instance_id = place_order(new_uow, ORDER)
    fulfil_and_invoice(new_uow, instance_id)
    assert data_of(new_uow, instance_id)["amount_due"] == 5760.0


@pytest.mark.parametrize("amount, checked", [(9999.99, False), (10000.0, True)],
                         ids=["just under 10000 is not credit checked", "10000 exactly is credit checked"])
def test_the_credit_check_starts_at_an_order_value_of_10000(new_uow, orders, amount, checked):
    instance_id = place_order(new_uow, {**ORDER, "order_amount": amount})
    expected = ("check_credit", "credit-control") if checked else ("pick_and_pack", "warehouse")
    assert waiting_at(new_uow, instance_id) == [expected]


def test_a_large_order_whose_credit_is_rejected_ends_without_shipping(new_uow, orders):
    instance_id = place_order(new_uow, LARGE_ORDER)
    do(new_uow, instance_id, "check_credit", {"credit_approved": False, "credit_notes": "Two invoices overdue"})
    assert_completed(new_uow, instance_id)
    data = data_of(new_uow, instance_id)
    assert data["rejection_notice"].startswith("We cannot ship your order of 12,000.00 on credit")
    assert "amount_due" not in data
    assert completed_steps(new_uow, instance_id) == ["check_credit", "enter_order"]


def test_an_unpaid_invoice_gets_exactly_three_reminders_then_goes_to_collections(new_uow, clock, orders):
    instance_id = place_order(new_uow, ORDER)
    fulfil_and_invoice(new_uow, instance_id)
    tones = []
    for sent in (1, 2, 3):
        assert worker(new_uow, clock, 14 * DAY - MINUTE).timers_fired == 0
        assert data_of(new_uow, instance_id)["reminders_sent"] == sent - 1
        assert worker(new_uow, clock, 2 * MINUTE).timers_fired == 1
        data = data_of(new_uow, instance_id)
        assert data["reminders_sent"] == sent
        assert "INV-0042 for 5,760.00 is overdue" in data["reminder_notice"]
        tones.append(data["reminder_notice"].split(":")[0])
        if sent < 3:
            assert waiting_at(new_uow, instance_id) == []
    assert tones == ["Friendly reminder", "Second reminder", "Final reminder"]
    assert waiting_at(new_uow, instance_id) == [("pursue_collection", "accounts-receivable")]
    collection = task_of(new_uow, instance_id, "pursue_collection")
    assert collection["target_seconds"] == 5 * 24 * 3600

    # No fourth reminder, and the case no longer waits for a payment message.
    assert worker(new_uow, clock, 15 * DAY).timers_fired == 0
    assert data_of(new_uow, instance_id)["reminders_sent"] == 3
    assert view(new_uow, instance_id)["next_timer_at"] is None
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected):
        service.deliver_message(new_uow(), instance_id, "payment_received", {"amount": 5760.0})
    assert view(new_uow, instance_id) == before

    do(new_uow, instance_id, "pursue_collection", {"collection_outcome": "payment_plan"})
    assert_completed(new_uow, instance_id)
    data = data_of(new_uow, instance_id)
    assert (data["collection_outcome"], data["reminders_sent"]) == ("payment_plan", 3)
    assert event_types(new_uow, instance_id).count("timer_fired") == 3


def test_a_collection_left_open_past_five_days_is_breached(new_uow, clock, orders):
    instance_id = place_order(new_uow, ORDER)
    fulfil_and_invoice(new_uow, instance_id)
    for _ in range(3):
        worker(new_uow, clock, 14 * DAY + MINUTE)
    assert waiting_at(new_uow, instance_id) == [("pursue_collection", "accounts-receivable")]
    assert worker(new_uow, clock, 5 * DAY - MINUTE).breaches == 0
    assert worker(new_uow, clock, 2 * MINUTE).breaches == 1
    breached = [e["step_id"] for e in view(new_uow, instance_id)["events"] if e["type"] == "task_breached"]
    assert breached == ["pursue_collection"]


def test_a_payment_before_the_invoice_is_refused_and_changes_nothing(new_uow, orders):
    instance_id = place_order(new_uow, ORDER)
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected, match="payment_received"):
        service.deliver_message(new_uow(), instance_id, "payment_received", {"amount": 5760.0})
    assert view(new_uow, instance_id) == before


@pytest.mark.parametrize("customer, targets", [
    pytest.param(STANDARD, {"enter_order": 2, "check_credit": 4, "pick_and_pack": 8, "ship_order": 4,
                            "create_invoice": 4}, id="standard customers get the default targets"),
    pytest.param(PREMIUM, {"enter_order": 1, "check_credit": 1, "pick_and_pack": 4, "ship_order": 2,
                           "create_invoice": 4}, id="premium customers get the premium targets"),
])
def test_every_order_step_is_due_within_the_target_of_the_customers_segment(new_uow, orders, customer, targets):
    instance_id = service.start_instance(new_uow(), "order_to_cash", customer, {})
    seen = {}
    for step_id, form in [("enter_order", LARGE_ORDER), ("check_credit", {"credit_approved": True}),
                          ("pick_and_pack", PACK), ("ship_order", SHIP), ("create_invoice", INVOICE)]:
        seen[step_id] = do(new_uow, instance_id, step_id, form)["target_seconds"] / 3600
    assert seen == targets


# == service_request ==============================================================================

TRIAGE = {"category": "delivery", "severity": "high", "description": "The parcel arrived crushed"}
RESOLVE = {"resolution_type": "replacement", "resolution": "Sent a new unit by express"}
CONFIRMED = {"resolved": True, "customer_feedback": "Thanks, quick"}
ESCALATE = {"escalation_action": "call_customer", "manager_notes": "Called the customer, apologised"}


@pytest.fixture
def service_requests(new_uow, staff) -> None:
    deploy(new_uow, "service_request")


def raise_request(new_uow, triage: dict[str, Any] = TRIAGE, customer: service.CustomerRef = STANDARD) -> int:
    instance_id = service.start_instance(new_uow(), "service_request", customer, {})
    assert waiting_at(new_uow, instance_id) == [("triage_request", "service-desk")]
    do(new_uow, instance_id, "triage_request", triage)
    return instance_id


@pytest.mark.parametrize("category, severity, team, priority, closure", [
    pytest.param("delivery", "high", "Logistics", "P2", "DLV-REPLACEMENT",
                 id="a high-severity delivery complaint goes to Logistics at P2"),
    pytest.param("product_fault", "high", "Technical support", "P1", "PRD-REPLACEMENT",
                 id="a high-severity product fault goes one level up to P1"),
    pytest.param("product_fault", "critical", "Technical support", "P1", "PRD-REPLACEMENT",
                 id="a critical product fault stays at P1"),
    pytest.param("billing", "low", "Billing specialists", "P4", "BIL-REPLACEMENT",
                 id="a low-severity billing complaint goes to billing specialists at P4"),
    pytest.param("other", "medium", "Customer care", "P3", "OTH-REPLACEMENT",
                 id="any other medium-severity complaint goes to customer care at P3"),
])
def test_a_request_resolved_in_time_is_routed_by_triage_and_closed_with_its_code(
        new_uow, clock, service_requests, category, severity, team, priority, closure):
    instance_id = raise_request(new_uow, {**TRIAGE, "category": category, "severity": severity})
    data = data_of(new_uow, instance_id)
    assert (data["specialist_team"], data["priority"]) == (team, priority)
    assert waiting_at(new_uow, instance_id) == [("resolve_request", "specialist")]
    run = worker(new_uow, clock, 7 * HOUR)
    assert (run.timers_fired, run.breaches) == (0, 0)
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    assert waiting_at(new_uow, instance_id) == [("confirm_resolution", "service-desk")]
    assert view(new_uow, instance_id)["next_timer_at"] is None  # the escalation timer went with the task
    do(new_uow, instance_id, "confirm_resolution", CONFIRMED)
    assert_completed(new_uow, instance_id)
    assert data_of(new_uow, instance_id)["closure_code"] == closure
    assert worker(new_uow, clock, 2 * HOUR).timers_fired == 0
    assert "escalation_review" not in completed_steps(new_uow, instance_id)


def test_a_request_the_customer_says_is_not_resolved_goes_back_to_the_specialist(new_uow, clock, service_requests):
    instance_id = raise_request(new_uow)
    do(new_uow, instance_id, "resolve_request", {"resolution_type": "repair", "resolution": "Re-taped the box"})
    do(new_uow, instance_id, "confirm_resolution", {"resolved": False, "customer_feedback": "Still broken"})
    assert waiting_at(new_uow, instance_id) == [("resolve_request", "specialist")]
    again = task_of(new_uow, instance_id, "resolve_request")
    assert again["created_at"] == clock.now().isoformat()
    assert data_of(new_uow, instance_id)["resolved"] is False
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    do(new_uow, instance_id, "confirm_resolution", CONFIRMED)
    assert_completed(new_uow, instance_id)
    assert data_of(new_uow, instance_id)["closure_code"] == "DLV-REPLACEMENT"
    assert completed_steps(new_uow, instance_id) == sorted(
        ["triage_request", "resolve_request", "confirm_resolution", "resolve_request", "confirm_resolution"])


def test_a_request_not_resolved_in_eight_hours_is_escalated_while_the_specialist_keeps_it(
        new_uow, clock, service_requests):
    instance_id = raise_request(new_uow)
    resolve = task_of(new_uow, instance_id, "resolve_request")
    assert resolve["target_seconds"] == 8 * 3600
    run = worker(new_uow, clock, 8 * HOUR + MINUTE)
    assert (run.timers_fired, run.breaches) == (1, 1)
    assert waiting_at(new_uow, instance_id) == [("escalation_review", "service-manager"),
                                                ("resolve_request", "specialist")]
    assert task_of(new_uow, instance_id, "resolve_request")["id"] == resolve["id"]  # the same task, still open
    assert task_of(new_uow, instance_id, "escalation_review")["target_seconds"] == 2 * 3600
    events = view(new_uow, instance_id)["events"]
    assert [e["step_id"] for e in events if e["type"] == "task_breached"] == ["resolve_request"]
    assert "timer_fired" in [e["type"] for e in events]

    do(new_uow, instance_id, "escalation_review", ESCALATE)
    assert waiting_at(new_uow, instance_id) == [("resolve_request", "specialist")]
    assert view(new_uow, instance_id)["status"] == "running"
    assert worker(new_uow, clock, 8 * HOUR).timers_fired == 0  # one escalation per resolution attempt
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    do(new_uow, instance_id, "confirm_resolution", CONFIRMED)
    assert_completed(new_uow, instance_id)
    data = data_of(new_uow, instance_id)
    assert (data["closure_code"], data["escalation_action"]) == ("DLV-REPLACEMENT", "call_customer")


def test_a_request_closed_with_the_customer_still_waits_for_its_open_escalation_review(
        new_uow, clock, service_requests):
    instance_id = raise_request(new_uow)
    worker(new_uow, clock, 8 * HOUR + MINUTE)
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    assert waiting_at(new_uow, instance_id) == [("confirm_resolution", "service-desk"),
                                                ("escalation_review", "service-manager")]
    do(new_uow, instance_id, "confirm_resolution", CONFIRMED)
    case = view(new_uow, instance_id)
    assert case["status"] == "running"
    assert [(t["step_id"], t["role"]) for t in case["open_steps"]] == [("escalation_review", "service-manager")]
    assert case["data"]["closure_code"] == "DLV-REPLACEMENT"
    do(new_uow, instance_id, "escalation_review", {"escalation_action": "no_action"})
    assert_completed(new_uow, instance_id)


def test_a_premium_request_is_breached_at_four_hours_but_escalated_only_at_eight(new_uow, clock, service_requests):
    instance_id = raise_request(new_uow, customer=PREMIUM)
    assert task_of(new_uow, instance_id, "resolve_request")["target_seconds"] == 4 * 3600
    run = worker(new_uow, clock, 4 * HOUR + MINUTE)
    assert (run.timers_fired, run.breaches) == (0, 1)
    assert waiting_at(new_uow, instance_id) == [("resolve_request", "specialist")]
    run = worker(new_uow, clock, 4 * HOUR)
    assert (run.timers_fired, run.breaches) == (1, 0)
    assert waiting_at(new_uow, instance_id) == [("escalation_review", "service-manager"),
                                                ("resolve_request", "specialist")]


def test_each_new_resolution_attempt_gets_its_own_eight_hour_escalation(new_uow, clock, service_requests):
    instance_id = raise_request(new_uow)
    worker(new_uow, clock, 8 * HOUR + MINUTE)
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    do(new_uow, instance_id, "confirm_resolution", {"resolved": False})
    assert waiting_at(new_uow, instance_id) == [("escalation_review", "service-manager"),
                                                ("resolve_request", "specialist")]
    assert worker(new_uow, clock, 8 * HOUR - MINUTE).timers_fired == 0
    assert worker(new_uow, clock, 2 * MINUTE).timers_fired == 1
    assert waiting_at(new_uow, instance_id) == [("escalation_review", "service-manager"),
                                                ("escalation_review", "service-manager"),
                                                ("resolve_request", "specialist")]
    for task in open_tasks(new_uow, instance_id):
        if task["step_id"] == "escalation_review":
            service.claim_task(new_uow(), task["id"], "sm1")
            service.complete_task(new_uow(), task["id"], "sm1", {"escalation_action": "reassign"})
    do(new_uow, instance_id, "resolve_request", RESOLVE)
    do(new_uow, instance_id, "confirm_resolution", CONFIRMED)
    assert_completed(new_uow, instance_id)


def test_a_message_to_a_service_request_which_takes_none_is_refused_and_changes_nothing(new_uow, service_requests):
    instance_id = raise_request(new_uow)
    before = view(new_uow, instance_id)
    with pytest.raises(MessageNotExpected):
        service.deliver_message(new_uow(), instance_id, "documents_received", {})
    assert view(new_uow, instance_id) == before
