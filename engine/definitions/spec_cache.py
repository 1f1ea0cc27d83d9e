"""Compiled definitions by database id, kept per process so that nothing is parsed on the path of a request.

Compiling needs SpiffWorkflow, which this module imports only when it first compiles: a process that only
reads rows never loads it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from engine.definitions.packages import CompiledDefinition, Package


class SpecCache:
    """Compiled definitions by database id, built once per process and shared by threads."""

    def __init__(self) -> None:
        self._compiled: dict[int, CompiledDefinition] = {}
        self._lock = threading.Lock()

    def get(self, definition_id: int, load: Callable[[], Package]) -> CompiledDefinition:
        """The compiled definition, compiling the stored package (via ``load``) on first use."""
        compiled = self._compiled.get(definition_id)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(definition_id)
                if compiled is None:
                    from engine.definitions.packages import compile_package

                    compiled = compile_package(load())
                    self._compiled[definition_id] = compiled
        return compiled

    def put(self, definition_id: int, compiled: CompiledDefinition) -> None:
        self._compiled[definition_id] = compiled
