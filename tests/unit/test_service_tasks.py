"""Service tasks at deploy: those with a topic or a connector deploy and make their case wait at the step; the
code other engines run for a step, a connector Valueflow lacks, a missing topic and a service task that names
nothing to run are refused, one line each, with the fix."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import service
from engine.definitions.packages import DeploymentRefused
from engine.storage.tables import ExternalTask
from engine.work import queries
from tests.samples import props
from tests.unit.test_expressions_at_deploy import with_step

FIX = ("make it an external task (a topic its workers fetch), a connector step (http or email), or a script task "
       "that calls a helper (docs/authoring.md#service-tasks)")


@pytest.mark.parametrize("step, refusal", [
    ('<bpmn:serviceTask id="step" name="Archive" camunda:class="org.acme.Archive"/>',
     f"runs the Java class org.acme.Archive (camunda:class): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:delegateExpression="${archiver}"/>',
     f"runs the Java bean ${{archiver}} (camunda:delegateExpression): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:expression="${archive.store(invoice)}"/>',
     "runs the expression ${archive.store(invoice)} (camunda:expression), which Valueflow cannot run: calling "
     f"archive.store() is not supported in a JUEL expression: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" camunda:type="external"/>',
     "is an external task without a topic (camunda:topic): name the topic its workers fetch"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:type="external-worker"/>',
     "is an external task without a topic (flowable:topic): name the topic its workers fetch"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:class="org.acme.Archive"/>',
     f"runs the Java class org.acme.Archive (flowable:class): Java delegates do not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:type="mail"/>',
     f"is a mail task (flowable:type), which Flowable runs and Valueflow does not: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements>'
     '<zeebe:taskDefinition retries="3"/></bpmn:extensionElements></bpmn:serviceTask>',
     "is a Camunda 8 job without a type (zeebe:taskDefinition): name the type its workers fetch"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(connector="ftp")}</bpmn:serviceTask>',
     "names the connector 'ftp', which Valueflow does not have: use one of http, email, or a topic for your own "
     "workers (docs/authoring.md#service-tasks)"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(connector="http")}</bpmn:serviceTask>',
     "is an http connector step without a valid http.service property: name the service it calls (letters, digits "
     "and underscores, e.g. crm), whose address the installation sets in VALUEFLOW_CONNECTOR_<SERVICE>_URL"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(connector="http", http__service="crm", http__method="FETCH")}'
     '</bpmn:serviceTask>', "has http.method 'FETCH'; it must be one of GET, POST, PUT, PATCH, DELETE"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(connector="email")}</bpmn:serviceTask>',
     "is an email connector step without an email.to property: name the address, e.g. {customer.email}"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(topic="archive", maxAttempts="0")}</bpmn:serviceTask>',
     "has maxAttempts '0'; it must be a whole number from 1 to 100"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(topic="archive", connector="email")}</bpmn:serviceTask>',
     "has both a topic and a connector: keep the one that runs it"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements><camunda:connector>'
     '<camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements>'
     '</bpmn:serviceTask>',
     f"calls the Camunda connector http-connector (camunda:connector), which does not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements>'
     '<spiffworkflow:serviceTaskOperator id="http/GetRequestV2"/></bpmn:extensionElements></bpmn:serviceTask>',
     f"calls the SpiffArena connector http/GetRequestV2, which does not run in Valueflow: {FIX}"),
    ('<bpmn:serviceTask id="step" name="Archive"/>',
     f"is a service task that names nothing to run: {FIX}, or make it a user task if a person does the work"),
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


@pytest.mark.parametrize("step, data", [
    pytest.param('<bpmn:serviceTask id="step" name="Archive" camunda:expression="${true}"/>', {}, id="no result"),
    pytest.param('<bpmn:serviceTask id="step" name="Archive" camunda:expression="${amount * 2}" '
                 'camunda:resultVariable="doubled"/>', {"doubled": 200}, id="camunda:resultVariable"),
    pytest.param('<bpmn:serviceTask id="step" name="Archive" flowable:expression="#{amount gt 50}" '
                 'flowable:resultVariableName="large"/>', {"large": True}, id="flowable:resultVariableName"),
])
def test_a_service_task_whose_expression_reads_only_the_data_runs_it_and_keeps_its_result(new_uow, step, data):
    service.deploy(new_uow(), with_step(step))
    instance_id = service.start_instance(new_uow(), "steps", service.CustomerRef("c-1", "Ada", "standard"),
                                         {"amount": 100})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "completed" and view["error"] is None
    assert {key: view["data"][key] for key in data} == data


def test_a_result_variable_that_is_no_name_is_refused(new_uow):
    with pytest.raises(DeploymentRefused, match=r"step \(Archive\): its result variable 'order\.total' is not a "
                                                r"name a case can keep a value under"):
        service.deploy(new_uow(), with_step('<bpmn:serviceTask id="step" name="Archive" camunda:expression="${1}" '
                                            'camunda:resultVariable="order.total"/>'))


@pytest.mark.parametrize("step, topic", [
    ('<bpmn:serviceTask id="step" name="Archive" camunda:type="external" camunda:topic="archive"/>', "archive"),
    ('<bpmn:sendTask id="step" name="Archive" camunda:type="external" camunda:topic="letters"/>', "letters"),
    ('<bpmn:serviceTask id="step" name="Archive" flowable:type="external-worker" flowable:topic="archive"/>',
     "archive"),
    ('<bpmn:serviceTask id="step" name="Archive"><bpmn:extensionElements><zeebe:taskDefinition type="archiver" '
     'retries="3"/></bpmn:extensionElements></bpmn:serviceTask>', "archiver"),
    (f'<bpmn:serviceTask id="step" name="Archive">{props(topic="archive")}</bpmn:serviceTask>', "archive"),
])
def test_a_step_with_a_topic_deploys_and_its_case_waits_there_for_a_worker(new_uow, step, topic):
    service.deploy(new_uow(), with_step(step))
    instance_id = service.start_instance(new_uow(), "steps", service.CustomerRef("c-1", "Ada", "standard"))
    case = queries.instance_view(new_uow(), instance_id)
    assert (case["status"], case["open_steps"]) == ("running", [])
    with new_uow() as uow:
        [row] = uow.session.execute(select(ExternalTask.step_id, ExternalTask.topic)).all()
    assert tuple(row) == ("step", topic)


def test_a_connector_step_whose_service_is_not_configured_yet_deploys(new_uow, monkeypatch):
    monkeypatch.delenv("VALUEFLOW_CONNECTOR_NOWHERE_URL", raising=False)
    deployed = service.deploy(new_uow(), with_step(
        f'<bpmn:serviceTask id="step" name="Archive">{props(connector="http", http__service="nowhere")}'
        '</bpmn:serviceTask>'))
    assert deployed.created
