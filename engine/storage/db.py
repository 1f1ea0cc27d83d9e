"""Database engines and schema upgrades.

SQLite (the default, a file beside the working directory) gets WAL, a busy
timeout and ``BEGIN IMMEDIATE`` transactions, so that concurrent writers queue
for the lock instead of failing half-way (a process's writers take turns on a
condition, engine.storage.write_turns), and its log is checkpointed on a
background thread (engine.storage.wal_checkpoints). Readers begin deferred
transactions instead: in WAL mode they read a snapshot and never wait for the
write lock.

On PostgreSQL, a transaction on a bare driver connection (a step's, see
``begin_transaction``) begins with its first statement, in the same round
trip; a transaction SQLAlchemy begins is psycopg's own, as usual. psycopg
prepares no statements of its own: it would deallocate them all at every
rollback, engine.storage.pg_pipeline's included, which prepares a step's.
A connection taken from the pool is checked without a round trip (no ping):
one the server has closed (a restart, an administrator ending it) has its
farewell, or the end of the stream, waiting to be read on its socket, and an
idle one has nothing; one with anything to read is replaced by a new one.
"""

from __future__ import annotations

import atexit
import json
import select
import weakref
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import PoolProxiedConnection, StaticPool

from engine.storage.driver_reads import BUSY_TIMEOUT_SECONDS
from engine.storage.driver_statements import driver_errors_as_sqlalchemys
from engine.storage.wal_checkpoints import COMMIT_CHECKPOINT_PAGES, WalCheckpointer
from engine.storage.write_turns import WriteTurns

if TYPE_CHECKING:  # Alembic is loaded by the commands that migrate, not by every one
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# What to do after a commit on a connection of the engine (SQLite files: tell the checkpoint thread).
_AFTER_COMMIT: "weakref.WeakKeyDictionary[Engine, Callable[[Any, dict[Any, Any]], None]]" = weakref.WeakKeyDictionary()
# The writers of each SQLite file's engine (not of an in-memory database, which has one connection).
_WRITE_TURNS: "weakref.WeakKeyDictionary[Engine, WriteTurns]" = weakref.WeakKeyDictionary()
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
UPGRADE_LOCK = 0x56464C4F57  # the advisory lock schema upgrades take turns under ("VFLOW")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; PostgreSQL URLs use psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"prepare_threshold": None})
        event.listen(engine, "begin", lambda connection: _driver_begins(connection.connection.driver_connection))
        event.listen(engine, "checkout", _replace_if_ended)
        return engine
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                           poolclass=StaticPool if in_memory else None, json_serializer=json_text)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={COMMIT_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        begin_transaction(engine, connection.connection)

    if not in_memory:
        checkpointer = WalCheckpointer(engine.url.database or "")

        def _note_changes(dbapi_connection, info):  # type: ignore[no-untyped-def]
            # Whatever way the connection wrote (SQLAlchemy or its driver), it changed rows since last time.
            changes = dbapi_connection.total_changes if dbapi_connection is not None else None
            if changes is not None and changes != info.get("changes"):
                info["changes"] = changes
                checkpointer.committed()

        # A connection's commits are noted when it goes back to the pool, and at once by commit_transaction
        # for the connections that engine.storage.kept_connections keeps out of the pool.
        turns = _WRITE_TURNS[engine] = WriteTurns(BUSY_TIMEOUT_SECONDS)

        def _checked_in(dbapi_connection, record):  # type: ignore[no-untyped-def]
            _note_changes(dbapi_connection, record.info)
            turns.ended()  # the pool rolled back whatever it was in the middle of

        event.listen(engine, "checkin", _checked_in)
        _AFTER_COMMIT[engine] = _note_changes
        event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())
        # A command that exits without disposing still closes the file: the last connection to close
        # copies the log into the database and removes it, rather than leave a log of up to 40 MB.
        atexit.register(_dispose_if_alive, weakref.ref(engine))
    return engine


def still_open(driver: Any) -> bool:
    """Whether a driver connection out of use may be used as it is: on PostgreSQL, open and with nothing from the
    server waiting on its socket (see the module's docstring); a SQLite file's connection always."""
    if not hasattr(driver, "pgconn"):
        return True
    if driver.closed or driver.broken:
        return False
    waiting, _, _ = select.select([driver.fileno()], [], [], 0)
    return not waiting


