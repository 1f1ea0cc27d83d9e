"""Process packages: read from disk, checked, compiled into SpiffWorkflow specs, cached.

A package is a folder ``bpmn/<key>/`` with its diagram files (``.bpmn``, or as
other tools name them ``.bpmn20.xml``, ``.bpmn2``, ``.xml``): the main one,
and those holding the processes its call activities call (see
engine.definitions.diagrams); the ``.dmn`` files it calls; ``forms/<step
id>.json`` (see docs/design.md; a message event may have one too); and the
form files other tools link from a task (Camunda 8's ``.form``, SpiffArena's
JSON Schema files, its ``process_model.json``). A lone diagram file is a
package too. ``compile_package`` turns it into a ``CompiledDefinition`` or
refuses it with every problem found (``engine.definitions.spec_cache`` keeps
them by database id).
"""

from __future__ import annotations

import hashlib
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec

from engine.definitions.annotations import ProcessAnnotations, from_properties
from engine.definitions.assignments import Assignment, assignment_of, initiator_variable
from engine.definitions import feel
from engine.definitions.decision_references import decisions_of, map_decision_references
from engine.definitions.diagrams import (called_processes, duplicate_step_ids, endless_calls, main_diagram, naming_of,
                                         steps_behind_calls)
from engine.definitions.errors import DeploymentRefused, PackageNotFound
from engine.definitions.expressions import prepare_decision_tables, prepare_expressions
from engine.definitions.expression_steps import expressions_as_scripts
from engine.definitions.io_mappings import drop_variable_associations, map_io_parameters
from engine.definitions.link_events import as_sequence_flows, check_link_events
from engine.definitions.multi_instances import bind_multi_instances
from engine.definitions.namespaces import NS
from engine.definitions.parser_shapes import check_declarations, check_shapes, ready_for_parser
from engine.definitions.schema_errors import element_on_line
from engine.definitions.service_specs import ServiceStepParser, as_service_tasks
from engine.definitions.service_tasks import ServiceStep, check_service_tasks, service_steps
from engine.definitions.timer_events import bind_timers
from engine.definitions.schema_errors import explain as explain_schema_error
from engine.definitions.package_forms import read_forms, rule_problems
from engine.definitions.validation import (BadDocument, Problem, check_document, check_process,
                                           check_spiff_step_ids, decode_xml, human_tasks, lanes_by_node, main_process,
                                           properties_of, read_bpmn, read_xml)
from engine.sandbox.helpers import helpers_for
from engine.sandbox.scripting import build_script_engine
from engine.time.calendar import CALENDAR_TIME, WorkingCalendar, calendar_for


# The names BPMN tools give diagram files: bpmn.io and Camunda, Flowable and Activiti, Eclipse BPMN2, others.
DIAGRAM_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2", ".xml")


@dataclass(frozen=True)
class Package:
    """The files of one process package, as text, by path relative to the package; ``bpmn_file`` is the diagram
    holding the process that runs."""

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
    """Read a package folder (its diagrams, .dmn files, forms/*.json and the form files other tools link) or a lone
    diagram file.

    XML files are read in the encoding they declare; a file that cannot be read is refused, and so is a folder
    of several diagrams that does not say which one runs.
    """
    path = Path(path)
    if is_diagram_file(path):
        return Package(diagram_stem(path.name), path.name, {path.name: _read_member(path, path.name)})
    if not path.is_dir():
        raise PackageNotFound(f"{path} is neither a diagram file ({', '.join(DIAGRAM_SUFFIXES)}) "
                              "nor a process package folder")
    diagrams = sorted(p for p in path.iterdir() if is_diagram_file(p))
    if not diagrams:
        raise PackageNotFound(f"{path} holds no diagram file ({', '.join(DIAGRAM_SUFFIXES)})")
    members = [*diagrams, *sorted(path.glob("*.dmn")), *sorted(path.glob("forms/*.json")),
               *sorted(p for p in path.glob("*.json") if p.is_file()),
               *sorted(p for p in [*path.glob("*.form"), *path.glob("forms/*.form")] if p.is_file())]
    files = {p.relative_to(path).as_posix(): _read_member(p, p.relative_to(path).as_posix()) for p in members}
    return Package(path.name, main_diagram_of(files, path.name), files)


def main_diagram_of(files: dict[str, str], package_name: str) -> str:
    """The path of the diagram holding the process that runs, among a package's files (see
    engine.definitions.diagrams); DeploymentRefused when a diagram cannot be read or none can be chosen."""
    try:
        diagrams = {path: read_bpmn(text, path) for path, text in files.items() if is_diagram_name(path)}
        return main_diagram(diagrams, package_name, naming_of(files))
    except BadDocument as exc:
        raise DeploymentRefused(exc.problems) from None


