"""The API's bodies about processes as marshmallow schemas: the catalogue, a process with its versions and steps,
and the modeler's package, problems, deployment and draft (engine.definitions.package_json).

The modeler's bodies are read and answered by web.api_processes as they are; their schemas describe them
without refusing a key they do not name (``Open``)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from web import params
from web.api_schemas import Moment, Page


class CatalogueEntry(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the newest version"})
    customer_value = fields.String(allow_none=True, metadata={"description": "what the process gives the customer"})
    target_seconds = fields.Integer(allow_none=True, metadata={"description": "its end-to-end target"})
    owner = fields.String(allow_none=True)
    start_role = fields.String(allow_none=True, metadata={"description": "the role that starts a case"})
    steps = fields.List(fields.String(), required=True, metadata={"description": "the names of its steps"})
    running = fields.Integer(required=True, metadata={"description": "running cases of the newest version"})
    running_all_versions = fields.Integer(required=True)
    deployed_at = Moment(required=True)


class CataloguePage(Page):
    rows = fields.List(fields.Nested(CatalogueEntry), required=True)


class VersionRow(Schema):
    version = fields.Integer(required=True)
    deployed_at = Moment(required=True)
    deployed_by = fields.String(allow_none=True)
    running = fields.Integer(required=True)
    finished = fields.Integer(required=True)


class Notes(Schema):
    """A step's (or the process's) annotations, as written in the diagram (docs/design.md)."""

    step_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    lane = fields.String(allow_none=True)
    customer_value = fields.String(allow_none=True)
    value_class = fields.String(allow_none=True, metadata={"description": "VA, BVA or NVA"})
    target_seconds = fields.Integer(allow_none=True)
    segment_targets = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "the target of each customer segment that has its own"})
    owner = fields.String(allow_none=True)
    calendar = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)


class FormField(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    required = fields.Boolean(required=True)


class StepNotes(Notes):
    role = fields.String(allow_none=True, metadata={"description": "the role whose staff work the step"})
    fields_ = fields.List(fields.Nested(FormField), attribute="fields", data_key="fields", required=True,
                          metadata={"description": "the fields of the step's form"})


class ProcessDetail(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the version whose steps are shown"})
    newest = fields.Integer(required=True)
    process = fields.Nested(Notes, required=True)
    versions = fields.List(fields.Nested(VersionRow), required=True, metadata={"description": "newest first"})
    steps = fields.List(fields.Nested(StepNotes), required=True)


class VersionChoice(Schema):
    version = fields.Integer(validate=validate.Range(1, params.LARGEST_ID), metadata={"description": "default: the newest"})


class Open(Schema):
    class Meta:
        unknown = EXCLUDE


class Package(Open):
    """A process package as JSON: the diagram, its decision tables and its forms by file name."""

    bpmn = fields.String(required=True, metadata={"description": "the BPMN document"})
    dmn = fields.Dict(keys=fields.String(), values=fields.String(),
                      metadata={"description": "each decision table's file name → its DMN document"})
    forms = fields.Dict(keys=fields.String(), values=fields.Dict(),
                        metadata={"description": "each user task's id → the JSON Schema of its form"})


class Problem(Open):
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String(required=True)


class Problems(Open):
    errors = fields.List(fields.Nested(Problem), required=True)
    warnings = fields.List(fields.Nested(Problem), required=True)


class Change(Open):
    element_id = fields.String(allow_none=True)
    message = fields.String(required=True)


class Deployed(Open):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false: that content is already this version"})
    changes = fields.List(fields.Nested(Change), required=True,
                          metadata={"description": "what changed since the version before"})
    warnings = fields.List(fields.String(), required=True)
    draft_removed = fields.Boolean(required=True, metadata={
        "description": "true: the process's draft held this very content and was removed with the deploy"})


class SavedDraft(Open):
    key = fields.String(required=True)
    revision = fields.Integer(required=True)
    saved_by = fields.String(required=True)
    saved_at = Moment(required=True)


class Draft(SavedDraft):
    package = fields.Nested(Package, required=True)


class PackageToDeploy(Package):
    base_version = fields.Integer(allow_none=True, metadata={
        "description": "the version the edit started from, null for a new process: a deploy is refused (409) when "
                       "it is no longer the newest; left out, the package becomes the next version in any case"})


class DraftToSave(Open):
    package = fields.Nested(Package, required=True)
    base_revision = fields.Integer(required=True, metadata={
        "description": "the revision the edit started from; 0 for the first draft"})