def _replace_if_ended(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """At the pool's checkout: a connection the server has ended is dropped, and the pool connects anew."""
    if not still_open(dbapi_connection):
        raise DisconnectionError("the server ended this connection")


_ORJSON_REFUSES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # as the standard library does
_standard_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_text(value: Any) -> str:
    """The text of a JSON column's value (an event's detail) on SQLite: compact JSON, written by orjson.

    A step writes one or two events; the standard library's encoder took five
    times as long. Where orjson's text could differ from the standard
    library's with the same options (NaN and infinities come out as null,
    which any null sends here), or it refuses the value (keys that are not
    strings, integers beyond 64 bits, dates: the standard library raises
    its TypeError for those), the standard library writes it.
    """
    if value is None:
        return "null"
    try:
        encoded = orjson.dumps(value, option=_ORJSON_REFUSES)
    except orjson.JSONEncodeError:
        return _standard_json(value)
    if b"null" in encoded:
        return _standard_json(value)
    return encoded.decode()


def _dispose_if_alive(engine_ref: "weakref.ref[Engine]") -> None:
    engine = engine_ref()
    if engine is not None:
        engine.dispose()


def checkout_in_transaction(engine: Engine, *, reading: bool = False) -> PoolProxiedConnection:
    """A pooled driver connection inside a new transaction; driver errors come as SQLAlchemy's own."""
    with driver_errors_as_sqlalchemys(engine.dialect, None):
        pooled = engine.raw_connection()
    return begun_or_returned(engine, pooled, reading=reading)


def begun_or_returned(engine: Engine, pooled: PoolProxiedConnection, *,
                      reading: bool = False) -> PoolProxiedConnection:
    """``pooled``, inside a new transaction; if it cannot begin one, it goes back to the pool and the error is raised."""
    try:
        with driver_errors_as_sqlalchemys(engine.dialect, "BEGIN"):
            begin_transaction(engine, pooled, reading=reading)
    except BaseException:
        pooled.close()
        raise
    return pooled


def commit_transaction(engine: Engine, pooled: PoolProxiedConnection) -> None:
    """Commit a pooled driver connection's transaction; driver errors come as SQLAlchemy's own."""
    with driver_errors_as_sqlalchemys(engine.dialect, "COMMIT"):
        pooled.commit()
    transaction_ended(engine)
    after_commit = _AFTER_COMMIT.get(engine)
    if after_commit is not None:
        after_commit(pooled.driver_connection, pooled.info)


def begin_transaction(engine: Engine, pooled: PoolProxiedConnection, *, reading: bool = False) -> None:
    """Open a transaction on a pooled driver connection, as the engine's own connections do.

    SQLite: ``BEGIN IMMEDIATE``, so that a writer queues for the lock at the
    start (the busy timeout) instead of failing at its first write; a reader's
    plain ``BEGIN`` takes no lock until it reads, and then only a snapshot;
    nothing if the connection is already in a transaction. PostgreSQL: psycopg
    would send BEGIN in a round trip of its own before the first statement
    (in pipeline mode too); instead the connection is put in psycopg's
    autocommit mode, and engine.storage.driver_statements sends ``BEGIN``
    together with the first statement. A transaction SQLAlchemy begins on the
    connection while nothing was sent puts psycopg back in charge
    (``_driver_begins``); one that carries on after a first statement is
    inside that ``BEGIN``, and SQLAlchemy's commit or rollback ends it.
    """
    driver = pooled.driver_connection
    if engine.dialect.name == "sqlite":
        if not driver.in_transaction:  # type: ignore[union-attr]
            turns = _WRITE_TURNS.get(engine)
            if turns is None:
                driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")  # type: ignore[union-attr]
            elif reading:
                turns.restore_timeout(driver, pooled.info)  # type: ignore[arg-type]
                driver.execute("BEGIN")  # type: ignore[union-attr]
            else:
                turns.begin(driver, pooled.info)  # type: ignore[arg-type]
    elif not driver.autocommit and _idle(driver):  # type: ignore[union-attr]
        driver.autocommit = True  # type: ignore[union-attr]


def transaction_ended(engine: Engine) -> None:
    """A transaction on one of the engine's connections was committed or rolled back: on a SQLite file, the
    next writer waiting for the lock in this process tries now (engine.storage.write_turns)."""
    turns = _WRITE_TURNS.get(engine)
    if turns is not None:
        turns.ended()


def _driver_begins(driver: Any) -> None:
    """Let psycopg begin SQLAlchemy's transaction itself, unless a step's ``BEGIN`` was already sent."""
    if driver.autocommit and _idle(driver):
        driver.autocommit = False


def _idle(driver: Any) -> bool:
    """Whether a psycopg connection is outside any transaction."""
    return bool(driver.info.transaction_status == driver.info.transaction_status.IDLE)


def alembic_config() -> Config:
    """Alembic's configuration for the project's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def migration_scripts() -> ScriptDirectory:
    """The project's migration scripts, read from disk once per process (a readiness probe asks every few
    seconds)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision these migrations know."""
    return frozenset(revision.revision for revision in migration_scripts().walk_revisions())


def revisions_of_a_newer_version(connection: Connection) -> set[str]:
    """The revisions the database's schema is at that these migrations do not know: a newer Valueflow wrote them."""
    from alembic.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads()) - known_revisions()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (ValueError when a newer Valueflow wrote it). On PostgreSQL,
    upgrades started at once (``valueflow init`` on two machines) take turns under a lock held to the end of the
    transaction: the later one finds the schema current and changes nothing."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
        newer = revisions_of_a_newer_version(connection)
        if newer:
            raise ValueError(f"the database schema is at {', '.join(sorted(newer))}, which a newer version of "
                             "Valueflow wrote; run that version (this one cannot use the database)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection inside a reader's transaction (see begin_transaction), rolled back when the block ends."""
    with Connection(engine, checkout_in_transaction(engine, reading=True)) as connection:
        yield connection
