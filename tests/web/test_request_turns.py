"""waitress's threads serving requests in turn (web.request_turns), on a real waitress server over HTTP: a request
waits for the one ahead of it, goes on beside one that takes long, and a request that fails ends its turn."""

from __future__ import annotations

import http.client
import threading
from typing import Any, Callable, Iterable, Iterator

import pytest
from waitress import create_server

from web.request_turns import TurnTakingDispatcher, Turns

LONG = 60.0  # a patience no test waits out
SETTLE = 0.3  # long enough for a request the server let in to be answered


class HeldApp:
    """A WSGI app: ``/hold`` says it is in and stays until let go, ``/fail`` raises, anything else answers."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.go = threading.Event()
        self.log: list[str] = []  # each request's coming in and going out, in the order the app saw them

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/fail":
            raise RuntimeError("the app broke")
        self.log.append(f"{path} in")
        if path == "/hold":
            self.holding.set()
            assert self.go.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        self.log.append(f"{path} out")
        return [path.encode()]


@pytest.fixture
def serve() -> Iterator[Callable[[float], tuple[HeldApp, int]]]:
    """Start a waitress server with 3 threads taking turns at the given patience; (its app, its port)."""
    servers = []

    def start(patience: float) -> tuple[HeldApp, int]:
        app = HeldApp()
        server = create_server(app, host="127.0.0.1", port=0, threads=3,
                               _dispatcher=TurnTakingDispatcher(3, Turns(patience)))
        loop = threading.Thread(target=server.run, daemon=True)
        loop.start()
        servers.append((server, app, loop))
        return app, server.effective_port

    yield start
    for server, app, loop in servers:
        app.go.set()
        server.trigger.pull_trigger(server.close)  # closed in its own thread, whose loop then ends
        loop.join(10)
        server.task_dispatcher.shutdown()


def get(port: int, path: str, answers: list[tuple[str, int]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", path)
    answers.append((path, connection.getresponse().status))
    connection.close()


def in_thread(port: int, path: str, answers: list[tuple[str, int]]) -> threading.Thread:
    thread = threading.Thread(target=get, args=(port, path, answers), daemon=True)
    thread.start()
    return thread


def test_a_request_waits_for_the_one_ahead_of_it(serve):
    app, port = serve(LONG)
    answers: list[tuple[str, int]] = []
    held = in_thread(port, "/hold", answers)
    assert app.holding.wait(10)
    waiting = in_thread(port, "/quick", answers)
    waiting.join(SETTLE)
    assert answers == []  # a thread was free, but it is not the quick request's turn
    app.go.set()
    held.join(10)
    waiting.join(10)
    assert sorted(answers) == [("/hold", 200), ("/quick", 200)]
    assert app.log == ["/hold in", "/hold out", "/quick in", "/quick out"]


def test_requests_go_on_beside_one_that_takes_long(serve):
    app, port = serve(0.05)
    answers: list[tuple[str, int]] = []
    held = in_thread(port, "/hold", answers)
    assert app.holding.wait(10)
    for path in ("/first", "/second"):
        in_thread(port, path, answers).join(10)
    assert answers == [("/first", 200), ("/second", 200)] and held.is_alive()
    app.go.set()
    held.join(10)
    assert answers[-1] == ("/hold", 200)


def test_a_request_that_fails_ends_its_turn(serve):
    _app, port = serve(LONG)
    answers: list[tuple[str, int]] = []
    get(port, "/fail", answers)
    in_thread(port, "/after", answers).join(10)
    assert answers == [("/fail", 500), ("/after", 200)]
