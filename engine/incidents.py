"""Incidents: cases stopped in error (a script, a condition or a decision failed), for admins and process owners.

A case in error keeps the failing step, the message, when it failed and how many runs of that step failed in a
row (engine.storage.casestore). Other cases go on. After a fix (a corrected helper deployed, a service back up)
an admin or process owner retries the case, which runs the failed steps again, or cancels it; each action is an
event of the case, with its actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import func, select

from engine.errors import NotAllowed, NotFound
from engine.metrics import timed_step
from engine.service import TaskClosed
from engine.storage.casestore import CaseRecord
from engine.storage.tables import Customer, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.time.clock import running_at
from engine.work.accounts import EDITING_ROLES

LONGEST_FILTER = 200


class NotAnIncident(TaskClosed):
    """The case is not in error, so there is nothing to retry or cancel as an incident."""


@dataclass(frozen=True)
class Incident:
    instance_id: int
    process: str
    version: int
    customer: str
    step: Optional[str]
    step_name: Optional[str]  # the name the diagram gives the failed step, else its id
    message: str
    errored_at: Optional[datetime]
    attempts: int


@dataclass(frozen=True)
class IncidentPage:
    """One page of incidents, the newest first, and the processes that have any (for a filter)."""

    rows: tuple[Incident, ...]
    total: int
    page: int
    per_page: int
    processes: tuple[str, ...]

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def list_incidents(uow: UnitOfWork, user: str, process: Optional[str] = None, step: Optional[str] = None,
                   message: Optional[str] = None, page: int = 1, per_page: int = 25) -> IncidentPage:
    """The cases in error, narrowed to a process, a failing step, and text in the message (any case)."""
    for name, value in (("process", process), ("step", step), ("message", message)):
        if value is not None and len(value) > LONGEST_FILTER:
            raise ValueError(f"the {name} filter has at most {LONGEST_FILTER} characters")
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    I, D = ProcessInstance, ProcessDefinition
    with uow.reading():
        _require_handler(uow, user)
        query = select(I.id, D.key, D.version, Customer.name, I.error_step, I.error_message, I.errored_at,
                       I.error_attempts, I.definition_id).join(D, D.id == I.definition_id).join(
            Customer, Customer.id == I.customer_id)
        query = query.where(I.status == "error")
        if process:
            query = query.where(D.key == process)
        if step:
            query = query.where(I.error_step == step)
        if message:
            query = query.where(I.error_message.icontains(message, autoescape=True))
        total = uow.session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0
        rows = uow.session.execute(query.order_by(I.errored_at.desc(), I.id.desc())
                                   .offset((page - 1) * per_page).limit(per_page)).all()
        processes = uow.session.scalars(select(D.key).join(I, I.definition_id == D.id)
                                        .where(I.status == "error").distinct().order_by(D.key)).all()
        named = [_step_name(uow, row.definition_id, row.error_step) for row in rows]
    return IncidentPage(tuple(Incident(i, key, version, customer, step_id, name, text or "", at, attempts or 1)
                              for (i, key, version, customer, step_id, text, at, attempts, _d), name
                              in zip(rows, named)),
                        int(total), page, per_page, tuple(processes))


def _step_name(uow: UnitOfWork, definition_id: int, step_id: Optional[str]) -> Optional[str]:
    """The name the diagram gives a failed step (of the process or one it calls), else its id."""
    if step_id is None:
        return None
    return uow.compiled(definition_id).step_name(step_id) or step_id


@timed_step("retry")
def retry_incident(uow: UnitOfWork, instance_id: int, user: str) -> str:
    """Run the case's failed steps again and on until it waits; its status afterwards (``error`` if it failed
    again, with one attempt more)."""
    with uow:
        _require_handler(uow, user)
        record = _incident(uow, instance_id)
        loaded = uow.cases.load(record, uow.compiled(record.definition_id))
        now = uow.clock.now()
        with running_at(uow.clock):
            loaded.case.retry()
        uow.cases.log(record.id, "incident_retried", user, now)
        status = uow.cases.save(loaded, now, user)
        if status == "error" and loaded.case.error is not None:  # failed again: the log says how
            uow.cases.log(record.id, "instance_errored", user, now,
                          detail={"step": loaded.case.error.step_id, "message": loaded.case.error.message})
            uow.cases.flush_events()
        uow.commit()
        return status


@dataclass(frozen=True)
class Retried:
    """One case of a retry of many: its status afterwards, or why it was not retried (then ``status`` is None)."""

    status: Optional[str]
    refusal: Optional[str] = None


def retry_incidents(new_uow: UnitOfWorkFactory, instance_ids: Iterable[int], user: str) -> dict[int, Retried]:
    """Retry each case in a transaction of its own, so that one that fails again holds back no other."""
    outcomes = {}
    for instance_id in dict.fromkeys(instance_ids):
        try:
            outcomes[instance_id] = Retried(retry_incident(new_uow(), instance_id, user))
        except (NotFound, NotAnIncident) as exc:
            outcomes[instance_id] = Retried(None, str(exc))
    return outcomes


@timed_step("cancel")
def cancel_incident(uow: UnitOfWork, instance_id: int, user: str) -> None:
    """Give up on a case in error: it is cancelled, logged with ``user`` as its actor."""
    with uow:
        _require_handler(uow, user)
        record = _incident(uow, instance_id)
        loaded = uow.cases.load(record, uow.compiled(record.definition_id))
        loaded.case.cancel()
        uow.cases.save(loaded, uow.clock.now(), user)
        uow.commit()


def _incident(uow: UnitOfWork, instance_id: int) -> CaseRecord:
    record = uow.cases.lock_case(instance_id)
    if record is None:
        raise NotFound(f"no instance {instance_id}")
    if record.status != "error":
        raise NotAnIncident(f"instance {instance_id} is {record.status}, not in error: it is no incident")
    return record


def _require_handler(uow: UnitOfWork, user: str) -> None:
    roles = uow.cases.user_roles(user)
    if roles is None:
        raise NotFound(f"no user named {user!r}")
    if not roles & EDITING_ROLES:
        raise NotAllowed(f"the user {user} is not an admin or process owner; only they retry and cancel incidents")
