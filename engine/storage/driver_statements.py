"""Core statements compiled once per database and run on the driver's own cursor.

A step of a case runs about ten statements. Through SQLAlchemy's execution
layer each costs some 60 µs of Python on this machine; on the driver's cursor
about 5 µs. The statements are still written with SQLAlchemy Core, and the SQL,
the parameter order and each column type's conversion come from SQLAlchemy's
compiler for the database at hand; only the per-call bookkeeping is skipped.
Driver errors are raised as SQLAlchemy's own (``sqlalchemy.exc.DBAPIError``
and its kinds), as if SQLAlchemy had run the statement.

On PostgreSQL each round trip to the server costs a step more than its Python
does. There the statements go through engine.storage.pg_pipeline: prepared
once per connection, and sent together in one write; those run inside
``batch()`` wait for its end, and their answers come back together. On a
connection outside any transaction (engine.storage.db leaves a step's to begin
here), the first statement sends ``BEGIN`` in the same write; and when these
statements are all its transaction runs (``holds_batches``), a batch's
statements wait for its ``COMMIT`` and go with it, in one round trip. An
update that must change one row (``execute_one``) is then checked by the
server, as the client would see its row count only after the commit: the
statement divides by the number of rows it changed, so that a row changed
since it was read fails the batch with ``division_by_zero``, the server skips
the rest of it, COMMIT included, and ``StaleRow`` is raised.
A reader's statements (``begins=False``) send no ``BEGIN`` at all: each runs
on its own, seeing what was committed when it runs, as each statement of a READ
COMMITTED transaction does, and the reader leaves no transaction to roll back,
a round trip less.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence

from sqlalchemy import Table, bindparam, insert, literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ColumnElement, Executable, UpdateBase

if TYPE_CHECKING:  # psycopg is imported where PostgreSQL is used
    from engine.storage.pg_pipeline import Answer, PgStatement

Convert = Optional[Callable[[Any], Any]]
ROWS_AT_ONCE = 32  # the most rows ``execute_many`` inserts in one statement on PostgreSQL (``insert_rows``)
_DIVISION_BY_ZERO = "22012"  # PostgreSQL's SQLSTATE for it: how an update checked by the server fails


class StaleRow(Exception):
    """An update that had to change one row found none: the row changed since it was read; nothing was saved."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: Callable[[Mapping[str, Any]], Any]  # the driver's parameters from named values (_parameter_builder)
    fixed: dict[str, Any]  # values written into the statement itself (``values(status="open")``)
    results: tuple[Convert, ...]  # conversion of each returned column
    pg: Optional[PgStatement]  # on PostgreSQL: the numbered form, prepared by name
    writes: bool  # an insert, update or delete


class Prepared:
    """One Core statement, compiled on first use for each dialect.

    ``columns`` names the columns an INSERT is given, in the order of the rows'
    keys; statements with expanding ``IN`` parameters are not supported. On
    PostgreSQL a statement is prepared once per connection, and the server may
    then plan it once for any values; one whose best plan depends on its values
    (a page of a queue, whose filters select few rows or most) is
    ``planned_each_time``.
    """

    def __init__(self, statement: Executable, columns: Sequence[str] = (), *, planned_each_time: bool = False,
                 rows_at_once: Optional[Callable[[int], Executable]] = None) -> None:
        self.statement = statement
        self.columns = list(columns)
        self.planned_each_time = planned_each_time
        self._rows_at_once = rows_at_once  # the same insert of a number of rows in one statement (``insert_rows``)
        self._of_rows: dict[int, Prepared] = {}
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()
        self._one_row: Optional[Prepared] = None
        self.writes = isinstance(statement, UpdateBase)  # an insert, update or delete

    @property
    def inserts_rows_at_once(self) -> bool:
        """Whether this is an ``insert_rows``, which ``of_rows`` gives for several rows at once."""
        return self._rows_at_once is not None

    def of_rows(self, count: int) -> "Prepared":
        """This insert of ``count`` rows in one statement, whose parameters are each column's name and the row's
        number (``task_id_0``, ``task_id_1``, …)."""
        found = self._of_rows.get(count)
        if found is None:
            assert self._rows_at_once is not None
            with self._lock:
                found = self._of_rows.setdefault(count, Prepared(self._rows_at_once(count)))
        return found

    def one_row(self) -> "Prepared":
        """This update, failing with ``division_by_zero`` unless it changes one row (PostgreSQL; see the module)."""
        if self._one_row is None:
            assert isinstance(self.statement, UpdateBase)
            changed = self.statement.returning(literal_column("1")).cte("changed")
            self._one_row = Prepared(select(literal_column("1 / count(*)")).select_from(changed))
            self._one_row.writes = True
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
        pg: Optional[PgStatement] = None
        positional = bool(compiled.positional)
        names = compiled.positiontup if positional else list(compiled.binds)
        if dialect.name == "postgresql":
            from engine.storage.pg_pipeline import numbered

            pg = numbered(compiled.string, named=not self.planned_each_time)
            escaped = {shown: name for name, shown in (getattr(compiled, "escaped_bind_names", None) or {}).items()}
            names, positional = [escaped.get(name, name) for name in pg.parameter_names], True
        binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                      for name in names)
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in getattr(self.statement, "exported_columns", ()))
        return _Compiled(compiled.string, _parameter_builder(binds, positional), fixed, results, pg, self.writes)


