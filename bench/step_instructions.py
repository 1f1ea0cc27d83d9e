"""Instructions a loan instance executes: raw SpiffWorkflow, the same on CaseWorkflow, and persisted steps on SQLite
(and, with ``--postgres``, on PostgreSQL: the client's instructions; the server's are not counted).

Wall-clock ratios on this shared machine move by a third from one run to the
next; the number of instructions a piece of code executes does not (valgrind's
callgrind counts them, within 0.1 % between runs). Each figure comes from a
process of its own run under callgrind, which counts only while the measured
code runs: the loan_decision manual path as bench/step_cost.py runs it, raw
(SpiffWorkflow's own ``BpmnWorkflow``, its spec compiled beforehand), on
``CaseWorkflow``, and persisted through ``engine.service`` on a SQLite file,
where only the steps (start and the four completions) are counted, not the
claims nor the reads that find the next task. The counting is switched on and
off by callgrind's own client request, from a three-line C helper built with
the system's C compiler on the fly.

Instructions are not time: the persisted steps' code waits on system calls
(SQLite's log writes) and finds its caches cold, so it takes more time per
instruction than a loop of SpiffWorkflow alone (see bench/README.md). A change
that lowers the persisted count does less work whatever the machine's load.

Usage: .venv/bin/python bench/step_instructions.py [--instances N] [--root TREE] [--postgres URL]
       (needs valgrind and cc)
``--root`` measures another checkout's code (its bench/step_cost.py and engine), e.g. a ``git archive`` of main.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent.parent
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"
KINDS = ("raw", "CaseWorkflow", "persisted", "postgresql")


def build_toggle(folder: Path) -> Path:
    """The shared library whose ``toggle()`` switches callgrind's counting on or off."""
    source, library = folder / "toggle.c", folder / "toggle.so"
    source.write_text(_TOGGLE_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def count_instructions(root: Path, kind: str, instances: int, toggle: Path, postgres: str = "") -> int:
    """Instructions of ``instances`` loan instances of ``kind``, from a run of this script under callgrind."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--inside", kind, "--instances", str(instances), "--root", str(root),
         "--toggle", str(toggle), "--postgres", postgres], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"})  # the same set orders in every run
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def step_cost_of(root: Path) -> ModuleType:
    """``root``'s bench/step_cost.py, which puts ``root`` first on the import path."""
    spec = importlib.util.spec_from_file_location("step_cost", root / "bench" / "step_cost.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_counted(root: Path, kind: str, instances: int, toggle_library: Path, postgres: str) -> None:
    """Inside callgrind: set up, warm up, then run ``instances`` instances of ``kind`` with counting on."""
    bench = step_cost_of(root)
    toggle = ctypes.CDLL(str(toggle_library)).toggle
    from SpiffWorkflow.util.task import TaskState

    from engine.cases.workflow import CaseWorkflow
    from engine.definitions.packages import compile_package, read_package

    compiled = compile_package(read_package(root / "bpmn" / "loan_decision"))

    def raw(count: int, workflow_class: type) -> None:
        for _ in range(count):
            workflow = workflow_class(compiled.spec, compiled.subprocess_specs, script_engine=compiled.script_engine)
            workflow.do_engine_steps()
            while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
                for task in ready:
                    task.set_data(**bench.LOAN_FORMS[task.task_spec.bpmn_id])
                    task.run()
                    workflow.do_engine_steps()

    if kind in ("raw", "CaseWorkflow"):
        workflow_class = CaseWorkflow if kind == "CaseWorkflow" else bench.BpmnWorkflow
        raw(5, workflow_class)
        toggle()
        raw(instances, workflow_class)
        toggle()
        return
    service = bench.service
    with tempfile.TemporaryDirectory() as folder:
        new_uow = bench.prepared(postgres if kind == "postgresql" else f"sqlite:///{folder}/instructions.db")
        bench.persisted_instances_per_second(new_uow, 5)  # warm up: caches, compiled statements

        def counted(call):  # type: ignore[no-untyped-def]
            toggle()
            try:
                return call()
            finally:
                toggle()

        for number in range(instances):
            customer = service.CustomerRef(f"count-{uuid.uuid4().hex[:8]}", f"Customer {number}", "standard")
            instance_id = counted(lambda: service.start_instance(new_uow(), "loan_decision", customer, {}))
            while tasks := bench.open_tasks(new_uow, instance_id):
                for task_id, step in tasks.items():
                    service.claim_task(new_uow(), task_id, bench.WORKER)
                    counted(lambda: service.complete_task(new_uow(), task_id, bench.WORKER, bench.LOAN_FORMS[step]))
        new_uow.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose code is measured")
    parser.add_argument("--inside", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--postgres", default="", help="also count persisted steps on this PostgreSQL database")
    parser.add_argument("--toggle", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.root.resolve()
    if args.inside:
        run_counted(root, args.inside, args.instances, args.toggle, args.postgres)
        return
    kinds = KINDS if args.postgres else KINDS[:-1]
    with tempfile.TemporaryDirectory() as folder:
        toggle = build_toggle(Path(folder))
        counts = {kind: count_instructions(root, kind, args.instances, toggle, args.postgres) / args.instances
                  for kind in kinds}
    print(f"loan_decision manual path, {args.instances} instances each, code of {root}; millions of instructions "
          "an instance (callgrind)")
    for kind in kinds:
        label = {"raw": "raw SpiffWorkflow (BpmnWorkflow)", "CaseWorkflow": "raw on CaseWorkflow",
                 "persisted": "persisted on a SQLite file, steps only",
                 "postgresql": "persisted on PostgreSQL, the client's"}[kind]
        print(f"  {label:<40} {counts[kind] / 1e6:7.2f} M  (raw / this: {counts['raw'] / counts[kind]:.3f})")
    print(f"  persisting alone (persisted - CaseWorkflow) {(counts['persisted'] - counts['CaseWorkflow']) / 1e6:7.2f} M")


if __name__ == "__main__":
    main()
