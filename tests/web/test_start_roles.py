"""Who starts a case of a process drawn without lanes, as Camunda and Flowable draw them: the role of its first
step for people (its candidate group), or, when no step is for people, a manager; in the API and the web app."""

from __future__ import annotations

from engine import service
from engine.definitions.packages import Package
from tests import samples
from tests.web.test_api import as_user, assert_error  # noqa: F401 (as_user is a fixture)

CUSTOMER = {"id": "c-5", "name": "Ada Moss", "segment": "standard"}


def laneless(key: str, steps: str) -> Package:
    """A process of ``steps`` (their first has the id "first", their last "last") in no lane, as Camunda draws it."""
    return samples.laneless(key, steps, "first", "last", name="Refund")


def test_the_candidate_group_of_the_first_step_starts_a_process_drawn_without_lanes(as_user, new_uow, auth):
    service.deploy(new_uow(), laneless("refund", """
    <bpmn:serviceTask id="first" name="Look up order" camunda:type="external" camunda:topic="orders"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="last"/>
    <bpmn:userTask id="last" name="Approve refund" camunda:candidateGroups="credit-analyst, underwriter"/>"""))
    started = as_user("credit-analyst").post("/instances", {"process": "refund", "customer": CUSTOMER})
    assert started.status_code == 201, started.get_json()
    assert_error(as_user("customer-service").post("/instances", {"process": "refund", "customer": CUSTOMER}), 403,
                 "started by the role credit-analyst")
    auth.login("credit-analyst")
    assert b"Start a case" in auth.client.get("/instances/new?process=refund").data


def test_a_manager_starts_a_process_without_steps_for_people(as_user, new_uow):
    service.deploy(new_uow(), laneless("refund", """
    <bpmn:serviceTask id="first" name="Look up order" camunda:type="external" camunda:topic="orders"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="last"/>
    <bpmn:serviceTask id="last" name="Pay refund" camunda:type="external" camunda:topic="payments"/>"""))
    started = as_user("manager").post("/instances", {"process": "refund", "customer": CUSTOMER})
    assert started.status_code == 201 and started.get_json()["status"] == "running"
    assert_error(as_user("credit-analyst").post("/instances", {"process": "refund", "customer": CUSTOMER}), 403,
                 "started by the role manager")