def is_diagram_name(path: str) -> bool:
    """Whether a package's file is a diagram, by its name (at the top of the package)."""
    return "/" not in path and path.lower().endswith(DIAGRAM_SUFFIXES)


def _read_member(path: Path, name: str) -> str:
    if path.suffix not in (".json", ".form"):
        return read_xml_file(path, name)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DeploymentRefused([Problem(None, None, f"{name} is not valid UTF-8 text (byte {exc.start}): save it "
                                                     "as UTF-8, the encoding of JSON files")]) from None


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
    # The steps of called processes, each with the main process's call activity that runs it.
    called_steps: dict[str, str] = field(default_factory=dict)
    # How targets count: calendar time, or the process's business calendar (built once, here).
    calendar: WorkingCalendar = CALENDAR_TIME
    # The service tasks that run (by external workers or a connector), of the main process and those it calls.
    service_steps: dict[str, ServiceStep] = field(default_factory=dict)
    # The variable the start event names for the person who starts a case (engine.definitions.assignments).
    initiator: Optional[str] = None

    def step_name(self, step_id: str) -> Optional[str]:
        """The name the diagram gives the step ``step_id`` of the process or of one it calls; None when unnamed."""
        for spec in (self.spec, *self.subprocess_specs.values()):
            task_spec = spec.task_specs.get(step_id)
            if task_spec is not None:
                return getattr(task_spec, "bpmn_name", None) or None
        return None


def compile_package(package: Package, stored: bool = False) -> CompiledDefinition:
    """Check and compile a package; raises DeploymentRefused listing every blocking problem and warning.

    A ``stored`` package was deployed under the rules of its day, and its running cases go on: its forms are
    not held to engine.definitions.form_rules again (a form that breaks one refuses its values instead), nor its
    call activities to ``endless_calls`` (the limit on nesting stops such a case instead), nor its step ids to
    ``check_spiff_step_ids`` (its cases run as they did; one SpiffWorkflow cannot begin is refused)."""
    try:
        root = read_bpmn(package.bpmn_xml, package.bpmn_file)
        process = main_process(root, naming_of(package.files).process_id or package.name)
    except BadDocument as exc:
        raise DeploymentRefused(exc.problems) from None
    key = process.get("id", "")
    script_engine = build_script_engine({**feel.FUNCTIONS, **helpers_for(key)})
    others, problems = _other_diagrams(package)
    documents = {package.bpmn_file: root, **others}
    called, call_problems = called_processes(process, documents)
    used = {package.bpmn_file: root, **{path: documents[path] for path, _ in called}}
    processes = [process, *(called_process for _, called_process in called)]
    problems += [p for document in used.values() for p in check_document(document) + check_declarations(document)]
    problems += call_problems + duplicate_step_ids(processes) + ([] if stored else endless_calls(processes))
    problems += check_process(process) + [p for _, other in called for p in check_process(other, called=True)]
    if not stored:
        problems += [p for each in processes for p in check_spiff_step_ids(each)]
    for each in processes:
        problems += check_shapes(each)
        problems += map_io_parameters(each)
        problems += expressions_as_scripts(each)
        problems += prepare_expressions(each, script_engine.environment)
        problems += check_service_tasks(each)
        problems += check_link_events(each)
    decision_tables, decision_problems = _prepare_decision_files(package, script_engine.environment)
    problems += decision_problems
    decisions = {key: decision for document in decision_tables.values()
                 for key, decision in decisions_of(document).items()}
    for each in processes:
        problems += map_decision_references(each, decisions)
    forms, form_problems = read_forms(package.files, processes)
    problems += form_problems if stored else form_problems + rule_problems(forms, processes)
    if any(not p.warning for p in problems):
        # SpiffWorkflow stops at its first complaint and often cannot name the element: ours come first.
        raise DeploymentRefused(problems)
    steps = {step_id: step for each in processes for step_id, step in service_steps(each).items()}
    for document in used.values():
        as_service_tasks(document, steps)
        as_sequence_flows(document)
    spec, subprocess_specs, parse_problems = _parse_with_spiff(used, root, process, decision_tables)
    if spec is None:
        raise DeploymentRefused(problems + parse_problems)
    bind_timers([spec, *subprocess_specs.values()])
    bind_multi_instances([spec, *subprocess_specs.values()])
    annotations = _annotations(process, processes)
    return CompiledDefinition(
        key=key, name=process.get("name") or key, spec=spec, subprocess_specs=subprocess_specs,
        annotations=annotations, forms=forms,
        script_engine=script_engine, warnings=problems, called_steps=steps_behind_calls(process, used),
        calendar=calendar_for(annotations.process.calendar), service_steps=steps,
        initiator=initiator_variable(process),
    )


