"""Process packages: read from disk, checked, compiled into SpiffWorkflow specs, cached.

A package is a folder ``bpmn/<key>/`` with one diagram file (``.bpmn``, or as
other tools name it ``.bpmn20.xml``, ``.bpmn2``, ``.xml``), the ``.dmn`` files
it calls and ``forms/<step id>.json`` (see docs/design.md; a message event may
have one too), or a lone diagram file. ``compile_package`` turns it into a
``CompiledDefinition`` or refuses it with every problem found
(``engine.definitions.spec_cache`` keeps them by database id).
"""

from __future__ import annotations

import hashlib
import json
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec

from engine.definitions.annotations import ProcessAnnotations, from_properties
from engine.definitions.assignments import Assignment, assignment_of
from engine.definitions import feel
from engine.definitions.decision_references import decisions_of, map_decision_references
from engine.definitions.errors import DeploymentRefused, PackageNotFound
from engine.definitions.expressions import prepare_decision_tables, prepare_expressions
from engine.definitions.namespaces import NS
from engine.definitions.schema_errors import element_on_line
from engine.definitions.schema_errors import explain as explain_schema_error
from engine.definitions.tool_forms import form_data_schema
from engine.definitions.validation import (MESSAGE_CATCHING_TAGS, BadDocument, Problem, check_document, check_process,
                                           decode_xml, human_tasks, lanes_by_node, local, main_process,
                                           properties_of, read_bpmn, read_xml)
from engine.sandbox.helpers import helpers_for
from engine.sandbox.scripting import build_script_engine
from engine.time.calendar import CALENDAR_TIME, WorkingCalendar, calendar_for
from engine.time.durations import is_duration


# The names BPMN tools give diagram files: bpmn.io and Camunda, Flowable and Activiti, Eclipse BPMN2, others.
DIAGRAM_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2", ".xml")


@dataclass(frozen=True)
class Package:
    """The files of one process package, as text, by path relative to the package."""

    name: str
    bpmn_file: str
    files: dict[str, str]

    @property
    def bpmn_xml(self) -> str:
        return self.files[self.bpmn_file]

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].encode() + b"\0")
        return digest.hexdigest()


def is_diagram_file(path: Path) -> bool:
    """Whether the file is a BPMN diagram by its name, as modelling tools and engines name them."""
    return path.is_file() and path.name.lower().endswith(DIAGRAM_SUFFIXES)


def diagram_stem(file_name: str) -> str:
    """A diagram file's name without its suffix: ``vacation.bpmn20.xml`` → ``vacation``."""
    suffix = next((s for s in DIAGRAM_SUFFIXES if file_name.lower().endswith(s)), "")
    return file_name[:len(file_name) - len(suffix)]


def read_package(path: Path) -> Package:
    """Read a package folder (one diagram, its .dmn files, forms/*.json) or a lone diagram file.

    XML files are read in the encoding they declare; a file that cannot be read is refused.
    """
    path = Path(path)
    if is_diagram_file(path):
        return Package(diagram_stem(path.name), path.name, {path.name: _read_member(path, path.name)})
    if not path.is_dir():
        raise PackageNotFound(f"{path} is neither a diagram file ({', '.join(DIAGRAM_SUFFIXES)}) "
                              "nor a process package folder")
    diagrams = sorted(p for p in path.iterdir() if is_diagram_file(p))
    if len(diagrams) != 1:
        raise PackageNotFound(f"{path} must hold exactly one diagram file ({', '.join(DIAGRAM_SUFFIXES)}), "
                              f"it holds {len(diagrams)}")
    members = [*diagrams, *sorted(path.glob("*.dmn")), *sorted(path.glob("forms/*.json"))]
    files = {p.relative_to(path).as_posix(): _read_member(p, p.relative_to(path).as_posix()) for p in members}
    return Package(path.name, diagrams[0].name, files)


def _read_member(path: Path, name: str) -> str:
    return path.read_text(encoding="utf-8") if path.suffix == ".json" else read_xml_file(path, name)


def read_xml_file(path: Path, name: str) -> str:
    """An XML file's text, read in the encoding it declares; refused (as ``name``) when it cannot be read."""
    try:
        return decode_xml(path.read_bytes(), name)
    except BadDocument as exc:
        raise DeploymentRefused([exc.problem]) from None


