"""What a person needs to see about one case: for the task page, the instance page, search and start.

Read-only, like engine.work.queries (whose ``instance_view`` gives the case data and
event history); diagram facts (element names, lanes, documentation, the start
lane) are read from the stored BPMN once per definition and kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Optional, Union

from sqlalchemy import ColumnElement, bindparam, func, inspect, select

from engine.definitions.annotations import ProcessAnnotations, role_key
from engine.definitions.validation import (BPMN_NS, HUMAN_TASK_TAGS, NS, lanes_by_node, local, main_process,
                                           properties_of, read_bpmn)
from engine.errors import NotFound
from engine.storage.driver_statements import Prepared
from engine.storage.repository import known_segments
from engine.storage.tables import Customer, HumanTask, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork
from engine.work import process_pages, queries
from engine.work.accounts import Account
from engine.work.inbox import urgency
from engine.work.visibility import require_case_visible, visible_cases

_END_TAGS = ("endEvent",)


@dataclass(frozen=True)
class DiagramFacts:
    """What the BPMN of one definition says about its elements."""

    names: dict[str, str]
    kinds: dict[str, str]
    documentation: dict[str, str]
    customer_values: dict[str, str]
    successors: dict[str, tuple[str, ...]]
    start_role: str
    start_event: Optional[str]


def diagram_facts(uow: UnitOfWork, definition: ProcessDefinition) -> DiagramFacts:
    """The facts of a stored definition, read from its XML once per process (engine.definitions.spec_cache)."""
    def read() -> DiagramFacts:
        step_roles = {step_id: step.role for step_id, step in
                      ProcessAnnotations.from_dict(definition.annotations).steps.items() if step.role}
        return _read_facts(definition.bpmn_xml, definition.key, step_roles)

    return uow.specs.facts("diagram", definition.id, read)


def _read_facts(xml: str, key: str, step_roles: dict[str, str]) -> DiagramFacts:
    """The start role is the start event's lane's; outside lanes (as Camunda and Flowable draw), the role of the
    first step for people the start event leads to (its candidate group); with neither, managers start cases."""
    process = main_process(read_bpmn(xml, f"{key}.bpmn"), key)
    names, kinds, docs, values = {}, {}, {}, {}
    successors: dict[str, list[str]] = {}
    inner_starts: dict[str, list[str]] = {}
    for element in process.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        kind, element_id = local(element), element.get("id", "")
        kinds[element_id] = kind
        names[element_id] = element.get("name") or element_id
        doc = element.find("bpmn:documentation", NS)
        if doc is not None and (doc.text or "").strip():
            docs[element_id] = doc.text.strip()
        customer_value = properties_of(element).get("customerValue", "").strip()
        if customer_value:
            values[element_id] = customer_value
        if kind == "sequenceFlow":
            successors.setdefault(element.get("sourceRef", ""), []).append(element.get("targetRef", ""))
        if kind == "startEvent" and element.getparent() is not process:
            inner_starts.setdefault(element.getparent().get("id", ""), []).append(element_id)
    lanes = lanes_by_node(process)
    starts = [e for e in process.findall(f"{{{BPMN_NS}}}startEvent")]
    plain = [e for e in starts if not any(local(c).endswith("EventDefinition") for c in e)]
    first = (plain or starts or [None])[0]
    lane = lanes.get(first.get("id", "")) if first is not None else None
    start_role = role_key(lane) if lane else None
    if start_role is None and first is not None:
        start_role = _first_step_role(first.get("id", ""), successors, inner_starts, step_roles)
    return DiagramFacts(names, kinds, docs, values, {k: tuple(v) for k, v in successors.items()},
                        start_role or "manager", first.get("id") if first is not None else None)


def _first_step_role(start: str, successors: dict[str, list[str]], inner_starts: dict[str, list[str]],
                     step_roles: dict[str, str]) -> Optional[str]:
    """The role of the nearest step for people after ``start`` (into subprocesses too), or None."""
    queue, seen = [start], {start}
    while queue:
        element_id = queue.pop(0)
        if element_id in step_roles:
            return step_roles[element_id]
        for following in inner_starts.get(element_id, []) + successors.get(element_id, []):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return None


def _definition(uow: UnitOfWork, key: str, version: int) -> ProcessDefinition:
    definition = uow.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version)).first()
    if definition is None:
        raise NotFound(f"no version {version} of process {key!r}")
    return definition


def form_of(uow: UnitOfWork, definition: ProcessDefinition, step_id: str) -> Optional[dict[str, Any]]:
    """The JSON Schema of a step's form (its package's, or the one its tool wrote), or None for a step without."""
    return uow.compiled(definition.id).forms.get(step_id)


def field_labels(uow: UnitOfWork, definition: ProcessDefinition) -> dict[str, str]:
    """Every form field's title by field name, across the process's forms."""
    labels: dict[str, str] = {}
    for schema in uow.compiled(definition.id).forms.values():
        for name, field in (schema.get("properties") or {}).items():
            if isinstance(field, dict) and field.get("title"):
                labels.setdefault(name, field["title"])
    return labels


def field_specs(uow: UnitOfWork, definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """Every form field whose value a page words otherwise than its text, by field name: a list of choices (its
    ``enum`` and the ``x-labels`` its form gives) or a date (its ``format``, ``date`` or ``date-time``)."""
    specs: dict[str, dict[str, Any]] = {}
    for schema in uow.compiled(definition.id).forms.values():
        for name, field in (schema.get("properties") or {}).items():
            if isinstance(field, dict) and isinstance(field.get("enum"), list):
                specs.setdefault(name, {key: field[key] for key in ("enum", "x-labels") if key in field})
            elif isinstance(field, dict) and field.get("format") in ("date", "date-time"):
                specs.setdefault(name, {"format": field["format"]})
    return specs


def _step_row(task: Union[HumanTask, "_Step"]) -> dict[str, Any]:
    took = int((task.completed_at - task.created_at).total_seconds()) if task.completed_at else None
    return {
        "id": task.id, "step_id": task.step_id, "name": task.name, "role": task.role, "status": task.status,
        "assignee": task.assignee, "completed_by": task.completed_by, "created_at": task.created_at,
        "completed_at": task.completed_at, "took_seconds": took, "target_seconds": task.target_seconds,
        "met_target": None if took is None or task.target_seconds is None else took <= task.target_seconds,
    }


@dataclass(frozen=True)
class _TaskPageFacts:
    """What the task page shows of one stored definition."""

    key: str
    name: str
    version: int
    customer_value: Optional[str]
    target_seconds: Optional[int]
    documentation: dict[str, str]
    labels: dict[str, str]
    field_specs: dict[str, dict[str, Any]]


def _task_page_facts(uow: UnitOfWork, definition_id: int) -> _TaskPageFacts:
    """The facts of a stored definition for its task pages, read once per process (engine.definitions.spec_cache)."""
    def read() -> _TaskPageFacts:
        definition = uow.session.get(ProcessDefinition, definition_id)
        assert definition is not None
        notes = ProcessAnnotations.from_dict(definition.annotations)
        return _TaskPageFacts(definition.key, definition.name, definition.version, notes.process.customer_value,
                              notes.process.target_seconds, diagram_facts(uow, definition).documentation,
                              field_labels(uow, definition), field_specs(uow, definition))
    return uow.specs.facts("task page", definition_id, read)


_TASK = HumanTask.__table__
_INSTANCE, _CUSTOMER = ProcessInstance.__table__, Customer.__table__
# Built once and run on the driver's cursor: a task page is opened before each piece of work.
_TASK_CASE = Prepared(
    select(_TASK.c.instance_id, _INSTANCE.c.status, _INSTANCE.c.started_at, _INSTANCE.c.definition_id,
           _CUSTOMER.c.id, _CUSTOMER.c.name, _CUSTOMER.c.segment)
    .join(_INSTANCE, _INSTANCE.c.id == _TASK.c.instance_id)
    .join(_CUSTOMER, _CUSTOMER.c.id == _INSTANCE.c.customer_id)
    .where(_TASK.c.id == bindparam("task_id")))
_STEP_COLUMNS = ("id", "instance_id", "step_id", "name", "role", "lane", "assignee", "customer_value", "value_class",
                 "target_seconds", "created_at", "due_at", "claimed_at", "completed_at", "completed_by", "status")
_CASE_STEPS = Prepared(
    select(*(_TASK.c[name] for name in _STEP_COLUMNS))
    .where(_TASK.c.instance_id == bindparam("instance_id")).order_by(_TASK.c.created_at, _TASK.c.id))


class _Step(NamedTuple):
    """One human task row of a case, with the attributes of ``HumanTask`` the pages read."""

    id: int
    instance_id: int
    step_id: str
    name: str
    role: Optional[str]
    lane: Optional[str]
    assignee: Optional[str]
    customer_value: Optional[str]
    value_class: Optional[str]
    target_seconds: Optional[int]
    created_at: datetime
    due_at: Optional[datetime]
    claimed_at: Optional[datetime]
    completed_at: Optional[datetime]
    completed_by: Optional[str]
    status: str


def task_page(uow: UnitOfWork, task_id: int) -> dict[str, Any]:
    """The task with its case: customer, data so far, the step's value and form, and the steps done before."""
    with uow.reading():
        found = uow.cases.sql.first(_TASK_CASE, {"task_id": task_id})
        if found is None:
            raise NotFound(f"no task {task_id}")
        instance_id, status, started_at, definition_id, customer_id, customer_name, segment = found
        now = uow.clock.now()
        steps = [_Step(*row) for row in uow.cases.sql.all(_CASE_STEPS, {"instance_id": instance_id})]
        task = next(step for step in steps if step.id == task_id)
        compiled = uow.compiled(definition_id)
        data = uow.cases.read_data(instance_id, compiled)
        facts = _task_page_facts(uow, definition_id)
        return {
            "task": {**queries.task_view(task), "created": task.created_at, "due": task.due_at,
                     "documentation": facts.documentation.get(task.step_id),
                     "urgency": urgency(task.due_at, task.target_seconds, now) if task.status == "open" else None,
                     "waited_seconds": int(((task.completed_at or now) - task.created_at).total_seconds())},
            "form": compiled.forms.get(task.step_id),
            "instance": {"id": instance_id, "status": status, "started_at": started_at.isoformat()},
            "process": {"key": facts.key, "name": facts.name, "version": facts.version,
                        "customer_value": facts.customer_value, "target_seconds": facts.target_seconds},
            "customer": {"id": customer_id, "name": customer_name, "segment": segment},
            "data": {k: v for k, v in data.items() if k != "customer"},
            "labels": facts.labels,
            "field_specs": facts.field_specs,
            "history": [_step_row(s) for s in steps if s.status == "completed"],
            "other_open": [_step_row(s) for s in steps if s.status == "open" and s.id != task_id],
            "now": now,
        }


