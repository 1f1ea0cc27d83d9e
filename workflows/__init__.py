"""The Python side of the shipped process packages.

Each module ``workflows/<process key>.py`` holds the plain helper functions that
the scripts, gateway conditions and DMN cells of ``bpmn/<process key>/`` may
call, collected in its module-level ``HELPERS`` dict.
"""
from typing import Callable

from . import loan_decision, order_to_cash, service_request

_PACKAGES = {
    "loan_decision": loan_decision,
    "order_to_cash": order_to_cash,
    "service_request": service_request,
}


def helpers_for(process_key: str) -> dict[str, Callable]:
    """Return the helper functions a process's expressions may call, by name.

    An unknown process key gets an empty dict (a process without helpers).
    """
    package = _PACKAGES.get(process_key)
    if package is None:
        return {}
    return dict(package.HELPERS)
