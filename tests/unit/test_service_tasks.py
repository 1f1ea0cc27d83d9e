"""Service tasks and the code other engines run for a step are refused at deploy, one line each, with the fix."""

from __future__ import annotations

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused
from engine.work import queries
from tests.unit.test_expressions_at_deploy import with_step

FIX = "replace it with a script task that calls a helper (docs/authoring.md#helpers)"


@pytest.mark.parametrize("step, refusal", [
    ('<bpmn:serviceTask id="step" name="Archive" camunda:class="org.acme.Archive"/>',
     f"runs the Java class org.acme.Archive (camunda:class): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:delegateExpression="${archiver}"/>',
     f"runs the Java bean ${{archiver}} (camunda:delegateExpression): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:expression="${archive.store(invoice)}"/>',
     "runs the expression ${archive.store(invoice)} (camunda:expression), which calls Java beans that do not run "
     f"in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:type="external" camunda:topic="archive"/>',
     "is an external task (topic archive) for a worker of Camunda (camunda:type): external workers do not run in "
     f"Valueflow yet: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:class="org.acme.Archive"/>',
     f"runs the Java class org.acme.Archive (flowable:class): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:type="mail"/>',
     f"is a mail task (flowable:type), which Flowable runs and Valueflow does not: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements>'
     '<zeebe:taskDefinition type="archiver"/></bpmn:extensionElements></bpmn:serviceTask>',
     "is a Camunda 8 job for workers of type archiver (zeebe:taskDefinition): job workers do not run in Valueflow "
     f"yet: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements><camunda:connector>'
     '<camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements>'
     '</bpmn:serviceTask>',
     f"calls the Camunda connector http-connector (camunda:connector), which does not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements>'
     '<spiffworkflow:serviceTaskOperator id="http/GetRequestV2"/></bpmn:extensionElements></bpmn:serviceTask>',
     f"calls the SpiffArena connector http/GetRequestV2, which does not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"/>',
     "is a service task that names nothing to run, and Valueflow runs service tasks only as scripts: "
     f"{FIX}, or make it a user task if a person does the work"),
    ('<bpmn:sendTask id="step" name="Archive" camunda:class="org.acme.Send"/>',
     f"runs the Java class org.acme.Send (camunda:class): Java delegates do not run in Valueflow: {FIX}"),
])
def test_a_step_whose_work_is_another_engines_code_is_refused_at_deploy_with_one_line_and_the_fix(
        new_uow, step, refusal):
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), with_step(step))
    assert [str(p) for p in caught.value.problems if not p.warning] == [f"step (Archive): {refusal}"]


def test_the_fix_a_script_task_calling_code_runs_where_the_service_task_stood(new_uow):
    service.deploy(new_uow(), with_step(
        '<bpmn:scriptTask id="step" name="Archive"><bpmn:script>archived = True</bpmn:script></bpmn:scriptTask>'))
    instance_id = service.start_instance(new_uow(), "steps", service.CustomerRef("c-1", "Ada", "standard"))
    assert queries.instance_view(new_uow(), instance_id)["data"]["archived"] is True
