"""The event log of a process as CSV and as XES (IEEE 1849-2016), streamed.

One XES trace per case, with the customer's id, the customer's segment, the
process version and the case's status (``running``, ``completed``, ``error``,
``cancelled``) as trace attributes. One event per change in a task's life,
read from the ``task_event`` log, with ``concept:name`` (the step's name),
``concept:instance`` (the task's id, so that a release and the next claim of
one task pair up), ``time:timestamp``, ``org:resource`` (the user; none while
a task is only scheduled), ``org:role`` (the step's lane) and ``lifecycle:transition``:

    task created                       schedule
    task claimed, or assigned to one   assign, then start (wait ends and work begins there)
    task completed                     complete
    task released back to its queue    withdraw
    task cancelled (its case moved on) ate_abort

so a mining tool sees waiting time as schedule → start and working time as
start → complete, as the dashboards count them. The case's own events come in
between, each a ``complete`` of its own activity (``CASE_ACTIVITIES``): the
case started, completed, cancelled, in error or resumed, a message received,
a timer fired, a step's target breached; so the lead time of a case is from
"Case started" to "Case completed", as the dashboards count it. The CSV has
one row per XES event, with the same fields, the engine's own event type and
the case's status.

Rows are read with a streaming cursor and written in chunks of about
``CHUNK`` characters, so a log of a million events never sits in memory.
Cases are those of the filters' process, version and segment that started
in the period; the role and assignee filters do not apply (a log keeps whole cases).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, TextIO
from xml.sax.saxutils import quoteattr

from sqlalchemy import select

from engine.analytics.facts import fresh_scope
from engine.analytics.filters import Filters, Scope
from engine.storage.tables import HumanTask, ProcessInstance, TaskEvent
from engine.storage.uow import UnitOfWork

I, T, E = ProcessInstance, HumanTask, TaskEvent
CHUNK = 64 * 1024
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "task_created": ("schedule",),
    "task_claimed": ("assign", "start"),
    "task_assigned": ("assign", "start"),
    "task_completed": ("complete",),
    "task_released": ("withdraw",),
    "task_cancelled": ("ate_abort",),
}
# The case's own events, each one activity (a message's and a breached step's activity name them).
CASE_ACTIVITIES = {
    "instance_started": "Case started",
    "instance_completed": "Case completed",
    "instance_cancelled": "Case cancelled",
    "instance_errored": "Case in error",
    "instance_resumed": "Case resumed",
    "message_received": "Message received",
    "timer_fired": "Timer fired",
    "task_breached": "Target breached",
}
CSV_COLUMNS = ("case_id", "customer_id", "segment", "version", "task_id", "step_id", "activity", "lifecycle",
               "timestamp", "resource", "role", "event_type", "case_status")
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="UNKNOWN"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="UNKNOWN"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
"""


CASES_PER_QUERY = 500  # cases whose events one query reads


