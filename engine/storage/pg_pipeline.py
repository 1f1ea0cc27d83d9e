"""Statements sent to PostgreSQL together, in one write, on libpq's pipeline mode.

psycopg's pipeline mode hands each statement to the socket as it is queued:
a system call, and a wake-up of the server, per statement (eighteen writes for
a loan's completion). And psycopg forgets what it prepared at every rollback,
deallocating it on the server in a round trip of its own. Here statements
wait in libpq's output buffer, through psycopg's low-level connection
(``psycopg.pq``), until they are sent in one write with the pipeline's sync;
their answers are read back in one go. Each statement is prepared on the
server under a name of its own the first time a connection runs it, and stays
prepared for the connection's life: the engine turns psycopg's own preparing
off (engine.storage.db), so nothing deallocates it. Parameters are dumped,
and answers loaded, by psycopg's own adapters, as its cursors do; errors are
psycopg's own.
"""

from __future__ import annotations

import itertools
import re
import select
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence, Union

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_NAMES = itertools.count()
# The statements prepared on each connection, by name; gone with the connection.
_PREPARED: "weakref.WeakKeyDictionary[Any, set[bytes]]" = weakref.WeakKeyDictionary()
_PREPARED_LOCK = threading.Lock()
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


@dataclass(frozen=True)
class PgStatement:
    """A statement in PostgreSQL's numbered form, with the name it is prepared under and its parameters' order."""

    name: bytes  # empty for a statement planned each time it runs
    sql: bytes
    parameter_names: tuple[str, ...]


def numbered(sql: str, *, named: bool = True) -> PgStatement:
    """``sql`` with psycopg's ``%(name)s`` placeholders as ``$1``, ``$2``, … (a name used twice keeps its number);
    unless ``named``, it is not prepared but parsed and planned for its values each time it runs."""
    order: dict[str, int] = {}

    def number(found: re.Match[str]) -> str:
        if found.group(0) == "%%":
            return "%"
        return f"${order.setdefault(found.group(1), len(order) + 1)}"

    text = _PLACEHOLDER.sub(number, sql)
    return PgStatement(f"vf_{next(_NAMES)}".encode() if named else b"", text.encode(), tuple(order))


@dataclass
class Answer:
    """What the server answered a queued statement, once the pipeline is sent: its rows and its row count."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int = -1


@dataclass
class _Queued:
    statement: Optional[PgStatement]  # None for a plain command (BEGIN, COMMIT)
    values: Any  # the dumped parameters, or the command's text
    answer: Optional[Answer]


class PgPipeline:
    """Statements of one psycopg connection queued, then sent and answered together (see the module)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._pgconn = connection.pgconn
        with _PREPARED_LOCK:
            self._prepared = _PREPARED.setdefault(self._pgconn, set())
        self._adapters = Transformer.from_context(connection)
        self._queue: list[_Queued] = []

    @property
    def pending(self) -> bool:
        """Whether statements wait to be sent."""
        return bool(self._queue)

    def command(self, text: bytes) -> None:
        """Queue a statement without parameters or answer, such as BEGIN or COMMIT."""
        self._queue.append(_Queued(None, text, None))

    def queue(self, statement: PgStatement, parameters: Sequence[Any], *, answered: bool = False) -> Optional[Answer]:
        """Queue a statement with its parameters (in ``parameter_names`` order); with ``answered``, the ``Answer``
        that holds its rows and row count once sent. A value psycopg cannot dump raises its error here."""
        values = self._adapters.dump_sequence(parameters, [PyFormat.TEXT] * len(parameters)) if parameters else None
        answer = Answer() if answered else None
        self._queue.append(_Queued(statement, values, answer))
        return answer

    def discard(self) -> None:
        """Forget the queued statements unsent."""
        self._queue = []

    def send(self) -> None:
        """Send the queued statements in one write and read their answers. The first statement the server refuses
        raises its error, once every answer is in; the statements after it in the pipeline were not run.
        Anything else that stops the exchange half-way (a lost connection, an interrupt) closes the connection,
        whose state is then unknown."""
        queued, self._queue = self._queue, []
        if not queued:
            return
        pgconn = self._pgconn
        try:
            pgconn.enter_pipeline_mode()
            requests = self._queue_all(queued)
            pgconn.pipeline_sync()
            failure = self._read_answers(requests)
            pgconn.exit_pipeline_mode()
        except BaseException:
            self._connection.close()
            raise
        if failure is not None:
            raise failure

    def _queue_all(self, queued: list[_Queued]) -> list[Union[_Queued, bytes]]:
        """Hand every statement to libpq, preparing those new to the connection first; the requests in order,
        each a queued statement or the name of a statement being prepared."""
        pgconn = self._pgconn
        requests: list[Union[_Queued, bytes]] = []
        preparing: set[bytes] = set()
        for item in queued:
            statement = item.statement
            if statement is None:
                pgconn.send_query_params(item.values, None)
            elif not statement.name:
                pgconn.send_query_params(statement.sql, item.values)
            else:
                if statement.name not in self._prepared and statement.name not in preparing:
                    pgconn.send_prepare(statement.name, statement.sql)
                    preparing.add(statement.name)
                    requests.append(statement.name)
                pgconn.send_query_prepared(statement.name, item.values)
            requests.append(item)
        return requests

    def _read_answers(self, requests: list[Union[_Queued, bytes]]) -> Optional[Exception]:
        """Send what libpq holds and take each request's answer, then the sync's; the first error the server gave."""
        failure: Optional[Exception] = None
        results = self._results()
        for request in requests:
            result = next(results)
            status = result.status
            if status == pq.ExecStatus.FATAL_ERROR and failure is None:
                failure = errors.error_from_result(result, encoding=self._connection.info.encoding)
            if status not in _OK:
                continue
            if isinstance(request, bytes):
                self._prepared.add(request)
            elif request.answer is not None:
                request.answer.rowcount = result.command_tuples if result.command_tuples is not None else -1
                if status == pq.ExecStatus.TUPLES_OK and result.ntuples:
                    self._adapters.set_pgresult(result)
                    request.answer.rows = self._adapters.load_rows(0, result.ntuples, tuple)
        sync = next(results)
        assert sync.status == pq.ExecStatus.PIPELINE_SYNC, sync.status
        return failure

    def _results(self) -> Iterator[Any]:
        """The server's answers, one per request and then the sync's, as they arrive."""
        pgconn = self._pgconn
        flushing = True
        while True:
            if flushing:
                flushing = pgconn.flush() != 0  # libpq sends what the socket takes
            while not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:  # the end of one request's answers
                    continue
                yield result
                if result.status == pq.ExecStatus.PIPELINE_SYNC:
                    return
            _wait(pgconn.socket, writing=flushing)
            pgconn.consume_input()


def _wait(socket: int, *, writing: bool) -> None:
    """Block until the server has answered something (or, while sending, until the socket takes more)."""
    if not hasattr(select, "poll"):  # Windows
        select.select([socket], [socket] if writing else [], [])
        return
    poller = select.poll()  # unlike select(), any descriptor number
    poller.register(socket, select.POLLIN | (select.POLLOUT if writing else 0))
    poller.poll()
