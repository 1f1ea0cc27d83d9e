"""Use cases: each runs in one unit of work and commits it, or changes nothing.

Callers (the CLI, the web app, tests) pass plain values and a unit of work;
they get plain values back, or one of the exceptions below with a message
meant for the person who caused it.

SpiffWorkflow, and what compiles and checks a process, is imported by the use
cases that run or compile one, so a caller that only reads (``valueflow tasks``)
never loads it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.cases.errors import MessageNotExpected
from engine.definitions.annotations import ProcessAnnotations
from engine.definitions.changes import Change, changes_between, table_changes
from engine.definitions.errors import DeploymentRefused
from engine.errors import NotAllowed, NotFound
from engine.metrics import timed_step
from engine.storage.casestore import CaseRecord, Loaded, TaskRecord
from engine.storage.repository import known_segments
from engine.storage.tables import BusinessKey, ProcessDefinition, ProcessDraft, User
from engine.storage.uow import ConcurrentUpdate, UnitOfWork
from engine.time import written
from engine.time.clock import running_at
from engine.work.accounts import EDITING_ROLES, MANAGING_ROLES, PASSWORD_LENGTHS, USER_NAME, USER_NAME_RULE
from engine.work.passwords import hash_password

if TYPE_CHECKING:
    from engine.cases.model import Wait
    from engine.definitions.packages import CompiledDefinition, Package
    from engine.definitions.validation import Problem


class TaskClosed(Exception):
    """The task was already completed or cancelled."""


class DuplicateBusinessKey(Exception):
    """Another case of the process already has this business key."""


BUSINESS_KEY_LENGTH = 200


class TaskTaken(NotAllowed):
    """Someone else holds the task: it was claimed by, or assigned to, ``holder`` first."""

    def __init__(self, task_id: int, holder: str) -> None:
        super().__init__(f"task {task_id} is already claimed by {holder}")
        self.holder = holder


class DraftConflict(Exception):
    """Someone else saved the draft since the revision the save was based on; nothing was stored."""


class StaleEdit(Exception):
    """A deploy of an edit whose process moved on since the version it was based on; nothing was stored."""


@dataclass(frozen=True)
class EditBase:
    """The version an edit started from: None for a process drawn new."""

    version: Optional[int]


@dataclass(frozen=True)
class Deployment:
    definition_id: int
    key: str
    version: int
    created: bool
    warnings: tuple[str, ...]
    roles: dict[str, str]  # each role that owns a step → the lane or candidate group it comes from
    # against the version before it; empty for a first version or an unchanged package
    changes: tuple[Change, ...] = ()
    draft_removed: bool = False  # the process's draft held this very content, so it went with the deploy


@dataclass(frozen=True)
class Validation:
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]


@dataclass(frozen=True)
class Draft:
    """A saved, undeployed edit of a process: the package as JSON (engine.definitions.package_json)."""

    key: str
    package: dict[str, Any]
    revision: int
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class ProcessToEdit:
    """What the modeler opens: a version's package, the newest unless another was chosen (None for a process
    only drafted so far),
    the saved draft if any, and the customer segments the database knows (for target overrides)."""

    key: str
    version: Optional[int]
    package: Optional[dict[str, Any]]
    draft: Optional[Draft]
    segments: tuple[str, ...]


@dataclass(frozen=True)
class UserAdded:
    """What add_user changed: whether it created the user, the roles it gave them that they did not hold, the
    roles they hold now, and whether it replaced their password (which signs them out everywhere)."""

    created: bool
    roles_added: tuple[str, ...]
    roles: tuple[str, ...]
    password_changed: bool


# Characters no name is written with that change how a page or a log reads: control characters, and the
# bidirectional overrides and isolates that reorder the text around them (U+202A-U+202E, U+2066-U+2069).
_HIDDEN_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def customer_name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be a customer's name, in words; None when it can."""
    found = _HIDDEN_IN_NAMES.search(name)
    if found is None:
        return None
    return (f"a customer's name cannot hold the invisible character U+{ord(found.group()):04X} (control "
            "characters and right-to-left overrides change how the text around them reads)")


CUSTOMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
CUSTOMER_NAME_LENGTH = 300


