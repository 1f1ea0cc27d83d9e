"""Races of two clients completing the same task through the JSON API, against several web processes on PostgreSQL.

Makes a database of its own on the PostgreSQL server (``vf_races_<pid>``, dropped at the end), the shipped
processes, a clerk with an API token and ``--races`` loans whose capture task the clerk has claimed; then
serves it with ``valueflow serve --processes 4 --threads 4 --no-worker`` and, four pairs side by side, has
both clients of a pair complete the same task at the same moment, race after race
(``tests.web.live.race_completions``, which ``tests/web/test_faults.py`` runs 100 times).

Prints the races run, how many ended with exactly one 200 and one 409, every other outcome with its
statuses and tasks, whether every case's state and task rows then agree (``tests.web.live.disagreements``),
and how long it took.

Usage: .venv/bin/python bench/races.py [--races 1000] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import start_server  # noqa: E402
from step_cost import temporary_postgres  # noqa: E402

from engine.storage.wiring import connect  # noqa: E402
from tests.web.live import (claimed_capture_tasks, clerks_with_tokens, disagreements, race_completions,  # noqa: E402
                            race_outcomes)

PORT = 5652
ONE_WINNER = (200, 409)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL server (the database in the URL is only where to connect first)")
    parser.add_argument("--processes", type=int, default=4, help="web processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="requests at once per web process (default 4)")
    parser.add_argument("--pairs", type=int, default=4, help="pairs of clients racing side by side (default 4)")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args()
    url, drop = temporary_postgres(args.postgres, f"vf_races_{os.getpid()}")
    try:
        began = time.perf_counter()
        connect(url, migrate=True).dispose()
        [(clerk, token)] = clerks_with_tokens(url, 1)
        races = claimed_capture_tasks(url, clerk, args.races)
        prepared = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            server = start_server(url, args.port, Path(folder), "--processes", str(args.processes),
                                  "--threads", str(args.threads))
            time.sleep(2)  # every web process up, not only the first to answer
            try:
                raced = time.perf_counter()
                answers = race_completions(args.port, token, [task_id for _, task_id in races], args.pairs)
                finished = time.perf_counter()
            finally:
                server.terminate()
                server.wait(60)
        problems = disagreements(url, [case_id for case_id, _ in races])
        checked = time.perf_counter()
    finally:
        drop()
    outcomes = race_outcomes(answers)
    print(f"{len(answers)} races of two clients completing one claimed task, {args.pairs} pairs at once, against "
          f"{args.processes} web processes x {args.threads} threads on PostgreSQL")
    print(f"  exactly one 200 and one 409: {outcomes[ONE_WINNER]}")
    others = {outcome: [task for task, statuses in answers.items() if tuple(sorted(statuses, key=str)) == outcome]
              for outcome in outcomes if outcome != ONE_WINNER}
    for outcome, tasks in others.items():
        print(f"  answers {outcome}: {len(tasks)} race(s), tasks {tasks[:20]}{' …' if len(tasks) > 20 else ''}")
    if not others:
        print("  no other outcome")
    print(f"  every case's state and task rows agree: {'yes' if not problems else 'NO'} ({len(races)} cases checked)")
    for problem in problems[:20]:
        print(f"    {problem}")
    print(f"  races {finished - raced:.1f} s ({len(answers) / (finished - raced):.1f} races a second, "
          f"{args.pairs} at a time), "
          f"making and claiming the loans {prepared - began:.1f} s, the check {checked - finished:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
