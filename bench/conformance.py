"""How many diagrams drawn elsewhere deploy, and how many cases of them reach their first wait.

Deploys every diagram file under the given folders (``.bpmn``, ``.bpmn20.xml``,
``.bpmn2``, ``.xml``), each as the main diagram of its folder's package (with the
other diagrams, ``.dmn``, ``.json`` and ``.form`` files beside it), through
``engine.service.deploy`` on a throwaway in-memory SQLite database, in a worker
process with a time limit: a file that takes longer is counted as hung and the
worker is replaced. For each diagram that deploys, it starts a case for a
customer with no data and says whether the case got to its first wait (a task
for a person, a timer, a message, or its end) or stopped in error.

It prints, per source folder (PATH itself for the files directly in it, and
each folder under PATH; a folder holding only folders, such as ``tools/``, is
split into its subfolders): files, deployed,
refused, crashed (any exception other than a refusal), hung, and how many of
the deployed reached their first wait; then the most frequent reasons for each
outcome. ``--list`` prints every file's outcome as well.

``--alone`` deploys each diagram file on its own instead, as ``valueflow deploy
FILE`` reads it: for folders of unrelated diagrams, such as other engines' test
resources, where one broken neighbour would refuse every file of its folder.

Usage: .venv/bin/python bench/conformance.py PATH... [--limit SECONDS] [--list] [--alone]
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from engine import service  # noqa: E402
from engine.definitions.packages import (DeploymentRefused, Package, is_diagram_file, read_package,  # noqa: E402
                                         read_xml_file)
from engine.storage.tables import ProcessInstance  # noqa: E402
from engine.storage.uow import UnitOfWorkFactory  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.time.clock import FixedClock  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
OUTCOMES = ("deployed", "refused", "crashed", "hung")


def package_of(path: Path) -> Package:
    """The diagram, read as ``valueflow deploy`` reads a lone file, as the main diagram of the package its folder
    holds: with the folder's other diagrams, decision tables and form files (as ``read_package`` reads a folder)."""
    lone = read_package(path)
    folder = path.parent
    others = [p for p in sorted(folder.iterdir()) if p != path and p.is_file()
              and (is_diagram_file(p) or p.suffix in (".dmn", ".json", ".form"))]
    others += sorted(p for p in [*folder.glob("forms/*.json"), *folder.glob("forms/*.form")] if p.is_file())
    files = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") if p.suffix in (".json", ".form")
             else read_xml_file(p, p.name) for p in others}
    return Package(lone.name, lone.bpmn_file, {**files, **lone.files})


def sources(root: Path) -> dict[str, list[Path]]:
    """The diagram files under ``root``, by source folder."""
    found: dict[str, list[Path]] = defaultdict(list)
    if is_diagram_file(root):
        found[root.parent.name].append(root)
        return found
    pending = [root]
    while pending:
        folder = pending.pop()
        children = sorted(folder.iterdir())
        if folder == root or all(child.is_dir() for child in children):
            pending.extend(child for child in children if child.is_dir())
            found[root.name] += [child for child in children if is_diagram_file(child)]
            continue
        found[f"{folder.relative_to(root.parent)}"] = sorted(p for p in folder.rglob("*") if is_diagram_file(p))
    return dict(sorted((source, files) for source, files in found.items() if files))


def first_wait(new_uow: UnitOfWorkFactory, key: str) -> tuple[bool, str]:
    """Start a case of ``key``; whether it reached its first wait, and its status or why not."""
    try:
        instance_id = service.start_instance(new_uow(), key, service.CustomerRef("bench", "Bench", "standard"))
    except Exception as exc:
        return False, f"start raised {type(exc).__name__}: {one_line(exc)}"
    with new_uow() as uow:
        instance = uow.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id))
        assert instance is not None
        if instance.status == "error":
            return False, f"case error at {instance.error_step}: {one_line(instance.error_message)}"
        return True, instance.status


def one_line(text: Any) -> str:
    return " ".join(str(text).split())[:300]


def try_one(new_uow: UnitOfWorkFactory, path: Path, alone: bool = False) -> dict[str, Any]:
    """Deploy one diagram (``alone``: as ``valueflow deploy FILE`` reads it, without its folder) and, when it
    deploys, start a case of it."""
    try:
        deployment = service.deploy(new_uow(), read_package(path) if alone else package_of(path))
    except DeploymentRefused as refusal:
        blocking = [p for p in refusal.problems if not p.warning]
        return {"outcome": "refused", "reasons": [p.message for p in blocking],
                "unnamed": sum(1 for p in blocking if p.element_id is None)}
    except Exception as exc:
        return {"outcome": "crashed", "reasons": [f"{type(exc).__name__}: {one_line(exc)}"]}
    reached, why = first_wait(new_uow, deployment.key)
    return {"outcome": "deployed", "reached": reached, "reasons": [why]}


