"""``valueflow serve --processes N``: N web processes under gunicorn, sharing one database and one /metrics.

gunicorn forks the web processes from one master, which restarts any that
dies. Each process builds its own app (its own database engine and pool;
nothing opened in the master crosses a fork) and compiles the running cases'
processes before it answers. Prometheus metrics live in files of one folder,
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multi-process mode), which
``/metrics`` sums over every process; prometheus-client reads that variable
once, when it is imported, so a command started without it starts itself
again with it set. The folder is emptied at start and at exit.

The timer worker runs in none of the web processes: gunicorn starts, stops and
replaces them at will, and a thread in the master would be forked into each.
Unless ``--no-worker``, the master runs one ``valueflow worker`` process beside
them (web.worker_process), starts it again whenever it ends, and stops it at exit.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from web.worker_process import WorkerProcess

METRICS_FOLDER = "PROMETHEUS_MULTIPROC_DIR"


def serve(args: argparse.Namespace) -> int:
    """Run ``args.processes`` web processes (and the worker process) until SIGTERM or Ctrl+C."""
    folder = os.environ.get(METRICS_FOLDER)
    if not folder:
        os.environ[METRICS_FOLDER] = str(default_metrics_folder(args.port))
        os.execv(sys.executable, [sys.executable, "-m", "engine.cli", *_serve_arguments(args)])
    try:  # gunicorn would retry a port in use for five seconds, then say so in five lines
        socket.create_server((args.host, args.port), family=socket.AF_INET6 if ":" in args.host
                             else socket.AF_INET).close()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"valueflow: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 2
    metrics = Path(folder)
    metrics.mkdir(parents=True, exist_ok=True)
    _empty(metrics)
    from web import db, turns
    from web.commands import address, ready_app
    app = ready_app()
    if app is None:
        return 2
    threads = db.threads_per_process(app, args.threads)
    serving = turns.serving(app, threads)
    app.extensions[db.KEY].dispose()  # no connection of the master's may be inherited by the processes
    print(f"Valueflow is running on {address(args)} in {args.processes} web processes, "
          f"{serving} in each (Ctrl+C stops it)", flush=True)

    def start_worker(master: Master) -> None:  # once listening: a port in use starts no worker
        if args.worker:
            master.worker = WorkerProcess(args.worker_interval)
            print("Timers and breached targets are handled by one `valueflow worker` process beside them",
                  flush=True)
        else:
            print("Timers and breached targets are left to `valueflow worker` (--no-worker)", flush=True)

    def tidy(master: Master) -> None:  # in the master alone, as it stops (a web process leaves by sys.exit too)
        if master.worker is not None:
            master.worker.stop()
        _empty(metrics)
        if metrics == default_metrics_folder(args.port):
            metrics.rmdir()

    WebProcesses({
        "bind": f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}",
        "workers": args.processes, "worker_class": "gthread", "threads": threads,
        "proc_name": "valueflow", "control_socket_disable": True, "when_ready": start_worker, "on_exit": tidy,
        "accesslog": None,  # each web process writes the app's own access log (web.access), as waitress's one does
    }).run()
    return 0


class WebProcesses(BaseApplication):  # type: ignore[misc]
    """gunicorn run from our own command: its settings from ``options``, the app built in each web process."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        from web import create_app
        from web.commands import prepare_to_serve
        app = create_app()
        prepare_to_serve(app)
        return app

    def run(self) -> None:
        Master(self).run()


class Master(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which also keeps the worker process (if any) running beside the web processes."""

    worker: WorkerProcess | None = None

    def handle_chld(self) -> None:
        """On SIGCHLD: the worker's end first, for gunicorn's waitpid(-1) would take it as an unknown child's."""
        if self.worker is not None:
            self.worker.tend()
        super().handle_chld()

    handle_cld = handle_chld  # gunicorn calls it by whichever name the signal module gives SIGCHLD first

    def manage_workers(self) -> None:
        """On every turn of the master's loop (at least once a second): the web processes, then the worker."""
        super().manage_workers()
        if self.worker is not None:
            self.worker.tend()


def default_metrics_folder(port: int) -> Path:
    """The metrics folder unless PROMETHEUS_MULTIPROC_DIR names one: one per port, so that two servers on one
    machine never share one."""
    return Path(tempfile.gettempdir()) / f"valueflow-metrics-{port}"


def _serve_arguments(args: argparse.Namespace) -> list[str]:
    return ["serve", "--host", args.host, "--port", str(args.port),
            *([] if args.threads is None else ["--threads", str(args.threads)]),
            "--processes", str(args.processes), "--worker-interval", repr(args.worker_interval),
            *([] if args.worker else ["--no-worker"])]


def _empty(folder: Path) -> None:
    """Forget the figures of processes of an earlier run (their counters would be summed with ours)."""
    for stale in folder.glob("*.db"):
        stale.unlink()

