"""The task page and its actions: claim, release, assign, complete."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from engine import service
from engine.definitions.forms import FormInvalid
from engine.storage.uow import ConcurrentUpdate
from engine.work import accounts, case_pages, queries
from web import db, forms, present, refused
from web.auth import login_required, require, staff_or_manager

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _require_access(task_id: int, name: str, role: Optional[str], assignee: Optional[str]) -> None:
    """403 unless the user holds the task's role, has it, or manages."""
    account = g.account
    require(role in account.roles or assignee == account.name or account.is_manager,
            f"Task {task_id} ({name}) is work for the role {role}, which you do not hold.")


def _context(task_id: int) -> dict[str, Any]:
    """The task page's content, or 404; 403 unless the user may see the task."""
    try:
        ctx = case_pages.task_page(db.uow(), task_id)
    except service.NotFound as exc:
        abort(404, str(exc))
    task = ctx["task"]
    _require_access(task_id, task["name"], task["role"], task["assignee"])
    return ctx


def _at_hand(task_id: int) -> queries.TaskAtHand:
    """The task's row for an action on it, or 404; 403 unless the user may see the task."""
    try:
        task = queries.task_at_hand(db.uow(), task_id)
    except service.NotFound as exc:
        abort(404, str(exc))
    _require_access(task_id, task.name, task.role, task.assignee)
    return task


def _render(task_id: int, code: int = 200, alert: Optional[str] = None, values: Optional[Mapping[str, Any]] = None,
            errors: Optional[Mapping[str, str]] = None) -> ResponseReturnValue:
    ctx = _context(task_id)
    task, account = ctx["task"], g.account
    is_open = task["status"] == "open"
    mine = is_open and task["assignee"] == account.name
    schema = forms.schema_or_comment(ctx["form"])
    assignable = accounts.users_with_role(db.uow(), task["role"]) if is_open and account.is_manager else []
    labels = ctx["labels"]
    return render_template(
        "tasks/show.html", ctx=ctx, task=task, mine=mine, is_open=is_open,
        can_claim=is_open and task["assignee"] is None and task["role"] in account.roles,
        can_release=is_open and task["assignee"] is not None and (mine or account.is_manager),
        assignable=assignable, has_form=ctx["form"] is not None,
        fields=forms.fields_for(schema, db.now().date(), values, errors), form_error=(errors or {}).get(""),
        error_count=len(errors or {}), alert=alert, preview=is_open or bool(values),
        data=present.case_fields(ctx["data"], labels, ctx["field_specs"]),
    ), code


# What an engine refusal means for the page: a wrong value, not yours to do, or too late.
_REFUSALS: dict[type[Exception], int] = {
    service.TaskTaken: 409, service.NotFound: 400, service.NotAllowed: 403, service.TaskClosed: 409, ConcurrentUpdate: 409}
_ACTION_ERRORS = tuple(_REFUSALS)


def _refused(task_id: int, exc: Exception, lead: str,
             typed: Optional[Mapping[str, Any]] = None) -> ResponseReturnValue:
    """Back to the task page, with the engine's reason and the status its kind of refusal deserves."""
    code = next(status for kind, status in _REFUSALS.items() if isinstance(exc, kind))
    return _back(task_id, code, alert=f"{lead}: {exc}.", values=typed)


def _back(task_id: int, code: int, alert: Optional[str] = None, values: Optional[Mapping[str, Any]] = None,
          errors: Optional[Mapping[str, str]] = None) -> ResponseReturnValue:
    """Post/Redirect/Get to the task page, scrolled to the first error or the alert."""
    return refused.back_to(url_for("tasks.show", task_id=task_id), "form-errors" if errors else "task-alert", code,
                           lambda: _render(task_id, code, alert, values, errors),
                           alert=alert, values=values, errors=errors)


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int) -> ResponseReturnValue:
    staff_or_manager()
    kept, code = refused.taken()
    return _render(task_id, code, kept.get("alert"), kept.get("values"), kept.get("errors"))


@bp.post("/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> ResponseReturnValue:
    staff_or_manager()
    _at_hand(task_id)
    try:
        service.claim_task(db.uow(), task_id, g.account.name)
    except _ACTION_ERRORS as exc:
        return _refused(task_id, exc, "You could not claim this task")
    flash("The task is yours now.", "success")
    # at its form: the keyboard's next Tab is its first field
    return redirect(url_for("tasks.show", task_id=task_id, _anchor="task-form"))


@bp.post("/<int:task_id>/release")
@login_required
def release(task_id: int) -> ResponseReturnValue:
    staff_or_manager()
    task = _at_hand(task_id)
    try:
        service.release_task(db.uow(), task_id, g.account.name)
    except _ACTION_ERRORS as exc:
        return _refused(task_id, exc, "You could not release this task")
    flash(f"{task.name} for {task.customer_name} is back in the {present.humanize(task.role)} queue.", "info")
    return redirect(url_for("inbox.index"))


@bp.post("/<int:task_id>/assign")
@login_required
def assign(task_id: int) -> ResponseReturnValue:
    staff_or_manager()
    _at_hand(task_id)
    assignee = request.form.get("assignee", "").strip()
    if not assignee:
        return _back(task_id, 400, alert="Choose the person to assign the task to.")
    try:
        service.assign_task(db.uow(), task_id, assignee, g.account.name)
    except _ACTION_ERRORS as exc:
        return _refused(task_id, exc, "The task was not assigned")
    flash(f"The task is assigned to {assignee}.", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<int:task_id>/complete")
@login_required
def complete(task_id: int) -> ResponseReturnValue:
    staff_or_manager()
    task = _at_hand(task_id)
    schema = forms.schema_or_comment(task.form)
    try:
        data, typed = forms.read_submission(schema, request.form, db.now().date())
    except forms.FormInvalidTyped as exc:
        if task.status != "open":  # done meanwhile (another tab, a colleague): fixing the values would not help
            return _back(task_id, 409, alert=f"Your values were not saved: task {task_id} ({task.name}) is already "
                                             f"{task.status}.", values=exc.typed)
        return _back(task_id, 400, values=exc.typed, errors=exc.errors)
    try:
        service.complete_task(db.uow(), task_id, g.account.name, data)
    except FormInvalid as exc:
        return _back(task_id, 400, values=typed, errors=exc.errors)
    except _ACTION_ERRORS as exc:
        return _refused(task_id, exc, "Your values were not saved", typed)
    session["just_completed"] = task_id
    flash(f"Done: {task.name} for {task.customer_name} (case {task.instance_id}).", "success")
    return redirect(url_for("inbox.index"))