def customer_problem(customer_id: str, name: str, segment: str) -> Optional[str]:
    """Why a new case cannot be for this customer, in words (the rules the API and the start page hold a
    customer to); None when it can."""
    if not CUSTOMER_ID.fullmatch(customer_id):
        return (f"a customer id has 1 to 100 letters, digits, dots, dashes or underscores, like c-17; "
                f"{customer_id!r} is not one")
    if not 0 < len(name) <= CUSTOMER_NAME_LENGTH:
        return f"a customer's name has 1 to {CUSTOMER_NAME_LENGTH} characters; this one has {len(name)}"
    if not SEGMENT.fullmatch(segment):
        return f"a segment is written in lower case (40 characters at most), like premium; {segment!r} is not one"
    return customer_name_problem(name)


@dataclass(frozen=True)
class CustomerRef:
    id: str
    name: str
    segment: str

    def __post_init__(self) -> None:
        if (problem := customer_name_problem(self.name)) is not None:
            raise ValueError(problem)


# -- definitions ---------------------------------------------------------------

def deploy(uow: UnitOfWork, package: Package, actor: Optional[str] = None,
           based_on: Optional[EditBase] = None) -> Deployment:
    """Validate and store a package as the next version of its process.

    A package with the same content as the newest version (engine.definitions.canonical: however a modeler
    rewrote its XML), or with the very files of an older one, stores nothing and answers that version,
    ``created`` false. An edit ``based_on`` a version that is no longer the newest (or a new process whose key
    another process has) is refused with StaleEdit, so that it undoes no one's deploy.
    """
    from engine.definitions.canonical import same_content
    from engine.definitions.packages import compile_package

    compiled = compile_package(package)
    warnings = tuple(str(p) for p in compiled.warnings)
    roles = compiled.annotations.role_origins()
    content_hash = package.content_hash()
    with uow:
        newest = uow.definitions.latest(compiled.key)
        existing = uow.definitions.by_hash(compiled.key, content_hash)
        if existing is None and newest is not None and same_content(uow.definitions.package(newest.id), package):
            existing = newest
        if existing is not None:
            removed = _remove_deployed_draft(uow, compiled.key, package)
            if removed:
                uow.commit()
            return Deployment(existing.id, existing.key, existing.version, False, warnings, roles,
                              draft_removed=removed)
        if based_on is not None and based_on.version != (newest.version if newest else None):
            raise StaleEdit(_moved_on(compiled.key, newest, based_on.version))
        changes = _changes_since(newest, compiled, package)
        files = {path: text for path, text in package.files.items() if path != package.bpmn_file}
        row = ProcessDefinition(
            key=compiled.key, version=uow.definitions.next_version(compiled.key), name=compiled.name,
            content_hash=content_hash, bpmn_xml=package.bpmn_xml, files=files,
            annotations=compiled.annotations.to_dict(), deployed_at=uow.clock.now(), deployed_by=actor)
        uow.definitions.add(row)
        try:
            uow.flush()
        except IntegrityError:
            raise ConcurrentUpdate(f"another version of {compiled.key} was deployed at the same moment; "
                                   "nothing was stored, deploy again") from None
        result = Deployment(row.id, row.key, row.version, True, warnings, roles, tuple(changes),
                            _remove_deployed_draft(uow, compiled.key, package))
        uow.commit()
    uow.specs.put(result.definition_id, compiled)
    return result


def _remove_deployed_draft(uow: UnitOfWork, key: str, package: Package) -> bool:
    """Remove the process's draft when it holds the content just deployed (reopened later, it would only bring
    back a version that is live already); a draft with other work in it stays."""
    from engine.definitions.canonical import same_content
    from engine.definitions.package_json import package_from_json

    draft = uow.drafts.get(key)
    if draft is None:
        return False
    try:
        if not same_content(package_from_json(draft.package), package):
            return False
    except ValueError:  # a draft whose files do not parse is work in progress
        return False
    uow.session.delete(draft)
    return True


