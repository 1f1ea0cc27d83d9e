"""The API's external tasks: outside workers fetch and lock service tasks by topic, then complete or fail them.

Only outside workers' system accounts (role ``external-worker``) and admins call these."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from flask import Response, g
from flask.views import MethodView

from engine import external_tasks
from web import api, db
from web.api_answers import Refusal
from web.api_worker_schemas import ExternalCompletion, ExternalFailure, ExternalOutcome, FetchAndLock, LockedTask

bp = api.blueprint("api_external_tasks", "external-tasks",
                   "External tasks: service tasks that your workers fetch by topic, then complete or fail.")


def workers_only() -> Optional[Response]:
    if g.account.works_external_tasks:  # signed in: the API's first check answered 401 otherwise
        return None
    return api.refused_roles("External tasks are for outside workers (role external-worker) and admins")


bp.guard(workers_only, Refusal(403, "your roles include no external-worker or admin"))
NO_TASK = "no external task with this id is open (it was completed, or its case moved on)"
LOCK = "the task is not locked by this worker: not fetched, locked by another, or the lock ended"


@bp.route("/fetch-and-lock")
class FetchLock(MethodView):
    @bp.arguments(FetchAndLock)
    @bp.response(200, LockedTask(many=True))
    @bp.refuses(422, "`maxTasks`, a topic's `lockDuration` or `workerId` is out of range")
    def post(self, body: dict[str, Any]) -> Any:
        """Lock up to ``maxTasks`` waiting tasks of the topics (in the order given) to the worker, each for its
        topic's ``lockDuration``; an empty list when none waits. Never the same task to two workers."""
        topics = [external_tasks.Topic(t["topicName"], timedelta(milliseconds=t["lockDuration"]))
                  for t in body["topics"]]
        locked = external_tasks.fetch_and_lock(db.factory(), body["workerId"], body["maxTasks"], topics,
                                               g.account.name, body["variables"])
        return [{"id": t.id, "topicName": t.topic, "workerId": t.worker_id, "processDefinitionKey": t.process,
                 "processDefinitionVersion": t.version, "processInstanceId": t.instance_id, "activityId": t.step_id,
                 "activityName": t.step_name, "variables": t.variables, "lockExpirationTime": t.lock_expires_at,
                 "retries": t.retries, "errorMessage": t.error_message} for t in locked]


@bp.route("/<int:task_id>/complete")
class Complete(MethodView):
    @bp.arguments(ExternalCompletion)
    @bp.response(200, ExternalOutcome)
    @bp.refuses(404, NO_TASK)
    @bp.refuses(409, LOCK, "the task changed at the same moment")
    @bp.refuses(422, "the variables cannot be kept in the case data, or `workerId` is out of range")
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Complete a task your worker locked: its variables go into the case data and the case runs on (404
        when no such task is open, 409 when another worker holds it or the lock ended)."""
        instance_id, status = external_tasks.complete(db.uow(), task_id, body["workerId"], body["variables"],
                                                      g.account.name)
        return {"id": task_id, "processInstanceId": instance_id, "status": status}


@bp.route("/<int:task_id>/failure")
class Failure(MethodView):
    @bp.arguments(ExternalFailure)
    @bp.response(200, ExternalOutcome)
    @bp.refuses(404, NO_TASK)
    @bp.refuses(409, LOCK, "the task changed at the same moment")
    @bp.refuses(422, "`errorMessage`, `retries`, `retryTimeout` or `workerId` is out of range")
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Report that your worker could not do a task: fetchable again after ``retryTimeout`` ms with
        ``retries`` left; with 0 left the case stops at the step as an incident (status ``error``)."""
        instance_id, status = external_tasks.fail(db.uow(), task_id, body["workerId"], body["errorMessage"],
                                                  body["retries"], timedelta(milliseconds=body["retryTimeout"]),
                                                  g.account.name)
        return {"id": task_id, "processInstanceId": instance_id, "status": status}
