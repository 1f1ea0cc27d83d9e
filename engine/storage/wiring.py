"""Wiring: one call that gives the CLI, the web app or a test its units of work."""

from __future__ import annotations

from typing import Optional

from engine.definitions.spec_cache import SpecCache
from engine.storage.db import make_engine, upgrade
from engine.storage.location import database_url
from engine.storage.uow import UnitOfWorkFactory
from engine.time.clock import Clock, SystemClock


def connect(url: Optional[str] = None, clock: Optional[Clock] = None, *, migrate: bool = False) -> UnitOfWorkFactory:
    """A factory of units of work on ``url`` (default: VALUEFLOW_DATABASE_URL or the SQLite file).

    ``migrate`` first brings the schema up to date (``valueflow init`` and tests).
    """
    engine = make_engine(url or database_url())
    if migrate:
        upgrade(engine)
    return UnitOfWorkFactory(engine, clock or SystemClock(), SpecCache())
