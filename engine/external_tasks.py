"""External tasks: service tasks that outside workers fetch by topic, lock, and complete or fail (the API's use).

A case that reaches a service task with a topic waits there, its task open for workers (engine.storage.
external_tasks). A worker fetches and locks a batch of its topics' tasks for a while; completing one merges the
worker's variables into the case data and runs the case on, in one transaction; a failure with retries left makes
it fetchable again after the worker's pause, and one with none left stops the case in error at the step: an
incident, whose retry opens the task again. Only the worker holding a live lock completes or fails a task, and a
task is completed once. Who may: outside workers' system accounts (``external-worker``) and admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import select

from engine.cases.errors import TaskNotReady
from engine.errors import NotAllowed, NotFound
from engine.metrics import timed_step
from engine.sandbox.values import why_unstorable
from engine.service import TaskClosed
from engine.storage.casestore import CaseRecord
from engine.storage.external_tasks import ExternalTaskRow
from engine.storage.tables import ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.time.clock import running_at
from engine.work.accounts import WORKING_ROLES

MOST_TASKS = 100
LONGEST_LOCK = timedelta(days=1)
LONGEST_PAUSE = timedelta(days=30)
WORKER_ID_LENGTH = 200
MESSAGE_LENGTH = 5000


class LockNotHeld(TaskClosed):
    """The worker does not hold the task's lock: another worker does, the lock ended, or it was never fetched."""


@dataclass(frozen=True)
class Topic:
    """A topic a worker fetches, and how long it locks each task it gets."""

    name: str
    lock: timedelta


@dataclass(frozen=True)
class LockedTask:
    """A task locked to a worker, with what the worker needs to do it."""

    id: int
    topic: str
    worker_id: str
    process: str
    version: int
    instance_id: int
    step_id: str
    step_name: str
    variables: dict[str, Any]
    lock_expires_at: datetime
    retries: Optional[int]
    error_message: Optional[str]


@timed_step("fetch")
def fetch_and_lock(new_uow: UnitOfWorkFactory, worker_id: str, most: int, topics: Iterable[Topic], user: str,
                   variables: Optional[Iterable[str]] = None) -> list[LockedTask]:
    """Lock up to ``most`` fetchable tasks of the topics to ``worker_id`` (topics in the order given), with the
    case data each sees (only the names in ``variables``, when given)."""
    _check_worker_id(worker_id)
    topics = list(topics)
    if not 1 <= most <= MOST_TASKS:
        raise ValueError(f"maxTasks is 1 to {MOST_TASKS}")
    for topic in topics:
        if not timedelta(0) < topic.lock <= LONGEST_LOCK:
            raise ValueError(f"the lock of topic {topic.name!r} lasts more than nothing and at most a day")
    locked: list[tuple[ExternalTaskRow, datetime]] = []
    with new_uow() as uow:
        _require_worker(uow, user)
        now = uow.clock.now()
        for topic in topics:
            if len(locked) == most:
                break
            until = now + topic.lock
            locked += [(row, until) for row in uow.cases.external.lock(topic.name, worker_id, now, until,
                                                                       most - len(locked))]
        uow.commit()
    if not locked:
        return []
    wanted = None if variables is None else set(variables)
    with new_uow().reading() as uow:
        I, D = ProcessInstance, ProcessDefinition
        cases = {i: (definition_id, key, version) for i, definition_id, key, version in uow.session.execute(
            select(I.id, I.definition_id, D.key, D.version).join(D, D.id == I.definition_id)
            .where(I.id.in_({row.instance_id for row, _ in locked}))).all()}
        found = []
        for row, until in locked:
            definition_id, key, version = cases[row.instance_id]
            try:
                with uow.cases.read(row.instance_id, uow.compiled(definition_id)) as case:
                    data = case.service_task_data(row.spiff_task_id)
            except TaskNotReady:  # the case moved on since the lock (cancelled): its task is closed with it
                continue
            if wanted is not None:
                data = {name: value for name, value in data.items() if name in wanted}
            found.append(LockedTask(row.id, row.topic, worker_id, key, version, row.instance_id, row.step_id,
                                    row.name, data, until, row.retries, row.error_message))
    return found