def insert_rows(table: Table, columns: Sequence[str], **fixed: ColumnElement[Any]) -> Prepared:
    """An insert of rows giving ``columns`` (and ``fixed``, the same in every row). On PostgreSQL ``execute_many``
    sends up to ``ROWS_AT_ONCE`` rows as one statement (``VALUES (…), (…)``, prepared once for each number of
    rows): the server then starts one statement where it started one a row, and the rows keep their order."""

    def rows(count: int) -> Executable:
        return insert(table).values([{**{name: bindparam(f"{name}_{row}", type_=table.c[name].type)
                                          for name in columns}, **fixed} for row in range(count)])
    return Prepared(insert(table).values(**fixed) if fixed else insert(table), columns, rows_at_once=rows)


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
        self._pipeline: Any = None  # PostgreSQL's statements waiting to be sent (engine.storage.pg_pipeline)
        self._cursor: Any = None  # elsewhere, the driver's cursor they run on
        if dialect.name == "postgresql":
            from engine.storage.pg_pipeline import PgPipeline

            self._pipeline = PgPipeline(driver_connection)
        else:
            self._cursor = driver_connection.cursor()
        self._batching = False
        self._begins = begins and self._pipeline is not None  # see the module's docstring
        self._holds = holds_batches and self._pipeline is not None
        self._checked = False  # whether the statements waiting hold an update the server checks (execute_one)
        self.wrote = False  # whether an insert, update or delete has run (or waits to be sent)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Send the statements run inside together, on PostgreSQL; elsewhere they run one by one as always. A
        driver error of any of them is raised at the end of the block, or, when batches are held for the commit,
        by the commit or by the next statement after the block. A block left by an exception sends nothing."""
        if self._pipeline is None or self._batching:  # a batch inside a batch is part of it
            yield
            return
        self._batching = True
        try:
            yield
        except BaseException:
            self._batching = False
            self._discard()
            raise
        self._batching = False
        if not self._holds:
            self._send()

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
        if self._pipeline is None or not self._pipeline.pending:
            return False
        self._pipeline.command(b"COMMIT")
        self._send()
        return True

    def hand_over(self) -> None:
        """Send what a held batch holds, and hold no more: SQLAlchemy takes over the connection."""
        self._holds = False
        if self._pipeline is not None:
            self._send()

    def first_later(self, statement: Prepared, params: Mapping[str, Any]) -> Callable[[], Optional[tuple[Any, ...]]]:
        """Run a statement; returns a function that gives its first row (a RETURNING), converted, once its batch
        has been sent, so that the batch needs no answer half-way."""
        if not self._batching:
            row = self.first(statement, params)
            return lambda: row
        compiled = statement.compiled(self._dialect)
        answer = self._queue(compiled, params)

        def row() -> Optional[tuple[Any, ...]]:
            return self._converted(compiled, answer.rows[0]) if answer.rows else None
        return row

    def all_later(self, statement: Prepared, params: Mapping[str, Any]) -> Callable[[], list[tuple[Any, ...]]]:
        """Run a query; returns a function that gives its rows, converted. On PostgreSQL the query waits to go with
        the next statement that needs an answer, in its round trip; elsewhere it runs now."""
        compiled = statement.compiled(self._dialect)
        if self._pipeline is None:
            rows = self.all(statement, params)
            return lambda: rows
        answer = self._queue(compiled, params)

        def rows() -> list[tuple[Any, ...]]:
            if self._pipeline.pending:  # nothing has been sent since: send it now
                self._send()
            return [self._converted(compiled, row) for row in answer.rows]
        return rows

    def execute(self, statement: Prepared, params: Mapping[str, Any]) -> int:
        """Run a statement; returns how many rows it changed (-1, not known yet, inside a PostgreSQL batch)."""
        compiled = statement.compiled(self._dialect)
        if self._pipeline is None:
            self._run(compiled, self._cursor.execute, self._parameters(compiled, params))
            return int(self._cursor.rowcount)
        answer = self._queue(compiled, params, answered=not self._batching)
        if answer is None:
            return -1
        self._send()
        return answer.rowcount

    def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per row of parameters (on PostgreSQL, an ``insert_rows`` once for every
        ``ROWS_AT_ONCE`` rows)."""
        compiled = statement.compiled(self._dialect)
        if self._pipeline is None:
            self._run(compiled, self._cursor.executemany, [self._parameters(compiled, row) for row in rows])
            return
        if statement.inserts_rows_at_once and len(rows) > 1:
            for first in range(0, len(rows), ROWS_AT_ONCE):
                chunk = rows[first:first + ROWS_AT_ONCE]
                values = {f"{name}_{number}": row[name]
                          for number, row in enumerate(chunk) for name in statement.columns}
                self._queue(statement.of_rows(len(chunk)).compiled(self._dialect), values, answered=False)
        else:
            for row in rows:
                self._queue(compiled, row, answered=False)
        if not self._batching:
            self._send()

    def first(self, statement: Prepared, params: Mapping[str, Any]) -> Optional[tuple[Any, ...]]:
        """The first row a query (or a RETURNING) gives, converted, or None."""
        rows = self._rows(statement, params)
        return self._converted(statement.compiled(self._dialect), rows[0]) if rows else None

    def all(self, statement: Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row a query gives, converted."""
        compiled = statement.compiled(self._dialect)
        return [self._converted(compiled, row) for row in self._rows(statement, params)]

    def close(self) -> None:
        """Release the cursor (the connection stays with SQLAlchemy); statements still held are not sent, and the
        rollback that follows ends their transaction."""
        if self._pipeline is not None:
            self._discard()
        else:
            self._cursor.close()

    def _rows(self, statement: Prepared, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """A query's rows as the driver gives them; on PostgreSQL sent at once, with whatever waits to be sent."""
        compiled = statement.compiled(self._dialect)
        if self._pipeline is None:
            self._run(compiled, self._cursor.execute, self._parameters(compiled, params))
            return self._cursor.fetchall()
        answer = self._queue(compiled, params)
        self._send()
        return answer.rows

    @staticmethod
    def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        return compiled.parameters({**compiled.fixed, **params} if compiled.fixed else params)

    @staticmethod
    def _converted(compiled: _Compiled, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value if convert is None else convert(value) for value, convert in zip(row, compiled.results))

    def _run(self, compiled: _Compiled, cursor_method: Callable[[str, Any], Any], parameters: Any) -> None:
        """Run a statement on the driver's cursor (not PostgreSQL's)."""
        self.wrote |= compiled.writes
        try:
            cursor_method(compiled.sql, parameters)
        except self._driver_error as exc:
            raise self._as_ours(exc, compiled.sql) from exc

    def _queue(self, compiled: _Compiled, params: Mapping[str, Any], *, answered: bool = True) -> Any:
        """Queue a PostgreSQL statement, after BEGIN when the connection is outside any transaction (what waits to
        be sent began with a BEGIN, or was queued inside a transaction)."""
        if self._begins and not self._pipeline.pending and self._idle():
            self._pipeline.command(b"BEGIN")
        self.wrote |= compiled.writes
        try:
            return self._pipeline.queue(compiled.pg, self._parameters(compiled, params), answered=answered)
        except self._driver_error as exc:
            raise self._as_ours(exc, compiled.sql) from exc

    def _send(self) -> None:
        """Send what waits (one round trip); the first error the server gave is raised."""
        try:
            self._pipeline.send()
        except self._driver_error as exc:
            raise self._as_ours(exc, None) from exc
        finally:
            self._checked = False

    def _discard(self) -> None:
        """Forget what waits to be sent (a BEGIN among it is queued again with the next statement)."""
        self._pipeline.discard()
        self._checked = False

    def _as_ours(self, error: Exception, statement: Optional[str]) -> Exception:
        """A driver error as SQLAlchemy's, or ``StaleRow`` for a failed check of ``execute_one``."""
        if self._checked and getattr(error, "sqlstate", None) == _DIVISION_BY_ZERO:
            return StaleRow("a row changed since it was read; nothing was saved")
        return as_sqlalchemy_error(self._dialect, statement, error)

    def _idle(self) -> bool:
        """Whether the connection is outside any transaction: psycopg would begin one before a statement of its
        own, and statements sent here begin it themselves."""
        status = self._connection.info.transaction_status
        return bool(status == status.IDLE)


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