@dataclass
class EventLog:
    """The event log of the filters' cases, checked now and read when one of its formats is iterated.

    After iterating, ``events`` and ``cases`` say how much was written.
    """

    uow: UnitOfWork
    scope: Scope
    events: int = field(default=0, init=False)
    cases: int = field(default=0, init=False)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """(case, customer, segment, version, task, step, activity, transition, at, resource, role, type, case
        status), in case order and, within a case, in the order the events happened."""
        f = self.scope.filters
        versions = {v.id: v.version for v in self.scope.versions}
        cases = (select(I.id).where(I.definition_id.in_(self.scope.ids), *self.scope.in_period(I.started_at))
                 .order_by(I.id).limit(CASES_PER_QUERY))
        if f.segment:
            cases = cases.where(I.segment == f.segment)
        events = (select(E.instance_id, I.customer_id, I.segment, I.definition_id, E.task_id, T.step_id, T.name,
                         E.type, E.at, E.actor, E.detail, T.lane, I.status)
                  .join(I, I.id == E.instance_id).outerjoin(T, T.id == E.task_id)
                  .where(E.type.in_([*TRANSITIONS, *CASE_ACTIVITIES])).order_by(E.instance_id, E.id))
        self.events = self.cases = 0
        last_case: Optional[int] = None
        with self.uow:
            for row in self._in_batches(cases, events):
                (case_id, customer_id, segment, definition_id, task_id, step_id, name, kind, at, actor, detail,
                 lane, status) = row
                if case_id != last_case:
                    self.cases += 1
                    last_case = case_id
                resource = actor
                if kind == "task_assigned" and detail and detail.get("assignee"):
                    resource = detail["assignee"]
                activity = name if kind in TRANSITIONS else _case_activity(kind, name, detail)
                for transition in TRANSITIONS.get(kind, ("complete",)):
                    self.events += 1
                    yield (case_id, customer_id, segment, versions[definition_id], task_id, step_id, activity,
                           transition, at, resource, lane, kind, status)

    def _in_batches(self, cases: Any, events: Any) -> Iterator[Any]:
        """The events of the cases, ``CASES_PER_QUERY`` cases (by id) at a time: the first rows come after
        reading a few hundred cases' events, not after sorting every event of the process."""
        last = 0
        while True:
            ids = list(self.uow.session.scalars(cases.where(I.id > last)))
            if not ids:
                return
            yield from self.uow.session.execute(events.where(E.instance_id.in_(ids)))
            last = ids[-1]

    def csv(self) -> Iterator[str]:
        """The log as CSV text, in chunks; a header line first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows():
            writer.writerow((*row[:8], _timestamp(row[8]), *row[9:]))
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    def xes(self) -> Iterator[str]:
        """The log as an XES document, in chunks."""
        parts = [XES_HEAD, f'  <string key="concept:name" value={_attr(self.scope.filters.process)}/>\n']
        size = sum(map(len, parts))
        last_case: Optional[int] = None
        for (case_id, customer_id, segment, version, task_id, step_id, name, transition, at, resource, role, kind,
             status) in self.rows():
            if case_id != last_case:
                if last_case is not None:
                    parts.append("  </trace>\n")
                parts.append(f'  <trace>\n    <string key="concept:name" value="{case_id}"/>\n'
                             f'    <string key="customer_id" value={_attr(customer_id)}/>\n'
                             f'    <string key="segment" value={_attr(segment)}/>\n'
                             f'    <int key="version" value="{version}"/>\n'
                             f'    <string key="status" value={_attr(status)}/>\n')
                last_case = case_id
            event = (f'    <event>\n      <string key="concept:name" value={_attr(name)}/>\n'
                     f'      <string key="lifecycle:transition" value="{transition}"/>\n'
                     f'      <date key="time:timestamp" value="{_timestamp(at)}"/>\n'
                     + (f'      <string key="org:resource" value={_attr(resource)}/>\n' if resource else "")
                     + (f'      <string key="org:role" value={_attr(role)}/>\n' if role else "")
                     + (f'      <string key="concept:instance" value="{task_id}"/>\n' if kind in TRANSITIONS else "")
                     + (f'      <string key="step_id" value={_attr(step_id)}/>\n' if step_id else "")
                     + (f'      <int key="task_id" value="{task_id}"/>\n' if task_id else "")
                     + f'      <string key="event_type" value="{kind}"/>\n    </event>\n')
            parts.append(event)
            size += len(event)
            if size >= CHUNK:
                yield "".join(parts)
                parts, size = [], 0
        if last_case is not None:
            parts.append("  </trace>\n")
        parts.append("</log>\n")
        yield "".join(parts)

    def write(self, out: TextIO, fmt: str) -> int:
        """Write the log to ``out`` as "xes" or "csv"; returns the number of events written."""
        for chunk in (self.xes() if fmt == "xes" else self.csv()):
            out.write(chunk)
        return self.events


FORMATS = ("xes", "csv")


def event_log(uow: UnitOfWork, filters: Filters) -> EventLog:
    """The event log of the filters' process (NotFound now, before any streaming, for an unknown one)."""
    with uow:
        scope = fresh_scope(uow, filters)
    return EventLog(uow, scope)


def _case_activity(kind: str, step_name: Optional[str], detail: Optional[dict[str, Any]]) -> str:
    """The activity of one of the case's own events: ``Message received: documents``, ``Target breached: Review``."""
    activity = CASE_ACTIVITIES[kind]
    if kind == "message_received" and detail and detail.get("message"):
        return f"{activity}: {detail['message']}"
    if kind == "task_breached" and step_name:
        return f"{activity}: {step_name}"
    return activity


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _attr(value: Any) -> str:
    return quoteattr(_NOT_XML.sub("", str(value)))


def step_table_csv(steps: list[Any]) -> str:
    """The dashboard's step table (``engine.analytics.cycle_times.step_table``) as CSV, durations in hours.

    ``target_hours`` is empty when the versions in view set the step different targets; ``targets_by_version``
    has each version's (``2=4.00;1=48.00``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("step_id", "step", "role", "value_class", "target_hours", "count", "median_hours",
                     "p90_hours", "median_wait_hours", "median_work_hours", "share_within_target",
                     "share_of_lead_time", "open_now", "breached_now", "status", "targets_by_version"))

    def hours(seconds: Optional[float]) -> str:
        return "" if seconds is None else f"{seconds / 3600:.2f}"

    def fraction(value: Optional[float]) -> str:
        return "" if value is None else f"{value:.4f}"

    for s in steps:
        agreed = {t.seconds for t in s.targets}
        writer.writerow((s.step_id, s.name, s.role or "", s.value_class or "",
                         hours(agreed.pop()) if len(agreed) == 1 else "", s.count,
                         hours(s.cycle.median), hours(s.cycle.p90), hours(s.wait.median), hours(s.work.median),
                         fraction(s.share_within_target), fraction(s.share_of_lead_time), s.open_now,
                         s.breached_now, s.status, ";".join(f"{t.version}={hours(t.seconds)}" for t in s.targets)))
    return buffer.getvalue()