@timed_step("complete")
def complete(uow: UnitOfWork, task_id: int, worker_id: str, variables: Optional[dict[str, Any]],
             user: str) -> tuple[int, str]:
    """Merge the worker's variables into the case data and run the case on from the task; returns the case's id
    and status."""
    _check_worker_id(worker_id)
    variables = _storable(variables or {})
    with uow:
        _require_worker(uow, user)
        record, task = _held(uow, task_id, worker_id)
        loaded = uow.cases.load(record, uow.compiled(record.definition_id))
        with running_at(uow.clock):
            _waiting(loaded.case.complete_service_task, task.spiff_task_id, variables)
        now = uow.clock.now()
        uow.cases.log(record.id, "service_task_completed", user, now, step_id=task.step_id,
                      detail={"topic": task.topic, "worker": worker_id, "variables": sorted(variables)})
        status = uow.cases.save(loaded, now, user)
        uow.commit()
        return record.id, status


@timed_step("fail")
def fail(uow: UnitOfWork, task_id: int, worker_id: str, message: str, retries: int, pause: timedelta,
         user: str) -> tuple[int, str]:
    """A worker could not do the task: with ``retries`` left it is fetchable again after ``pause``; with none the
    case stops in error at the step (an incident). Returns the case's id and status."""
    _check_worker_id(worker_id)
    message = (message or "").strip() or "the worker reported a failure without a message"
    if len(message) > MESSAGE_LENGTH:
        raise ValueError(f"errorMessage has at most {MESSAGE_LENGTH} characters")
    if retries < 0:
        raise ValueError("retries is 0 or more")
    if not timedelta(0) <= pause <= LONGEST_PAUSE:
        raise ValueError("retryTimeout is 0 or more and at most 30 days")
    with uow:
        _require_worker(uow, user)
        record, task = _held(uow, task_id, worker_id)
        now = uow.clock.now()
        uow.cases.log(record.id, "service_task_failed", user, now, step_id=task.step_id,
                      detail={"topic": task.topic, "worker": worker_id, "message": message, "retries": retries})
        if retries > 0:
            uow.cases.external.free(task.id, now + pause, retries, message)
            uow.cases.flush_events()
            status = record.status
        else:
            loaded = uow.cases.load(record, uow.compiled(record.definition_id))
            _waiting(loaded.case.fail_service_task, task.spiff_task_id, message, task.failures + 1)
            status = uow.cases.save(loaded, now, user)
        uow.commit()
        return record.id, status


def _held(uow: UnitOfWork, task_id: int, worker_id: str) -> tuple[CaseRecord, ExternalTaskRow]:
    """The task's case and the task, both locked; refused unless ``worker_id`` holds a live lock on it."""
    instance_id = uow.cases.external.instance_of(task_id)
    record = uow.cases.lock_case(instance_id) if instance_id is not None else None
    task = uow.cases.external.locked(task_id) if record is not None else None
    if task is None:
        raise NotFound(f"no external task {task_id} is open (it was completed, or its case moved on)")
    if task.worker_id is None:
        raise LockNotHeld(f"external task {task_id} is not locked by any worker: fetch and lock it first")
    if task.worker_id != worker_id:
        raise LockNotHeld(f"external task {task_id} is locked by worker {task.worker_id}, not {worker_id}")
    if task.locked_until is not None and task.locked_until <= uow.clock.now():
        raise LockNotHeld(f"the lock of worker {worker_id} on external task {task_id} ended at "
                          f"{task.locked_until.isoformat()}: fetch and lock it again")
    return record, task


def _waiting(change: Callable[..., None], spiff_task_id: str, *values: Any) -> None:
    """Change the case at its waiting service task; TaskClosed if it no longer waits there."""
    try:
        change(spiff_task_id, *values)
    except TaskNotReady as exc:
        raise TaskClosed(str(exc)) from None


def _storable(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, dict):
        raise ValueError("variables must be a JSON object of names and values")
    why = why_unstorable(variables)
    if why is not None:
        raise ValueError(f"the variables cannot be kept in the case data: they hold {why}")
    return variables


def _check_worker_id(worker_id: str) -> None:
    if not 0 < len(worker_id.strip()) <= WORKER_ID_LENGTH:
        raise ValueError(f"workerId has 1 to {WORKER_ID_LENGTH} characters")


def _require_worker(uow: UnitOfWork, user: str) -> None:
    roles = uow.cases.user_roles(user)
    if roles is None:
        raise NotFound(f"no user named {user!r}")
    if not roles & WORKING_ROLES:
        raise NotAllowed(f"the user {user} is not an external worker or admin; only they fetch and complete "
                         "external tasks")
