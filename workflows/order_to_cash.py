"""Helpers for the order_to_cash process (bpmn/order_to_cash/).

The gateway after order entry calls ``needs_credit_check(order_amount)``; the
billing and dunning scripts call ``invoice_total`` and ``payment_reminder_text``.
"""

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
