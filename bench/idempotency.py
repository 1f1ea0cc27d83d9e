"""What keeping idempotency keys costs a request: claims (and kept answers) per second on a table of many keys.

A fresh database (a SQLite file, or ``--url``) gets ``--keys`` answered keys (100,000 by default), written in
bulk, younger than the 24 hours keys are kept; then as many again, older, so that every claim also prunes a
batch of them (engine.work.idempotency). After each, one client claims new keys and keeps their answers for
``--seconds``, as the API does for each POST with an Idempotency-Key. Prints claims per second, p50/p95, and
how many keys are left.

Usage: .venv/bin/python bench/idempotency.py [--seconds 10] [--keys 100000] [--url postgresql://…]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from engine.storage.tables import IdempotentRequest  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402
from engine.work import idempotency  # noqa: E402

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
ANSWER = idempotency.Answer(201, '{"id": 1, "status": "running"}')


def fill(new_uow, keys: int, created_at: datetime, tag: str) -> None:
    with new_uow() as uow:
        for start in range(0, keys, 5000):
            uow.session.execute(insert(IdempotentRequest), [
                {"user_name": "portal", "key": f"{tag}-{n}", "request_hash": "h", "created_at": created_at,
                 "claimed_at": created_at, "status": ANSWER.status, "response": ANSWER.body}
                for n in range(start, min(start + 5000, keys))])
        uow.commit()


def kept(new_uow) -> int:
    with new_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(IdempotentRequest)) or 0)


def run(new_uow, seconds: float) -> tuple[list[float], float]:
    times: list[float] = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        key = uuid.uuid4().hex
        started = time.perf_counter()
        claim = idempotency.claim(new_uow(), "portal", key, "h")
        assert isinstance(claim, idempotency.Claim)
        idempotency.keep(new_uow(), claim, ANSWER)
        times.append(time.perf_counter() - started)
    return times, time.perf_counter() - began


def report(kind: str, times: list[float], seconds: float, left: int) -> None:
    ordered = sorted(times)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    print(f"{kind:<44} {len(times) / seconds:8.1f} claims/s   p50 {statistics.median(ordered) * 1000:6.2f} ms   "
          f"p95 {p95 * 1000:6.2f} ms   {left:,} keys left")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--url", help="a database to use instead of a fresh SQLite file (its keys are added to)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clock = FixedClock(NOW)
        new_uow = connect(args.url or f"sqlite:///{folder}/valueflow.db", clock, migrate=True)
        fill(new_uow, args.keys, NOW - idempotency.RETENTION / 2, "young")
        times, took = run(new_uow, args.seconds)
        report(f"{args.keys:,} kept keys, none expired", times, took, kept(new_uow))
        fill(new_uow, args.keys, NOW - 2 * idempotency.RETENTION, "old")
        times, took = run(new_uow, args.seconds)
        report(f"and {args.keys:,} expired keys, pruned", times, took, kept(new_uow))
        new_uow.dispose()


if __name__ == "__main__":
    main()