def worker(connection: Connection) -> None:
    new_uow = connect("sqlite://", FixedClock(NOW), migrate=True)
    while True:
        path, alone = connection.recv()
        connection.send(try_one(new_uow, Path(path), alone))


class Runner:
    """One worker process at a time; replaced when a diagram takes longer than the limit or kills it."""

    def __init__(self, limit: float, alone: bool = False) -> None:
        self.limit = limit
        self.alone = alone
        self.process: Optional[multiprocessing.Process] = None
        self.connection: Optional[Connection] = None

    def _spawn(self) -> None:
        ours, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=worker, args=(theirs,), daemon=True)
        self.process.start()
        self.connection = ours

    def run(self, path: Path) -> dict[str, Any]:
        if self.process is None or not self.process.is_alive():
            self._spawn()
        assert self.connection is not None and self.process is not None
        self.connection.send((str(path), self.alone))
        try:
            if self.connection.poll(self.limit):
                return self.connection.recv()
        except EOFError:
            self.process = None
            return {"outcome": "crashed", "reasons": ["the worker process died"]}
        self.process.kill()
        self.process.join()
        self.process = None
        return {"outcome": "hung", "reasons": [f"no answer within {self.limit:g} s"]}


def reason_kind(message: str) -> str:
    """A reason with its element-specific parts (quoted names, ids, numbers) blanked, to count alike reasons."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"|\([^)]*\)", "…", message)
    return re.sub(r"\b[\w.-]*\d[\w.-]*\b", "N", message)[:160]


def report(results: dict[str, list[tuple[Path, dict[str, Any]]]], listing: bool) -> None:
    header = f"{'source':<58} {'files':>5} {'deployed':>8} {'refused':>7} {'crashed':>7} {'hung':>4} {'1st wait':>8}"
    print(header)
    print("-" * len(header))
    totals: Counter[str] = Counter()
    for source, rows in results.items():
        counts = Counter(result["outcome"] for _, result in rows)
        reached = sum(1 for _, result in rows if result.get("reached"))
        totals.update(counts)
        totals["files"] += len(rows)
        totals["reached"] += reached
        print(f"{source:<58} {len(rows):>5} " + " ".join(f"{counts[o]:>{w}}" for o, w in zip(OUTCOMES, (8, 7, 7, 4)))
              + f" {reached:>8}")
    print("-" * len(header))
    print(f"{'all':<58} {totals['files']:>5} "
          + " ".join(f"{totals[o]:>{w}}" for o, w in zip(OUTCOMES, (8, 7, 7, 4))) + f" {totals['reached']:>8}")
    unnamed = sum(r.get("unnamed", 0) for rows in results.values() for _, r in rows)
    print(f"\nblocking problems that name no element: {unnamed}")
    for title, picked in (("refusal reasons", "refused"), ("crashes", "crashed"), ("hangs", "hung"),
                          ("deployed, but the case did not reach its first wait", "deployed")):
        kinds: Counter[str] = Counter()
        for rows in results.values():
            for _, result in rows:
                if result["outcome"] == picked and not result.get("reached"):
                    kinds.update({reason_kind(reason) for reason in result["reasons"]})
        if kinds:
            print(f"\n{title} (files per reason, most frequent first):")
            for kind, count in kinds.most_common(25):
                print(f"  {count:>4}  {kind}")
    if listing:
        print()
        for rows in results.values():
            for path, result in rows:
                reached = {True: " (first wait)", False: " (no first wait)"}.get(result.get("reached"), "")
                print(f"{result['outcome']}{reached}: {path}")
                for reason in result["reasons"]:
                    print(f"    {reason}")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--limit", type=float, default=30.0, help="seconds a diagram may take (default 30)")
    parser.add_argument("--list", action="store_true", help="print every file's outcome and reasons")
    parser.add_argument("--alone", action="store_true",
                        help="deploy each diagram on its own, as `valueflow deploy FILE` reads it, not as the main "
                             "diagram of its folder's package (for folders of unrelated test diagrams)")
    args = parser.parse_args(argv)
    runner = Runner(args.limit, args.alone)
    results: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for root in args.paths:
        for source, files in sources(root.resolve()).items():
            results.setdefault(source, []).extend((path, runner.run(path)) for path in files)
    report(results, args.list)


if __name__ == "__main__":
    main()
