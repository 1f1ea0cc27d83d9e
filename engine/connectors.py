"""Connector steps: service tasks Valueflow's own worker calls out for (``http``, ``email``), as ``service`` jobs.

A case that reaches a connector step waits there with a ``service`` job (engine.storage.casestore). The worker
that claims the job makes the call first, outside any transaction and without holding the case (a slow service
holds back no one else's step), sending the job's id as the ``Idempotency-Key``; then, in the job's transaction,
it locks the case, takes the job if its lease is still the worker's, and writes the outcome: the answer into the
case data and the case run on. A call may therefore be repeated (a worker that dies after the call, before its
commit, leaves the job to another), but the case's state changes once. A failed call goes back to the job table
and is retried after a pause that doubles (engine.jobs); after the step's ``maxAttempts`` runs, or at once when
trying again cannot help (the installation lacks the connector's settings, the service refused the request),
the case stops in error at the step: an incident, whose retry calls again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import select

from engine.cases.errors import TaskNotReady
from engine.definitions.service_tasks import ServiceStep
from engine.outbound.http_service import CallFailed, HttpService, ServiceNotConfigured, call
from engine.outbound.mail import MailFailed, MailNotConfigured, MailSettings, send_mail
from engine.outbound.templating import MissingValue, fill
from engine.sandbox.values import why_unstorable
from engine.storage.casestore import CaseRecord
from engine.storage.jobs import ClaimedJob
from engine.storage.tables import ProcessInstance
from engine.storage.uow import UnitOfWork, UnitOfWorkFactory
from engine.time.clock import running_at

Handler = Callable[[UnitOfWork, ClaimedJob, CaseRecord], bool]


class ServiceCallFailed(Exception):
    """A connector's call failed and will be tried again after a pause."""


@dataclass(frozen=True)
class Outcome:
    """What a call gave: the values for the case data, or why it failed and whether trying again can help."""

    values: dict[str, Any]
    error: Optional[str] = None
    lasting: bool = False


def call_service_task(new_uow: UnitOfWorkFactory, job: ClaimedJob,
                      environ: Mapping[str, str] = os.environ) -> Handler:
    """Make the call the job's step asks for, outside any transaction; the handler that records its outcome."""
    with new_uow().reading() as uow:
        definition_id = uow.session.scalar(select(ProcessInstance.definition_id)
                                           .where(ProcessInstance.id == job.instance_id))
        if definition_id is None or job.spiff_task_id is None:
            return _nothing_to_do
        compiled = uow.compiled(definition_id)
        with uow.cases.read(job.instance_id, compiled) as case:
            try:
                step = compiled.service_steps[case.service_step_id(job.spiff_task_id)]
                data = case.service_task_data(job.spiff_task_id)
            except TaskNotReady:  # the case moved on (a boundary event, a cancellation): nothing to call for
                return _nothing_to_do
    outcome = run_connector(step, data, f"valueflow-job-{job.id}", environ)
    return partial(_record, step=step, outcome=outcome)


def run_connector(step: ServiceStep, data: Mapping[str, Any], idempotency_key: str,
                  environ: Mapping[str, str]) -> Outcome:
    """Run the step's connector on the case data; never raises for what the call met."""
    try:
        if step.connector == "http":
            return _call_http(step, data, idempotency_key, environ)
        return _send_email(step, data, environ)
    except (ServiceNotConfigured, MailNotConfigured, MissingValue) as exc:
        return Outcome({}, f"{exc}", lasting=True)
    except CallFailed as exc:
        return Outcome({}, str(exc), lasting=exc.lasting)
    except MailFailed as exc:
        return Outcome({}, str(exc))


def _call_http(step: ServiceStep, data: Mapping[str, Any], idempotency_key: str,
               environ: Mapping[str, str]) -> Outcome:
    settings = step.settings
    service = HttpService.from_environ(settings["http.service"].strip(), environ)
    method = settings.get("http.method", "POST").strip().upper()
    names = [name.strip() for name in settings.get("http.body", "").split(",") if name.strip()]
    missing = [name for name in names if name not in data]
    if missing:
        raise MissingValue(f"the case data has no {', '.join(missing)} for http.body")
    body = {name: data[name] for name in names} if names else None
    answer = call(service, method, fill(settings.get("http.path", ""), data), body, idempotency_key)
    result = settings.get("http.result", "").strip()
    if not result:
        return Outcome({})
    why = why_unstorable(answer)
    if why is not None:
        return Outcome({}, f"{service.name}'s answer cannot be kept in the case data: it holds {why}", lasting=True)
    return Outcome({result: answer})


def _send_email(step: ServiceStep, data: Mapping[str, Any], environ: Mapping[str, str]) -> Outcome:
    settings = step.settings
    mail = MailSettings.from_environ(environ)
    to = fill(settings["email.to"], data).strip()
    if not to:
        raise MissingValue(f"email.to {settings['email.to']!r} names no address in the case data")
    send_mail(mail, to, fill(settings.get("email.subject", step.name), data), fill(settings.get("email.body", ""),
                                                                                  data))
    return Outcome({})


def _record(uow: UnitOfWork, job: ClaimedJob, record: CaseRecord, step: ServiceStep, outcome: Outcome) -> bool:
    """Under the case's lock: write the call's outcome (the answer and the case run on, or an incident), or give
    the job back to be tried again."""
    if record.status != "running" or job.spiff_task_id is None:
        return False
    loaded = uow.cases.load(record, uow.compiled(record.definition_id))
    try:
        loaded.case.service_step_id(job.spiff_task_id)
    except TaskNotReady:
        return False
    now = uow.clock.now()
    detail: dict[str, Any] = {"connector": step.connector, "attempts": job.attempts}
    if outcome.error is None:
        with running_at(uow.clock):
            loaded.case.complete_service_task(job.spiff_task_id, outcome.values)
        uow.cases.log(record.id, "service_task_completed", None, now, step_id=step.step_id,
                      detail={**detail, "variables": sorted(outcome.values)})
    elif outcome.lasting or job.attempts >= step.max_attempts:
        loaded.case.fail_service_task(job.spiff_task_id, outcome.error, job.attempts)
        uow.cases.log(record.id, "service_task_failed", None, now, step_id=step.step_id,
                      detail={**detail, "message": outcome.error})
    else:
        raise ServiceCallFailed(f"{outcome.error} (attempt {job.attempts} of {step.max_attempts})")
    uow.cases.save(loaded, now, None)
    return True


def _nothing_to_do(uow: UnitOfWork, job: ClaimedJob, record: CaseRecord) -> bool:
    return False