def _moved_on(key: str, newest: Optional[ProcessDefinition], base: Optional[int]) -> str:
    if newest is None:
        return f"process {key} has no version {base} any more; nothing was stored: reload the modeler"
    if base is None:
        return (f"the process key {key} is taken by {newest.name!r} (version {newest.version}); nothing was stored: "
                f"give this process another key, or open {key} in the modeler to change that process")
    return (f"{key} version {newest.version} was deployed by {newest.deployed_by or 'someone'} on "
            f"{written.utc_moment(newest.deployed_at)} since you opened version {base}, and deploying your edit "
            "would undo it; nothing was stored: save your edit as a draft, reload the modeler on the newest version "
            "and make your change there")


def _changes_since(previous: Optional[ProcessDefinition], compiled: CompiledDefinition,
                   package: Package) -> list[Change]:
    if previous is None:
        return []
    forms = {path[len("forms/"):-len(".json")]: json.loads(text) for path, text in previous.files.items()
             if path.startswith("forms/") and path.endswith(".json")}
    return changes_between(ProcessAnnotations.from_dict(previous.annotations), forms, compiled.annotations,
                           compiled.forms) + table_changes(previous.files, package.files)


def validate_package(package: Package) -> Validation:
    """Every problem deploying the package would meet, blocking errors apart from warnings; stores nothing."""
    from engine.definitions.packages import compile_package

    try:
        problems = compile_package(package).warnings
    except DeploymentRefused as refused:
        problems = refused.problems
    return Validation(tuple(p for p in problems if not p.warning), tuple(p for p in problems if p.warning))


# -- editing processes in the browser ---------------------------------------------------

def deploy_edited(uow: UnitOfWork, data: Any, user: str) -> Deployment:
    """A process owner's (or admin's) deploy of a package sent as JSON; see ``deploy``. With ``base_version`` (the
    version the edit started from, null for a new process) it is refused when that is no longer the newest."""
    from engine.definitions.package_json import package_from_json

    data = dict(data) if isinstance(data, dict) else data
    base = data.pop("base_version", ...) if isinstance(data, dict) else ...
    package = package_from_json(data)
    if base is not ... and base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise ValueError("base_version is the version the edit started from (a number), or null for a new process")
    with uow:
        _require_editor(uow, user)
    return deploy(uow, package, actor=user, based_on=None if base is ... else EditBase(base))


def open_for_editing(uow: UnitOfWork, key: str, user: str, version: Optional[int] = None) -> ProcessToEdit:
    """Version ``version`` (default: the newest) of process ``key`` and its draft, for a process owner or admin
    to edit; a deploy of the edit becomes the newest version."""
    from engine.definitions.package_json import package_to_json

    with uow:
        _require_editor(uow, user)
        chosen = uow.definitions.latest(key) if version is None else uow.definitions.version(key, version)
        draft = uow.drafts.get(key)
        if version is not None and chosen is None:
            raise NotFound(f"process {key!r} has no version {version}")
        if chosen is None and draft is None:
            raise NotFound(f"no process {key!r} is deployed or drafted")
        return ProcessToEdit(key, chosen.version if chosen else None,
                             package_to_json(uow.definitions.package(chosen.id)) if chosen else None,
                             _draft(draft) if draft else None, tuple(sorted(known_segments(uow.session))))


def get_draft(uow: UnitOfWork, key: str, user: str) -> Draft:
    """The saved draft of process ``key``; NotFound when there is none."""
    with uow:
        _require_editor(uow, user)
        draft = uow.drafts.get(key)
        if draft is None:
            raise NotFound(f"no draft of process {key!r} is saved")
        return _draft(draft)


def save_draft(uow: UnitOfWork, key: str, data: Any, base_revision: int, user: str) -> Draft:
    """Save a draft of process ``key`` on top of revision ``base_revision`` (0: the first draft).

    Refused with DraftConflict, naming who saved, when the stored draft is no longer at that revision.
    """
    from engine.definitions.package_json import package_from_json, package_to_json

    package = package_from_json(data)
    if package.name != key:
        raise ValueError(f"the diagram's executable process is {package.name!r}, not {key!r}: "
                         "save it as a draft of that process")
    with uow:
        _require_editor(uow, user)
        now = uow.clock.now()
        try:
            stored = uow.drafts.replace(key, base_revision, package_to_json(package), user, now)
            uow.flush()
        except IntegrityError:
            raise DraftConflict(f"another draft of {key} was saved at the same moment; nothing was saved: "
                                "reopen the draft before saving again") from None
        if not stored:
            current = uow.drafts.get(key)
            who = (f"{current.saved_by} saved revision {current.revision} on {written.utc_moment(current.saved_at)}"
                   if current else "it was removed")
            raise DraftConflict(f"the draft of {key} changed since you opened it ({who}); nothing was saved: "
                                "reopen the draft, or copy your change, before saving again")
        uow.commit()
        return Draft(key, package_to_json(package), base_revision + 1, user, now)


