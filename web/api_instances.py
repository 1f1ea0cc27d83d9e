"""The API's cases: start one, read one, list them, cancel one; and deliver a customer's message to a case."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask.views import MethodView

from engine import service
from engine.work import case_pages, visibility
from web import api, db
from web.api_errors import error
from web.api_schemas import Case, CaseFilter, CasePage, Message, StartCase

bp = api.blueprint("api_instances", "instances", "Cases: start, read, list, cancel.")
bp.guard(api.staff_or_manager, api.STAFF_OR_MANAGER)
NO_CASE = "no case has this id"
UNSEEN = "the case has no step of your roles and you did not handle it"
CHANGED = "the case changed at the same moment"


def _case(instance_id: int) -> dict[str, Any]:
    """The case as the CLI's ``instance --json`` shows it, when the caller may see it (403 otherwise)."""
    return case_pages.case_view(db.uow(), instance_id, g.account)


@bp.route("")
class Instances(MethodView):
    @bp.arguments(CaseFilter, location="query")
    @bp.response(200, CasePage)
    def get(self, query: dict[str, Any]) -> Any:
        """The cases you may see, newest first: managers every case, staff those with a step of their roles
        or that they handled."""
        return case_pages.list_cases(db.uow(), g.account, process=query.get("process"), status=query.get("status"),
                                     customer_id=query.get("customer"), page=query["page"],
                                     per_page=query["per_page"])

    @bp.arguments(StartCase)
    @bp.response(201, Case, headers={"Location": {"description": "the new case's address in this API",
                                                   "schema": {"type": "string"}}})
    @bp.refuses(403, "the process's cases are started by a role you do not hold")
    @bp.refuses(404, "no process with this key is deployed")
    @bp.refuses(409, "another case of the process has this business key")
    @bp.refuses(422, "the customer's segment is not one of the process's, or the data or business key is not "
                     "accepted")
    def post(self, body: dict[str, Any]) -> Any:
        """Start a case of the newest version of a process for a customer; only the role of the process's
        first step starts one, as in the web app."""
        started = case_pages.process_to_start(db.uow(), body["process"])
        role = started["start_role"]
        if role not in g.account.roles:
            raise service.NotAllowed(f"cases of {started['name']} are started by the role {role}, "
                                     "which you do not hold")
        customer = body["customer"]
        if customer["segment"] not in started["segments"]:
            return error(422, "The case was not started: the customer's segment is not one of "
                             + ", ".join(started["segments"]) + ".",
                             {"customer.segment": "one of " + ", ".join(started["segments"])})
        instance_id = service.start_instance(
            db.uow(), body["process"], service.CustomerRef(customer["id"], customer["name"], customer["segment"]),
            body["data"], actor=g.account.name, business_key=body["business_key"])
        return _case(instance_id), {"Location": url_for(".Instance", instance_id=instance_id)}


@bp.route("/<int:instance_id>")
class Instance(MethodView):
    @bp.response(200, Case)
    @bp.refuses(403, UNSEEN)
    @bp.refuses(404, NO_CASE)
    def get(self, instance_id: int) -> Any:
        """One case: its status, customer, data, open steps, what it waits for, and its events."""
        return _case(instance_id)


@bp.route("/<int:instance_id>/cancel")
class Cancellation(MethodView):
    @bp.response(200, Case)
    @bp.refuses(403, "you are not a manager or admin")
    @bp.refuses(404, NO_CASE)
    @bp.refuses(409, "the case is already completed or cancelled", CHANGED)
    def post(self, instance_id: int) -> Any:
        """Stop a running or failed case (managers and admins); its open tasks are cancelled."""
        if not g.account.is_manager:
            raise service.NotAllowed("only managers and admins cancel cases")
        service.cancel_instance(db.uow(), instance_id, g.account.name)
        return _case(instance_id)


messages = api.blueprint("api_messages", "messages",
                         "Messages: tell a waiting case that the customer's message arrived, by its id or its "
                         "business key.")
messages.guard(api.staff_or_manager, api.STAFF_OR_MANAGER)


@messages.route("")
class Messages(MethodView):
    @messages.arguments(Message)
    @messages.response(200, Case)
    @messages.refuses(403, UNSEEN)
    @messages.refuses(404, NO_CASE, "no case has this business key (in this process)")
    @messages.refuses(409, "the case does not wait for this message, or is not running", CHANGED)
    @messages.refuses(422, "cases of several processes have this business key: name the process",
                      "the message's values were not accepted by its form; `fields` names each")
    def post(self, body: dict[str, Any]) -> Any:
        """Deliver a message to a case that waits for it (staff of the case's roles, managers); a case that
        does not wait for it answers 409 with what it waits for."""
        instance_id = body["instance_id"]
        if instance_id is None:
            instance_id = service.case_by_business_key(db.uow(), body["business_key"], body["process"])
        visibility.require_case_visible(db.uow(), instance_id, g.account)
        service.record_message(db.uow(), instance_id, body["name"], body["data"], g.account.name)
        return _case(instance_id)
