"""Cases: find one, start one, see one on its diagram."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import service
from engine.analytics import cycle_times
from engine.definitions.forms import FormInvalid
from engine.storage.uow import ConcurrentUpdate
from engine.work import case_pages, feedback, queries, visibility
from engine.work.case_score import case_score
from web import db, forms, present, refused
from web.auth import login_required, require, staff_or_manager

bp = Blueprint("instances", __name__, url_prefix="/instances")
LONGEST_SEARCH = 200


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    staff_or_manager()
    text = request.args.get("q", "").strip()
    if len(text) > LONGEST_SEARCH:
        abort(400, f"A search is at most {LONGEST_SEARCH} characters: a customer's name or id, or a case number. "
                   f"Yours has {len(text):,}.")
    if text:
        return render_template("instances/index.html", q=text,
                               results=case_pages.search_cases(db.uow(), text, g.account))
    return render_template("instances/index.html", q="", results=case_pages.recent_cases(db.uow(), g.account))


@bp.get("/<int:instance_id>")
@login_required
def show(instance_id: int) -> ResponseReturnValue:
    staff_or_manager()
    kept, code = refused.taken()
    return _render(instance_id, code, **kept)


def _render(instance_id: int, code: int = 200, recording: Optional[str] = None,
            message_values: Optional[Mapping[str, Any]] = None, message_errors: Optional[Mapping[str, str]] = None,
            **extra: Any) -> ResponseReturnValue:
    """The case page; the form of the message ``recording`` comes back as typed, with its errors."""
    case = _case(instance_id)
    names = case["step_names"]
    diagram = {"xml": case["bpmn_xml"], "completed": case["completed_steps"], "open": case["open_step_ids"],
               "waiting": sorted({wait["step_id"] for wait in case["waits"]})}
    events = [{**e, "step_name": names.get(e["step_id"] or "", e["step_id"] or "")} for e in case["events"]]
    account = g.account
    may_record = account.is_manager or bool(account.roles & set(case["roles"]))
    retyped = (message_values, message_errors)
    today = db.now().date()
    waits = [{**wait, "fields": forms.fields_for(forms.schema_or_comment(wait["form"]), today,
                                                 *(retyped if wait["message"] == recording else ()))}
             if wait["kind"] == "message" else wait for wait in case["waits"]]
    extra.setdefault("score_error", None)
    extra.setdefault("message_error", None)
    extra.setdefault("typed", {"score": "", "comment": ""})
    return render_template("instances/show.html", case=case, diagram=diagram, events=events, waits=waits,
                           may_record=may_record, recording=recording,
                           may_score=visibility.may_score(db.uow(), instance_id, account),
                           efficiency=cycle_times.case_efficiency(db.uow(), instance_id),
                           score=case_score(db.uow(), instance_id), scores=feedback.SCORES, **extra), code


def _case(instance_id: int) -> dict[str, Any]:
    """The case page's content, or 404; 403 unless the user may see the case."""
    try:
        return case_pages.instance_page(db.uow(), instance_id, g.account)
    except service.NotFound as exc:
        abort(404, str(exc))
    except service.NotAllowed as exc:
        abort(403, f"{exc}.")


