"""Helpers for the loan_decision process (bpmn/loan_decision/).

Script tasks call these by name, for example::

    score = credit_score(annual_income, existing_debts, loan_amount, years_employed)

Data variables must not reuse a helper's name (the script engine refuses task
data that would shadow a helper), hence ``score`` rather than ``credit_score``.

``DEMO`` (and ``DEMO_BEFORE``, for the version before the redesign) describe
the traffic ``valueflow demo`` sends through the process.
"""

from datetime import timedelta

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


# -- demo traffic (``valueflow demo``, engine.simulation) --------------------------------------------
# Minutes of working time a task waits in its queue and takes to work, as (median, spread) of a
# lognormal; the simulation stretches waits by customer segment and counts only opening hours.

PURPOSES = ("purchase", "refinance", "renovation", "other")
INCOME_BY_SEGMENT = {"premium": 95000, "standard": 56000, "basic": 38000}


def demo_start(rng, customer):
    """A loan application starts empty: everything is captured in its first step."""
    return {}


def demo_form(rng, step_id, data, today):
    """Plausible form values for one step of a loan case (``data``: what the case knows so far)."""
    if step_id == "capture_application":
        income = round(INCOME_BY_SEGMENT.get(data["segment"], 56000) * rng.lognormvariate(0, 0.3), -2)
        purpose = rng.choices(PURPOSES, (5, 3, 2, 1))[0]
        # applicants: comfortable (mostly scored low risk), middling (reviewed), stretched (mostly declined)
        kind = rng.choices(("comfortable", "middling", "stretched"), (55, 30, 15))[0]
        ratio, debts, years = {"comfortable": ((1.2, 3.8), (0, 0.12), (5, 14)),
                               "middling": ((2.5, 5.5), (0.05, 0.3), (0, 8)),
                               "stretched": ((5.0, 7.5), (0.2, 0.45), (0, 4))}[kind]
        amount = max(1000.0, round(income * rng.uniform(*ratio), -3))
        return {"loan_amount": amount, "loan_purpose": purpose, "annual_income": income,
                "existing_debts": round(income * rng.uniform(*debts), -2), "years_employed": rng.randint(*years),
                "property_value": round(amount * 1.3, -3) if purpose == "purchase" else 0.0,
                "documents_complete": rng.random() < 0.7}
    if step_id == "request_documents":
        return {"missing_documents": rng.choice(["last three payslips", "bank statements for May",
                                                 "proof of address", "property valuation"]),
                "request_channel": rng.choice(["email", "email", "letter", "phone"])}
    score = credit_score(data["annual_income"], data["existing_debts"], data["loan_amount"], data["years_employed"])
    ratio = loan_to_income_ratio(data["loan_amount"], data["annual_income"])
    good = score >= 620
    if step_id == "key_in_application":
        return {"system_reference": f"LS-{rng.randint(100000, 999999)}", "fields_checked": True}
    if step_id == "verify_documents":
        return {"documents_verified": True}
    if step_id == "credit_review":
        return {"income_verified": True, "affordability_confirmed": good,
                "recommendation": "approve" if good else rng.choice(["approve_with_conditions", "decline"]),
                "review_notes": f"Score {score}; loan to income {ratio}."}
    if step_id == "underwriting_decision":
        approve = rng.random() < (0.85 if good else 0.3)
        return {"decision": "approve" if approve else "decline",
                "decision_rationale": "Within policy." if approve else "Repayments would strain the budget."}
    if step_id == "second_signature":
        return {"countersigned": True}
    if step_id == "prepare_offer":
        return {"interest_rate": round(rng.uniform(2.4, 6.2), 2), "term_years": rng.choice([10, 15, 20, 25, 30]),
                "offer_valid_until": (today + timedelta(days=30)).isoformat()}
    if step_id == "explain_decline":
        return {"contact_channel": rng.choice(["phone", "phone", "branch", "letter"]),
                "explanation": "Explained the affordability check.", "alternative_offered": rng.random() < 0.5}
    return {}


def demo_after(rng, step_id, data):
    """A customer's reply the process waits for: (message, hours until it arrives, payload), or None."""
    if step_id == "request_documents":
        return "documents_received", rng.lognormvariate(3.3, 0.8), {"documents": data["missing_documents"]}
    return None


DEMO = {
    "arrivals_per_day": 42,
    "steps": {
        "capture_application": {"wait": (15, 0.8), "work": (40, 0.35)},
        "request_documents": {"wait": (30, 0.8), "work": (8, 0.4)},
        "credit_review": {"wait": (90, 0.9), "work": (35, 0.35)},
        "underwriting_decision": {"wait": (120, 0.9), "work": (25, 0.35)},
        "prepare_offer": {"wait": (45, 0.8), "work": (25, 0.35)},
        "explain_decline": {"wait": (60, 0.8), "work": (20, 0.35)},
    },
    "rates": {"customer-service": 42, "back-office": 38, "credit-analyst": 68, "underwriter": 95},
    "start": demo_start, "form": demo_form, "after": demo_after,
}

# Before the redesign (bpmn_history/loan_decision_before): every application is keyed in, verified, reviewed
# and decided, approvals countersigned, each a hand-off into another queue.
DEMO_BEFORE = {
    **DEMO,
    "steps": {
        "capture_application": {"wait": (180, 0.7), "work": (45, 0.3)},
        "request_documents": {"wait": (150, 0.7), "work": (15, 0.4)},
        "key_in_application": {"wait": (300, 0.7), "work": (30, 0.3)},
        "verify_documents": {"wait": (360, 0.7), "work": (35, 0.3)},
        "credit_review": {"wait": (420, 0.7), "work": (55, 0.3)},
        "underwriting_decision": {"wait": (420, 0.7), "work": (35, 0.3)},
        "second_signature": {"wait": (360, 0.7), "work": (15, 0.4)},
        "prepare_offer": {"wait": (300, 0.7), "work": (40, 0.3)},
        "explain_decline": {"wait": (300, 0.7), "work": (30, 0.3)},
    },
}
