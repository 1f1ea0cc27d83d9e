"""Helpers for the service_request process (bpmn/service_request/).

The routing script after triage calls ``specialist_team_for`` and
``priority_for``; the closing script calls ``closure_code_for``.
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