@bp.post("/<int:instance_id>/messages/<name>")
@login_required
def record_message(instance_id: int, name: str) -> ResponseReturnValue:
    """Staff of the case's roles (and managers) record that the customer's message arrived, with its form."""
    staff_or_manager()
    case = _case(instance_id)
    wait = next((w for w in case["waits"] if w["kind"] == "message" and w["message"] == name), None)
    if wait is None:
        return _message_refused(instance_id, 409, message_error=f"Case {instance_id} is no longer waiting for "
                                                                f"\u201c{present.humanize(name)}\u201d; nothing was "
                                                                "recorded.")
    try:
        data, typed = forms.read_submission(forms.schema_or_comment(wait["form"]), request.form, db.now().date())
    except forms.FormInvalidTyped as exc:
        return _message_refused(instance_id, 400, recording=name, message_values=exc.typed,
                                message_errors=exc.errors)
    try:
        service.record_message(db.uow(), instance_id, name, data, g.account.name)
    except FormInvalid as exc:
        return _message_refused(instance_id, 400, recording=name, message_values=typed, message_errors=exc.errors)
    except service.NotAllowed as exc:
        return _message_refused(instance_id, 403, message_error=f"Nothing was recorded: {exc}.")
    except (service.MessageNotExpected, service.TaskClosed, ConcurrentUpdate) as exc:
        return _message_refused(instance_id, 409, message_error=f"Nothing was recorded: {exc}.")
    except ValueError as exc:  # a field named as a function the process's scripts call
        return _message_refused(instance_id, 400, message_error=f"Nothing was recorded: {exc}.")
    flash(f"Recorded: {wait['step_name']} for {case['customer']['name']} (case {instance_id}).", "success")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.post("/<int:instance_id>/feedback")
@login_required
def record_score(instance_id: int) -> ResponseReturnValue:
    """Whoever handled a finished case (or a manager) records the score the customer gave them (1 to 5)."""
    staff_or_manager()
    typed = {"score": request.form.get("score", "").strip(), "comment": request.form.get("comment", "")}
    if typed["score"] not in {str(n) for n in feedback.SCORES}:
        return _score_refused(instance_id, 400, "Choose the customer's score, from 1 (poor) to 5 (excellent); "
                                                "nothing was recorded.", typed)
    try:
        feedback.record_feedback(db.uow(), instance_id, int(typed["score"]), g.account.name, typed["comment"])
    except service.NotFound as exc:
        abort(404, str(exc))
    except service.NotAllowed as exc:
        return _score_refused(instance_id, 403, f"The score was not recorded: {exc}.", typed)
    except feedback.FeedbackRefused as exc:
        return _score_refused(instance_id, 409 if isinstance(exc, feedback.AlreadyScored) else 400,
                              f"The score was not recorded: {exc}.", typed)
    flash(f"Score {typed['score']} of 5 recorded for case {instance_id}.", "success")
    return redirect(url_for("instances.show", instance_id=instance_id, _anchor="satisfaction"))


@bp.post("/<int:instance_id>/feedback-link")
@login_required
def feedback_link(instance_id: int) -> ResponseReturnValue:
    """A one-time link for the customer to score the finished case; shown once, on this answer only."""
    staff_or_manager()
    try:
        token = feedback.issue_feedback_token(db.uow(), instance_id, g.account.name)
    except service.NotFound as exc:
        abort(404, str(exc))
    except service.NotAllowed as exc:
        return _score_refused(instance_id, 403, f"No link was made: {exc}.")
    except feedback.FeedbackRefused as exc:
        return _score_refused(instance_id, 409 if isinstance(exc, feedback.AlreadyScored) else 400,
                              f"No link was made: {exc}.")
    return _render(instance_id, feedback_url=url_for("feedback.give", token=token, _external=True))


def _message_refused(instance_id: int, code: int, **kept: Any) -> ResponseReturnValue:
    """Back to the case page at the message's form (its values as typed, its errors) or at the reason."""
    return refused.back_to(url_for("instances.show", instance_id=instance_id),
                           "form-errors" if "recording" in kept else "message-error", code,
                           lambda: _render(instance_id, code, **kept), **kept)


def _score_refused(instance_id: int, code: int, message: str,
                   typed: Optional[dict[str, str]] = None) -> ResponseReturnValue:
    """Back to the case's satisfaction section, with the reason and the values as typed."""
    kept = {"score_error": message, **({"typed": typed} if typed else {})}
    return refused.back_to(url_for("instances.show", instance_id=instance_id), "satisfaction", code,
                           lambda: _render(instance_id, code, **kept), **kept)