def _draft(row: ProcessDraft) -> Draft:
    return Draft(row.key, dict(row.package), row.revision, row.saved_by, row.saved_at)


def _require_editor(uow: UnitOfWork, user: str) -> None:
    if not _require_user(uow, user) & EDITING_ROLES:
        raise NotAllowed(f"the user {user} is not a process owner or admin; only they edit, draft and deploy processes")


def compile_running_definitions(uow: UnitOfWork) -> int:
    """Compile every definition that has running cases, so that no step pays for parsing; returns how many."""
    with uow:
        ids = uow.instances.running_definition_ids()
        for definition_id in ids:
            uow.compiled(definition_id)
        return len(ids)


# -- cases -----------------------------------------------------------------------

def _require_names_free(compiled: CompiledDefinition, data: dict[str, Any], what: str = "the initial data",
                        unchanged: str = "nothing was started") -> None:
    """Refuse data named as a function the process's scripts call (a helper, a FEEL function, the sandbox's own):
    SpiffWorkflow would refuse the case's next script, and the case would stop in error there."""
    taken = sorted(set(data).intersection(compiled.script_engine.environment.globals))
    if taken:
        raise ValueError(f"{what} names {', '.join(map(repr, taken))}, which the process's scripts call as "
                         f"functions; give those fields other names ({unchanged})")


@timed_step("start")
def start_instance(uow: UnitOfWork, key: str, customer: CustomerRef, data: Optional[dict[str, Any]] = None,
                   actor: Optional[str] = None, business_key: Optional[str] = None) -> int:
    """Start a case of the newest version of process ``key`` for a customer; returns the instance id.

    ``business_key`` (e.g. a portal's application id) names the case for other systems; a second case of the
    process with the same key is refused with DuplicateBusinessKey, naming the first. When the start event names
    an initiator variable (``flowable:initiator``), the case's data holds ``actor`` under that name.
    """
    from engine.cases.model import Case

    if data is not None and not isinstance(data, dict):
        raise ValueError("the initial data must be a JSON object")
    if business_key is not None and not 0 < len(business_key) <= BUSINESS_KEY_LENGTH:
        raise ValueError(f"a business key has 1 to {BUSINESS_KEY_LENGTH} characters")
    with uow:
        if business_key is not None:
            _require_new_business_key(uow, key, business_key)
        starting = uow.cases.to_start(key)
        if starting is None:
            raise NotFound(f"no process {key!r} is deployed")
        compiled = uow.compiled(starting.definition_id)
        _require_names_free(compiled, data or {})
        uow.cases.put_customer(customer.id, customer.name, customer.segment)
        now = uow.clock.now()
        initial = {**(data or {}), "customer": {"id": customer.id, "name": customer.name,
                                                 "segment": customer.segment}}
        if compiled.initiator is not None:  # as Camunda and Flowable do: null when no person starts it
            initial[compiled.initiator] = actor
        with running_at(uow.clock):
            case = Case.start(compiled, initial)
        loaded = uow.cases.create(starting, customer.id, customer.segment, case, now)
        uow.cases.log(loaded.record.id, "instance_started", actor, now,
                      detail={"process": key, "version": starting.version, "business_key": business_key}
                      if business_key is not None else {"process": key, "version": starting.version})
        uow.cases.save(loaded, now, actor)
        if business_key is not None:
            uow.session.add(BusinessKey(process=key, key=business_key, instance_id=loaded.record.id))
            try:
                uow.flush()
            except IntegrityError:
                raise DuplicateBusinessKey(f"another case of {key} was started with the business key "
                                           f"{business_key!r} at the same moment; nothing was started") from None
        uow.commit()
        return loaded.record.id


