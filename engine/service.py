"""Use cases: each runs in one unit of work and commits it, or changes nothing.

Callers (the CLI, the web app, tests) pass plain values and a unit of work;
they get plain values back, or one of the exceptions below with a message
meant for the person who caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from engine.clock import running_at
from engine.definitions import CompiledDefinition, Package, compile_package
from engine.forms import check_form
from engine.model import Case
from engine.passwords import hash_password
from engine.tables import Customer, HumanTask, ProcessDefinition, ProcessInstance, TaskEvent, User
from engine.uow import UnitOfWork, UnitOfWorkFactory

MANAGING_ROLES = frozenset({"manager", "admin"})


class NotFound(Exception):
    """An id or name that matches nothing."""


class NotAllowed(Exception):
    """The user may not do this to this task or case."""


class TaskClosed(Exception):
    """The task was already completed or cancelled."""


@dataclass(frozen=True)
class Deployment:
    definition_id: int
    key: str
    version: int
    created: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class CustomerRef:
    id: str
    name: str
    segment: str


# -- definitions ---------------------------------------------------------------

def deploy(uow: UnitOfWork, package: Package, actor: Optional[str] = None) -> Deployment:
    """Validate and store a package as the next version of its process; the same content again is a no-op."""
    compiled = compile_package(package)
    warnings = tuple(str(p) for p in compiled.warnings)
    content_hash = package.content_hash()
    with uow:
        existing = uow.definitions.by_hash(compiled.key, content_hash)
        if existing is not None:
            return Deployment(existing.id, existing.key, existing.version, False, warnings)
        files = {path: text for path, text in package.files.items() if path != package.bpmn_file}
        row = ProcessDefinition(
            key=compiled.key, version=uow.definitions.next_version(compiled.key), name=compiled.name,
            content_hash=content_hash, bpmn_xml=package.bpmn_xml, files=files,
            annotations=compiled.annotations.to_dict(), deployed_at=uow.clock.now(), deployed_by=actor)
        uow.definitions.add(row)
        uow.flush()
        result = Deployment(row.id, row.key, row.version, True, warnings)
        uow.commit()
    uow.specs.put(result.definition_id, compiled)
    return result


# -- cases -----------------------------------------------------------------------

def start_instance(uow: UnitOfWork, key: str, customer: CustomerRef, data: Optional[dict[str, Any]] = None,
                   actor: Optional[str] = None) -> int:
    """Start a case of the newest version of process ``key`` for a customer; returns the instance id."""
    if not isinstance(data if data is not None else {}, dict):
        raise ValueError("the initial data must be a JSON object")
    with uow:
        definition = uow.definitions.latest(key)
        if definition is None:
            raise NotFound(f"no process {key!r} is deployed")
        compiled = uow.definitions.compiled(definition)
        known = uow.instances.customer(customer.id)
        if known is None:
            uow.instances.add_customer(Customer(id=customer.id, name=customer.name, segment=customer.segment))
        else:
            known.name, known.segment = customer.name, customer.segment
        now = uow.clock.now()
        initial = {**(data or {}), "customer": {"id": customer.id, "name": customer.name,
                                                 "segment": customer.segment}}
        with running_at(uow.clock):
            case = Case.start(compiled, initial)
        row = ProcessInstance(definition_id=definition.id, customer_id=customer.id, status="running",
                              started_at=now, state="")
        uow.instances.add(row)
        uow.flush()
        _log(uow, row.id, "instance_started", actor, detail={"process": key, "version": definition.version})
        _save(uow, row, case, customer.segment, actor)
        uow.commit()
        return row.id


def complete_task(uow: UnitOfWork, task_id: int, user: str, data: dict[str, Any]) -> int:
    """Complete a task assigned to ``user`` with form data; returns the instance id."""
    with uow:
        task, instance = _open_task(uow, task_id)
        if task.assignee != user:
            _require_user(uow, user)
            holder = f"assigned to {task.assignee}" if task.assignee else "not claimed by anyone"
            raise NotAllowed(f"task {task_id} is {holder}; only its assignee can complete it"
                             + ("" if task.assignee else " (claim it first)"))
        definition = uow.definitions.get(instance.definition_id)
        assert definition is not None
        compiled = uow.definitions.compiled(definition)
        accepted = check_form(compiled.forms.get(task.step_id), data)
        case = Case.load(instance.state, compiled)
        with running_at(uow.clock):
            case.complete(task.spiff_task_id, accepted)
        now = uow.clock.now()
        task.status, task.completed_at, task.completed_by = "completed", now, user
        _log(uow, instance.id, "task_completed", user, task, detail={"data": accepted})
        _save(uow, instance, case, _segment(uow, instance), user)
        uow.commit()
        return instance.id


def claim_task(uow: UnitOfWork, task_id: int, user: str) -> None:
    """Take an unassigned task of one of the user's roles."""
    with uow:
        task, _ = _open_task(uow, task_id)
        roles = _require_user(uow, user)
        if task.role not in roles:
            raise NotAllowed(f"{user} does not hold the role {task.role!r} that task {task_id} needs")
        if task.assignee == user:
            return
        if task.assignee is not None:
            raise NotAllowed(f"task {task_id} is already claimed by {task.assignee}")
        task.assignee, task.claimed_at = user, uow.clock.now()
        _log(uow, task.instance_id, "task_claimed", user, task)
        uow.commit()


