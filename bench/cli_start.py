"""How long the ``valueflow`` command takes to start: ``--help`` and ``tasks --json`` on a small database.

Each command runs ``--runs`` times as a fresh process, alternating between the source trees given (default:
this one), so that a before/after comparison sees the same load. Prints, per tree and command, the median
and fastest wall time and the median CPU time (user + system) of the process, beside ``python -c pass``,
and which heavy libraries the command imported (``-X importtime``). A tree other than this one runs on this
tree's Python environment with its own source first on the path (e.g. a ``git worktree`` of the code before).

``--database URL`` times the commands on that database (e.g. PostgreSQL after ``valueflow init --demo``)
instead of a fresh SQLite file.

Usage: .venv/bin/python bench/cli_start.py [--runs 20] [--tree DIR ...] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"--help": ["--help"], "tasks --json": ["tasks", "--json"]}
HEAVY = ("SpiffWorkflow", "flask", "alembic", "sqlalchemy", "psycopg", "jsonschema", "RestrictedPython", "holidays",
         "lxml")
GOAL_SECONDS = 0.3
RUN_CLI = "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` (a fresh process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """The heavy top-level packages a run imports, with the cumulative import time of each (ms)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", RUN_CLI, *args], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    found = {}
    for line in run.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() in HEAVY:
            found[parts[2].strip()] = int(parts[1]) / 1000
    return ", ".join(f"{name} {ms:.0f} ms" for name, ms in found.items()) or "none of them"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree to time (repeat to compare)")
    parser.add_argument("--database", help="an initialised database to list the tasks of (default: a fresh one)")
    args = parser.parse_args()
    trees = [tree.resolve() for tree in (args.tree or [ROOT])]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "VALUEFLOW_DATABASE_URL": args.database or f"sqlite:///{folder}/cli.db"}
        if not args.database:
            subprocess.run([sys.executable, "-c", RUN_CLI, "init"], cwd=trees[0], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for tree in trees:
                runs.setdefault(("python -c pass", str(tree)), []).append(
                    timed([sys.executable, "-c", "pass"], tree, env))
                for name, cli_args in COMMANDS.items():
                    runs.setdefault((name, str(tree)), []).append(
                        timed([sys.executable, "-c", RUN_CLI, *cli_args], tree, env))
        print(f"{args.runs} runs each, alternating, on {args.database or 'a fresh SQLite file'}; "
              f"load average {os.getloadavg()[0]:.1f} at the end")
        print(f"{'command':<16} {'tree':<28} {'median wall':>12} {'fastest':>9} {'median CPU':>11}  goal")
        for (name, tree), samples in runs.items():
            wall = statistics.median(w for w, _ in samples)
            cpu = statistics.median(c for _, c in samples)
            goal = "" if name.startswith("python") else (
                f"under {GOAL_SECONDS} s: {'met' if wall < GOAL_SECONDS else 'not met'}")
            print(f"{name:<16} {Path(tree).name:<28} {wall * 1000:>9.0f} ms {min(w for w, _ in samples) * 1000:>6.0f} ms"
                  f" {cpu * 1000:>8.0f} ms  {goal}")
        for tree in trees:
            for name, cli_args in COMMANDS.items():
                print(f"{name} in {tree.name} imports: {heavy_imports(cli_args, tree, env)}")


if __name__ == "__main__":
    main()
