"""Requests take turns in a process whose database runs inside it (SQLite): one runs at a time, unless it runs long.

On a SQLite file nearly all of a request's work is this process's own, and one interpreter runs one thread's
Python at a time. Requests running side by side do not finish sooner; they only hand the interpreter back and
forth at every database call (each SQLite call lets it go, and another thread takes it), which costs each
request the others' cache misses and thread switches: with 3 threads and 4 clients a completion cycle cost the
server half as much CPU again as with one (bench/README.md). Here a request waits for its turn before it starts,
asleep, so it takes no part in that; it runs once the request before it has finished. The price: SQLite's own
code in one request no longer runs beside another request's Python on a second CPU, which with tens of
thousands of open tasks, where a request spends more of its time there, cost 6 % of the completions.

A request that runs long (a dashboard on a large log, an export) does not hold the others up: once it has held
the turn for ``long_after`` seconds, the next request takes the turn, and the long one finishes beside it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Iterator, Optional

LONG_AFTER_SECONDS = 0.05


class Turns:
    """Who runs now among the requests of one process, in the order they came; thread-safe."""

    def __init__(self, long_after: float = LONG_AFTER_SECONDS) -> None:
        self.long_after = long_after
        self._changed = threading.Condition()
        self._holder: Optional[int] = None
        self._held_since = 0.0
        self._next_number = 0  # the number the next request to come draws
        self._next_up = 0  # the number of the request whose turn is next
        self._gone: set[int] = set()  # numbers of requests that stopped waiting (interrupted) before their turn

    def take(self) -> int:
        """Wait for the turn, after the requests that came before, and take it; the number to give it back with.
        A holder that has had it for ``long_after`` seconds loses it to the request next in line."""
        with self._changed:
            number = self._next_number
            self._next_number += 1
            try:
                while (wait := self._wait_before(number)) != 0:
                    self._changed.wait(wait)
            except BaseException:  # an interrupted wait gives its place in line up
                self._gone.add(number)
                self._pass_gone()
                self._changed.notify_all()
                raise
            self._holder, self._held_since = number, time.monotonic()
            self._next_up = number + 1
            self._pass_gone()
            self._changed.notify_all()
        return number

    def give_back(self, number: int) -> None:
        """End the turn taken as ``number`` (nothing, if the request next in line took it over meanwhile)."""
        with self._changed:
            if self._holder == number:
                self._holder = None
                self._changed.notify_all()

    def _wait_before(self, number: int) -> Optional[float]:
        """0 when request ``number`` may start; else how long it may wait before it looks again (None: until told)."""
        if number != self._next_up:
            return None
        if self._holder is None:
            return 0
        return max(0.0, self.long_after - (time.monotonic() - self._held_since))

    def _pass_gone(self) -> None:
        while self._next_up in self._gone:
            self._gone.remove(self._next_up)
            self._next_up += 1


class TakingTurns:
    """WSGI middleware: each request runs in its turn (see the module) until the server has sent its answer; a file
    the server sends by itself (``wsgi.file_wrapper``) is sent after the turn."""

    def __init__(self, app: Callable[..., Iterable[bytes]], turns: Turns) -> None:
        self.app = app
        self.turns = turns

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        number = self.turns.take()
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self.turns.give_back(number)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(answer, file_wrapper):
            self.turns.give_back(number)
            return answer
        sized = _SizedAnswer if hasattr(answer, "__len__") else _Answer  # the server may read a body's length
        return sized(answer, lambda: self.turns.give_back(number))


class _Answer:
    """A WSGI answer that gives its request's turn back when the server closes it, once it has been sent."""

    def __init__(self, body: Iterable[bytes], closed: Callable[[], None]) -> None:
        self._body = body
        self._closed = closed

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._closed()


class _SizedAnswer(_Answer):
    def __len__(self) -> int:
        return len(self._body)  # type: ignore[arg-type]


def install(app: Any) -> None:
    """Make the requests of ``app`` (a Flask app about to be served) take turns when its database runs in this
    process."""
    if _in_process(app):
        app.wsgi_app = TakingTurns(app.wsgi_app, Turns())


def serving(app: Any, threads: int) -> str:
    """How a web process of ``app`` on ``threads`` threads serves requests, in a few words for its start message."""
    if _in_process(app):
        return f"requests taking turns on {threads} thread{'s' if threads != 1 else ''}"
    return f"{threads} request{'s' if threads != 1 else ''} at once"


def _in_process(app: Any) -> bool:
    from web import db

    return bool(app.extensions[db.KEY].in_process)