def _require_new_business_key(uow: UnitOfWork, key: str, business_key: str) -> None:
    existing = uow.session.scalar(select(BusinessKey.instance_id).where(
        BusinessKey.process == key, BusinessKey.key == business_key))
    if existing is not None:
        raise DuplicateBusinessKey(f"case {existing} of {key} already has the business key {business_key!r}; "
                                   "nothing was started")


def case_by_business_key(uow: UnitOfWork, business_key: str, process: Optional[str] = None) -> int:
    """The case another system knows by ``business_key`` (within ``process`` when given); NotFound when none
    has it, ValueError when cases of several processes have it and no process is named."""
    query = select(BusinessKey.process, BusinessKey.instance_id).where(BusinessKey.key == business_key)
    if process is not None:
        query = query.where(BusinessKey.process == process)
    with uow:
        found = uow.session.execute(query.order_by(BusinessKey.process).limit(2)).all()
    if not found:
        raise NotFound(f"no case has the business key {business_key!r}"
                       + (f" in {process}" if process is not None else ""))
    if len(found) > 1:
        raise ValueError(f"cases of several processes ({', '.join(p for p, _ in found)}) have the business key "
                         f"{business_key!r}; name the process")
    return int(found[0][1])


@timed_step("complete")
def complete_task(uow: UnitOfWork, task_id: int, user: str, data: dict[str, Any]) -> int:
    """Complete a task assigned to ``user`` with form data; returns the instance id."""
    from engine.definitions.forms import check_form

    with uow:
        task, record = _open_task(uow, task_id)
        if task.assignee != user:
            _require_user(uow, user)
            holder = f"assigned to {task.assignee}" if task.assignee else "not claimed by anyone"
            raise NotAllowed(f"task {task_id} is {holder}; only its assignee can complete it"
                             + ("" if task.assignee else " (claim it first)"))
        compiled = uow.compiled(record.definition_id)
        accepted = check_form(compiled.forms.get(task.step_id), data, uow.clock.now().date())
        loaded = uow.cases.load(record, compiled)
        with running_at(uow.clock):
            loaded.case.complete(task.spiff_task_id, accepted)
        now = uow.clock.now()
        uow.cases.complete_task(task, user, now)
        uow.cases.log(record.id, "task_completed", user, now, task.id, task.step_id, {"data": accepted})
        uow.cases.save(loaded, now, user)
        uow.commit()
        return record.id


@timed_step("claim")
def claim_task(uow: UnitOfWork, task_id: int, user: str) -> None:
    """Take an unassigned task of one of the user's roles."""
    with uow:
        roles_later = uow.cases.user_roles_later(user)
        task, _ = _open_task(uow, task_id)
        roles = _roles_of(roles_later(), user)
        if task.role not in roles:
            raise NotAllowed(f"the user {user} does not hold the role {task.role!r} that task {task_id} needs")
        if task.assignee == user:
            return
        if task.assignee is not None:
            raise TaskTaken(task_id, task.assignee)
        _set_assignee(uow, task, user, "task_claimed", user)


@timed_step("release")
def release_task(uow: UnitOfWork, task_id: int, user: str) -> None:
    """Put a claimed task back in its role's queue (its assignee, a manager or an admin)."""
    with uow:
        roles_later = uow.cases.user_roles_later(user)
        task, _ = _open_task(uow, task_id)
        roles = _roles_of(roles_later(), user)
        if task.assignee is None:
            return
        if task.assignee != user and not roles & MANAGING_ROLES:
            raise NotAllowed(f"task {task_id} is claimed by {task.assignee}; only they or a manager can release it")
        if task.role is None:
            raise NotAllowed(f"task {task_id} belongs to no role's queue (its diagram gives it to a person), so it "
                             "cannot go back to one; a manager can assign it to someone else")
        _set_assignee(uow, task, None, "task_released", user)