@dataclass
class CompiledDefinition:
    """A package ready to run: SpiffWorkflow specs, annotations, form schemas and its script engine."""

    key: str
    name: str
    spec: WorkflowSpec
    subprocess_specs: dict[str, WorkflowSpec]
    annotations: ProcessAnnotations
    forms: dict[str, dict[str, Any]]
    script_engine: PythonScriptEngine
    warnings: list[Problem] = field(default_factory=list)
    # How targets count: calendar time, or the process's business calendar (built once, here).
    calendar: WorkingCalendar = CALENDAR_TIME


def compile_package(package: Package) -> CompiledDefinition:
    """Check and compile a package; raises DeploymentRefused listing every blocking problem and warning."""
    try:
        root = read_bpmn(package.bpmn_xml, package.bpmn_file)
        process = main_process(root, package.name)
    except BadDocument as exc:
        raise DeploymentRefused([exc.problem]) from None
    key = process.get("id", "")
    script_engine = build_script_engine({**feel.FUNCTIONS, **helpers_for(key)})
    problems = check_document(root) + check_process(process)
    problems += prepare_expressions(process, script_engine.environment)
    decision_tables, decision_problems = _prepare_decision_files(package, script_engine.environment)
    problems += decision_problems
    decisions = {key: decision for document in decision_tables.values()
                 for key, decision in decisions_of(document).items()}
    problems += map_decision_references(process, decisions)
    forms, form_problems = _read_forms(package, process)
    problems += form_problems
    if any(not p.warning for p in problems):
        # SpiffWorkflow stops at its first complaint and often cannot name the element: ours come first.
        raise DeploymentRefused(problems)
    spec, subprocess_specs, parse_problems = _parse_with_spiff(package, root, process, decision_tables)
    if spec is None:
        raise DeploymentRefused(problems + parse_problems)
    _quote_bare_iso_timers([spec, *subprocess_specs.values()])
    annotations = _annotations(process)
    return CompiledDefinition(
        key=key, name=process.get("name") or key, spec=spec, subprocess_specs=subprocess_specs,
        annotations=annotations, forms=forms,
        script_engine=script_engine, warnings=problems,
        calendar=calendar_for(annotations.process.calendar),
    )


def _annotations(process: etree._Element) -> ProcessAnnotations:
    lanes = lanes_by_node(process)
    steps = {}
    for element in human_tasks(process):
        step_id = element.get("id", "")
        lane = lanes.get(step_id)
        written = assignment_of(element) if lane is None else Assignment()
        steps[step_id] = from_properties(step_id, element.get("name") or step_id, lane, properties_of(element),
                                         written.group, written.assignee)
    whole = from_properties(None, process.get("name") or process.get("id", ""), None, properties_of(process))
    return ProcessAnnotations(whole, steps)


def _prepare_decision_files(package: Package, environment: Any) -> tuple[dict[str, etree._Element], list[Problem]]:
    """The package's DMN documents by path, their FEEL rewritten into Python, and what in them cannot run."""
    tables: dict[str, etree._Element] = {}
    problems: list[Problem] = []
    for path, text in package.files.items():
        if path.endswith(".dmn"):
            try:
                tables[path] = read_xml(text, path)
            except BadDocument as exc:
                problems.append(exc.problem)
                continue
            problems += prepare_decision_tables(tables[path], environment)
    return {f"{path}#{decision.get('id')}": decision_document
            for path, document in tables.items() for decision, decision_document in _one_per_decision(document)
            }, problems


def _one_per_decision(document: etree._Element) -> list[tuple[etree._Element, etree._Element]]:
    """Each decision of a DMN document with a copy of the document holding it alone: SpiffWorkflow reads only the
    first decision of a document."""
    model = etree.QName(document).namespace
    decisions = document.findall(f"{{{model}}}decision")
    copies = []
    for keep in decisions:
        copy = deepcopy(document)
        for other in copy.findall(f"{{{model}}}decision"):
            if other.get("id") != keep.get("id"):
                copy.remove(other)
        copies.append((keep, copy))
    return copies


