"""The API's tasks: the inbox's list with its filters, one task with its form and the step's value and target,
and the actions claim, release, assign and complete, with the web app's permissions."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from engine import service
from engine.work import case_pages, queries
from engine.work import inbox as engine_inbox
from web import api, db
from web.api_schemas import Assignment, Case, Completion, DoneTask, TaskDetail, TaskFilter, TaskPage

bp = api.blueprint("api_tasks", "tasks", "Tasks: the inbox, one task, and claim, release, assign, complete.")
bp.guard(api.staff_or_manager, api.STAFF_OR_MANAGER)
NO_TASK = "no task has this id"
NOT_YOURS = "the task is work for a role you do not hold, and not yours"


def _task(task_id: int) -> dict[str, Any]:
    """The task with its case; NotAllowed unless the caller holds its role, has it, or manages."""
    page = case_pages.task_page(db.uow(), task_id)
    task, account = page["task"], g.account
    if not (task["role"] in account.roles or task["assignee"] == account.name or account.is_manager):
        raise service.NotAllowed(f"task {task_id} ({task['name']}) is work for the role {task['role']}, "
                                 "which you do not hold")
    return page


@bp.route("")
class Tasks(MethodView):
    @bp.arguments(TaskFilter, location="query")
    @bp.response(200, TaskPage)
    @bp.refuses(403, "`view=all` asked by someone who is not a manager or admin")
    def get(self, query: dict[str, Any]) -> Any:
        """One page of open tasks, most urgent first: yours, your roles' queues, or (managers) all."""
        account = g.account
        filters = engine_inbox.InboxFilter(**{k: query.get(k) for k in ("process", "step", "segment", "role")})
        if query["view"] == "all" and not account.is_manager:
            raise service.NotAllowed("only managers and admins see every open task")
        return engine_inbox.inbox(db.uow(), account.name, account.staff_roles, everyone=account.is_manager,
                                  view=query["view"], filters=filters, page=query["page"],
                                  per_page=query["per_page"])


@bp.route("/<int:task_id>")
class OneTask(MethodView):
    @bp.response(200, TaskDetail)
    @bp.refuses(403, NOT_YOURS)
    @bp.refuses(404, NO_TASK)
    def get(self, task_id: int) -> Any:
        """The task with its form's JSON Schema, the step's customer value and target, the customer and data."""
        return _task(task_id)


@bp.route("/<int:task_id>/claim")
class Claim(MethodView):
    @bp.response(200, DoneTask)
    @bp.refuses(403, NOT_YOURS)
    @bp.refuses(404, NO_TASK)
    @bp.refuses(409, "the task is claimed by someone else", "the task is completed or cancelled",
                "the task changed at the same moment")
    def post(self, task_id: int) -> Any:
        """Take an unassigned task of one of your roles."""
        _task(task_id)
        service.claim_task(db.uow(), task_id, g.account.name)
        return _task(task_id)["task"]


@bp.route("/<int:task_id>/release")
class Release(MethodView):
    @bp.response(200, DoneTask)
    @bp.refuses(403, NOT_YOURS, "the task is claimed by someone else, and you are not a manager or admin",
                "the task belongs to no role's queue")
    @bp.refuses(404, NO_TASK)
    @bp.refuses(409, "the task is completed or cancelled", "the task changed at the same moment")
    def post(self, task_id: int) -> Any:
        """Put a task back in its role's queue (its assignee, or a manager)."""
        _task(task_id)
        service.release_task(db.uow(), task_id, g.account.name)
        return _task(task_id)["task"]


@bp.route("/<int:task_id>/assign")
class Assign(MethodView):
    @bp.arguments(Assignment)
    @bp.response(200, DoneTask)
    @bp.refuses(403, NOT_YOURS, "you are not a manager or admin",
                "the assignee does not hold the task's role, or is disabled")
    @bp.refuses(404, NO_TASK, "no user has the assignee's name")
    @bp.refuses(409, "the task is completed or cancelled", "the task changed at the same moment")
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Give a task to a user who holds its role (managers and admins)."""
        _task(task_id)
        service.assign_task(db.uow(), task_id, body["assignee"].strip(), g.account.name)
        return _task(task_id)["task"]


@bp.route("/<int:task_id>/complete")
class Complete(MethodView):
    @bp.arguments(Completion)
    @bp.response(200, Case)
    @bp.refuses(403, NOT_YOURS, "the task is not assigned to you (claim it first)")
    @bp.refuses(404, NO_TASK)
    @bp.refuses(409, "the task was completed by someone else, or cancelled", "the task changed at the same moment")
    @bp.refuses(422, "the form's values were not accepted; `fields` names each")
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Complete a task assigned to you with its form's values; answers the case as it is now."""
        _task(task_id)
        instance_id = service.complete_task(db.uow(), task_id, g.account.name, body["data"])
        return queries.instance_view(db.uow(), instance_id)