@timed_step("assign")
def assign_task(uow: UnitOfWork, task_id: int, assignee: str, actor: str) -> None:
    """A manager or admin gives an open task to a user who holds its role (to any user, when it has none)."""
    with uow:
        task, _ = _open_task(uow, task_id)
        if not _require_user(uow, actor) & MANAGING_ROLES:
            raise NotAllowed(f"the user {actor} is not a manager or admin and cannot assign tasks")
        holder_roles = _require_user(uow, assignee)
        if task.role is not None and task.role not in holder_roles:
            raise NotAllowed(f"the user {assignee} does not hold the role {task.role!r} that task {task_id} needs")
        if uow.users.is_disabled(assignee):
            raise NotAllowed(f"the user {assignee} is disabled and cannot sign in to work on task {task_id}")
        _set_assignee(uow, task, assignee, "task_assigned", actor, {"assignee": assignee})


@timed_step("cancel")
def cancel_instance(uow: UnitOfWork, instance_id: int, actor: str) -> None:
    """Stop a running (or errored) case; its open tasks are cancelled."""
    with uow:
        record = _case(uow, instance_id)
        if record.status not in ("running", "error"):
            raise TaskClosed(f"instance {instance_id} is already {record.status}")
        loaded = uow.cases.load(record, uow.compiled(record.definition_id))
        loaded.case.cancel()
        uow.cases.save(loaded, uow.clock.now(), actor)
        uow.commit()


@timed_step("message")
def deliver_message(uow: UnitOfWork, instance_id: int, name: str, payload: Optional[dict[str, Any]] = None,
                    actor: Optional[str] = None) -> None:
    """Hand a message (e.g. "documents_received") to a case that waits for it."""
    with uow:
        record = _running_case(uow, instance_id)
        loaded = uow.cases.load(record, uow.compiled(record.definition_id))
        _receive(uow, loaded, name, payload or {}, actor, None)


@timed_step("message")
def record_message(uow: UnitOfWork, instance_id: int, name: str, data: dict[str, Any], user: str) -> None:
    """A person of the case's roles (or a manager) records that the customer's message arrived.

    The values are checked against the form of the event that catches the message (``forms/<event id>.json``),
    or the comment box when it has none; the delivery is logged with ``user`` as its actor.
    """
    from engine.definitions.forms import check_form

    with uow:
        record = _running_case(uow, instance_id)
        roles = _require_user(uow, user)
        compiled = uow.compiled(record.definition_id)
        case_roles = compiled.annotations.roles()
        if not roles & (case_roles | MANAGING_ROLES):
            raise NotAllowed(f"the user {user} holds none of the roles of case {instance_id} "
                             f"({', '.join(sorted(case_roles))}) and cannot record its messages")
        loaded = uow.cases.load(record, compiled)
        wait = next((w for w in loaded.case.waits() if w.kind == "message" and w.message == name), None)
        if wait is None:
            raise MessageNotExpected(f"case {instance_id} is not waiting for the message {name!r}; "
                                     + waiting_for(loaded.case.waits()))
        accepted = check_form(compiled.forms.get(wait.step_id), data, uow.clock.now().date())
        _receive(uow, loaded, name, accepted, user, wait.step_id)


def waiting_for(waits: Iterable[Wait]) -> str:
    """What a case waits for, in words: its messages and timers, or its open steps when none."""
    described = [f"the message {w.message!r} ({w.step_name})" if w.kind == "message"
                 else f"{w.worker} ({w.step_name})" if w.kind == "worker"
                 else f"a timer ({w.step_name}, due {written.utc_moment(w.due) if w.due else 'unknown'})"
                 for w in waits]
    return "it waits for " + (", ".join(described) if described else "none: only for its open steps")


def _running_case(uow: UnitOfWork, instance_id: int) -> CaseRecord:
    record = _case(uow, instance_id)
    if record.status != "running":
        raise TaskClosed(f"instance {instance_id} is {record.status}, not waiting for messages")
    return record