def _read_forms(package: Package, process: etree._Element) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    human_steps = {e.get("id") for e in human_tasks(process)}
    message_catchers = {e.get("id") for e in process.iter()
                        if isinstance(e.tag, str) and local(e) in MESSAGE_CATCHING_TAGS
                        and e.find("bpmn:messageEventDefinition", NS) is not None}
    forms: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for path, text in package.files.items():
        if not (path.startswith("forms/") and path.endswith(".json")):
            continue
        step_id = path[len("forms/"):-len(".json")]
        try:
            schema = json.loads(text)
            jsonschema.Draft202012Validator.check_schema(schema)
        except json.JSONDecodeError as exc:
            problems.append(Problem(step_id, None, f"form {path} is not valid JSON: {exc}"))
            continue
        except jsonschema.SchemaError as exc:
            problems.append(Problem(step_id, None, f"form {path} is not a valid JSON Schema: {exc.message}"))
            continue
        if step_id not in human_steps | message_catchers:
            problems.append(Problem(step_id, None, f"form {path} belongs to no user task nor message event "
                                    "of the process", warning=True))
        forms[step_id] = schema
    for task in human_tasks(process):
        written, field_problems = form_data_schema(task)
        problems += field_problems
        if written is not None and task.get("id") in forms:
            problems.append(Problem(task.get("id"), task.get("name"), f"its form forms/{task.get('id')}.json is "
                                    "used; the camunda:formData written on the task is ignored", warning=True))
        elif written is not None:
            forms[task.get("id", "")] = written
    return forms, problems


def _parse_with_spiff(package: Package, root: etree._Element, process: etree._Element,
                      decision_tables: dict[str, etree._Element]
                      ) -> tuple[Optional[WorkflowSpec], dict[str, WorkflowSpec], list[Problem]]:
    key = process.get("id", "")
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for path, document in decision_tables.items():
            parser.add_dmn_xml(document, filename=path)
        process.set("isExecutable", "true")  # the only process runs even when not marked so (see check_process)
        _drop_data_stores(root)
        parser.add_bpmn_xml(root, filename=package.bpmn_file)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except BadDocument as exc:
        return None, {}, [exc.problem]
    except SpiffWorkflowException as exc:
        return None, {}, [_spiff_problem(exc, root)]
    except Exception as exc:  # the parser raises bare exceptions for some malformed input
        return None, {}, [Problem(None, None, f"SpiffWorkflow cannot parse the process: {exc}")]
    return spec, subprocess_specs, []


def _drop_data_stores(root: etree._Element) -> None:
    """Take data stores, their references and the associations to them out of the document SpiffWorkflow parses:
    Valueflow keeps none (a warning at deploy), and SpiffWorkflow refuses a store it has no class for."""
    stores = root.findall(".//bpmn:dataStore", NS) + root.findall(".//bpmn:dataStoreReference", NS)
    store_ids = {store.get("id") for store in stores}
    associations = [a for a in root.iterfind(".//bpmn:dataInputAssociation", NS)
                    if (a.findtext("bpmn:sourceRef", namespaces=NS) or "").strip() in store_ids]
    associations += [a for a in root.iterfind(".//bpmn:dataOutputAssociation", NS)
                     if (a.findtext("bpmn:targetRef", namespaces=NS) or "").strip() in store_ids]
    for element in stores + associations:
        element.getparent().remove(element)


def _spiff_problem(exc: SpiffWorkflowException, root: etree._Element) -> Problem:
    """SpiffWorkflow's complaint about the element it names, or a schema complaint about the element on its line."""
    line = getattr(exc, "line_number", None)
    where = f" (line {line})" if line else ""
    plain = explain_schema_error(str(exc))
    if plain is None:
        return Problem(getattr(exc, "id", None) or None, getattr(exc, "name", None) or None,
                       f"SpiffWorkflow cannot parse it: {exc}{where}")
    element = element_on_line(root, line, str(exc))
    while element is not None and not element.get("id"):
        element = element.getparent()
    if element is None:
        return Problem(None, None, plain + where)
    return Problem(element.get("id"), element.get("name"), plain + where)


def _quote_bare_iso_timers(specs: list[WorkflowSpec]) -> None:
    """Accept timers written as plain ISO 8601 (``P1D``), as other modelers write them.

    SpiffWorkflow evaluates a timer's text as a Python expression, so the bare
    form would fail only when the timer starts; we turn it into a string literal.
    """
    for spec in specs:
        for task_spec in spec.task_specs.values():
            pending = [getattr(task_spec, "event_definition", None)]
            while pending:
                definition = pending.pop()
                # an event-based gateway or a multiple event holds several definitions
                pending.extend(getattr(definition, "event_definitions", None) or [])
                if isinstance(definition, TimerEventDefinition) and _is_bare_iso(definition.expression):
                    definition.expression = repr(definition.expression.strip())


def _is_bare_iso(text: Optional[str]) -> bool:
    if not text:
        return False
    text = text.strip()
    if is_duration(text) or (text.upper().startswith("R") and "/" in text):
        return True
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return text[:1].isdigit()
