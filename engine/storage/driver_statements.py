"""Core statements compiled once per database and run on the driver's own cursor.

A step of a case runs about ten statements. Through SQLAlchemy's execution
layer each costs some 60 µs of Python on this machine; on the driver's cursor
about 5 µs. The statements are still written with SQLAlchemy Core, and the SQL,
the parameter order and each column type's conversion come from SQLAlchemy's
compiler for the database at hand; only the per-call bookkeeping is skipped.
Driver errors are raised as SQLAlchemy's own (``sqlalchemy.exc.DBAPIError``
and its kinds), as if SQLAlchemy had run the statement.

On PostgreSQL each statement is a round trip to the server, which costs a
step more than its Python does; inside ``batch()`` the statements are sent
together in psycopg's pipeline mode and the server's answers come back
together, when a row is fetched or the batch ends. A transaction that
engine.storage.db left to begin here (psycopg in autocommit mode, outside any
transaction) gets its ``BEGIN`` in the pipeline of its first statement, so
that the two take one round trip; and when these statements are all its
transaction runs (``holds_batches``), a batch's statements wait for its
``COMMIT`` and go with it, in one more. An update that must change one row
(``execute_one``) is then checked by the server, as the client would see its
row count only after the commit: the statement divides by the number of rows
it changed, so that a row changed since it was read fails the batch with
``division_by_zero``, the server skips the rest of it, COMMIT included, and
``StaleRow`` is raised. A reader's statements (``begins=False``) send no
``BEGIN`` at all: each runs on its own, seeing what was committed when it runs,
as each statement of a READ COMMITTED transaction does, and the reader leaves
no transaction to roll back, a round trip less.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from sqlalchemy import literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable, UpdateBase

Convert = Optional[Callable[[Any], Any]]
_DIVISION_BY_ZERO = "22012"  # PostgreSQL's SQLSTATE for it: how an update checked by the server fails


class StaleRow(Exception):
    """An update that had to change one row found none: the row changed since it was read; nothing was saved."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: Callable[[Mapping[str, Any]], Any]  # the driver's parameters from named values (_parameter_builder)
    fixed: dict[str, Any]  # values written into the statement itself (``values(status="open")``)
    results: tuple[Convert, ...]  # conversion of each returned column


class Prepared:
    """One Core statement, compiled on first use for each dialect.

    ``columns`` names the columns an INSERT is given, in the order of the rows'
    keys; statements with expanding ``IN`` parameters are not supported.
    """

    def __init__(self, statement: Executable, columns: Sequence[str] = ()) -> None:
        self.statement = statement
        self.columns = list(columns)
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()
        self._one_row: Optional[Prepared] = None

    def one_row(self) -> "Prepared":
        """This update, failing with ``division_by_zero`` unless it changes one row (PostgreSQL; see the module)."""
        if self._one_row is None:
            assert isinstance(self.statement, UpdateBase)
            changed = self.statement.returning(literal_column("1")).cte("changed")
            self._one_row = Prepared(select(literal_column("1 / count(*)")).select_from(changed))
        return self._one_row

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            with self._lock:
                found = self._by_dialect.setdefault(dialect.name, self._compile(dialect))
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.columns or None)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("expanding IN parameters cannot be prepared")
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                      for name in names)
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in getattr(self.statement, "exported_columns", ()))
        return _Compiled(compiled.string, _parameter_builder(binds, bool(compiled.positional)), fixed, results)


def _parameter_builder(binds: Sequence[tuple[str, Convert]], positional: bool) -> Callable[[Mapping[str, Any]], Any]:
    """A function from named values to the driver's parameters: a list in the SQL's order, or a dict.

    Each value goes through its column type's conversion, if it has one. Built
    once per statement, it spares each row a loop over every bind: an event
    row's parameters took 7.1 µs that way, 4.8 µs now, and a loan instance
    writes some sixty rows.
    """
    names = [name for name, _ in binds]
    converted = [(index, name, convert) for index, (name, convert) in enumerate(binds) if convert is not None]
    if positional:
        values_of = itemgetter(*names) if len(names) > 1 else lambda values: tuple(values[name] for name in names)

        def listed(values: Mapping[str, Any]) -> list[Any]:
            row = list(values_of(values))
            for index, _name, convert in converted:
                row[index] = convert(row[index])
            return row
        return listed

    def named(values: Mapping[str, Any]) -> dict[str, Any]:
        row = {name: values[name] for name in names}
        for _index, name, convert in converted:
            row[name] = convert(row[name])
        return row
    return named


