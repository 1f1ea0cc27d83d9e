"""Helpers for the loan_decision process (bpmn/loan_decision/).

Script tasks call these by name, for example::

    score = credit_score(annual_income, existing_debts, loan_amount, years_employed)

Data variables must not reuse a helper's name (the script engine refuses task
data that would shadow a helper), hence ``score`` rather than ``credit_score``.
"""

MIN_SCORE = 300
MAX_SCORE = 850


def credit_score(income: float, debts: float, loan_amount: float, years_employed: float) -> int:
    """Score an applicant from 300 (worst) to 850 (best), deterministically.

    Starts at 650, adds 15 points per year with the current employer (up to 10
    years), subtracts 300 points times the debt-to-income ratio and 35 points per
    unit of loan-to-income above 2.5. No income at all scores 300.

    >>> credit_score(80000, 5000, 200000, 6)
    721
    >>> credit_score(60000, 15000, 250000, 3)
    562
    >>> credit_score(30000, 20000, 250000, 1)
    300
    """
    if income <= 0:
        return MIN_SCORE
    debt_to_income = max(debts, 0) / income
    loan_to_income = max(loan_amount, 0) / income
    tenure = min(max(years_employed, 0), 10)
    score = 650 + 15 * tenure - 300 * debt_to_income - 35 * max(loan_to_income - 2.5, 0)
    return int(min(max(round(score), MIN_SCORE), MAX_SCORE))


def loan_to_income_ratio(loan_amount: float, income: float) -> float:
    """Loan amount divided by annual income, rounded to two decimals.

    No income gives 99.0, far above any limit in the risk table.

    >>> loan_to_income_ratio(250000, 60000)
    4.17
    """
    if income <= 0:
        return 99.0
    return round(loan_amount / income, 2)


def document_request_text(missing_documents: str) -> str:
    """The message asking the customer for the documents still missing."""
    return (
        "To finish your loan application we still need: "
        + missing_documents.strip()
        + ". You can upload them, send them by post or bring them to a branch."
    )


def approval_notice_text(loan_amount: float, loan_purpose: str) -> str:
    """The message telling the customer their loan is approved; the offer follows."""
    purpose = loan_purpose.replace("_", " ")
    return (
        f"Good news: your {purpose} loan of {loan_amount:,.2f} is approved. "
        "Your written offer follows shortly."
    )


HELPERS = {
    "credit_score": credit_score,
    "loan_to_income_ratio": loan_to_income_ratio,
    "document_request_text": document_request_text,
    "approval_notice_text": approval_notice_text,
}
