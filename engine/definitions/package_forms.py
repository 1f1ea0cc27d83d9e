"""Each step's form, from wherever its package keeps it, as the JSON Schema the task page shows.

In this order, for a human task:

1. ``forms/<step id>.json`` in the package, Valueflow's own (it wins, and the
   deploy warns when the task also carries another tool's form);
2. a form written inside the diagram: Camunda 7's ``camunda:formData``,
   Flowable's and Activiti's ``formProperty``, the form jBPM draws from a task's
   data outputs (engine.definitions.tool_forms);
3. a form file the task links (engine.definitions.form_files): Camunda 8's
   ``zeebe:formDefinition`` by ``formId`` (a ``.form`` file of the package with
   that id) or ``formKey`` (the process's embedded ``zeebe:userTaskForm``, or a
   form file), Camunda 7's ``camunda:formKey="camunda-forms:deployment:<file>"``,
   Flowable's ``flowable:formKey`` (a form definition of the package with that
   key);
4. SpiffArena's ``formJsonSchemaFilename`` property: a JSON Schema file of the
   package, with ``formUiSchemaFilename``'s text areas and field order.

Every form, wherever it comes from, keeps the rules of engine.definitions.form_rules (``rule_problems``).

A form the task links that the package does not hold is a problem that names
the missing file; an HTML form of Camunda's web apps is a warning (the task
gets the comment box).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

import jsonschema
from lxml import etree

from engine.definitions.form_files import convert_form, form_ids
from engine.definitions.form_rules import breaches
from engine.definitions.namespaces import CAMUNDA_NS, FLOWABLE_NS, NS
from engine.definitions.tool_forms import data_outputs_schema, form_data_schema, form_properties_schema
from engine.definitions.validation import MESSAGE_CATCHING_TAGS, Problem, human_tasks, local, properties_of

_EMBEDDED_FORM = "camunda-forms:bpmn:"
_DEPLOYED_FORM = "camunda-forms:deployment:"


def read_forms(files: dict[str, str], processes: list[etree._Element]
               ) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """The form of each step of ``processes`` (the main one first), by step id, and the problems found."""
    forms, problems = _valueflow_forms(files, processes)
    form_files = _linkable_forms(files)
    for process in processes:
        for task in human_tasks(process):
            for source, written, task_problems in _tool_forms(task, process, files, form_files):
                problems += task_problems
                if written is None:
                    continue
                if task.get("id") in forms:
                    problems.append(Problem(task.get("id"), task.get("name"), f"its form forms/{task.get('id')}"
                                            f".json is used; the {source} written on the task is ignored",
                                            warning=True))
                else:
                    forms[task.get("id", "")] = written
                break
    return forms, problems


def rule_problems(forms: dict[str, dict[str, Any]], processes: list[etree._Element]) -> list[Problem]:
    """A problem for each thing in a form that breaks a rule of engine.definitions.form_rules, naming its step."""
    names = {e.get("id"): e.get("name") for process in processes for e in process.iter()
             if isinstance(e.tag, str) and e.get("id")}
    return [Problem(step_id, names.get(step_id), f"its form's {breach}")
            for step_id, schema in forms.items() for breach in breaches(schema)]


def _valueflow_forms(files: dict[str, str], processes: list[etree._Element]
                     ) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """The package's ``forms/<step id>.json`` files, checked as JSON Schemas."""
    steps = {task.get("id") for process in processes for task in human_tasks(process)}
    steps |= {e.get("id") for process in processes for e in process.iter()
              if isinstance(e.tag, str) and local(e) in MESSAGE_CATCHING_TAGS
              and e.find("bpmn:messageEventDefinition", NS) is not None}
    forms: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for path, text in files.items():
        if not (path.startswith("forms/") and path.endswith(".json")):
            continue
        step_id = path[len("forms/"):-len(".json")]
        schema, problem = _json_schema(path, text, step_id, None)
        if problem is not None:
            problems.append(problem)
            continue
        if step_id not in steps:
            problems.append(Problem(step_id, None, f"form {path} belongs to no user task nor message event "
                                    "of the process", warning=True))
        forms[step_id] = schema
    return forms, problems


