"""Requests of a web process on SQLite take turns, one at a time, unless one runs long (web.turns)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, Iterable

import pytest
from flask import Flask

from web import create_app, db, turns
from web.turns import TakingTurns, Turns

WAIT = 5.0  # seconds a test waits for something that should happen at once


class Recorder:
    """A WSGI app that notes when each request (named by its path) starts and ends, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.hold: dict[str, threading.Event] = {}  # a request named here runs until its event is set
        self.started_event: dict[str, threading.Event] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        name = environ["PATH_INFO"]
        with self.lock:
            self.started.append(name)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started_event.setdefault(name, threading.Event()).set()
        if name in self.hold:
            assert self.hold[name].wait(WAIT * 4)
        else:
            time.sleep(0.01)
        with self.lock:
            self.running -= 1
            self.ended.append(name)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]

    def has_started(self, name: str, within: float = WAIT) -> bool:
        return self.started_event.setdefault(name, threading.Event()).wait(within)


def request(app: Callable[..., Iterable[bytes]], name: str, answers: dict[str, bytes]) -> threading.Thread:
    """Send ``name`` to ``app`` on a thread of its own, as a server does (reading and closing its answer)."""

    def run() -> None:
        answer = app({"PATH_INFO": name}, lambda status, headers: None)
        try:
            answers[name] = b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_requests_run_one_at_a_time_in_the_order_they_came():
    recorder = Recorder()
    recorder.hold["/first"] = threading.Event()
    taking = TakingTurns(recorder, Turns(long_after=60))
    arrived: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        arrived.append(environ["PATH_INFO"])
        return taking(environ, start_response)

    answers: dict[str, bytes] = {}
    threads = [request(app, "/first", answers)]
    assert recorder.has_started("/first")
    for name in ("/second", "/third", "/fourth"):
        threads.append(request(app, name, answers))
        time.sleep(0.1)  # each arrives after the one before has queued
    assert recorder.started == ["/first"], "the others waited for the first one's turn to end"
    recorder.hold["/first"].set()
    for thread in threads:
        thread.join(WAIT)
    assert recorder.started == arrived and sorted(arrived) == ["/first", "/fourth", "/second", "/third"]
    assert recorder.ended == recorder.started
    assert recorder.most_at_once == 1
    assert answers == {name: name.encode() for name in arrived}


def test_a_request_that_runs_long_lets_the_next_one_start_beside_it_and_only_that_one():
    long_after = 0.5
    recorder = Recorder()
    recorder.hold["/export"] = threading.Event()
    recorder.hold["/inbox"] = threading.Event()
    app = TakingTurns(recorder, Turns(long_after=long_after))
    answers: dict[str, bytes] = {}
    export = request(app, "/export", answers)
    assert recorder.has_started("/export")
    began = time.monotonic()
    inbox = request(app, "/inbox", answers)
    assert recorder.has_started("/inbox"), "the long request held the next one up"
    assert time.monotonic() - began >= long_after * 0.9, "the next one started before the first had run long"
    # the turn is the second request's now: a third waits for it, not for the long one
    task = request(app, "/task", answers)
    assert not recorder.has_started("/task", within=0.05)
    recorder.hold["/export"].set()  # the long one ending does not end the turn it lost
    export.join(WAIT)
    assert not recorder.has_started("/task", within=0.05)
    recorder.hold["/inbox"].set()
    for thread in (inbox, task):
        thread.join(WAIT)
    assert recorder.started == ["/export", "/inbox", "/task"]
    assert recorder.most_at_once == 2
    assert set(answers) == {"/export", "/inbox", "/task"}


def test_a_request_that_fails_gives_its_turn_back():
    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise RuntimeError("the view failed")

    taking = Turns(long_after=60)
    with pytest.raises(RuntimeError):
        TakingTurns(failing, taking)({"PATH_INFO": "/"}, lambda status, headers: None)
    recorder = Recorder()
    answers: dict[str, bytes] = {}
    request(TakingTurns(recorder, taking), "/next", answers).join(WAIT)
    assert answers == {"/next": b"/next"}


def test_the_turn_lasts_until_the_server_closes_the_answer():
    taking = Turns(long_after=60)
    answer = TakingTurns(Recorder(), taking)({"PATH_INFO": "/page"}, lambda status, headers: None)
    assert b"".join(answer) == b"/page"
    recorder = Recorder()
    answers: dict[str, bytes] = {}
    waiting = request(TakingTurns(recorder, taking), "/next", answers)
    assert not recorder.has_started("/next", within=0.05), "the next request started while the answer was sent"
    answer.close()  # type: ignore[attr-defined]
    waiting.join(WAIT)
    assert answers == {"/next": b"/next"}


def test_an_answer_keeps_the_length_a_server_may_read():
    def listed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"one part"]

    taking = Turns(long_after=60)
    answer = TakingTurns(listed, taking)({"PATH_INFO": "/"}, lambda status, headers: None)
    assert len(answer) == 1 and list(answer) == [b"one part"]  # type: ignore[arg-type]
    answer.close()  # type: ignore[attr-defined]

    def streamed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return (part for part in (b"a ", b"stream"))

    unsized = TakingTurns(streamed, taking)({"PATH_INFO": "/export"}, lambda status, headers: None)
    assert not hasattr(unsized, "__len__") and b"".join(unsized) == b"a stream"
    unsized.close()  # type: ignore[attr-defined]


def test_a_file_the_server_sends_by_itself_is_sent_after_the_turn():
    class FileWrapper:  # as a WSGI server offers it (waitress: ReadOnlyFileBasedBuffer)
        def __init__(self, file: Any, block_size: int = 8192) -> None:
            self.file = file

    def static(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](object())

    taking = Turns(long_after=60)
    answer = TakingTurns(static, taking)({"PATH_INFO": "/static/app.js", "wsgi.file_wrapper": FileWrapper},
                                         lambda status, headers: None)
    assert isinstance(answer, FileWrapper), "the server gets its own wrapper back, to send the file its own way"
    answers: dict[str, bytes] = {}
    request(TakingTurns(Recorder(), taking), "/next", answers).join(WAIT)
    assert answers == {"/next": b"/next"}


def test_a_request_interrupted_while_it_waits_gives_its_place_up():
    taking = Turns(long_after=60)
    holder = taking.take()

    def interrupt(_signal: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            taking.take()  # waits behind the holder until interrupted
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    recorder = Recorder()
    answers: dict[str, bytes] = {}
    later = request(TakingTurns(recorder, taking), "/later", answers)
    taking.give_back(holder)
    later.join(WAIT)
    assert answers == {"/later": b"/later"}, "the request after the interrupted one was left waiting for it"


def test_an_app_on_sqlite_has_its_requests_take_turns(app: Flask):
    served = app.wsgi_app
    turns.install(app)
    assert isinstance(app.wsgi_app, TakingTurns) and app.wsgi_app.app == served
    assert turns.serving(app, 2) == "requests taking turns on 2 threads"
    assert turns.serving(app, 1) == "requests taking turns on 1 thread"
    response = app.test_client().get("/login")
    assert response.status_code == 200 and b"csrf_token" in response.data


def test_an_app_on_postgresql_serves_its_requests_at_once(postgres_url: str):
    # there a request also waits for the server's answers, which other requests' work fills
    app = create_app({"SECRET_KEY": "test", "DATABASE_URL": postgres_url})
    try:
        served = app.wsgi_app
        turns.install(app)
        assert app.wsgi_app == served
        assert turns.serving(app, 8) == "8 requests at once"
        assert turns.serving(app, 1) == "1 request at once"
    finally:
        app.extensions[db.KEY].dispose()
