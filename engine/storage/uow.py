"""The unit of work: one database transaction around one use case.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a
use case that fails half-way changes nothing. Losing an optimistic-lock race
surfaces as ``ConcurrentUpdate``. Whoever makes a unit of work may give it a
``before_commit``, run inside the transaction just before each commit that
writes (how an API request marks its Idempotency-Key's claim,
engine.work.idempotency). A read model enters ``with uow.reading():``
instead: on SQLite its transaction reads a snapshot without waiting for the
write lock; on PostgreSQL the case store's statements run outside any
transaction, each reading what was committed when it runs (as in a READ
COMMITTED transaction), with no rollback to send; and it cannot commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import PoolProxiedConnection

from engine.definitions.annotations import ProcessAnnotations
from engine.definitions.spec_cache import SpecCache
from engine.storage.account_generation import raise_on_account_changes
from engine.storage.casestore import CaseCache, CaseStore
from engine.storage.db import commit_transaction
from engine.storage.driver_statements import DriverStatements, StaleRow
from engine.storage.kept_connections import KeptConnections
from engine.storage.repository import Definitions, Drafts, Instances, Tasks, Users
from engine.time.clock import Clock

if TYPE_CHECKING:
    from engine.definitions.packages import CompiledDefinition


class ConcurrentUpdate(Exception):
    """Someone else changed the same case or task at the same moment; nothing was saved."""


class ReadOnlyUnitOfWork(RuntimeError):
    """A unit of work entered for reading was asked to commit: the code that did it must write as a writer."""


class UnitOfWork:
    """Connection, session, repositories, clock and compiled-spec cache for one transaction.

    Everything is opened on first use. A step of a case needs only the case
    store, which works on the pooled driver connection alone: SQLAlchemy's
    connection and session bookkeeping would cost a step more than its begin
    and commit do. That connection comes from, and goes back to, the factory's
    kept connections (engine.storage.kept_connections). When the connection or the session is also
    used, they take over that same pooled connection and its transaction.
    """

    def __init__(self, engine: Engine, session_factory: sessionmaker[Session], clock: Clock, specs: SpecCache,
                 case_cache: CaseCache, kept: KeptConnections) -> None:
        self._engine = engine
        self._kept = kept
        self._session_factory = session_factory
        self.clock = clock
        self.specs = specs
        self._case_cache = case_cache
        self._pooled: Optional[PoolProxiedConnection] = None  # held by the case store alone
        self._connection: Optional[Connection] = None
        self._session: Optional[Session] = None
        self._cases: Optional[CaseStore] = None
        self._reading = False
        self.before_commit: Optional[Callable[[UnitOfWork], None]] = None

    def __enter__(self) -> "UnitOfWork":
        self._pooled, self._connection, self._session, self._cases = None, None, None, None
        return self

    def reading(self) -> "UnitOfWork":
        """This unit of work as a reader, for ``with uow.reading():`` (see the module's docstring)."""
        self._reading = True
        return self

    @property
    def connection(self) -> Connection:
        """This unit of work's connection, inside its transaction."""
        if self._connection is None:
            if self._reading and self._pooled is None:
                self._pooled = self._kept.take(reading=True)
            if self._cases is not None:
                self._cases.sql.hand_over()
            # Carry on in the case store's (or the reader's) transaction if it has begun one.
            self._connection = Connection(self._engine, self._pooled) if self._pooled else self._engine.connect()
            self._pooled = None
        if not self._connection.in_transaction():
            self._connection.begin()
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session on this unit of work's connection; committing it commits the transaction."""
        if self._session is None:
            self._session = self._session_factory(bind=self.connection, join_transaction_mode="control_fully")
        return self._session

    @property
    def definitions(self) -> Definitions:
        return Definitions(self.session)

    @property
    def drafts(self) -> Drafts:
        return Drafts(self.session)

    def compiled(self, definition_id: int) -> CompiledDefinition:
        """The definition's specs, compiled once per process; the stored row is read only the first time."""
        return self.specs.get(definition_id, lambda: self.definitions.package(definition_id))

    def annotations(self, definition_id: int) -> ProcessAnnotations:
        """The definition's annotations, decoded once per process; the stored row is read only the first time."""
        return self.specs.facts("annotations", definition_id, lambda: self.definitions.annotations(definition_id))

    @property
    def instances(self) -> Instances:
        return Instances(self.session)

    @property
    def tasks(self) -> Tasks:
        return Tasks(self.session)

    @property
    def users(self) -> Users:
        return Users(self.session)

    @property
    def cases(self) -> CaseStore:
        """The case store, on this unit of work's pooled driver connection (see engine.storage.casestore)."""
        if self._cases is None:
            # Holding the connection alone, the store's batches may wait for the commit and go with it.
            alone = self._connection is None
            self._cases = CaseStore(DriverStatements(self._engine.dialect, self._driver().driver_connection,
                                                     holds_batches=alone, begins=not self._reading),
                                    self._case_cache)
        return self._cases

    def _driver(self) -> PoolProxiedConnection:
        """The pooled connection under this unit of work, inside its transaction."""
        if self._connection is not None:
            return self.connection.connection
        if self._pooled is None:
            self._pooled = self._kept.take(reading=self._reading)
        return self._pooled

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self._cases is not None:
            self._cases.close()
        if self._session is not None:
            self._session.close()
        # Returning the connection to the pool (or the keeper) rolls back whatever was not committed.
        if self._connection is not None:
            self._connection.close()
        elif self._pooled is not None:
            self._kept.release(self._pooled, reading=self._reading)
        self._pooled, self._connection, self._session, self._cases = None, None, None, None
        self._reading = False
        if exc_type is not None and issubclass(exc_type, (StaleDataError, StaleRow)):
            raise ConcurrentUpdate("someone else changed this case at the same moment; "
                                   "nothing was saved, reload it and try again") from None

    def commit(self) -> None:
        if self._reading:
            raise ReadOnlyUnitOfWork("a unit of work entered with reading() cannot commit")
        if self.before_commit is not None and self._written():
            self.before_commit(self)
        if self._session is not None:
            self._session.commit()  # flushes; commits the transaction if the session has begun using it
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()
        elif self._pooled is not None and (self._cases is None or not self._cases.sql.commit()):
            commit_transaction(self._engine, self._pooled)
        if self._cases is not None:
            # Work after a commit runs in a new transaction, on a new store.
            self._cases.committed()
            self._cases.close()
            self._cases = None
        if self._pooled is not None:
            self._kept.release(self._pooled)
            self._pooled = None

    def flush(self) -> None:
        self.session.flush()

    def _written(self) -> bool:
        """Whether this transaction has written: its case store ran an insert, update or delete, or SQLAlchemy's
        connection took part, whose statements are not looked into (so that none of their writes goes unseen)."""
        return self._connection is not None or (self._cases is not None and self._cases.sql.wrote)


class UnitOfWorkFactory:
    """Makes units of work on one database; shared by every request, thread and command of a process."""

    def __init__(self, engine: Engine, clock: Clock, specs: SpecCache) -> None:
        self.engine = engine
        self.clock = clock
        self.specs = specs
        self.case_cache = CaseCache()
        self.kept = KeptConnections(engine)
        self._session_factory = sessionmaker(engine, expire_on_commit=False)
        raise_on_account_changes(self._session_factory)

    @property
    def in_process(self) -> bool:
        """Whether the database runs inside this process (SQLite), rather than on a server the process waits for."""
        return bool(self.engine.dialect.name == "sqlite")

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self._session_factory, self.clock, self.specs, self.case_cache, self.kept)

    def dispose(self) -> None:
        """Close every pooled connection; the kept ones close with the engine (engine.storage.kept_connections)."""
        self.engine.dispose()
