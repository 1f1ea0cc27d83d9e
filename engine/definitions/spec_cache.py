"""Compiled definitions by database id, and facts read from them, kept per process and database so that nothing
is parsed on the path of a request.

Compiling needs SpiffWorkflow, which this module imports only when it first compiles: a process that only
reads rows never loads it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from engine.definitions.packages import CompiledDefinition, Package


Fact = TypeVar("Fact")


class SpecCache:
    """Compiled definitions, and facts read from them, by database id: one per database (ids repeat across
    databases), built once per process and shared by threads."""

    def __init__(self) -> None:
        self._compiled: dict[int, CompiledDefinition] = {}
        self._facts: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def get(self, definition_id: int, load: Callable[[], Package]) -> CompiledDefinition:
        """The compiled definition, compiling the stored package (via ``load``) on first use."""
        compiled = self._compiled.get(definition_id)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(definition_id)
                if compiled is None:
                    from engine.definitions.packages import compile_package

                    compiled = compile_package(load(), stored=True)
                    self._compiled[definition_id] = compiled
        return compiled

    def put(self, definition_id: int, compiled: CompiledDefinition) -> None:
        self._compiled[definition_id] = compiled

    def facts(self, kind: str, definition_id: int, read: Callable[[], Fact]) -> Fact:
        """What ``read`` finds in a stored definition (``kind`` names it: its diagram's facts, its task pages'
        labels), read on first use: a stored definition never changes."""
        key = (kind, definition_id)
        try:
            return self._facts[key]  # type: ignore[no-any-return]
        except KeyError:
            found = read()
            with self._lock:
                return self._facts.setdefault(key, found)  # type: ignore[no-any-return]
