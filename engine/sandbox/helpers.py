"""The helper functions a process's scripts may call, found through the ``valueflow.helpers`` entry points.

A package registers a module for a process key in its ``pyproject.toml``::

    [project.entry-points."valueflow.helpers"]
    claims_handling = "acme_processes.claims_handling"

The module's ``HELPERS`` dict (name → plain function) is what the scripts,
gateway conditions and DMN cells of the process with that key may call. The
module may also hold ``DEMO``, the traffic profile ``valueflow demo`` sends
through the process. Valueflow's own processes register ``workflows/`` the
same way; a key nobody registers gets no helpers.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType
from typing import Callable

GROUP = "valueflow.helpers"


def helper_modules() -> dict[str, ModuleType]:
    """Every registered module by process key, in key order; the first registration of a key wins."""
    found: dict[str, ModuleType] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        if point.name not in found:
            found[point.name] = point.load()
    return found


def helpers_for(process_key: str) -> dict[str, Callable]:
    """The helper functions the process's expressions may call, by name; empty for an unregistered key."""
    for point in entry_points(group=GROUP, name=process_key):
        return dict(getattr(point.load(), "HELPERS", {}))
    return {}
