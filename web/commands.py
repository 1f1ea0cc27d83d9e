"""``valueflow serve``: added to the engine's command through the "valueflow.commands" entry point."""

from __future__ import annotations

import argparse
import sys
from typing import Callable


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("serve", run_serve, "run the web app (inbox, task pages, cases) on this machine")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")


def run_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from engine import casefile, service
    from web import create_app, db

    app = create_app()
    with app.app_context():
        if not casefile.schema_ready(db.uow()):
            print("valueflow: the database has no Valueflow schema yet; run `valueflow init` first", file=sys.stderr)
            return 2
        compiled = service.compile_running_definitions(db.uow())  # no request waits for a BPMN to be parsed
    print(f"{compiled} process version(s) with running cases compiled", flush=True)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    print(f"Valueflow is running on http://{shown}:{args.port}/ — sign in with a user printed by "
          "`valueflow init` (Ctrl+C stops it)", flush=True)
    try:
        run_simple(args.host, args.port, app, threaded=True)
    except OSError as exc:
        print(f"valueflow: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