def case_view(uow: UnitOfWork, instance_id: int, viewer: Account) -> dict[str, Any]:
    """The case as ``queries.instance_view`` gives it, when ``viewer`` may see it (engine.work.visibility);
    NotFound or NotAllowed otherwise."""
    require_case_visible(uow, instance_id, viewer)
    return queries.instance_view(uow, instance_id)


def instance_page(uow: UnitOfWork, instance_id: int, viewer: Account) -> dict[str, Any]:
    """The case on its diagram: the version's XML, the steps done and open, the event history with step names;
    NotFound or NotAllowed as ``case_view``."""
    case = case_view(uow, instance_id, viewer)
    with uow.reading():
        now = uow.clock.now()
        definition = _definition(uow, case["process"], case["version"])
        facts = diagram_facts(uow, definition)
        steps = uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                    .order_by(HumanTask.created_at, HumanTask.id)).all()
        done = [s.step_id for s in steps if s.status == "completed"]
        # a step of a called process is drawn at the call activity that runs it
        calls = uow.compiled(definition.id).called_steps
        open_steps = [calls.get(s.step_id, s.step_id) for s in steps if s.status == "open"]
        ended = _end_events_reached(facts, done) if case["status"] == "completed" else []
        started = [facts.start_event] if facts.start_event else []
        notes = ProcessAnnotations.from_dict(definition.annotations)
        rows = [_step_row(s) for s in steps]
        for row in rows:
            if row["status"] == "open":
                task = next(s for s in steps if s.id == row["id"])
                row["urgency"] = urgency(task.due_at, task.target_seconds, now)
        return {
            **case, "process_name": definition.name, "bpmn_xml": definition.bpmn_xml,
            "waits": _waits(uow, case, definition, facts, now),
            "roles": sorted(notes.roles()),
            "completed_steps": sorted(set(started) | set(done) | set(ended)), "open_step_ids": sorted(set(open_steps)),
            "ended_at_events": ended, "steps": rows, "now": now,
            "step_names": {**{step_id: step.name for step_id, step in notes.steps.items()}, **facts.names},
        }


