"""The API's request and response bodies as marshmallow schemas; flask-smorest checks requests against them,
shapes responses by them, and writes the OpenAPI document from them. Field names follow the CLI's JSON
(engine.work.queries); times are ISO 8601 with their offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.service import CUSTOMER_ID, CUSTOMER_NAME_LENGTH, SEGMENT
from web import params

STATUSES = ("running", "completed", "error", "cancelled")
TASK_STATUSES = ("open", "completed", "cancelled")


class Moment(fields.DateTime):
    """An ISO 8601 time with its offset, from a datetime or the ISO text the read models already give."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "e.g. not_found, forbidden, conflict, invalid"})
    message = fields.String(required=True, metadata={"description": "what went wrong, in words"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "each refused field of the request, with why"})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Customer(Schema):
    id = fields.String(required=True, validate=validate.Regexp(
        f"^{CUSTOMER_ID.pattern}$", error="a customer id is 1 to 100 letters, digits, dots, dashes or underscores"))
    name = fields.String(required=True, validate=validate.Length(1, CUSTOMER_NAME_LENGTH))
    segment = fields.String(load_default="standard", validate=validate.Regexp(
        f"^{SEGMENT.pattern}$", error="a segment is written in lower case, e.g. premium"))


class StartCase(Schema):
    process = fields.String(required=True, validate=validate.Length(1, 200),
                            metadata={"description": "the process key, e.g. loan_decision"})
    customer = fields.Nested(Customer, required=True, metadata={
        "description": "who the case is for; an id already known takes the name and segment given here, as your "
                       "system of record says (the name is shown on all their cases; each case keeps the segment it "
                       "started in)"})
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200), metadata={
        "description": "the key your system knows the case by (e.g. an application id); unique per process"})
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "the case's initial data"})


class Task(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    customer_value = fields.String(allow_none=True, metadata={"description": "what the step gives the customer"})
    value_class = fields.String(allow_none=True, metadata={"description": "VA, BVA or NVA"})
    target_seconds = fields.Integer(allow_none=True, metadata={"description": "the step's cycle-time target"})
    created_at = Moment(required=True)
    due_at = Moment(allow_none=True)
    claimed_at = Moment(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(TASK_STATUSES))


class DoneTask(Task):
    completed_at = Moment(allow_none=True)
    completed_by = fields.String(allow_none=True)


class Wait(Schema):
    kind = fields.String(required=True, metadata={"description": "message, timer, worker (a service task's) or "
                                                                 "other"})
    step_id = fields.String(required=True)
    step_name = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    due = Moment(allow_none=True)
    worker = fields.String(allow_none=True, metadata={"description": "who does a service task: workers of a topic, "
                                                                     "or a connector"})


class Event(Schema):
    type = fields.String(required=True)
    at = Moment(required=True)
    actor = fields.String(allow_none=True)
    step_id = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    detail = fields.Dict(allow_none=True)


class Case(Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    started_at = Moment(required=True)
    ended_at = Moment(allow_none=True)
    customer = fields.Nested(Customer, required=True)
    data = fields.Dict(required=True)
    open_steps = fields.List(fields.Nested(DoneTask), required=True)
    waits = fields.List(fields.Nested(Wait), required=True, metadata={"description": "what a running case waits for"})
    events = fields.List(fields.Nested(Event), required=True)


class ProcessRef(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class CaseRow(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    started_at = Moment(required=True)
    ended_at = Moment(allow_none=True)
    customer = fields.Nested(Customer, required=True)
    process = fields.Nested(ProcessRef, required=True)
    open_steps = fields.List(fields.String(), required=True, metadata={"description": "the names of its open steps"})


class Paging(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, 200))


class CaseFilter(Paging):
    process = fields.String(validate=validate.Length(1, 200))
    status = fields.String(validate=validate.OneOf(STATUSES))
    customer = fields.String(validate=validate.Length(1, 100), metadata={"description": "a customer id"})


class Page(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class CasePage(Page):
    rows = fields.List(fields.Nested(CaseRow), required=True)


class TaskFilter(Paging):
    view = fields.String(load_default="mine", validate=validate.OneOf(("mine", "queues", "all")), metadata={
        "description": "mine: assigned to you; queues: unassigned tasks of your roles; all: every open task "
                       "(managers)"})
    process = fields.String(validate=validate.Length(1, 200), metadata={"description": "a process key"})
    step = fields.String(validate=validate.Length(1, 200), metadata={"description": "a step id"})
    segment = fields.String(validate=validate.Length(1, 40), metadata={
        "description": "the customer segment the case started in"})
    role = fields.String(validate=validate.Length(1, 100), metadata={
        "description": "only tasks of this role, in any view"})


class Urgency(Schema):
    state = fields.String(required=True, metadata={"description": "on_track, at_risk, breached or none"})
    seconds_left = fields.Integer(allow_none=True)


class InboxTask(Task):
    customer = fields.Nested(Customer, required=True)
    process = fields.Nested(ProcessRef, required=True)
    waited_seconds = fields.Integer(required=True)
    urgency = fields.Nested(Urgency, required=True)


class TaskPage(Page):
    view = fields.String(required=True)
    rows = fields.List(fields.Nested(InboxTask), required=True)


class TargetedProcess(ProcessRef):
    customer_value = fields.String(allow_none=True)
    target_seconds = fields.Integer(allow_none=True)


class TaskDetail(Schema):
    task = fields.Nested(DoneTask, required=True)
    form = fields.Dict(allow_none=True, metadata={"description": "the JSON Schema of the step's form; none: "
                                                                 "a comment box"})
    customer = fields.Nested(Customer, required=True)
    process = fields.Nested(TargetedProcess, required=True)
    data = fields.Dict(required=True, metadata={"description": "the case's data so far"})


class Assignment(Schema):
    assignee = fields.String(required=True, validate=validate.Length(1, 100))


class Completion(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the form's values"})


class Message(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200),
                         metadata={"description": "the message's name, e.g. documents_received"})
    instance_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, params.LARGEST_ID))
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    process = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200), metadata={
        "description": "the process whose business key is meant, when cases of several have it"})
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "the values of the form of the event that catches the message"})

    @validates_schema
    def _one_case(self, body: dict[str, Any], **kwargs: Any) -> None:
        if (body.get("instance_id") is None) == (body.get("business_key") is None):
            raise ValidationError("name the case by instance_id or by business_key (one of them)", "instance_id")


