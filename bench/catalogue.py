"""How fast the process catalogue comes back with 40 processes of 5 versions each, and what a deploy that
finds no change costs.

Builds a SQLite file with the migrated schema and 40 processes (the two-step sample under 40 keys, each
deployed in 5 versions that differ in a step's name), with cases started through the engine on every
version. Then it times ``engine.work.case_pages.catalogue()`` as /processes calls it (every process with all
its versions, their cases and targets), and ``service.deploy`` of the shipped loan package: unchanged
(the canonical comparison with the newest version, nothing stored) and as a modeler rewrote it (no
indentation, the drawing's shapes reversed), beside a deploy that stores a new version.
Median and worst of R runs after one warm-up.

Usage: .venv/bin/python bench/catalogue.py [--processes N] [--versions V] [--cases C] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import service  # noqa: E402
from engine.definitions.package_json import package_from_json, package_to_json  # noqa: E402
from engine.definitions.packages import Package, read_package  # noqa: E402
from engine.storage.wiring import connect  # noqa: E402
from engine.work import case_pages  # noqa: E402
from tests import samples  # noqa: E402

LOAN = Path(__file__).resolve().parents[1] / "bpmn" / "loan_decision"


def timed(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    action()
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent), max(spent)


def rewritten(xml: str) -> str:
    root = etree.fromstring(xml.encode("utf-8"))
    plane = root.find(".//{http://www.omg.org/spec/BPMN/20100524/DI}BPMNPlane")
    plane[:] = list(reversed(plane))
    for element in root.iter():
        element.tail = None
    return etree.tostring(root, encoding="unicode")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=40)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--cases", type=int, default=10, help="cases started on each version")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        new_uow = connect(f"sqlite:///{folder}/bench.db", migrate=True)
        built = time.perf_counter()
        for n in range(args.processes):
            key = f"process_{n:02d}"
            for version in range(args.versions):
                xml = samples.two_step(key).replace('name="Review"', f'name="Review {version + 1}"')
                service.deploy(new_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}), actor="bench")
                for c in range(args.cases):
                    service.start_instance(new_uow(), key, service.CustomerRef(f"c-{n}-{version}-{c}", "Ann", "standard"))
        service.deploy(new_uow(), read_package(LOAN), actor="bench")
        print(f"{args.processes} processes × {args.versions} versions, {args.cases} cases a version, "
              f"built in {time.perf_counter() - built:.0f} s")
        listed = case_pages.catalogue(new_uow())
        assert len(listed) == args.processes + 1
        assert all(len(p["versions"]) == args.versions for p in listed if p["key"] != "loan_decision")
        median, worst = timed(args.runs, lambda: case_pages.catalogue(new_uow()))
        print(f"catalogue (every process with its versions): median {median:.1f} ms, worst {worst:.1f} ms")

        loan = package_to_json(read_package(LOAN))
        same = package_from_json(loan)
        median, worst = timed(args.runs, lambda: service.deploy(new_uow(), same))
        print(f"deploy, same files as the newest version: median {median:.1f} ms, worst {worst:.1f} ms")
        modelers = package_from_json({**loan, "bpmn": rewritten(loan["bpmn"])})
        assert not service.deploy(new_uow(), modelers).created
        median, worst = timed(args.runs, lambda: service.deploy(new_uow(), modelers))
        print(f"deploy, the newest version as a modeler rewrote it (canonical comparison): "
              f"median {median:.1f} ms, worst {worst:.1f} ms")
        counter = iter(range(10_000))

        def changed() -> object:
            xml = loan["bpmn"].replace('name="Review credit"', f'name="Review credit {next(counter)}"')
            return service.deploy(new_uow(), package_from_json({**loan, "bpmn": xml}))
        median, worst = timed(args.runs, changed)
        print(f"deploy of a changed package (a new version stored): median {median:.1f} ms, worst {worst:.1f} ms")
        new_uow.dispose()


if __name__ == "__main__":
    main()
