"""The engine's unit-of-work factory, built once per app (flaskr's db.py, without a per-request connection), and
the Idempotency-Key's claim a request holds, which the units of work it makes mark when they commit."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import Flask, current_app, g

from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.work import idempotency

KEY = "valueflow"
THREADS_IN_PROCESS = 2  # threads of a web process on a SQLite file, whose requests take turns (web.turns)
THREADS_FOR_A_SERVER = 8  # on PostgreSQL, requests at once


def init_app(app: Flask) -> None:
    """Connect to DATABASE_URL with CLOCK; the schema comes from ``valueflow init`` (Alembic)."""
    app.extensions[KEY] = connect(app.config.get("DATABASE_URL") or None, app.config.get("CLOCK"))


def threads_per_process(app: Flask, told: Optional[int]) -> int:
    """How many threads one web process of ``app`` serves requests on: ``told`` (``serve --threads``), if given.

    One interpreter runs one request's Python at a time. On a SQLite file a request's work is nearly all in
    this process, so its requests take turns (web.turns), and a second thread only lets a request start beside
    one that runs long; a database server's requests also wait for its answers, which more threads fill with
    other requests' work (bench/README.md has the measurements).
    """
    if told is not None:
        return told
    return THREADS_IN_PROCESS if app.extensions[KEY].in_process else THREADS_FOR_A_SERVER


def factory() -> UnitOfWorkFactory:
    return current_app.extensions[KEY]


def uow() -> UnitOfWork:
    """A new unit of work: each engine call takes its own. While the request holds an Idempotency-Key's claim
    (``hold``), what its units of work commit marks the claim, in the same transaction."""
    made = factory()()
    claim = held()
    return made if claim is None else idempotency.holding(made, claim)


def hold(claim: Optional[idempotency.Claim]) -> None:
    """The Idempotency-Key's claim the rest of this request holds (web.idempotency); None: none."""
    g.idempotency_claim = claim


def held() -> Optional[idempotency.Claim]:
    """The claim this request holds, if any."""
    return g.get("idempotency_claim")


def now() -> datetime:
    """The engine clock's time (tests move it)."""
    return factory().clock.now()
