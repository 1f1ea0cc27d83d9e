"""Helpers for the service_request process (bpmn/service_request/).

The routing script after triage calls ``specialist_team_for`` and
``priority_for``; the closing script calls ``closure_code_for``.

``DEMO`` describes the traffic ``valueflow demo`` sends through the process.
"""

TEAMS = {
    "billing": "Billing specialists",
    "product_fault": "Technical support",
    "delivery": "Logistics",
    "service_quality": "Customer care",
    "other": "Customer care",
}

CODES = {
    "billing": "BIL",
    "product_fault": "PRD",
    "delivery": "DLV",
    "service_quality": "SRV",
    "other": "OTH",
}


def specialist_team_for(category: str) -> str:
    """The specialist team that handles a complaint category.

    >>> specialist_team_for("delivery")
    'Logistics'
    """
    return TEAMS.get(category, "Customer care")


def priority_for(category: str, severity: str) -> str:
    """Priority P1 (most urgent) to P4 from severity; product faults go one level up.

    >>> priority_for("billing", "high"), priority_for("product_fault", "high")
    ('P2', 'P1')
    """
    level = {"critical": 1, "high": 2, "medium": 3, "low": 4}.get(severity, 3)
    if category == "product_fault":
        level = max(level - 1, 1)
    return f"P{level}"


def closure_code_for(category: str, resolution_type: str) -> str:
    """Closure code for reporting, e.g. ``DLV-REPLACEMENT``.

    >>> closure_code_for("delivery", "replacement")
    'DLV-REPLACEMENT'
    """
    return f"{CODES.get(category, 'OTH')}-{resolution_type.upper()}"


HELPERS = {
    "specialist_team_for": specialist_team_for,
    "priority_for": priority_for,
    "closure_code_for": closure_code_for,
}


# -- demo traffic (``valueflow demo``, engine.simulation) --------------------------------------------
# Minutes of working time (median, spread of a lognormal) a task waits and takes; see engine.simulation.

CATEGORIES = ("billing", "product_fault", "delivery", "service_quality", "other")


def demo_start(rng, customer):
    return {}


def demo_form(rng, step_id, data, today):
    """Plausible form values for one step of a complaint (``data``: what the case knows so far)."""
    if step_id == "triage_request":
        return {"category": rng.choices(CATEGORIES, (3, 3, 2, 1, 1))[0],
                "severity": rng.choices(("low", "medium", "high", "critical"), (3, 4, 2, 1))[0],
                "description": "Customer called about the problem.",
                "preferred_contact": rng.choice(["phone", "email"])}
    if step_id == "resolve_request":
        return {"resolution_type": rng.choice(["repair", "replacement", "refund", "credit_note", "explanation"]),
                "resolution": "Fixed and explained to the customer."}
    if step_id == "confirm_resolution":
        return {"resolved": rng.random() < 0.85}
    if step_id == "escalation_review":
        return {"escalation_action": rng.choice(["reassign", "add_specialist", "call_customer", "no_action"])}
    return {}


def demo_after(rng, step_id, data):
    return None


DEMO = {
    "arrivals_per_day": 55,
    "steps": {
        "triage_request": {"wait": (20, 0.8), "work": (10, 0.4)},
        "resolve_request": {"wait": (180, 0.9), "work": (50, 0.6)},
        "confirm_resolution": {"wait": (90, 0.8), "work": (10, 0.4)},
        "escalation_review": {"wait": (60, 0.8), "work": (15, 0.4)},
    },
    "rates": {"service-desk": 36, "specialist": 58, "service-manager": 72},
    "start": demo_start, "form": demo_form, "after": demo_after,
}