def release_task(uow: UnitOfWork, task_id: int, user: str) -> None:
    """Put a claimed task back in its role's queue (its assignee, a manager or an admin)."""
    with uow:
        task, _ = _open_task(uow, task_id)
        roles = _require_user(uow, user)
        if task.assignee is None:
            return
        if task.assignee != user and not roles & MANAGING_ROLES:
            raise NotAllowed(f"task {task_id} is claimed by {task.assignee}; only they or a manager can release it")
        task.assignee, task.claimed_at = None, None
        _log(uow, task.instance_id, "task_released", user, task)
        uow.commit()


def assign_task(uow: UnitOfWork, task_id: int, assignee: str, actor: str) -> None:
    """A manager or admin gives an open task to a user who holds its role."""
    with uow:
        task, _ = _open_task(uow, task_id)
        if not _require_user(uow, actor) & MANAGING_ROLES:
            raise NotAllowed(f"{actor} is not a manager or admin and cannot assign tasks")
        if task.role not in _require_user(uow, assignee):
            raise NotAllowed(f"{assignee} does not hold the role {task.role!r} that task {task_id} needs")
        task.assignee, task.claimed_at = assignee, uow.clock.now()
        _log(uow, task.instance_id, "task_assigned", actor, task, detail={"assignee": assignee})
        uow.commit()


def cancel_instance(uow: UnitOfWork, instance_id: int, actor: str) -> None:
    """Stop a running case; its open tasks are cancelled."""
    with uow:
        instance = _instance(uow, instance_id)
        if instance.status not in ("running", "error"):
            raise TaskClosed(f"instance {instance_id} is already {instance.status}")
        definition = uow.definitions.get(instance.definition_id)
        assert definition is not None
        case = Case.load(instance.state, uow.definitions.compiled(definition))
        case.cancel()
        _save(uow, instance, case, _segment(uow, instance), actor)
        uow.commit()


def deliver_message(uow: UnitOfWork, instance_id: int, name: str, payload: Optional[dict[str, Any]] = None,
                    actor: Optional[str] = None) -> None:
    """Hand a message (e.g. "documents_received") to a case that waits for it."""
    with uow:
        instance = _instance(uow, instance_id)
        if instance.status != "running":
            raise TaskClosed(f"instance {instance_id} is {instance.status}, not waiting for messages")
        definition = uow.definitions.get(instance.definition_id)
        assert definition is not None
        case = Case.load(instance.state, uow.definitions.compiled(definition))
        with running_at(uow.clock):
            case.receive_message(name, payload or {})
        _log(uow, instance.id, "message_received", actor, detail={"message": name})
        _save(uow, instance, case, _segment(uow, instance), actor)
        uow.commit()


# -- time ------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerRound:
    timers_fired: int
    breaches: int
    errors: tuple[str, ...]


def run_worker_round(new_uow: UnitOfWorkFactory, batch: int = 500) -> WorkerRound:
    """Fire every timer due now and record every newly breached task; one transaction per case."""
    fired, failures = 0, []
    probe = new_uow()
    with probe:
        now = probe.clock.now()
        due = list(probe.instances.with_due_timers(now, batch))
    for instance_id in due:
        try:
            if _fire_timers(new_uow(), instance_id):
                fired += 1
        except Exception as exc:  # one broken case must not stop the others
            failures.append(f"instance {instance_id}: {exc}")
    return WorkerRound(fired, _record_breaches(new_uow(), batch), tuple(failures))


def _fire_timers(uow: UnitOfWork, instance_id: int) -> bool:
    with uow:
        instance = _instance(uow, instance_id)
        now = uow.clock.now()
        if instance.status != "running" or instance.next_timer_at is None or instance.next_timer_at > now:
            return False
        definition = uow.definitions.get(instance.definition_id)
        assert definition is not None
        case = Case.load(instance.state, uow.definitions.compiled(definition))
        with running_at(uow.clock):
            case.fire_due_timers()
        _log(uow, instance.id, "timer_fired", None, detail={"due": instance.next_timer_at.isoformat()})
        _save(uow, instance, case, _segment(uow, instance), None)
        uow.commit()
        return True


