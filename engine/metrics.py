"""How long the engine's use cases take, as Prometheus histograms (prometheus-client).

``REGISTRY`` holds this process's figures; the web app serves them at ``/metrics``
beside its own request latencies and the database's backlog, read at scrape time.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, TypeVar

from prometheus_client import CollectorRegistry, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
STEP_SECONDS = Histogram(
    "valueflow_step_seconds", "Time a use case that moves a case takes, database included.", ["use_case", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)

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