def _startable(key: str) -> dict[str, Any]:
    try:
        process = case_pages.process_to_start(db.uow(), key)
    except service.NotFound as exc:
        abort(404, str(exc))
    role = process["start_role"]
    require(role in g.account.roles,
            f"Cases of {process['name']} are started by the role {role}, which you do not hold.")
    return process


@bp.route("/new", methods=("GET", "POST"))
@login_required
def new() -> ResponseReturnValue:
    key = request.values.get("process", "").strip()
    if not key:
        return redirect(url_for("processes.index"))
    process = _startable(key)
    if request.method == "GET":
        kept, code = refused.taken()
        if kept:
            return _start_form(process, code, kept["values"], kept["errors"])
        chosen = case_pages.customer(db.uow(), request.args.get("customer", "")) if request.args.get("customer") else None
        look_for = request.args.get("find", "").strip()
        values = chosen or {"id": "", "name": "", "segment": "standard"}
        return render_template("instances/new.html", process=process, values=values, errors={},
                               find=look_for, existing=bool(chosen),
                               matches=case_pages.find_customers(db.uow(), look_for) if look_for else None)
    values = {name: request.form.get(name, "").strip() for name in ("id", "name", "segment")}
    errors = _check_customer(values, process["segments"])
    if errors:
        return refused.back_to(url_for("instances.new", process=key), "customer-heading", 400,
                               lambda: _start_form(process, 400, values, errors), values=values, errors=errors)
    customer_id = values["id"] or case_pages.new_customer_id(db.uow())
    try:
        instance_id = service.start_instance(db.uow(), key, service.CustomerRef(customer_id, values["name"],
                                                                                 values["segment"]),
                                             {}, actor=g.account.name)
    except (service.NotFound, ValueError) as exc:
        abort(400, str(exc))
    return _land(instance_id, values["name"])


def _start_form(process: dict[str, Any], code: int, values: dict[str, str],
                errors: dict[str, str]) -> ResponseReturnValue:
    """The start form holding the values as typed, each error at its field."""
    return render_template("instances/new.html", process=process, values=values, errors=errors, find="",
                           existing=False, matches=None), code


def _check_customer(values: dict[str, str], segments: list[str]) -> dict[str, str]:
    errors = {}
    if not values["name"]:
        errors["name"] = "Enter the customer's name."
    elif len(values["name"]) > service.CUSTOMER_NAME_LENGTH:
        errors["name"] = f"The name is too long ({service.CUSTOMER_NAME_LENGTH} characters at most)."
    elif (problem := service.customer_name_problem(values["name"])) is not None:
        errors["name"] = present.sentence(problem)
    if values["segment"] not in segments:
        errors["segment"] = "Choose one of the segments: " + ", ".join(segments) + "."
    if values["id"]:
        if not service.CUSTOMER_ID.fullmatch(values["id"]):
            errors["id"] = ("A customer id has letters, digits, dots, dashes or underscores "
                            "(100 at most), like c-17. Leave it empty for a new customer.")
        else:
            known = case_pages.customer(db.uow(), values["id"])
            if known and values["name"] and known["name"] != values["name"]:
                errors["id"] = (f"Customer {known['id']} is {known['name']} on file. Pick them with "
                                "\u201cFind a customer\u201d, or leave the id empty for a new customer.")
    return errors


def _land(instance_id: int, customer_name: str) -> ResponseReturnValue:
    """On the case's first task when it is work for the starter's role (claimed for them), else on the case."""
    account = g.account
    first = next((t["id"] for t in queries.list_tasks(db.uow(), instance_id=instance_id)
                  if t["role"] in account.roles), None)
    if first is not None:
        try:
            service.claim_task(db.uow(), first, account.name)
        except (service.NotAllowed, service.TaskClosed, ConcurrentUpdate):
            pass
        else:
            flash(f"Case {instance_id} started for {customer_name}. Its first step is yours.", "success")
            return redirect(url_for("tasks.show", task_id=first))
    flash(f"Case {instance_id} started for {customer_name}.", "success")
    return redirect(url_for("instances.show", instance_id=instance_id))
