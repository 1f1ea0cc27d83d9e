"""Sandbox processes: code that cannot be proved cheap runs in a worker process with CPU and memory limits.

Why another process: one C-level operation (``10 ** 10 ** 8``,
``sum(iter(int, 1))``, ``[0] * 10 ** 9``) holds the interpreter lock until it
ends, so nothing in the server's process can stop it: not the scripts'
deadline checks, not a thread, not a signal handler (Python runs those
between bytecodes). The kernel can, so each worker runs under

- ``RLIMIT_CPU``: past the soft limit the kernel sends SIGXCPU, whose default
  action ends the process, however the time was spent. The limit counts the
  process's whole life, so before each job the worker sets it to the CPU time
  it has used so far plus the job's allowance and half a second, rounded up
  to the kernel's unit, the second: a job is stopped after 0.5 to 1.5 s more
  than its allowance, never before;
- ``RLIMIT_AS``: before each job, the worker's current size plus the job's
  allowance; a larger allocation fails, Python raises MemoryError, and the
  worker reports it and ends (or, failing inside C, simply ends);
- a wall-clock wait in the parent, for a worker that gets no CPU to spend:
  past it the parent kills the worker. It is generous (the caller's choice;
  the scripts use five times the CPU allowance plus 5 s) because on a busy
  machine a worker may get a third of a core.

A worker that overran is never used again: it is killed and the next job
starts a new one. The soft limits are only ever set by the worker's own code,
before the job runs; the restricted code cannot reach ``resource``.

Why a fresh interpreter (``python -c``, with the parent's import path)
rather than multiprocessing: a fork would copy the server's other threads'
locks into the child, and multiprocessing's "spawn" and "forkserver" run the
parent's main script again in the child (``valueflow``, a benchmark, a
test runner), which is not the sandbox's to run. A new worker takes 0.3 to
0.8 s to start on this machine; that is paid once per worker, and again only
after an overrun.

A pool keeps up to one worker per CPU, started when first needed; a caller
waits for a free one when all are busy. Each process (web or worker) has its
own pool (``shared_pool``); workers end when their parent's end of the pipe
closes.
"""

from __future__ import annotations

import atexit
import math
import os
import resource
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

_PAGE = os.sysconf("SC_PAGE_SIZE")
# Seconds of CPU beyond the allowance before the kernel stops a worker: a Python-level loop meets the scripts'
# own deadline first (engine.sandbox.scripting), whose message names the line.
_CPU_MARGIN = 0.5


class Overrun(Exception):
    """Isolated code went past its allowance; the message says which, e.g. "used more than 2 s of CPU"."""


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * _PAGE


def _limit_job(cpu_seconds: float, memory_bytes: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft_cpu = math.ceil(usage.ru_utime + usage.ru_stime + cpu_seconds + _CPU_MARGIN)
    resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory_bytes, resource.RLIM_INFINITY))


def _lift_limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def serve(requests: Connection, replies: Connection) -> None:
    """A worker's loop: receive (limits, function, arguments), run it under the limits, send back the outcome."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a worker ended by SIGXCPU leaves no core file
    while True:
        try:
            cpu_seconds, memory_bytes, function, args = requests.recv()
        except EOFError:  # the parent is gone
            return
        try:
            _limit_job(cpu_seconds, memory_bytes)
            outcome: tuple[str, Any] = ("value", function(*args))
        except MemoryError:
            outcome = ("memory", None)
        except Exception as error:
            outcome = ("error", error)
        finally:
            _lift_limits()
        try:
            replies.send(outcome)
        except BrokenPipeError:  # the parent is gone (killed while the job ran): nothing to tell
            return
        except MemoryError:
            outcome = ("memory", None)
            replies.send(outcome)
        except Exception as error:  # a result or an error that cannot be pickled
            replies.send(("error", TypeError(f"{type(error).__name__}: {error}")))
        if outcome[0] == "memory":  # an allocation failed somewhere: start afresh rather than trust this process
            return


class _Worker:
    def __init__(self) -> None:
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        bootstrap = (f"import sys; sys.path[:0] = {sys.path!r}\n"
                     "from multiprocessing.connection import Connection\n"
                     "from engine.sandbox import scripting, isolation\n"
                     f"isolation.serve(Connection({to_child}, writable=False), Connection({from_child}, readable=False))")
        try:
            self.process = subprocess.Popen([sys.executable, "-c", bootstrap], stdin=subprocess.DEVNULL,
                                            pass_fds=(to_child, from_child))
        finally:
            os.close(to_child)
            os.close(from_child)
        self.requests = Connection(requests, readable=False)
        self.replies = Connection(replies, writable=False)

    def end(self) -> None:
        """Kill the worker if it still runs; ``process.returncode`` then says how it ended (minus a signal)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.requests.close()
        self.replies.close()


class SandboxPool:
    """Up to ``size`` worker processes, each running one job at a time under the job's limits."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Worker] = []
        self._started = 0
        self._changed = threading.Condition()

    def run(self, function: Callable[..., Any], args: tuple[Any, ...], cpu_seconds: float, memory_mb: int,
            wall_seconds: float) -> Any:
        """``function(*args)`` in a worker; its result, or its exception raised here, or Overrun."""
        worker = self._take()
        try:
            worker.requests.send((cpu_seconds, memory_mb * 2 ** 20, function, args))
            answered = worker.replies.poll(wall_seconds)
            outcome = worker.replies.recv() if answered else None
        except (EOFError, OSError):  # it died: the kernel ended it, or something else did
            self._discard(worker)
            raise self._overrun(worker, cpu_seconds, memory_mb) from None
        except BaseException:
            self._discard(worker)
            raise
        if outcome is None:
            self._discard(worker)
            raise Overrun(f"did not finish within {wall_seconds:g} s")
        kind, value = outcome
        if kind == "memory":
            self._discard(worker)
            raise Overrun(f"used more than {memory_mb:,} MB of memory")
        self._give_back(worker)
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        """End every idle worker (busy ones end when their jobs return to a closed pool)."""
        with self._changed:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for worker in idle:
            worker.end()

    def _overrun(self, worker: _Worker, cpu_seconds: float, memory_mb: int) -> Overrun:
        ended = worker.process.returncode
        if ended == -signal.SIGXCPU:
            return Overrun(f"used more than {cpu_seconds:g} s of CPU")
        if ended in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):  # an allocation failed inside C
            return Overrun(f"used more than {memory_mb:,} MB of memory")
        return Overrun(f"ended its sandbox process (exit status {ended})")

    def _take(self) -> _Worker:
        with self._changed:
            while not self._idle and self._started >= self.size:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return _Worker()
        except BaseException:
            with self._changed:
                self._started -= 1
                self._changed.notify()
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self._changed:
            self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.end()
        with self._changed:
            self._started -= 1
            self._changed.notify()


_pools: dict[int, SandboxPool] = {}
_pools_lock = threading.Lock()


def shared_pool() -> SandboxPool:
    """This process's pool (a forked child gets its own, never its parent's workers)."""
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            pool = _pools[pid] = SandboxPool(max(2, os.cpu_count() or 2))
            atexit.register(pool.close)
        return pool
