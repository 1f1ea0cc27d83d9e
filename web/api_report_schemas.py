"""The API's read-only reports as marshmallow schemas: one customer's cases (engine.work.customers) and a
process's dashboard figures (engine.analytics): its summary, step table, segments, work at risk and costs.
Durations are in seconds; shares are fractions from 0 to 1; sums of money are in the answer's ``currency``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api_schemas import Moment

Seconds = fields.Float


class CustomerStep(Schema):
    task_id = fields.Integer(required=True)
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(allow_none=True)
    status = fields.String(required=True)
    handled_by = fields.String(allow_none=True)
    created_at = Moment(required=True)
    claimed_at = Moment(allow_none=True)
    completed_at = Moment(allow_none=True)
    due_at = Moment(allow_none=True)
    wait_seconds = Seconds(allow_none=True)
    work_seconds = Seconds(allow_none=True)
    cycle_seconds = Seconds(required=True, metadata={"description": "to now while the step is open"})
    late = fields.Boolean(required=True)


class CustomerCase(Schema):
    instance_id = fields.Integer(required=True)
    process = fields.String(required=True)
    process_name = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    started_at = Moment(required=True)
    ended_at = Moment(allow_none=True)
    lead_seconds = Seconds(required=True, metadata={"description": "to now while the case is open"})
    target_seconds = fields.Integer(allow_none=True)
    due_at = Moment(allow_none=True)
    within_target = fields.Boolean(allow_none=True)
    late_steps = fields.Integer(required=True)
    satisfaction = fields.Integer(allow_none=True)
    handled_by = fields.List(fields.String(), required=True)
    steps = fields.List(fields.Nested(CustomerStep), required=True)


class CustomerView(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    segment = fields.String(required=True)
    open_cases = fields.Integer(required=True)
    finished_cases = fields.Integer(required=True)
    late_steps = fields.Integer(required=True)
    mean_satisfaction = fields.Float(allow_none=True)
    cases = fields.List(fields.Nested(CustomerCase), required=True, metadata={
        "description": "the customer's newest cases (up to 100), newest first, each with its steps"})


class DashboardFilter(Schema):
    from_ = fields.String(data_key="from", metadata={"description": "a date (YYYY-MM-DD) or an ISO 8601 instant"})
    to = fields.String(metadata={"description": "a date (inclusive) or an ISO 8601 instant"})
    version = fields.String(validate=validate.Regexp(r"^(all|[0-9]{1,9})$", error="a version number or all"),
                            metadata={"description": "a version number, or all; default: the newest"})
    segment = fields.String(validate=validate.Length(1, 40))
    role = fields.String(validate=validate.Length(1, 100))
    assignee = fields.String(validate=validate.Length(1, 100))


class RiskFilter(DashboardFilter):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500),
                           metadata={"description": "at most this many tasks in each list"})


class Spread(Schema):
    n = fields.Integer(required=True)
    median = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True)


class VersionTarget(Schema):
    version = fields.Integer(required=True)
    seconds = fields.Integer(allow_none=True)


class Summary(Schema):
    process = fields.String(required=True)
    name = fields.String(required=True)
    versions = fields.List(fields.Integer(), required=True)
    calendar = fields.String(required=True)
    started = fields.Integer(required=True)
    finished = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    running = fields.Integer(required=True)
    lead = fields.Nested(Spread, required=True, metadata={"description": "end-to-end time of finished cases"})
    target_seconds = fields.Integer(allow_none=True)
    targets = fields.List(fields.Nested(VersionTarget), required=True)
    with_target = fields.Integer(required=True)
    within_target = fields.Integer(required=True)
    share_within_target = fields.Float(allow_none=True)


class StepFigures(Schema):
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(allow_none=True)
    value_class = fields.String(allow_none=True)
    target_seconds = fields.Integer(allow_none=True)
    targets = fields.List(fields.Nested(VersionTarget), required=True)
    count = fields.Integer(required=True)
    cycle = fields.Nested(Spread, required=True)
    wait = fields.Nested(Spread, required=True)
    work = fields.Nested(Spread, required=True)
    total_cycle_seconds = Seconds(required=True)
    total_wait_seconds = Seconds(required=True)
    total_work_seconds = Seconds(required=True)
    with_target = fields.Integer(required=True)
    within_target = fields.Integer(required=True)
    share_within_target = fields.Float(allow_none=True)
    share_of_lead_time = fields.Float(allow_none=True)
    open_now = fields.Integer(required=True)
    breached_now = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "green, amber, red or none"})


class StepTable(Schema):
    steps = fields.List(fields.Nested(StepFigures), required=True, metadata={
        "description": "every user task, the one taking the largest share of the time first"})


class SegmentStep(Schema):
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    count = fields.Integer(required=True)
    target_seconds = fields.Integer(allow_none=True)
    with_target = fields.Integer(required=True)
    within_target = fields.Integer(required=True)
    share_within_target = fields.Float(allow_none=True)
    overrun = fields.Float(allow_none=True, metadata={"description": "median cycle time ÷ target"})


class SegmentFigures(Schema):
    segment = fields.String(required=True)
    finished = fields.Integer(required=True)
    lead = fields.Nested(Spread, required=True)
    target_seconds = fields.Integer(allow_none=True)
    targets = fields.List(fields.Nested(VersionTarget), required=True)
    with_target = fields.Integer(required=True)
    within_target = fields.Integer(required=True)
    share_within_target = fields.Float(allow_none=True)
    steps = fields.List(fields.Nested(SegmentStep), required=True)


class Segments(Schema):
    segments = fields.List(fields.Nested(SegmentFigures), required=True, metadata={"description": "by name"})
    flags = fields.List(fields.String(), required=True, metadata={"description": "differences worth reading"})


class OpenTask(Schema):
    task_id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    customer_id = fields.String(required=True)
    customer_name = fields.String(required=True)
    segment = fields.String(required=True)
    created_at = Moment(required=True)
    due_at = Moment(required=True)
    target_seconds = fields.Integer(allow_none=True)
    seconds_left = Seconds(required=True, metadata={"description": "negative once overdue"})


class WorkAtRisk(Schema):
    breached_count = fields.Integer(required=True)
    at_risk_count = fields.Integer(required=True)
    breached = fields.List(fields.Nested(OpenTask), required=True, metadata={"description": "most overdue first"})
    at_risk = fields.List(fields.Nested(OpenTask), required=True, metadata={
        "description": "open tasks with less than a quarter of their target left, least time left first"})


class CostWeek(Schema):
    week = fields.Date(required=True, metadata={"description": "the first day of the week"})
    cases = fields.Integer(required=True)
    cost = fields.Nested(Spread, required=True)


class RoleRate(Schema):
    role = fields.String(required=True)
    hourly_rate = fields.Float(allow_none=True, metadata={"description": "null: no rate set, the role's work is "
                                                                         "counted as free"})


class Costs(Schema):
    currency = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={
        "description": "the ISO 4217 code of every sum of money here (the operator's VALUEFLOW_CURRENCY); null "
                       "when none is set: the sums are in whichever currency the admin set the rates in",
        "example": "EUR"})
    cases = fields.Integer(required=True, metadata={"description": "cases finished in the period"})
    cost = fields.Nested(Spread, required=True, metadata={"description": "cost per finished case"})
    mean = fields.Float(allow_none=True, metadata={"description": "mean cost per finished case"})
    total = fields.Float(required=True, metadata={"description": "the cost of every finished case together"})
    weeks = fields.List(fields.Nested(CostWeek), required=True, metadata={"description": "oldest first"})
    roles_without_rate = fields.List(fields.String(), required=True)
    rates = fields.List(fields.Nested(RoleRate), required=True, metadata={
        "description": "the hourly rate of each role of the process"})
