"""How long the engine's use cases take and what the job workers do, as Prometheus figures (prometheus-client).

``REGISTRY`` holds this process's figures; the web app serves them at ``/metrics``
beside its own request latencies and the database's backlog, read at scrape time,
and ``valueflow worker --metrics-port`` serves a worker's own (``serve_metrics``).
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any, Callable, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)
STEP_SECONDS = Histogram(
    "valueflow_step_seconds", "Time a use case that moves a case takes, database included.", ["use_case", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)
JOBS_RUN = Counter(
    "valueflow_jobs_run", "Jobs a worker ran, by kind and outcome: done (it changed something), nothing_to_do "
    "(e.g. a breach job of a task completed in time, or a job another worker took over) or failed (given back to "
    "retry later).", ["kind", "outcome"], registry=REGISTRY)
JOB_SECONDS = Histogram(
    "valueflow_job_seconds", "Time one job takes to run, calls out of the process and database included, by kind.",
    ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0), registry=REGISTRY)
LEASE_TAKEOVERS = Counter(
    "valueflow_job_lease_takeovers", "Jobs claimed after the lease of the worker that held them ran out (that worker "
    "died or stalled mid-job), by kind.", ["kind"], registry=REGISTRY)
WORKER_ROUNDS = Counter(
    "valueflow_worker_rounds", "Rounds of a worker's loops, by lane (cases, calling, sending) and outcome (ok, or "
    "failed as a whole, e.g. the database away): a rate of zero means no worker runs that lane.", ["lane", "outcome"],
    registry=REGISTRY)

Call = TypeVar("Call", bound=Callable[..., Any])


def timed_step(use_case: str) -> Callable[[Call], Call]:
    """Observe each call's duration under ``use_case``, with outcome ``ok`` or the exception's class name."""
    def decorate(function: Call) -> Call:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            outcome = "ok"
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                outcome = type(exc).__name__
                raise
            finally:
                STEP_SECONDS.labels(use_case, outcome).observe(time.perf_counter() - began)
        return timed  # type: ignore[return-value]
    return decorate


def collected() -> CollectorRegistry:
    """This process's figures, or the sums over every process writing to PROMETHEUS_MULTIPROC_DIR."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    summed = CollectorRegistry()
    multiprocess.MultiProcessCollector(summed)
    return summed


def serve_metrics(host: str, port: int) -> None:
    """Serve ``collected()`` figures as Prometheus text at ``http://host:port/`` (any path) on a daemon thread;
    OSError when the address cannot be listened on (the port in use, a host not of this machine)."""
    start_http_server(port, host, registry=collected())