def _record_breaches(uow: UnitOfWork, batch: int) -> int:
    with uow:
        now = uow.clock.now()
        tasks = uow.tasks.newly_breached(now, batch)
        for task in tasks:
            task.breached_at = now
            _log(uow, task.instance_id, "task_breached", None, task,
                 detail={"due_at": task.due_at.isoformat() if task.due_at else None})
        uow.commit()
        return len(tasks)


# -- users -----------------------------------------------------------------------

def add_user(uow: UnitOfWork, name: str, roles: Iterable[str], password: Optional[str] = None) -> None:
    """Create a user with roles, or give an existing user these roles (and password, if given)."""
    if not name.strip():
        raise ValueError("a user needs a name")
    with uow:
        user = uow.users.by_name(name)
        if user is None:
            user = User(name=name, password_hash=hash_password(password) if password else None,
                        created_at=uow.clock.now())
            uow.users.add(user)
        elif password:
            user.password_hash = hash_password(password)
        uow.users.set_roles(user, uow.users.roles(user) | set(roles))
        uow.commit()


# -- shared steps ----------------------------------------------------------------

def _instance(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    instance = uow.instances.get(instance_id, for_update=True)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    return instance


def _open_task(uow: UnitOfWork, task_id: int) -> tuple[HumanTask, ProcessInstance]:
    task = uow.tasks.get(task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    instance = _instance(uow, task.instance_id)
    uow.session.refresh(task)  # as it is now that we hold the case
    if task.status == "completed":
        raise TaskClosed(f"task {task_id} ({task.name}) was already completed by {task.completed_by}")
    if task.status != "open":
        raise TaskClosed(f"task {task_id} ({task.name}) is {task.status}")
    return task, instance


def _require_user(uow: UnitOfWork, name: str) -> set[str]:
    user = uow.users.by_name(name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return uow.users.roles(user)


def _segment(uow: UnitOfWork, instance: ProcessInstance) -> str:
    customer = uow.instances.customer(instance.customer_id)
    return customer.segment if customer else ""


def _log(uow: UnitOfWork, instance_id: int, kind: str, actor: Optional[str], task: Optional[HumanTask] = None,
         detail: Optional[dict[str, Any]] = None) -> None:
    uow.tasks.log(TaskEvent(instance_id=instance_id, task_id=task.id if task else None, type=kind,
                            step_id=task.step_id if task else None, actor=actor, at=uow.clock.now(),
                            detail=detail))


def _save(uow: UnitOfWork, instance: ProcessInstance, case: Case, segment: str, actor: Optional[str]) -> None:
    """Write the case's state, open a row for each new ready human task, close the rows of vanished ones."""
    now = uow.clock.now()
    was = instance.status
    instance.state = case.dump()
    instance.status = case.status
    instance.next_timer_at = case.next_timer_at() if instance.status == "running" else None
    if case.error is not None:
        instance.error_step, instance.error_message = case.error.step_id, case.error.message
    if instance.status != "running" and instance.ended_at is None and instance.status != "error":
        instance.ended_at = now
    _sync_tasks(uow, instance, case.definition, case, segment, now)
    if instance.status != was:
        detail = {"step": instance.error_step, "message": instance.error_message} if instance.status == "error" else None
        _log(uow, instance.id, f"instance_{instance.status}", actor, detail=detail)
    uow.flush()


def _sync_tasks(uow: UnitOfWork, instance: ProcessInstance, compiled: CompiledDefinition, case: Case,
                segment: str, now: datetime) -> None:
    open_rows = {row.spiff_task_id: row for row in uow.tasks.open_of(instance.id)}
    ready = {str(t.id): t for t in case.ready_human_tasks()} if instance.status == "running" else {}
    for spiff_id, row in open_rows.items():
        if spiff_id not in ready:
            row.status = "cancelled"
            _log(uow, instance.id, "task_cancelled", None, row)
    for spiff_id, spiff_task in ready.items():
        if spiff_id in open_rows:
            continue
        step_id = spiff_task.task_spec.bpmn_id
        note = compiled.annotations.steps.get(step_id)
        target = note.target_for(segment) if note else None
        row = HumanTask(
            instance_id=instance.id, spiff_task_id=spiff_id, step_id=step_id,
            name=spiff_task.task_spec.bpmn_name or step_id,
            lane=note.lane if note else spiff_task.task_spec.lane,
            role=note.role if note else None,
            customer_value=note.customer_value if note else None,
            value_class=note.value_class if note else None,
            target_seconds=target, created_at=now,
            due_at=now + timedelta(seconds=target) if target is not None else None,
            status="open")
        uow.tasks.add(row)
        uow.flush()
        _log(uow, instance.id, "task_created", None, row)
