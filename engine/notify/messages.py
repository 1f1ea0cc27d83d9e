"""What a notification says: a mail's subject and text, and a webhook's JSON, from the notification and the
case, task and customer it is about.

Links point at ``VALUEFLOW_BASE_URL`` (the address people open Valueflow at, ``http://localhost:5000`` when
unset): the task's page for a task's events, the case's page for an incident. A mail tells times in
``VALUEFLOW_TIMEZONE`` (the zone the web app shows them in, UTC when unset), with the zone's abbreviation; a
webhook's JSON in ISO 8601 with the offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from engine.definitions.annotations import StepAnnotation
from engine.outbound.http_service import is_web_address
from engine.storage.tables import Customer, HumanTask, Notification, ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork
from engine.time.durations import spoken

DEFAULT_BASE_URL = "http://localhost:5000"
_HEADLINES = {"assigned": "Assigned to you", "at_risk": "At risk", "breached": "Past its target",
              "incident": "Incident"}


@dataclass(frozen=True)
class About:
    """A notification with what it is about: its case, process, customer and task (None for an incident)."""

    notification_id: int
    event: str
    at: datetime
    actor: Optional[str]
    detail: dict[str, Any]
    instance_id: int
    process_key: str
    process_version: int
    process_name: str
    process_owner: Optional[str]
    customer_id: str
    customer_name: str
    segment: str
    task_id: Optional[int]
    step_id: Optional[str]
    step_name: Optional[str]
    role: Optional[str]
    assignee: Optional[str]
    due_at: Optional[datetime]
    error_step: Optional[str]
    error_step_name: Optional[str]  # an incident's: the failed step's name in the diagram, else its id
    error_message: Optional[str]

    @property
    def seconds_left(self) -> Optional[float]:
        """Time left to the task's target when the notification was made; negative once overdue."""
        return None if self.due_at is None else (self.due_at - self.at).total_seconds()


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    payload: dict[str, Any]


def about(uow: UnitOfWork, job_id: int) -> Optional[About]:
    """The notification its ``notify`` job ``job_id`` sends, with what it is about; None when there is none."""
    N, I, D, C, T = Notification, ProcessInstance, ProcessDefinition, Customer, HumanTask
    row = uow.session.execute(
        select(N.id, N.event, N.at, N.actor, N.detail, I.id, D.key, D.version, D.name, D.annotations, C.id, C.name,
               I.segment, T.id, T.step_id, T.name, T.role, T.assignee, T.due_at, I.error_step, I.error_message,
               D.id.label("definition_id"))
        .join(I, I.id == N.instance_id).join(D, D.id == I.definition_id).join(C, C.id == I.customer_id)
        .outerjoin(T, T.id == N.task_id).where(N.job_id == job_id)).first()
    if row is None:
        return None
    owner = StepAnnotation.from_dict(row[9]["process"]).owner
    failed_step = None
    if row.event == "incident" and row.error_step:
        failed_step = uow.compiled(row.definition_id).step_name(row.error_step) or row.error_step
    return About(*row[:4], row[4] or {}, *row[5:9], owner, *row[10:20], failed_step, row.error_message)


def message(item: About, environ: Mapping[str, str] = os.environ) -> Message:
    """The mail and the webhook JSON of a notification."""
    link = _link(item, environ)
    case = f"case {item.instance_id}"
    what = item.step_name or item.error_step_name or item.process_name
    subject = f"[Valueflow] {_HEADLINES.get(item.event, item.event)}: {what} — {item.customer_name} ({case})"
    lines = [_sentence(item), "",
             f"Customer: {item.customer_name} ({item.customer_id}, {item.segment})",
             f"Process: {item.process_name} ({item.process_key}, version {item.process_version})",
             f"Case: {item.instance_id}"]
    if item.step_name or item.error_step_name:
        lines.append(f"Step: {item.step_name or item.error_step_name}")
    if item.seconds_left is not None:
        due = item.due_at.astimezone(shown_zone(environ))  # type: ignore[union-attr]  # a target has a due time
        lines.append(f"Target: {_time_left(item.seconds_left)} (due {due:%Y-%m-%d %H:%M %Z})")
    if item.event == "incident" and item.error_message:
        lines.append(f"Error: {item.error_message}")
    lines += ["", f"Open it: {link}"]
    payload = {
        "event": item.event, "at": item.at.isoformat(), "url": link, "instance": item.instance_id,
        "task": item.task_id,
        "step": {"id": item.step_id or item.error_step, "name": item.step_name or item.error_step_name}
        if (item.step_id or item.error_step) else None,
        "process": {"key": item.process_key, "version": item.process_version, "name": item.process_name},
        "customer": {"id": item.customer_id, "name": item.customer_name, "segment": item.segment},
        "assignee": item.assignee, "role": item.role,
        "due_at": item.due_at.isoformat() if item.due_at else None, "seconds_left": item.seconds_left,
        "error": item.error_message if item.event == "incident" else None,
    }
    return Message(subject, "\n".join(lines) + "\n", payload)


def _sentence(item: About) -> str:
    by = f" by {item.actor}" if item.actor else ""
    if item.event == "assigned":
        return f"The step {item.step_name!r} of {item.customer_name}'s case was assigned to you{by}."
    if item.event == "at_risk":
        return (f"The step {item.step_name!r} of {item.customer_name}'s case is at risk: "
                f"{_time_left(item.seconds_left)} of its target.")
    if item.event == "breached":
        return f"The step {item.step_name!r} of {item.customer_name}'s case missed its target."
    step = f" at the step {item.error_step_name!r}" if item.error_step_name else ""
    return f"{item.customer_name}'s case of {item.process_name} stopped in error{step}; it waits for a retry."


def _time_left(seconds: Optional[float]) -> str:
    if seconds is None:
        return "no target"
    return f"{spoken(seconds)} left" if seconds >= 0 else f"{spoken(-seconds)} overdue"


def shown_zone(environ: Mapping[str, str] = os.environ) -> ZoneInfo:
    """The zone ``VALUEFLOW_TIMEZONE`` names (ValueError naming the variable when it names none), else UTC."""
    name = environ.get("VALUEFLOW_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"VALUEFLOW_TIMEZONE {name!r} is not a time zone (e.g. UTC or Europe/Amsterdam)") from None


def check_base_url(environ: Mapping[str, str]) -> None:
    """Refuse (ValueError) a ``VALUEFLOW_BASE_URL`` that links could not start with, when a process starts."""
    text = environ.get("VALUEFLOW_BASE_URL", "").strip()
    if text and not is_web_address(text):
        raise ValueError(f"VALUEFLOW_BASE_URL is {text!r}; it must be the http:// or https:// address people open "
                         "Valueflow at (https://valueflow.example.com)")


def _link(item: About, environ: Mapping[str, str]) -> str:
    base = (environ.get("VALUEFLOW_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if item.task_id is not None and item.event != "incident":
        return f"{base}/tasks/{item.task_id}"
    return f"{base}/instances/{item.instance_id}"