def _json_schema(path: str, text: str, element_id: Optional[str], name: Optional[str]
                 ) -> tuple[dict[str, Any], Optional[Problem]]:
    try:
        schema = json.loads(text)
        jsonschema.Draft202012Validator.check_schema(schema)
    except json.JSONDecodeError as exc:
        return {}, Problem(element_id, name, f"form {path} is not valid JSON: {exc}")
    except jsonschema.SchemaError as exc:
        return {}, Problem(element_id, name, f"form {path} is not a valid JSON Schema: {exc.message}")
    return schema, None


def _linkable_forms(files: dict[str, str]) -> dict[str, tuple[str, Any]]:
    """The package's form files (form-js, Flowable) by every name a task may link them by: their path, their file
    name and their id or key; each with its parsed document (None when it is not JSON)."""
    found: dict[str, tuple[str, Any]] = {}
    for path, text in files.items():
        if not path.endswith(".form"):
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        for name in [path, path.rsplit("/", 1)[-1], *form_ids(document)]:
            found.setdefault(name, (path, document))
    return found


def _tool_forms(task: etree._Element, process: etree._Element, files: dict[str, str],
                form_files: dict[str, tuple[str, Any]]
                ) -> Iterable[tuple[str, Optional[dict[str, Any]], list[Problem]]]:
    """The forms other tools wrote on or linked from the task, each as (what it is, its schema, its problems)."""
    yield ("camunda:formData", *form_data_schema(task))
    yield ("form properties", *form_properties_schema(task))
    yield ("jBPM output form", *data_outputs_schema(task))
    yield from _linked_form(task, process, form_files)
    yield from _spiffarena_form(task, files)


def _linked_form(task: etree._Element, process: etree._Element, form_files: dict[str, tuple[str, Any]]
                 ) -> Iterable[tuple[str, Optional[dict[str, Any]], list[Problem]]]:
    definition = task.find("bpmn:extensionElements/zeebe:formDefinition", NS)
    camunda_key = task.get(f"{{{CAMUNDA_NS}}}formKey")
    flowable_key = task.get(f"{{{FLOWABLE_NS}}}formKey")
    if definition is not None and definition.get("formId"):
        yield _form_file(task, "zeebe:formDefinition", definition.get("formId", ""), form_files)
    elif definition is not None and (definition.get("formKey") or "").startswith(_EMBEDDED_FORM):
        yield _embedded_form(task, process, definition.get("formKey", "")[len(_EMBEDDED_FORM):])
    elif definition is not None and definition.get("formKey"):
        yield _form_file(task, "zeebe:formDefinition", definition.get("formKey", ""), form_files)
    elif camunda_key and camunda_key.startswith(_DEPLOYED_FORM):
        yield _form_file(task, "camunda:formKey", camunda_key[len(_DEPLOYED_FORM):], form_files)
    elif camunda_key:
        yield "camunda:formKey", None, [Problem(task.get("id"), task.get("name"), f"its form {camunda_key!r} is a "
                                                "page of Camunda's web apps, which Valueflow does not show: the task "
                                                "gets a comment box (write its fields as camunda:formData, or link "
                                                "a form-js form with camunda-forms:deployment:<file>.form)",
                                                warning=True)]
    elif flowable_key:
        yield _form_file(task, "flowable:formKey", flowable_key, form_files)


def _form_file(task: etree._Element, source: str, reference: str, form_files: dict[str, tuple[str, Any]]
               ) -> tuple[str, Optional[dict[str, Any]], list[Problem]]:
    found = form_files.get(reference) or form_files.get(f"{reference}.form")
    if found is None:
        return source, None, [Problem(task.get("id"), task.get("name"), f"its form {reference!r} ({source}) is in no "
                                      f"file of the package: add the form file ({reference}.form, or a .form file "
                                      f"whose id is {reference!r}) to the package")]
    return _converted(task, source, *found)


