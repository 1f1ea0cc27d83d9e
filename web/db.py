"""The engine's unit-of-work factory, built once per app (flaskr's db.py, without a per-request connection)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.storage.wiring import connect

KEY = "valueflow"


def init_app(app: Flask) -> None:
    """Connect to DATABASE_URL with CLOCK; the schema comes from ``valueflow init`` (Alembic)."""
    app.extensions[KEY] = connect(app.config.get("DATABASE_URL") or None, app.config.get("CLOCK"))


def factory() -> UnitOfWorkFactory:
    return current_app.extensions[KEY]


def uow() -> UnitOfWork:
    """A new unit of work: each engine call takes its own."""
    return factory()()


def now() -> datetime:
    """The engine clock's time (tests move it)."""
    return factory().clock.now()