# The events after which a case may have begun to wait: every one that moved it on.
_MOVED_ON = ("instance_started", "task_completed", "message_received", "timer_fired", "service_task_completed",
             "incident_retried")


def _waits(uow: UnitOfWork, case: dict[str, Any], definition: ProcessDefinition, facts: DiagramFacts,
           now: datetime) -> list[dict[str, Any]]:
    """What the case waits for, each since the moment the case last moved on (when it began to wait), with
    the waiting step's customer value and, for a message, the form of the event that catches it."""
    moved = [e["at"] for e in case["events"] if e["type"] in _MOVED_ON]
    since = datetime.fromisoformat(moved[-1] if moved else case["started_at"])
    return [{**wait, "since": since, "waited_seconds": int((now - since).total_seconds()),
             "due_in_seconds": _seconds_until(wait["due"], now),
             "customer_value": facts.customer_values.get(wait["step_id"]),
             "form": form_of(uow, definition, wait["step_id"]) if wait["kind"] == "message" else None}
            for wait in case["waits"]]


def _seconds_until(moment: Optional[str], now: datetime) -> Optional[int]:
    return int((datetime.fromisoformat(moment) - now).total_seconds()) if moment else None


def _end_events_reached(facts: DiagramFacts, done: list[str]) -> list[str]:
    """The end event a finished case ended at, when the diagram says so unambiguously: the only end event
    reachable from its last completed human step without passing another human step. (The event log holds
    the steps of people, not those the engine runs by itself, so nothing else is inferred.)"""
    if not done:
        return []
    seen, pending, ends = {done[-1]}, list(facts.successors.get(done[-1], ())), set()
    while pending:
        node = pending.pop()
        if node in seen or facts.kinds.get(node) in HUMAN_TASK_TAGS:
            continue
        seen.add(node)
        if facts.kinds.get(node) in _END_TAGS:
            ends.add(node)
        pending.extend(facts.successors.get(node, ()))
    return sorted(ends) if len(ends) == 1 else []


