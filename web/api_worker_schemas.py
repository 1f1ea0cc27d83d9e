"""The external task API's request and response bodies, named as Camunda's external task API names them
(``workerId``, ``topicName``, ``lockDuration`` in milliseconds), so that a worker written for it reads them."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine import external_tasks
from web.api_schemas import Moment

_MILLISECONDS_A_DAY = 86_400_000
_WORKER_ID = fields.String(required=True, validate=validate.Length(1, external_tasks.WORKER_ID_LENGTH),
                           metadata={"description": "the worker's own name; it completes only what it locked"})


class FetchTopic(Schema):
    topicName = fields.String(required=True, validate=validate.Length(1, 200))
    lockDuration = fields.Integer(required=True, validate=validate.Range(1, _MILLISECONDS_A_DAY), metadata={
        "description": "how long each task fetched stays this worker's, in milliseconds (at most a day)"})


class FetchAndLock(Schema):
    class Meta:
        unknown = EXCLUDE  # Camunda's clients send options Valueflow does not have (asyncResponseTimeout, usePriority)

    workerId = _WORKER_ID
    maxTasks = fields.Integer(load_default=1, validate=validate.Range(1, external_tasks.MOST_TASKS))
    topics = fields.List(fields.Nested(FetchTopic), required=True, validate=validate.Length(1, 50))
    variables = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "the names of the case data to send with each task (all of it when absent)"})


class LockedTask(Schema):
    id = fields.Integer(required=True, metadata={"description": "the external task's id, to complete or fail it"})
    topicName = fields.String(required=True)
    workerId = fields.String(required=True)
    processDefinitionKey = fields.String(required=True)
    processDefinitionVersion = fields.Integer(required=True)
    processInstanceId = fields.Integer(required=True)
    activityId = fields.String(required=True, metadata={"description": "the step's BPMN id"})
    activityName = fields.String(required=True)
    variables = fields.Dict(keys=fields.String(), required=True, metadata={"description": "the case data, as JSON"})
    lockExpirationTime = Moment(required=True)
    retries = fields.Integer(allow_none=True, metadata={"description": "as the last failure reported; null before"})
    errorMessage = fields.String(allow_none=True, metadata={"description": "the last failure's message"})


class ExternalCompletion(Schema):
    workerId = _WORKER_ID
    variables = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "plain JSON values merged into the case data (not Camunda's typed values)"})


class ExternalFailure(Schema):
    class Meta:
        unknown = EXCLUDE  # Camunda's clients may send errorDetails, kept in their own logs

    workerId = _WORKER_ID
    errorMessage = fields.String(load_default="", validate=validate.Length(0, external_tasks.MESSAGE_LENGTH))
    retries = fields.Integer(required=True, validate=validate.Range(0, 1000), metadata={
        "description": "how many more tries are left; 0 stops the case at the step as an incident"})
    retryTimeout = fields.Integer(load_default=0, validate=validate.Range(0, 30 * _MILLISECONDS_A_DAY), metadata={
        "description": "milliseconds before the task can be fetched again"})


class ExternalOutcome(Schema):
    id = fields.Integer(required=True)
    processInstanceId = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "the case's status afterwards"})