class DriverStatements:
    """Runs ``Prepared`` statements on a driver (DBAPI) connection, in whatever transaction it is in."""

    def __init__(self, dialect: Dialect, driver_connection: Any, *, holds_batches: bool = False,
                 begins: bool = True) -> None:
        self._dialect = dialect
        self._driver_error = dialect.loaded_dbapi.Error
        self._connection = driver_connection
        self._cursor = driver_connection.cursor()
        self._own_cursors: list[Any] = []  # cursors of a batch's statements whose answers are read after it
        self._batching = False
        self._pipelines = pipelines = hasattr(driver_connection, "pipeline")
        # Whether the first statement must send BEGIN (see the module's docstring); known at that statement.
        self._begin: Optional[bool] = None if pipelines and begins else False
        self._holds = holds_batches and pipelines
        self._pipeline: Any = None  # psycopg's pipeline of the batch being sent or held for the commit
        self._checked = False  # whether the pipeline holds an update the server checks (execute_one)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Send the statements run inside together, on PostgreSQL (psycopg's pipeline mode); elsewhere they run
        one by one as always. A driver error of any of them is raised by the statement that fetches rows or
        at the end of the block, or, when batches are held for the commit, by the commit or the next
        statement after the block."""
        if not self._pipelines or self._batching:  # a batch inside a batch is part of it
            yield
            return
        if self._pipeline is None:
            pipeline = self._connection.pipeline()
            try:
                pipeline.__enter__()
            except self._driver_error as exc:
                raise as_sqlalchemy_error(self._dialect, None, exc) from exc
            self._pipeline = pipeline
        self._batching = True
        try:
            yield
        except BaseException as exc:
            self._batching = False
            ours = self._as_ours(exc, None) if isinstance(exc, self._driver_error) else None
            self._leave_pipeline()
            if ours is not None:
                raise ours from exc
            raise
        self._batching = False
        if not self._holds:
            self._end_pipeline()

    @property
    def dialect_name(self) -> str:
        return str(self._dialect.name)

    @property
    def batching(self) -> bool:
        """Whether a batch is open (on PostgreSQL: whether answers wait for its end)."""
        return self._batching

    def execute_one(self, statement: Prepared, params: Mapping[str, Any]) -> bool:
        """Run an update that must change one row; False when it changed none. Inside a PostgreSQL batch the
        server checks it (see the module), so it returns True and a row that changed raises ``StaleRow`` when
        the batch's answers come back."""
        if not self._batching:
            return self.execute(statement, params) == 1
        self._checked = True
        self.execute(statement.one_row(), params)
        return True

    def commit(self) -> bool:
        """Commit with the batch held for the commit, if there is one: its statements and COMMIT take one round
        trip. False when none is held (the transaction is committed as usual)."""
        if self._pipeline is None:
            return False
        try:
            self._cursor.execute("COMMIT")
        except self._driver_error as exc:
            ours = self._as_ours(exc, "COMMIT")
            self._leave_pipeline()
            raise ours from exc
        self._end_pipeline()
        return True

    def hand_over(self) -> None:
        """Send what a held batch holds, and hold no more: SQLAlchemy takes over the connection."""
        self._holds = False
        if self._pipeline is not None:
            self._end_pipeline()

    def first_later(self, statement: Prepared, params: Mapping[str, Any]) -> Callable[[], Optional[tuple[Any, ...]]]:
        """Run a statement; returns a function that gives its first row (a RETURNING), converted, once its batch
        has ended, so that the batch needs no answer half-way."""
        if not self._batching:
            row = self.first(statement, params)
            return lambda: row
        compiled = statement.compiled(self._dialect)
        cursor = self._on_own_cursor(compiled, params)

        def row() -> Optional[tuple[Any, ...]]:
            found = cursor.fetchone()
            return None if found is None else self._converted(compiled, found)
        return row

    def _on_own_cursor(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        """Run a statement of a batch on a cursor of its own, which keeps its answer until the batch has ended."""
        cursor = self._connection.cursor()
        self._own_cursors.append(cursor)
        self._run(compiled, cursor.execute, self._parameters(compiled, params))
        return cursor

    def execute(self, statement: Prepared, params: Mapping[str, Any]) -> int:
        """Run a statement; returns how many rows it changed."""
        compiled = statement.compiled(self._dialect)
        self._run(compiled, self._cursor.execute, self._parameters(compiled, params))
        return int(self._cursor.rowcount)

    def execute_many(self, statement: Prepared, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run a statement once per row of parameters."""
        compiled = statement.compiled(self._dialect)
        self._run(compiled, self._cursor.executemany, [self._parameters(compiled, row) for row in rows])

    def first(self, statement: Prepared, params: Mapping[str, Any]) -> Optional[tuple[Any, ...]]:
        """The first row a query (or a RETURNING) gives, converted, or None."""
        compiled = statement.compiled(self._dialect)
        self._run(compiled, self._cursor.execute, self._parameters(compiled, params))
        row = self._cursor.fetchone()
        self._drain()
        return None if row is None else self._converted(compiled, row)

    def all(self, statement: Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row a query gives, converted."""
        compiled = statement.compiled(self._dialect)
        self._run(compiled, self._cursor.execute, self._parameters(compiled, params))
        return [self._converted(compiled, row) for row in self._cursor.fetchall()]

    def close(self) -> None:
        """Release the cursors (the connection stays with SQLAlchemy); a batch still held is sent and left to
        the rollback that follows."""
        if self._pipeline is not None:
            self._leave_pipeline()
        for cursor in (self._cursor, *self._own_cursors):
            cursor.close()
        self._own_cursors = []

    def _drain(self) -> None:
        if self._cursor.description is not None:
            self._cursor.fetchall()

    @staticmethod
    def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        return compiled.parameters({**compiled.fixed, **params} if compiled.fixed else params)

    @staticmethod
    def _converted(compiled: _Compiled, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value if convert is None else convert(value) for value, convert in zip(row, compiled.results))

    def _run(self, compiled: _Compiled, cursor_method: Callable[[str, Any], Any], parameters: Any) -> None:
        if self._pipeline is not None and not self._batching:
            self._end_pipeline()  # a statement after a held batch: the batch is sent first
        # A plain try costs a step less than a context manager around each of its statements.
        try:
            if self._begin is not False and self._begins():
                self._run_after_begin(cursor_method, compiled.sql, parameters)
            else:
                cursor_method(compiled.sql, parameters)
        except self._driver_error as exc:
            raise self._as_ours(exc, compiled.sql) from exc

    def _end_pipeline(self) -> None:
        """Send the pipeline's statements and take their answers (one round trip); its errors are raised."""
        pipeline, self._pipeline = self._pipeline, None
        try:
            pipeline.__exit__(None, None, None)
        except self._driver_error as exc:
            raise self._as_ours(exc, None) from exc
        finally:
            self._checked = False

    def _leave_pipeline(self) -> None:
        """End the pipeline after a failure, which is the error to raise: the pipeline's own are dropped (the
        transaction is rolled back when the unit of work ends)."""
        pipeline, self._pipeline, self._checked = self._pipeline, None, False
        if pipeline is not None:
            try:
                pipeline.__exit__(None, None, None)
            except self._driver_error:
                pass

    def _as_ours(self, error: Exception, statement: Optional[str]) -> Exception:
        """A driver error as SQLAlchemy's, or ``StaleRow`` for a failed check of ``execute_one``."""
        if self._checked and getattr(error, "sqlstate", None) == _DIVISION_BY_ZERO:
            return StaleRow("a row changed since it was read; nothing was saved")
        return as_sqlalchemy_error(self._dialect, statement, error)

    def _begins(self) -> bool:
        """Whether this statement must begin the transaction: the first, on a connection left to begin here."""
        if self._begin is None:
            connection = self._connection
            self._begin = bool(connection.autocommit
                               and connection.info.transaction_status == connection.info.transaction_status.IDLE)
        return self._begin

    def _run_after_begin(self, cursor_method: Callable[[str, Any], Any], sql: str, parameters: Any) -> None:
        """Send BEGIN and the statement together: in the open batch, or in a pipeline of their own whose answers
        (the statement's rows, if any) are on the cursor once it ends."""
        self._begin = False
        if self._batching:
            self._cursor.execute("BEGIN")
            cursor_method(sql, parameters)
            return
        with self._connection.pipeline():
            self._cursor.execute("BEGIN")
            cursor_method(sql, parameters)


@contextmanager
def driver_errors_as_sqlalchemys(dialect: Dialect, statement: Optional[str]) -> Iterator[None]:
    """Raise the driver's errors inside the block as SQLAlchemy's own kinds, as if SQLAlchemy had run ``statement``."""
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        raise as_sqlalchemy_error(dialect, statement, exc) from exc


def as_sqlalchemy_error(dialect: Dialect, statement: Optional[str], error: Exception) -> DBAPIError:
    """The driver's ``error`` as the kind of ``DBAPIError`` SQLAlchemy raises for it."""
    return DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error, dialect=dialect)