def _other_diagrams(package: Package) -> tuple[dict[str, etree._Element], list[Problem]]:
    """The package's diagrams besides the main one, parsed, and those that cannot be read."""
    documents: dict[str, etree._Element] = {}
    problems: list[Problem] = []
    for path, text in package.files.items():
        if path != package.bpmn_file and is_diagram_name(path):
            try:
                documents[path] = read_bpmn(text, path)
            except BadDocument as exc:
                problems += exc.problems
    return documents, problems


def _annotations(process: etree._Element, processes: list[etree._Element]) -> ProcessAnnotations:
    """The steps' annotations, of the main process and of those it calls; the process's own, of the main one."""
    steps = {}
    for each in processes:
        lanes = lanes_by_node(each)
        for element in human_tasks(each):
            step_id = element.get("id", "")
            lane = lanes.get(step_id)
            written = assignment_of(element)
            static = written if lane is None else Assignment()  # a lane wins over the owner its tool wrote
            steps[step_id] = from_properties(step_id, element.get("name") or step_id, lane, properties_of(element),
                                             static.group, static.assignee, written.computed_groups,
                                             written.computed_assignee)
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
            _name_table_parts(tables[path])
            problems += prepare_decision_tables(tables[path], environment)
    return {f"{path}#{decision.get('id')}": decision_document
            for path, document in tables.items() for decision, decision_document in _one_per_decision(document)
            }, problems


_TABLE_PARTS = ("decisionTable", "input", "output", "rule", "inputEntry", "outputEntry")


def _name_table_parts(document: etree._Element) -> None:
    """Give an id to each part of a decision table written without one (DMN lets them be, as Camunda's DMN 1.1
    examples do; SpiffWorkflow needs them), in the parsed document only."""
    taken = {element.get("id") for element in document.iter() if isinstance(element.tag, str)}
    count = 0
    for element in document.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in _TABLE_PARTS and not element.get("id"):
            count += 1
            while f"{etree.QName(element).localname}_{count}" in taken:
                count += 1
            element.set("id", f"{etree.QName(element).localname}_{count}")


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


def _parse_with_spiff(documents: dict[str, etree._Element], root: etree._Element, process: etree._Element,
                      decision_tables: dict[str, etree._Element]
                      ) -> tuple[Optional[WorkflowSpec], dict[str, WorkflowSpec], list[Problem]]:
    """SpiffWorkflow's specs of the main process and of what it calls; ``documents`` are the diagrams holding them,
    ``root`` the main one (whose lines a schema complaint names)."""
    key = process.get("id", "")
    parser = ServiceStepParser(validator=VALIDATOR)
    try:
        for path, document in decision_tables.items():
            parser.add_dmn_xml(document, filename=path)
        process.set("isExecutable", "true")  # the only process runs even when not marked so (see check_process)
        for path, document in documents.items():
            _drop_data_stores(document)
            drop_variable_associations(document)
            ready_for_parser(document)
            parser.add_bpmn_xml(document, filename=path)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except BadDocument as exc:
        return None, {}, [exc.problem]
    except SpiffWorkflowException as exc:
        document = documents.get(getattr(exc, "file_name", None) or "", root)
        return None, {}, [_spiff_problem(exc, document, process)]
    except Exception as exc:  # the parser raises bare exceptions for some malformed input
        return None, {}, [Problem(process.get("id"), process.get("name"), f"SpiffWorkflow cannot parse it: {exc}")]
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


def _spiff_problem(exc: SpiffWorkflowException, root: etree._Element, process: etree._Element) -> Problem:
    """SpiffWorkflow's complaint about the element it names, or a schema complaint about the element on its line;
    a complaint that names no element is the process's."""
    line = getattr(exc, "line_number", None)
    where = f" (line {line})" if line else ""
    plain = explain_schema_error(str(exc))
    if plain is None:
        named = bool(getattr(exc, "id", None))
        return Problem(exc.id if named else process.get("id"),
                       (getattr(exc, "name", None) or None) if named else process.get("name"),
                       f"SpiffWorkflow cannot parse it: {exc}{where}")
    element = element_on_line(root, line, str(exc))
    while element is not None and not element.get("id"):
        element = element.getparent()
    if element is None:
        return Problem(process.get("id"), process.get("name"), plain + where)
    return Problem(element.get("id"), element.get("name"), plain + where)