class IncidentFilter(Paging):
    process = fields.String(validate=validate.Length(1, 200), metadata={"description": "a process key"})
    step = fields.String(validate=validate.Length(1, 200), metadata={"description": "the failing step's id"})
    message = fields.String(validate=validate.Length(1, 200), metadata={"description": "words of the error"})


class Incident(Schema):
    instance_id = fields.Integer(required=True)
    process = fields.String(required=True)
    version = fields.Integer(required=True)
    customer = fields.String(required=True, metadata={"description": "the customer's name"})
    step = fields.String(allow_none=True, required=True, metadata={"description": "the id of the step that failed"})
    step_name = fields.String(allow_none=True, required=True,
                              metadata={"description": "the name the diagram gives that step, else its id"})
    message = fields.String(required=True)
    errored_at = Moment(allow_none=True, required=True)
    attempts = fields.Integer(required=True, metadata={"description": "runs of the step that failed in a row"})


class IncidentPage(Page):
    rows = fields.List(fields.Nested(Incident), required=True)
    processes = fields.List(fields.String(), required=True,
                            metadata={"description": "the processes with cases in error"})


class IncidentsToRetry(Schema):
    instances = fields.List(fields.Integer(validate=validate.Range(1, params.LARGEST_ID)), required=True,
                            validate=validate.Length(1, 200), metadata={"description": "ids of cases in error"})


class RetryOutcome(Schema):
    instance_id = fields.Integer(required=True)
    status = fields.String(allow_none=True, required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "the case's status after the retry (error: it failed again); null when not retried"})
    refusal = fields.String(allow_none=True, required=True, metadata={"description": "why it was not retried"})


class RetryOutcomes(Schema):
    results = fields.List(fields.Nested(RetryOutcome), required=True)


_CHANNELS = fields.List(fields.String(validate=validate.Length(1, 40)), validate=validate.Length(0, 10), metadata={
    "description": "the channels of the event: email, webhook"})


class NotificationSettings(Schema):
    email = fields.String(allow_none=True, required=True, metadata={"description": "where mail goes"})
    webhook_url = fields.String(allow_none=True, required=True, metadata={"description": "where webhook calls go"})
    has_secret = fields.Boolean(required=True, metadata={
        "description": "whether the webhook has a signing secret (the secret itself is never shown again)"})
    choices = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True, metadata={
        "description": "each event you may hear of (assigned, at_risk, breached, incident) with its channels"})
    saved = fields.Boolean(required=True, metadata={"description": "false while the defaults apply"})
    mail_configured = fields.Boolean(required=True, metadata={
        "description": "whether this Valueflow sends mail at all"})


class SavedNotificationSettings(NotificationSettings):
    secret = fields.String(allow_none=True, required=True, metadata={
        "description": "the webhook's signing secret made by this request, shown only this once; else null"})


class NotificationSettingsChange(Schema):
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 1000), metadata={
        "description": "where mail goes; null or absent: no mail"})
    webhook_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 4000), metadata={
        "description": "an http(s) address on the public internet (or a host the operator allows); null or "
                       "absent: no webhook, and its secret is dropped"})
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 1000), metadata={
        "description": "a signing secret of your own (16 to 200 characters); absent: keep the current one, or "
                       "make one for a new webhook"})
    new_secret = fields.Boolean(load_default=False, truthy={True}, falsy={False},  # not 'yes' or 'false'
                                metadata={"description": "make a new signing secret"})
    choices = fields.Dict(keys=fields.String(validate=validate.Length(1, 40)), values=_CHANNELS, required=True,
                          validate=validate.Length(0, 10), metadata={
        "description": "each event to hear of with its channels, e.g. {\"assigned\": [\"email\"]}; an event left "
                       "out is not sent"})