def search_cases(uow: UnitOfWork, text: str, viewer: Account, limit: int = 50) -> list[dict[str, Any]]:
    """The cases ``viewer`` may see whose customer's name contains ``text``, whose customer id is ``text``, or
    whose id it is; newest first."""
    text = text.strip()
    if not text:
        return []
    condition = Customer.name.icontains(text, autoescape=True) | (Customer.id == text)
    number = text.lstrip("#")
    if number.isdecimal() and len(number) <= 18:  # a case id fits a BIGINT
        condition = condition | (ProcessInstance.id == int(number))
    return _cases(uow, condition & visible_cases(viewer),
                  (ProcessInstance.started_at.desc(), ProcessInstance.id.desc()), limit)


def recent_cases(uow: UnitOfWork, viewer: Account, limit: int = 20) -> list[dict[str, Any]]:
    """The newest cases ``viewer`` may see, by case number (which walks the primary key instead of sorting
    every case)."""
    return _cases(uow, visible_cases(viewer), (ProcessInstance.id.desc(),), limit)


def list_cases(uow: UnitOfWork, viewer: Account, *, process: Optional[str] = None, status: Optional[str] = None,
               customer_id: Optional[str] = None, page: int = 1, per_page: int = 25) -> dict[str, Any]:
    """One page of the cases ``viewer`` may see, narrowed by process key, status and customer, newest case
    first; with the total."""
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    condition = visible_cases(viewer)
    if process:
        condition = condition & ProcessInstance.definition_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.key == process))
    if status:
        condition = condition & (ProcessInstance.status == status)
    if customer_id:
        condition = condition & (ProcessInstance.customer_id == customer_id)
    with uow.reading():
        total = uow.session.scalar(select(func.count(ProcessInstance.id)).where(condition)) or 0
    rows = _cases(uow, condition, (ProcessInstance.id.desc(),), per_page, (page - 1) * per_page)
    return {"rows": rows, "total": total, "page": page, "per_page": per_page,
            "pages": max((total + per_page - 1) // per_page, 1)}


def _cases(uow: UnitOfWork, condition: ColumnElement[bool], order: tuple[Any, ...], limit: int,
           offset: int = 0) -> list[dict[str, Any]]:
    """The cases meeting ``condition`` in ``order``, each with its customer, process and open steps."""
    with uow.reading():
        found = uow.session.execute(
            select(ProcessInstance, Customer, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)
            .join(Customer, Customer.id == ProcessInstance.customer_id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(condition).order_by(*order).offset(offset).limit(limit)).all()
        ids = [row[0].id for row in found]
        open_steps: dict[int, list[str]] = {}
        if ids:
            for instance_id, name in uow.session.execute(
                    select(HumanTask.instance_id, HumanTask.name).where(
                        HumanTask.instance_id.in_(ids), HumanTask.status == "open").order_by(HumanTask.id)):
                open_steps.setdefault(instance_id, []).append(name)
        return [{"id": instance.id, "status": instance.status, "started_at": instance.started_at,
                 "ended_at": instance.ended_at,
                 "customer": {"id": customer.id, "name": customer.name, "segment": customer.segment},
                 "process": {"key": key, "name": name, "version": version},
                 "open_steps": open_steps.get(instance.id, [])}
                for instance, customer, key, name, version in found]


def catalogue(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every deployed process as its newest version says (name, customer value, end-to-end target, owner, the
    role that starts it, its steps), with its running cases (``running``, ``running_all_versions``) and all
    its versions, newest first (``process_pages.version_summary``)."""
    with uow.reading():
        newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version")) \
            .group_by(ProcessDefinition.key).subquery()
        definitions = uow.session.scalars(select(ProcessDefinition).join(
            newest, (newest.c.key == ProcessDefinition.key) & (newest.c.version == ProcessDefinition.version))
            .order_by(ProcessDefinition.name)).all()
        versions: dict[str, list[dict[str, Any]]] = {}
        for row in process_pages.version_rows(uow):
            versions.setdefault(row.key, []).append(process_pages.version_summary(row))
        result = []
        for definition in definitions:
            notes = ProcessAnnotations.from_dict(definition.annotations)
            listed = versions[definition.key]
            result.append({
                "key": definition.key, "name": definition.name, "version": definition.version,
                "customer_value": notes.process.customer_value, "target_seconds": notes.process.target_seconds,
                "owner": notes.process.owner, "start_role": diagram_facts(uow, definition).start_role,
                "steps": [s.name for s in notes.steps.values()],
                "running": listed[0]["running"], "running_all_versions": sum(v["running"] for v in listed),
                "deployed_at": definition.deployed_at, "versions": listed,
            })
        return result


def process_to_start(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """The newest version of ``key`` and the role whose members may start it."""
    with uow.reading():
        definition = uow.definitions.latest(key)
        if definition is None:
            raise NotFound(f"no process {key!r} is deployed")
        notes = ProcessAnnotations.from_dict(definition.annotations)
        return {"key": definition.key, "name": definition.name, "version": definition.version,
                "customer_value": notes.process.customer_value,
                "start_role": diagram_facts(uow, definition).start_role,
                "segments": sorted({"standard"} | known_segments(uow.session)
                                   | {seg for s in notes.steps.values() for seg in s.segment_targets})}


def find_customers(uow: UnitOfWork, text: str, limit: int = 20) -> list[dict[str, str]]:
    """Customers whose name contains ``text`` or whose id starts with it."""
    text = text.strip()
    if not text:
        return []
    with uow.reading():
        found = uow.session.scalars(select(Customer).where(
            Customer.name.icontains(text, autoescape=True) | Customer.id.startswith(text, autoescape=True))
            .order_by(Customer.name, Customer.id).limit(limit)).all()
        return [{"id": c.id, "name": c.name, "segment": c.segment} for c in found]


def customer(uow: UnitOfWork, customer_id: str) -> Optional[dict[str, str]]:
    with uow.reading():
        found = uow.session.get(Customer, customer_id)
        return {"id": found.id, "name": found.name, "segment": found.segment} if found else None


def new_customer_id(uow: UnitOfWork) -> str:
    """An unused customer id such as ``c-3f9a1c``."""
    with uow.reading():
        while True:
            candidate = f"c-{secrets.token_hex(3)}"
            if uow.session.get(Customer, candidate) is None:
                return candidate


def schema_ready(uow: UnitOfWork) -> bool:
    """Whether the database has Valueflow's tables (``valueflow init`` has run)."""
    with uow.reading():
        return inspect(uow.session.connection()).has_table(ProcessDefinition.__tablename__)
