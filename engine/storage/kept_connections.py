"""Driver connections kept checked out between units of work, on SQLite.

A step of a case runs on one pooled driver connection (engine.storage.uow). Taking
it from SQLAlchemy's pool and giving it back costs some 35 µs of Python on
this machine, a sixth of what a step's statements cost. A unit of work
whose transaction has ended (committed, or rolled back here) leaves its
connection in this keeper instead, and the next unit of work takes it from
here. A few are kept; the rest go back to the pool, and disposing of the
engine closes the kept ones.

On PostgreSQL a kept connection is checked as the pool checks its own
(engine.storage.db): one with anything from the server waiting on its socket
has been ended there, and is dropped for a pooled one. An in-memory SQLite
database has one connection, which its pool hands out as it is.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import PoolProxiedConnection, StaticPool

from engine.storage.db import begun_or_returned, checkout_in_transaction, still_open, transaction_ended

# As many as threads usually take steps at the same moment; more would hold back the pool's other users.
_KEEP = 2


class KeptConnections:
    """Connections of one engine kept between units of work (not of an in-memory database); thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._keep = 0 if isinstance(engine.pool, StaticPool) else _KEEP
        self._idle: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()
        if self._keep:
            event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def take(self, *, reading: bool = False) -> PoolProxiedConnection:
        """A pooled connection inside a new transaction (a reader's, with ``reading``): a kept one if there is one,
        else one from the pool."""
        with self._lock:
            pooled = self._idle.pop() if self._idle else None
        if pooled is not None and not still_open(pooled.driver_connection):
            pooled.invalidate()  # closed, and forgotten by the pool
            pooled = None
        if pooled is None:
            return checkout_in_transaction(self._engine, reading=reading)
        return begun_or_returned(self._engine, pooled, reading=reading)

    def release(self, pooled: PoolProxiedConnection, *, reading: bool = False) -> None:
        """Roll back what the connection did not commit, and keep it for the next unit of work or return it.

        A reader's transaction (``reading``) held no write lock, so its end wakes no waiting writer
        (engine.storage.write_turns), which would only find the lock still taken."""
        driver = pooled.driver_connection
        if self._keep and _in_transaction(driver):
            try:
                driver.rollback()  # type: ignore[union-attr]
            except self._engine.dialect.loaded_dbapi.Error:
                pooled.close()  # the pool resets it, or drops it if it cannot
                return
            if not reading:
                transaction_ended(self._engine)
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(pooled)
                return
        pooled.close()

    def __len__(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        """Close every kept connection for good (the engine is being disposed of)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            # Detached, closing it closes the driver's connection rather than return it to a pool being disposed of.
            pooled.detach()
            pooled.close()


def _in_transaction(driver: Any) -> bool:
    """Whether a driver connection (sqlite3's or psycopg's) is inside a transaction."""
    if hasattr(driver, "in_transaction"):
        return bool(driver.in_transaction)
    return bool(driver.info.transaction_status != driver.info.transaction_status.IDLE)