def _embedded_form(task: etree._Element, process: etree._Element, form_id: str
                   ) -> tuple[str, Optional[dict[str, Any]], list[Problem]]:
    embedded = next((form for form in process.iterfind("bpmn:extensionElements/zeebe:userTaskForm", NS)
                     if form.get("id") == form_id), None)
    if embedded is None:
        return "zeebe:userTaskForm", None, [Problem(task.get("id"), task.get("name"), f"its form {form_id!r} is "
                                                    "embedded in the process, which holds no zeebe:userTaskForm with "
                                                    "that id: link the form again in the modeler")]
    try:
        document = json.loads(embedded.text or "")
    except json.JSONDecodeError as exc:
        return "zeebe:userTaskForm", None, [Problem(task.get("id"), task.get("name"), f"its form {form_id!r}, "
                                                    f"embedded in the process, is not valid JSON ({exc}): link the "
                                                    "form again in the modeler")]
    return _converted(task, "zeebe:userTaskForm", f"the embedded form {form_id}", document)


def _converted(task: etree._Element, source: str, where: str, document: Any
               ) -> tuple[str, Optional[dict[str, Any]], list[Problem]]:
    converted = convert_form(document)
    if converted is None:
        return source, None, [Problem(task.get("id"), task.get("name"), f"its form {where} is neither a form-js nor "
                                      "a Flowable form (JSON with components or fields): export it again")]
    return source, converted.schema, [Problem(task.get("id"), task.get("name"), f"form {where}: {problem}")
                                      for problem in converted.problems]


def _spiffarena_form(task: etree._Element, files: dict[str, str]
                     ) -> Iterable[tuple[str, Optional[dict[str, Any]], list[Problem]]]:
    properties = properties_of(task)
    schema_file = (properties.get("formJsonSchemaFilename") or "").strip()
    if not schema_file:
        return
    source = "formJsonSchemaFilename"
    if schema_file not in files:
        yield source, None, [Problem(task.get("id"), task.get("name"), f"its form {schema_file} "
                                     "(formJsonSchemaFilename) is not in the package: add the file beside the "
                                     "diagram")]
        return
    computed = _options_from_case(files[schema_file])
    if computed:
        yield source, None, [Problem(task.get("id"), task.get("name"), f"its form {schema_file} takes the options of "
                                     f"{', '.join(computed)} from the case data, which Valueflow cannot show yet: "
                                     "list the options in the form")]
        return
    schema, problem = _json_schema(schema_file, files[schema_file], task.get("id"), task.get("name"))
    if problem is not None:
        yield source, None, [problem]
        return
    ui_file = (properties.get("formUiSchemaFilename") or "").strip()
    if ui_file and ui_file not in files:
        yield source, None, [Problem(task.get("id"), task.get("name"), f"its form layout {ui_file} "
                                     "(formUiSchemaFilename) is not in the package: add the file beside the "
                                     "diagram, or remove the property")]
        return
    try:
        layout = json.loads(files[ui_file]) if ui_file else {}
    except json.JSONDecodeError as exc:
        yield source, None, [Problem(task.get("id"), task.get("name"), f"form layout {ui_file} is not valid JSON: "
                                     f"{exc}")]
        return
    yield source, _with_layout(schema, layout if isinstance(layout, dict) else {}), []


_OPTIONS_FROM_CASE = "options_from_task_data_var:"


def _options_from_case(text: str) -> list[str]:
    """The fields of a SpiffArena form whose options come from the case data (``options_from_task_data_var:``)."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError:
        return []
    found: list[str] = []
    pending = [("", schema)]
    while pending:
        name, node = pending.pop()
        if isinstance(node, dict):
            pending += [(key, value) for key, value in node.items()]
        elif isinstance(node, list):
            pending += [(name, value) for value in node]
        elif isinstance(node, str) and node.startswith(_OPTIONS_FROM_CASE):
            found.append(node[len(_OPTIONS_FROM_CASE):])
    return sorted(found)


def _with_layout(schema: dict[str, Any], layout: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema form with what its react-jsonschema-form UI schema says that Valueflow shows: text areas and
    the order of the fields."""
    fields = schema.get("properties")
    if not isinstance(fields, dict):
        return schema
    order = layout.get("ui:order") if isinstance(layout.get("ui:order"), list) else []
    names = [n for n in order if n in fields] + [n for n in fields if n not in order]
    properties = {}
    for name in names:
        hints = layout.get(name) if isinstance(layout.get(name), dict) else {}
        textarea = hints.get("ui:widget") == "textarea" and isinstance(fields[name], dict)
        properties[name] = {**fields[name], "x-widget": "textarea"} if textarea else fields[name]
    return {**schema, "properties": properties}
