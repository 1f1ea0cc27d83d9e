"""The one ``valueflow worker`` process that ``serve --processes N`` runs beside its web processes, kept running.

Timers, breached targets, connector calls and notifications wait while no worker runs, so a worker that ends while
serve runs (killed, out of memory, an error) is reported on stderr in one line and started again a second later;
one that keeps ending within a minute of its start waits twice as long each time, up to a minute, rather than
being started over and over. Serve's own stop ends it for good, and so does serve's end by ``kill -9``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Mapping

from engine.cli import WORKER_METRICS_PORT

FIRST_WAIT = 1.0  # seconds before a worker that ended is started again
LONGEST_WAIT = 60.0  # and at most, however often it ends at once
STEADY = 60.0  # seconds a worker runs for its end not to count as ending at once
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends


class WorkerProcess:
    """A ``valueflow worker`` process, started at once, running its rounds every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.wait = FIRST_WAIT
        self.due: float | None = None  # when the next one starts, once this one has ended
        self.started = time.monotonic()
        self.process = self._start()

    def tend(self) -> None:
        """Say so if the process has ended, and start the next one when due.

        Collects the ended process's status itself: call it before anything else waits for any child."""
        now = time.monotonic()
        if self.due is None:
            status = self.process.poll()
            if status is None:
                return
            self._again(now, f"the worker process (pid {self.process.pid}) {_ended(status)}; starting a new one")
        if now < self.due:
            return
        self.started = now
        try:
            self.process = self._start()
        except OSError as exc:
            self._again(now, f"a new worker process cannot start ({exc}); trying again")
            return
        self.due = None

    def stop(self) -> None:
        """Stop the worker as Ctrl+C does (the round in progress rolls back, the database is closed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                print("valueflow: the worker did not stop in time; ending it", file=sys.stderr, flush=True)
                self.process.kill()
                self.process.wait()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--interval", repr(self.interval)],
                                env=_without_metrics_port(os.environ),
                                preexec_fn=_stopped_with_serve if sys.platform == "linux" else None)

    def _again(self, now: float, what: str) -> None:
        if now - self.started >= STEADY:
            self.wait = FIRST_WAIT
        print(f"valueflow: {what} in {self.wait:g} s", file=sys.stderr, flush=True)
        self.due = now + self.wait
        self.wait = min(self.wait * 2, LONGEST_WAIT)


def _without_metrics_port(environ: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment: serve's, but for a metrics port of its own. Its figures reach serve's ``/metrics``
    through the metrics folder the processes share (web.prefork), and a port set for workers run apart would be
    taken by the worker that ends but has not yet let it go when the next one starts."""
    return {name: value for name, value in environ.items() if name != WORKER_METRICS_PORT}


def _stopped_with_serve() -> None:
    """In the new worker process: SIGTERM as soon as serve's process is gone, however it ended (``kill -9`` too),
    so that no worker outlives it and runs on, unseen, beside the next serve (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ended(status: int) -> str:
    """How a process ended, from its Popen.returncode (below zero: the signal that killed it)."""
    if status >= 0:
        return f"exited with status {status}"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return f"was killed by {name}"
