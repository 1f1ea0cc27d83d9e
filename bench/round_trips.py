"""Round trips to PostgreSQL a step makes: start, claim and each completion of a loan, counted by strace.

A round trip is one read of the server's socket that brought an answer
(strace's ``recvfrom`` calls that returned data; a read that found nothing yet
is not counted). The loan runs through engine.service on a new database, as
bench/step_cost.py does; each step is marked on stderr, and the reads between
the marks are counted per step of the second loan (the first warms the caches).

Usage: VALUEFLOW_TEST_POSTGRES=postgresql://… .venv/bin/python bench/round_trips.py   (needs strace)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from step_cost import LOAN_FORMS, WORKER, open_tasks, prepared, temporary_postgres  # noqa: E402

from engine import service  # noqa: E402

MARK = re.compile(r'write\(2, "MARK ([a-z_]+)')


def marked_loans(url: str) -> None:
    """Two loans through the manual path, each step between marks on stderr (runs under strace)."""
    new_uow = prepared(url)

    def step(label: str, call) -> object:  # type: ignore[no-untyped-def]
        os.write(2, f"MARK {label}\n".encode())
        result = call()
        os.write(2, b"MARK end\n")
        return result

    for _ in range(2):
        customer = service.CustomerRef(f"rt-{uuid.uuid4().hex[:8]}", "Round Trip", "standard")
        instance_id = step("start", lambda: service.start_instance(new_uow(), "loan_decision", customer, {}))
        while tasks := open_tasks(new_uow, instance_id):
            for task_id, name in tasks.items():
                step("claim", lambda: service.claim_task(new_uow(), task_id, WORKER))
                step(f"complete_{name}", lambda: service.complete_task(new_uow(), task_id, WORKER, LOAN_FORMS[name]))
    new_uow.dispose()


def counted(trace: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    label = None
    for line in trace.read_text().splitlines():
        mark = MARK.search(line)
        if mark:
            label = None if mark.group(1) == "end" else mark.group(1)
            if label:
                found[label].append(0)
        elif label and "recvfrom(" in line and "EAGAIN" not in line:
            found[label][-1] += 1
    return found


def main() -> None:
    if len(sys.argv) == 2:  # the traced run
        marked_loans(sys.argv[1])
        return
    if shutil.which("strace") is None:
        raise SystemExit("strace is not installed (apt-get install strace)")
    postgres = temporary_postgres()
    if postgres is None:
        raise SystemExit("set VALUEFLOW_BENCH_POSTGRES (or VALUEFLOW_TEST_POSTGRES) to a PostgreSQL server")
    url, drop = postgres
    try:
        with tempfile.TemporaryDirectory() as folder:
            trace = Path(folder) / "trace"
            strace = ["strace", "-f", "-s", "80", "-e", "trace=recvfrom,write", "-o", str(trace)]
            subprocess.run([*strace, sys.executable, __file__, url], check=True, stderr=subprocess.DEVNULL)
            print("round trips to PostgreSQL per step of a loan (the second of two), engine.service")
            for label, runs in counted(trace).items():
                print(f"  {label:<34} {runs[-1]:3d}")
    finally:
        drop()


if __name__ == "__main__":
    main()
