"""``valueflow serve``: the web app and, beside it, the timer worker; added to the engine's command through
the "valueflow.commands" entry point."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Callable, Optional

from engine.cli import port_number

if TYPE_CHECKING:
    from flask import Flask


SWITCH_INTERVAL_SECONDS = 0.0005
YOUNG_OBJECTS = 10_000  # new objects between two collections of the youngest generation (see settle_heap)


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("serve", run_serve, "run the web app (inbox, task pages, cases) on this machine")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    # (the system would take a larger number modulo 65536: another port than said)
    p.add_argument("--port", type=port_number, default=5000,
                   help="port to listen on (default 5000)")
    p.add_argument("--threads", type=int,
                   help="threads serving requests, per process (default 8 on PostgreSQL; 2 on a SQLite file, whose "
                        "requests take turns)")
    p.add_argument("--processes", type=int, default=1,
                   help="web processes sharing the database (default 1, on waitress; more run under gunicorn)")
    p.add_argument("--no-worker", dest="worker", action="store_false",
                   help="leave timers and breaches to `valueflow worker` processes run apart")
    p.add_argument("--worker-interval", type=float, default=5.0, metavar="SECONDS",
                   help="seconds between the in-process worker's rounds (default 5)")


def run_serve(args: argparse.Namespace) -> int:
    """Serve the app with waitress, a production WSGI server (Werkzeug's own is for development only), and
    unless ``--no-worker``, the timer and breach worker on a thread beside it, on the app's clock.
    With ``--processes`` above 1, gunicorn runs that many web processes instead (web.prefork)."""
    if (args.threads is not None and args.threads < 1) or args.processes < 1:
        print("valueflow: --threads and --processes must be at least 1", file=sys.stderr)
        return 2
    if not args.worker_interval > 0:
        print("valueflow: --worker-interval must be a number of seconds above 0", file=sys.stderr)
        return 2
    if args.processes > 1:
        from web import prefork
        return prefork.serve(args)
    return _serve_one_process(args)


def ready_app() -> Optional["Flask"]:
    """The app, once its database is known to hold the Valueflow schema this version runs (else None, said on
    stderr: every request would fail on a schema older or newer than the code)."""
    from engine.storage.health import readiness
    from engine.work import case_pages
    from web import create_app, db

    app = create_app()
    with app.app_context():
        problem = None
        if not case_pages.schema_ready(db.uow()):
            problem = "the database has no Valueflow schema yet; run `valueflow init` first"
        elif not (state := readiness(db.factory().engine)).schema_current:
            problem = f"the web app cannot start: {state.problem}"
        if problem is not None:
            print(f"valueflow: {problem}", file=sys.stderr)
            app.extensions[db.KEY].dispose()
            return None
    return app


def prepare_to_serve(app: "Flask") -> int:
    """Make ``app`` ready to answer requests in this process: the processes of running cases compiled (no request
    waits for a BPMN to be parsed), the heap settled, on a SQLite file its requests taking turns (web.turns), and
    its access log written to stdout (web.access); how many process versions were compiled."""
    from engine import service
    from web import access, db, turns

    with app.app_context():
        compiled = service.compile_running_definitions(db.uow())
    settle_heap()
    turns.install(app)
    access.log_to_stdout(app)
    return compiled


def settle_heap() -> None:
    """Set the garbage collector for serving requests.

    Collect what starting left behind, then leave everything alive now (modules, the app, the compiled
    definitions: all kept for the process's life) out of every later scan. And collect the youngest objects
    after ``YOUNG_OBJECTS`` new ones rather than Python's 700: a request makes thousands of objects (restoring
    a case alone), which reference counting frees as it ends. Collections every 700 fall mid-request, keep the
    objects of the requests under way as old ones, and their number sets off full collections that walk every
    cached case with the interpreter held: up to 0.23 s each, 15 in 90 s at 4 clients, against 1 at 10,000.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def address(args: argparse.Namespace) -> str:
    """The address to open in a browser on this machine."""
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    return f"http://{shown}:{args.port}/"


def _serve_one_process(args: argparse.Namespace) -> int:
    from waitress import create_server

    from engine.worker import BackgroundWorker
    from web import db, turns

    # A request's thread gives up the GIL at each database call and waits to take it back; while another
    # thread renders a page, each wait lasted up to the interval (5 ms by default), dozens of times a request.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    app = ready_app()
    if app is None:
        return 2
    compiled = prepare_to_serve(app)
    print(f"{compiled} process version(s) with running cases compiled", flush=True)
    threads = db.threads_per_process(app, args.threads)
    try:
        # waitress drops X-Forwarded-* unless told a proxy to trust; the app trusts VALUEFLOW_PROXY_HOPS of them
        server = create_server(app, host=args.host, port=args.port, threads=threads,
                               clear_untrusted_proxy_headers=not app.config["PROXY_HOPS"])
    except OSError as exc:
        print(f"valueflow: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"Valueflow is running on {address(args)}, {turns.serving(app, threads)} — sign in with a user printed by "
          "`valueflow init` (Ctrl+C stops it)", flush=True)
    worker = BackgroundWorker(app.extensions[db.KEY], args.worker_interval, _say, _complain) if args.worker else None
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        if worker is not None:
            worker.start()
            print(f"Timers and breached targets are handled in this process, every {args.worker_interval:g} s "
                  "(--no-worker leaves them to `valueflow worker`)", flush=True)
        else:
            print("Timers and breached targets are left to `valueflow worker` (--no-worker)", flush=True)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if worker is not None and not worker.stop():
            print("valueflow: the worker did not finish its round in time; stopping without it", file=sys.stderr)
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _complain(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stop_like_ctrl_c(_signal: int, _frame: Optional[FrameType]) -> None:
    """A service manager's stop (SIGTERM) ends the server as Ctrl+C does, so the exit tidies the database files."""
    raise KeyboardInterrupt