def _receive(uow: UnitOfWork, loaded: Loaded, name: str, payload: dict[str, Any], actor: Optional[str],
             step_id: Optional[str]) -> None:
    """Deliver the message to the loaded case, log it, save the case and commit; its payload may become case
    data (engine.definitions.service_specs), so it may not name a function the scripts call."""
    if loaded.case.keeps_payload_as_data(name):
        _require_names_free(loaded.case.definition, payload, f"the message {name!r}", "nothing was delivered")
    with running_at(uow.clock):
        loaded.case.receive_message(name, payload)
    now = uow.clock.now()
    uow.cases.log(loaded.record.id, "message_received", actor, now, step_id=step_id, detail={"message": name})
    uow.cases.save(loaded, now, actor)
    uow.commit()


# -- users -----------------------------------------------------------------------

def add_user(uow: UnitOfWork, name: str, roles: Iterable[str], password: Optional[str] = None,
             actor: Optional[str] = None) -> UserAdded:
    """Create a user with roles, or give an existing user these roles (and password, if given); logged on the
    user's account with ``actor`` (None from the command line). Returns what it changed."""
    wanted = set(roles)
    shortest, longest = PASSWORD_LENGTHS
    if password is not None and not shortest <= len(password) <= longest:
        raise ValueError(f"a password has {shortest} to {longest} characters; nothing was changed")
    with uow:
        now = uow.clock.now()
        user = uow.users.by_name(name)
        created = user is None
        held: set[str] = set()
        if user is None:
            if not USER_NAME.fullmatch(name):
                raise ValueError(f"{USER_NAME_RULE}; {name!r} is not one")
            if (twin := uow.users.by_name_in_any_case(name)) is not None:
                raise ValueError(f"there is already a user named {twin.name}, which differs from {name} only in "
                                 "capitals: choose another name, or give the roles to that user")
            user = User(name=name, password_hash=hash_password(password) if password else None, created_at=now)
            uow.users.add(user)
            uow.users.log(user, "user_added", actor, now, {"roles": sorted(wanted)})
        else:
            held = uow.users.roles(user)
            if password:
                user.password_hash = hash_password(password)
                user.session_generation += 1
                uow.users.log(user, "password_set", actor, now)
            uow.users.log(user, "roles_added", actor, now, {"roles": sorted(wanted)})
        uow.users.set_roles(user, held | wanted)
        uow.commit()
    return UserAdded(created, tuple(sorted(wanted - held)), tuple(sorted(held | wanted)),
                     password_changed=bool(password) and not created)


# -- shared steps ----------------------------------------------------------------

def _case(uow: UnitOfWork, instance_id: int) -> CaseRecord:
    record = uow.cases.lock_case(instance_id)
    if record is None:
        raise NotFound(f"no instance {instance_id}")
    return record


def _open_task(uow: UnitOfWork, task_id: int) -> tuple[TaskRecord, CaseRecord]:
    """The task and its case, locked; refused unless the task is still open."""
    found = uow.cases.lock_task(task_id)
    if found is None:
        raise NotFound(f"no task {task_id}")
    _require_open(found[0])
    return found


def _require_open(task: TaskRecord) -> None:
    if task.status == "completed":
        raise TaskClosed(f"task {task.id} ({task.name}) was already completed by {task.completed_by}")
    if task.status != "open":
        raise TaskClosed(f"task {task.id} ({task.name}) is {task.status}")


def require_user(uow: UnitOfWork, name: str) -> set[str]:
    """The roles of an existing user; NotFound for an unknown name."""
    with uow:
        return _require_user(uow, name)


def _require_user(uow: UnitOfWork, name: str) -> set[str]:
    return _roles_of(uow.cases.user_roles(name), name)


def _roles_of(roles: Optional[set[str]], name: str) -> set[str]:
    """The roles read for the user called ``name``; refused when there is no such user."""
    if roles is None:
        raise NotFound(f"no user named {name!r}")
    return roles


def _set_assignee(uow: UnitOfWork, task: TaskRecord, assignee: Optional[str], kind: str, actor: str,
                  detail: Optional[dict[str, Any]] = None) -> None:
    """Change who holds an open task, log it, and commit."""
    now = uow.clock.now()
    with uow.cases.batch():
        uow.cases.set_assignee(task, assignee, now if assignee is not None else None)
        uow.cases.log(task.instance_id, kind, actor, now, task.id, task.step_id, detail)
        uow.cases.flush_events()
    uow.commit()
