"""Helpers for the order_to_cash process (bpmn/order_to_cash/).

The gateway after order entry calls ``needs_credit_check(order_amount)``; the
billing and dunning scripts call ``invoice_total`` and ``payment_reminder_text``.

``DEMO`` describes the traffic ``valueflow demo`` sends through the process.
"""

from datetime import timedelta

CREDIT_CHECK_THRESHOLD = 10_000.0
MAX_REMINDERS = 3


def needs_credit_check(order_amount: float) -> bool:
    """True when an order is large enough to go to Credit Control first.

    >>> needs_credit_check(9999.99), needs_credit_check(10000)
    (False, True)
    """
    return order_amount >= CREDIT_CHECK_THRESHOLD


def invoice_total(net_amount: float, vat_percent: float) -> float:
    """Gross amount due: the net order value plus VAT, rounded to cents.

    >>> invoice_total(1000, 20)
    1200.0
    """
    return round(net_amount * (1 + vat_percent / 100), 2)


def credit_rejection_text(order_amount: float) -> str:
    """The message telling the customer their order cannot go ahead on credit."""
    return (
        f"We cannot ship your order of {order_amount:,.2f} on credit at the moment. "
        "We can ship it against payment in advance, or a smaller order on your current terms."
    )


def payment_reminder_text(invoice_number: str, amount_due: float, reminders_sent: int) -> str:
    """The dunning message for the given reminder (1 = first reminder)."""
    tone = {1: "Friendly reminder", 2: "Second reminder"}.get(reminders_sent, "Final reminder")
    return (
        f"{tone}: invoice {invoice_number} for {amount_due:,.2f} is overdue. "
        "Please pay within 7 days or contact us."
    )


HELPERS = {
    "needs_credit_check": needs_credit_check,
    "invoice_total": invoice_total,
    "credit_rejection_text": credit_rejection_text,
    "payment_reminder_text": payment_reminder_text,
}


# -- demo traffic (``valueflow demo``, engine.simulation) --------------------------------------------
# Minutes of working time (median, spread of a lognormal) a task waits and takes; see engine.simulation.

PRODUCTS = ("PUMP-200", "VALVE-35", "FILTER-8", "HOSE-12", "MOTOR-5K")
ORDER_BY_SEGMENT = {"premium": 9000, "standard": 4000, "basic": 1500}


def demo_start(rng, customer):
    return {}


def demo_form(rng, step_id, data, today):
    """Plausible form values for one step of an order (``data``: what the case knows so far)."""
    if step_id == "enter_order":
        return {"customer_reference": f"PO-{rng.randint(1000, 99999)}", "product_code": rng.choice(PRODUCTS),
                "quantity": rng.randint(1, 40),
                "order_amount": round(ORDER_BY_SEGMENT.get(data["segment"], 4000) * rng.lognormvariate(0, 0.8), 2),
                "requested_delivery_date": (today + timedelta(days=rng.randint(3, 20))).isoformat(),
                "delivery_address": f"{rng.randint(1, 200)} Harbour Road"}
    if step_id == "check_credit":
        return {"credit_approved": rng.random() < 0.9, "credit_limit": 50000}
    if step_id == "pick_and_pack":
        return {"packages": rng.randint(1, 4), "total_weight_kg": round(rng.uniform(2, 80), 1)}
    if step_id == "ship_order":
        return {"carrier": rng.choice(["dhl", "ups", "dpd", "own_fleet"]),
                "tracking_number": f"TRK{rng.randint(10**8, 10**9 - 1)}", "shipped_on": today.isoformat()}
    if step_id == "create_invoice":
        return {"invoice_number": f"INV-{rng.randint(100000, 999999)}", "invoice_date": today.isoformat(),
                "vat_percent": 20}
    if step_id == "pursue_collection":
        return {"collection_outcome": rng.choice(["paid", "payment_plan", "handed_to_agency"])}
    return {}


def demo_after(rng, step_id, data):
    """Payment arrives some days after the invoice; a fifth of customers pay after the 14-day reminder."""
    if step_id == "create_invoice":
        return "payment_received", 24 * rng.lognormvariate(2.05, 0.55), {"amount": data["order_amount"]}
    return None


DEMO = {
    "arrivals_per_day": 48,
    "steps": {
        "enter_order": {"wait": (30, 0.8), "work": (15, 0.4)},
        "check_credit": {"wait": (120, 0.9), "work": (20, 0.4)},
        "pick_and_pack": {"wait": (200, 0.8), "work": (40, 0.5)},
        "ship_order": {"wait": (90, 0.8), "work": (15, 0.4)},
        "create_invoice": {"wait": (150, 0.9), "work": (10, 0.4)},
        "pursue_collection": {"wait": (600, 0.7), "work": (30, 0.5)},
    },
    "rates": {"sales": 45, "credit-control": 55, "warehouse": 32, "billing": 40, "accounts-receivable": 44},
    "start": demo_start, "form": demo_form, "after": demo_after,
}
