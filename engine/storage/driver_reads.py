"""Reads on the database driver alone (sqlite3, psycopg), for the listings a command shares with the web app.

Importing SQLAlchemy takes longer than ``valueflow tasks`` may take in all (``bench/cli_start.py``), so such a
listing is written once in plain SQL (``engine.work.task_list``) and run through a ``DriverReader``: on a
connection ``reading`` opens from the database's URL, or on the driver connection under a unit of work.
``reading`` reads in a transaction of its own that it rolls back, creates no database file, and refuses a
schema that is not at the migration this code needs (``SCHEMA_REVISION``), as SQLAlchemy would be made to.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import quote, unquote

# The newest migration in migrations/versions: a database at any other revision is refused.
# tests/unit/test_driver_reads.py holds it to Alembic's head.
SCHEMA_REVISION = "0019_idempotent_answer_location"
BUSY_TIMEOUT_SECONDS = 30  # how long a SQLite connection waits for a lock before it gives up
_SQLITE_SCHEMES = ("sqlite://", "sqlite+pysqlite://")
_POSTGRESQL_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class UnusableDatabase(Exception):
    """The database cannot be read: not there, not reachable, not initialised, or at another migration."""


class DriverReader:
    """A driver (DB-API) connection inside a transaction, and the dialect of its SQL (a plain class: importing
    ``dataclasses`` takes 5-10 ms, a tenth of what the listing takes now)."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect  # "sqlite" or "postgresql", as SQLAlchemy names them
        self.mark = "?" if dialect == "sqlite" else "%s"  # the driver's placeholder for a parameter

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row the query gives, as the driver gives it."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(parameters))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()


def utc(value: Any) -> Optional[datetime]:
    """A value of a UTC column (engine.storage.types.UTCDateTime) as an aware datetime, as SQLAlchemy reads it:
    SQLite keeps the text SQLAlchemy wrote (``2026-01-05 09:00:00.000000``), PostgreSQL a timestamp without
    time zone."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc)


@contextmanager
def reading(url: str) -> Iterator[DriverReader]:
    """A reader on the database at ``url`` (a SQLAlchemy URL of SQLite or PostgreSQL), its schema checked.

    Every driver error, and a schema at another revision, is raised as ``UnusableDatabase``.
    """
    if url.startswith(_SQLITE_SCHEMES):
        import sqlite3 as driver

        dialect = "sqlite"
    elif url.startswith(_POSTGRESQL_SCHEMES):
        import psycopg as driver  # type: ignore[no-redef]

        dialect = "postgresql"
    else:
        raise UnusableDatabase("Valueflow stores its data in SQLite (sqlite:///FILE) or PostgreSQL "
                               "(postgresql://USER@HOST/DATABASE)")
    try:
        connection = _sqlite(url) if dialect == "sqlite" else driver.connect("postgresql://" + url.split("://", 1)[1])
    except driver.Error as exc:
        raise _unusable(exc) from None
    try:
        if dialect == "sqlite":
            connection.execute("BEGIN")  # deferred: in WAL mode a snapshot, without waiting for writers
        reader = DriverReader(connection, dialect)
        found = sorted(revision for revision, in reader.rows("SELECT version_num FROM alembic_version"))
        if found != [SCHEMA_REVISION]:
            raise UnusableDatabase(f"its schema is at {', '.join(found) or 'no migration'}, "
                                   f"this version of Valueflow needs {SCHEMA_REVISION}")
        yield reader
    except driver.Error as exc:
        raise _unusable(exc) from None
    finally:
        connection.close()  # which ends the transaction without a change


def _sqlite(url: str) -> Any:
    """A connection to the SQLite file of ``url`` that reads and never creates it (the URL's options are a
    writer's: timeouts, threads)."""
    import sqlite3

    path = unquote(url.split("://", 1)[1][1:].split("?", 1)[0])
    if path in ("", ":memory:"):
        return sqlite3.connect(":memory:", isolation_level=None)
    return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                           isolation_level=None)


def _unusable(exc: Exception) -> UnusableDatabase:
    """The driver's error, in its own words."""
    return UnusableDatabase(str(exc).strip() or type(exc).__name__)
