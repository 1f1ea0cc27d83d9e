"""The unit of work: one database transaction around one use case.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a
use case that fails half-way changes nothing. Losing an optimistic-lock race
surfaces as ``ConcurrentUpdate``.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.casestore import CaseCache, CaseStore, StaleCase
from engine.clock import Clock
from engine.definitions import SpecCache
from engine.repository import Definitions, Instances, Tasks, Users


class ConcurrentUpdate(Exception):
    """Someone else changed the same case or task at the same moment; nothing was saved."""


class UnitOfWork:
    """Session, repositories, clock and compiled-spec cache for one transaction."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, specs: SpecCache,
                 case_cache: CaseCache) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.specs = specs
        self._case_cache = case_cache
        self._cases: Optional[CaseStore] = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        self.definitions = Definitions(self.session, self.specs)
        self.instances = Instances(self.session)
        self.tasks = Tasks(self.session)
        self.users = Users(self.session)
        self._cases = None
        return self

    @property
    def cases(self) -> CaseStore:
        """The case store on this unit of work's connection (see engine.casestore)."""
        if self._cases is None:
            self._cases = CaseStore(self.session.connection(), self._case_cache)
        return self._cases

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self._cases is not None:
            self._cases.close()
        self.session.rollback()
        self.session.close()
        if exc_type is not None and issubclass(exc_type, (StaleDataError, StaleCase)):
            raise ConcurrentUpdate("someone else changed this case at the same moment; "
                                   "nothing was saved, reload it and try again") from None

    def commit(self) -> None:
        self.session.commit()
        if self._cases is not None:
            self._cases.committed()

    def flush(self) -> None:
        self.session.flush()


class UnitOfWorkFactory:
    """Makes units of work on one database; shared by every request, thread and command of a process."""

    def __init__(self, engine: Engine, clock: Clock, specs: SpecCache) -> None:
        self.engine = engine
        self.clock = clock
        self.specs = specs
        self.case_cache = CaseCache()
        self._session_factory = sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._session_factory, self.clock, self.specs, self.case_cache)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
