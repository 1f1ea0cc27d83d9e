"""The diagrams of a package of several files: which one holds the process that runs, and what its call activities
call in the others.

The main diagram is, in this order: the one the package names (SpiffArena's
``process_model.json``, ``primary_file_name``); the only one holding an
executable process that no call activity of the package calls; among several,
the one named after the package (its file name or a process id). A call
activity names the process it calls by id (``calledElement``); that process
may be in any diagram of the package, and is checked like the main one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Optional

from lxml import etree

from engine.definitions.namespaces import BPMN_NS, NS
from engine.definitions.validation import (BadDocument, Problem, human_tasks, is_executable, reachable,
                                           unavoidable_calls)

# SpiffArena's description of a process model, kept in the package folder beside its diagrams.
PROCESS_MODEL_FILE = "process_model.json"


@dataclass(frozen=True)
class Naming:
    """What the package itself says about the process to run (SpiffArena's process_model.json)."""

    file: Optional[str] = None
    process_id: Optional[str] = None


def naming_of(files: dict[str, str]) -> Naming:
    """The main file and process the package names, if it names them (an unreadable description names nothing)."""
    text = files.get(PROCESS_MODEL_FILE)
    if text is None:
        return Naming()
    try:
        model = json.loads(text)
    except json.JSONDecodeError:
        return Naming()
    if not isinstance(model, dict):
        return Naming()
    file, process_id = model.get("primary_file_name"), model.get("primary_process_id")
    return Naming(file if isinstance(file, str) and file else None,
                  process_id if isinstance(process_id, str) and process_id else None)


def processes_of(root: etree._Element) -> list[etree._Element]:
    return root.findall("bpmn:process", NS)


def call_activities(process: etree._Element) -> Iterable[etree._Element]:
    """The call activities of a process, those inside its subprocesses included."""
    return process.iter(f"{{{BPMN_NS}}}callActivity")


def main_diagram(diagrams: dict[str, etree._Element], package_name: str, naming: Naming) -> str:
    """The path of the diagram that holds the process to run; BadDocument says why none can be chosen."""
    if len(diagrams) == 1:
        return next(iter(diagrams))
    if naming.file in diagrams:
        return naming.file
    if naming.process_id:
        holding = [path for path, root in diagrams.items()
                   if any(p.get("id") == naming.process_id for p in processes_of(root))]
        if holding:
            return holding[0]
    called = {(call.get("calledElement") or "").strip() for root in diagrams.values()
              for call in root.iter(f"{{{BPMN_NS}}}callActivity")}
    callers = {path: [p.get("id", "") for p in processes_of(root)
                      if (is_executable(p) or len(processes_of(root)) == 1) and p.get("id") not in called]
               for path, root in diagrams.items()}
    candidates = [path for path, ids in callers.items() if ids]
    if len(candidates) == 1:
        return candidates[0]
    named = [path for path in candidates or list(diagrams)
             if _stem(path) == package_name or package_name in callers[path]]
    if len(named) == 1:
        return named[0]
    listed = "; ".join(f"{path}: {', '.join(callers[path])}" for path in candidates) or ", ".join(diagrams)
    raise BadDocument(Problem(None, None, f"the package holds {len(diagrams)} diagrams and cannot tell which "
                                          f"process runs ({listed}): name the package folder after the process "
                                          "to run, or keep only its diagram executable"))


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


def called_processes(main: etree._Element, documents: dict[str, etree._Element]
                     ) -> tuple[list[tuple[str, etree._Element]], list[Problem]]:
    """Every process the main one calls, directly or through another, with the diagram holding it; and each call
    activity whose process no diagram of the package holds, or several do, or that names none."""
    by_id: dict[str, list[tuple[str, etree._Element]]] = {}
    for path, root in documents.items():
        for process in processes_of(root):
            by_id.setdefault(process.get("id", ""), []).append((path, process))
    found: list[tuple[str, etree._Element]] = []
    problems: list[Problem] = []
    seen = {main.get("id", "")}
    pending = [main]
    while pending:
        for call in call_activities(pending.pop()):
            called = (call.get("calledElement") or "").strip()
            holders = by_id.get(called, [])
            if not called:
                problems.append(Problem(call.get("id"), call.get("name"), "call activity names no process to call: "
                                        "set its called element to the id of a process of the package"))
            elif not holders:
                problems.append(Problem(call.get("id"), call.get("name"), f"call activity calls the process "
                                        f"{called!r}, which no diagram of the package holds: add the diagram that "
                                        f"defines it to the package (its process id must be {called!r})"))
            elif len(holders) > 1:
                problems.append(Problem(call.get("id"), call.get("name"), f"call activity calls the process "
                                        f"{called!r}, which {len(holders)} diagrams of the package hold "
                                        f"({', '.join(path for path, _ in holders)}): keep it in one"))
            elif called not in seen:
                seen.add(called)
                found.append(holders[0])
                pending.append(holders[0][1])
    return found, problems


def endless_calls(processes: list[etree._Element]) -> list[Problem]:
    """Call activities that no case could ever get past: each is a step every case of its process runs to its end
    (``unavoidable_calls``), and calls a process that in the same way calls the caller's process again, directly
    or through others, so that each case would open the processes inside one another without end. A call behind
    a condition may stop calling; a case that never does is stopped by the limit on nesting (CaseWorkflow)."""
    unavoidable = {process.get("id", ""): unavoidable_calls(process) for process in processes}
    calling: dict[str, set[str]] = defaultdict(set)
    for process_id, calls in unavoidable.items():
        calling[process_id] = {(call.get("calledElement") or "").strip() for call in calls}
    problems = []
    for process_id, calls in unavoidable.items():
        for call in calls:
            called = (call.get("calledElement") or "").strip()
            if process_id not in reachable({called}, calling):
                continue
            what = (f"calls its own process {called!r}" if called == process_id else
                    f"calls the process {called!r}, which on every path through it calls this call activity's "
                    f"process {process_id!r} again (directly or through the processes it calls)")
            problems.append(Problem(call.get("id"), call.get("name"), f"call activity {what}, and every path "
                                    "from the start to an end goes through it, so a case would call again and "
                                    "again without end: put the call behind a gateway whose other path ends the "
                                    "process, taken when there is no more to do"))
    return problems


def steps_behind_calls(main: etree._Element, documents: dict[str, etree._Element]) -> dict[str, str]:
    """The human tasks of the processes the main one calls, each with the call activity of the main process that
    runs it (directly or through further calls): where a case inside a called process is on the main diagram."""
    by_id = {process.get("id", ""): process for root in documents.values() for process in processes_of(root)}
    behind: dict[str, str] = {}
    for call in call_activities(main):
        target = by_id.get((call.get("calledElement") or "").strip())
        if target is None:
            continue
        reached, _ = called_processes(target, documents)
        for process in [target, *(process for _, process in reached)]:
            for task in human_tasks(process):
                behind.setdefault(task.get("id", ""), call.get("id", ""))
    return behind


def duplicate_step_ids(processes: list[etree._Element]) -> list[Problem]:
    """Human tasks of different processes of the package that share an id: a case's steps are known by their id."""
    holders: dict[str, list[etree._Element]] = {}
    for process in processes:
        for task in human_tasks(process):
            holders.setdefault(task.get("id", ""), []).append(process)
    return [Problem(step_id, None, f"steps of {len(owners)} processes share the id {step_id!r} "
                                   f"({', '.join(p.get('id', '?') for p in owners)}): give each its own id")
            for step_id, owners in holders.items() if len(owners) > 1]
