"""Processes written in other tools' dialects (tests/dialects/) deploy and run to their end through engine.service.

Each file there was written for these tests the way its tool writes it: roles
from Camunda 7, Camunda 8 and Flowable assignments, BPMN's potentialOwner, and
lanes named in other scripts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import service
from engine.definitions.annotations import role_key
from engine.definitions.forms import FormInvalid
from engine.definitions.packages import DeploymentRefused, Package, read_package
from engine.errors import NotAllowed
from engine.work import queries
from tests import samples

DIALECTS = Path(__file__).resolve().parent.parent / "dialects"
CUSTOMER = service.CustomerRef("c-1", "Ada Moss", "standard")


def open_tasks(new_uow, instance_id: int) -> list[dict]:
    return queries.list_tasks(new_uow(), instance_id=instance_id)


def work_through(new_uow, instance_id: int, people: dict[str, str],
                 forms: dict[str, dict] | None = None) -> list[tuple[str, str | None, str | None]]:
    """Claim (unless already assigned) and complete every task the case opens, each by the person holding its
    role (``people``: role → user) or by its assignee, with the form data given for its step (``forms``);
    returns (step, role, assignee) of each task as it opened."""
    seen = []
    while tasks := open_tasks(new_uow, instance_id):
        task = tasks[0]
        seen.append((task["step_id"], task["role"], task["assignee"]))
        user = task["assignee"] or people[task["role"]]
        if task["assignee"] is None:
            service.claim_task(new_uow(), task["id"], user)
        service.complete_task(new_uow(), task["id"], user, (forms or {}).get(task["step_id"], {}))
    assert queries.instance_view(new_uow(), instance_id)["status"] == "completed"
    return seen


def test_a_camunda_7_process_takes_its_roles_from_candidate_groups_assignees_and_potential_owners(new_uow):
    deployment = service.deploy(new_uow(), read_package(DIALECTS / "camunda7_invoice.bpmn"))
    assert any("Task_approve (Approve invoice): only its first candidate group 'accounting' owns it" in w
               for w in deployment.warnings), deployment.warnings
    service.add_user(new_uow(), "ann", ["accounting"])
    service.add_user(new_uow(), "demo", ["payments"])
    service.add_user(new_uow(), "rob", ["records-office"])
    instance_id = service.start_instance(new_uow(), "camunda7_invoice", CUSTOMER)
    steps = work_through(new_uow, instance_id, {"accounting": "ann", "records-office": "rob"})
    assert steps == [("Task_approve", "accounting", None), ("Task_pay", None, "demo"),
                     ("Task_archive", "records-office", None)]


def test_a_task_assigned_by_its_diagram_is_in_its_assignees_hands_and_no_one_else_completes_it(new_uow):
    service.deploy(new_uow(), read_package(DIALECTS / "camunda7_invoice.bpmn"))
    service.add_user(new_uow(), "ann", ["accounting"])
    service.add_user(new_uow(), "demo", ["payments"])
    instance_id = service.start_instance(new_uow(), "camunda7_invoice", CUSTOMER)
    [approve] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), approve["id"], "ann")
    service.complete_task(new_uow(), approve["id"], "ann", {})
    [pay] = open_tasks(new_uow, instance_id)
    assert [t["id"] for t in queries.list_tasks(new_uow(), user="demo")] == [pay["id"]]
    with pytest.raises(NotAllowed, match="assigned to demo"):
        service.complete_task(new_uow(), pay["id"], "ann", {})
    events = [e["type"] for e in queries.instance_view(new_uow(), instance_id)["events"] if e["task_id"] == pay["id"]]
    assert events == ["task_created", "task_assigned"]


def test_a_camunda_8_user_task_marker_is_not_a_second_task_and_its_assignment_gives_the_role(new_uow):
    deployment = service.deploy(new_uow(), read_package(DIALECTS / "camunda8_claim.bpmn"))
    assert not any("lane" in w for w in deployment.warnings), deployment.warnings
    service.add_user(new_uow(), "cleo", ["clerks"])
    instance_id = service.start_instance(new_uow(), "camunda8_claim", CUSTOMER)
    assert work_through(new_uow, instance_id, {"clerks": "cleo"}) == [("Task_assess", "clerks", None)]


def test_a_lane_wins_over_a_candidate_group_and_the_deploy_says_so(new_uow):
    xml = samples.two_step().replace(
        'xmlns:bpmn=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:bpmn=').replace(
        '<bpmn:userTask id="review"', '<bpmn:userTask id="review" camunda:candidateGroups="auditors"')
    deployment = service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert ("warning: review (Review): its lane 'Back Office' gives it the role 'back-office'; the candidate group "
            "'auditors' written by camunda is ignored") in deployment.warnings
    with new_uow() as uow:
        assert uow.compiled(deployment.definition_id).annotations.steps["review"].role == "back-office"


@pytest.mark.parametrize("tag, kind", [("userTask", "user task"), ("manualTask", "manual task"), ("task", "task")])
def test_a_task_without_an_owner_is_refused_naming_its_kind_and_the_fix(new_uow, tag, kind):
    xml = samples.two_step().replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', '').replace(
        '<bpmn:userTask id="review" name="Review">', f'<bpmn:{tag} id="review" name="Review">').replace(
        '</bpmn:userTask><bpmn:userTask id="approve"', f'</bpmn:{tag}><bpmn:userTask id="approve"')
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        f"review (Review): {kind} has no lane and no candidate group, so no role owns it: put it in a lane named "
        "after the role that does the work, or give it a candidate group (camunda:candidateGroups)"]


@pytest.mark.parametrize("namespace, written", [
    ("http://flowable.org/bpmn", "flowable:candidateGroups"), ("http://activiti.org/bpmn", "activiti:candidateGroups"),
    ("http://camunda.org/schema/zeebe/1.0", 'zeebe:assignmentDefinition candidateGroups="…"'),
    ("http://www.jboss.org/drools", "a GroupId task input")])
def test_a_task_without_an_owner_is_told_the_candidate_group_as_its_own_tool_writes_it(new_uow, namespace, written):
    xml = samples.two_step().replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', '').replace(
        'xmlns:bpmn=', f'xmlns:tool="{namespace}" xmlns:bpmn=')
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    assert problem.endswith(f"or give it a candidate group ({written})"), problem


def jbpm_task(task_id: str, name: str, **inputs: str) -> str:
    """A user task as jBPM writes one: its owner in task inputs (GroupId, ActorId), listed in its input set and given
    values by associations."""
    declared = "".join(f'<bpmn:dataInput id="{task_id}_{key}InputX" name="{key}"/>' for key in inputs)
    listed = "".join(f"<bpmn:dataInputRefs>{task_id}_{key}InputX</bpmn:dataInputRefs>" for key in inputs)
    given = "".join(f'<bpmn:dataInputAssociation><bpmn:targetRef>{task_id}_{key}InputX</bpmn:targetRef>'
                    f'<bpmn:assignment><bpmn:from><![CDATA[{value}]]></bpmn:from>'
                    f'<bpmn:to>{task_id}_{key}InputX</bpmn:to></bpmn:assignment></bpmn:dataInputAssociation>'
                    for key, value in inputs.items())
    return (f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:ioSpecification>{declared}'
            f'<bpmn:inputSet>{listed}</bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>{given}'
            '</bpmn:userTask>')


def test_a_jbpm_process_takes_its_roles_and_assignees_from_the_tasks_group_id_and_actor_id_inputs(new_uow):
    body = ('<bpmn:startEvent id="begin"/>' + jbpm_task("hr", "HR Interview", GroupId="HR")
            + jbpm_task("offer", "Create Proposal", ActorId="katy", GroupId="Hiring Team, IT")
            + '<bpmn:endEvent id="done"/>' + samples.chain("begin", "hr", "offer", "done"))
    xml = samples.document("hiring", body, {}).replace("xmlns:bpmn=", 'xmlns:drools="http://www.jboss.org/drools" '
                                                                        "xmlns:bpmn=")
    deployment = service.deploy(new_uow(), Package("hiring", "hiring.bpmn", {"hiring.bpmn": xml}))
    assert any("only its first candidate group 'Hiring Team' owns it" in w for w in deployment.warnings), \
        deployment.warnings
    service.add_user(new_uow(), "hanna", ["hr"])
    service.add_user(new_uow(), "katy", ["hiring-team"])
    instance_id = service.start_instance(new_uow(), "hiring", CUSTOMER, actor="hanna")
    assert work_through(new_uow, instance_id, {"hr": "hanna"}) == [("hr", "hr", None),
                                                                   ("offer", "hiring-team", "katy")]


JBPM_EXPENSE = DIALECTS / "jbpm_expense.bpmn2"


def test_a_jbpm_process_passes_its_variables_to_each_task_through_its_inputs_and_takes_its_outputs_back(new_uow):
    deployment = service.deploy(new_uow(), read_package(JBPM_EXPENSE))
    assert ("warning: approve (Approve expense): Valueflow ignores the settings of jBPM's task service among its "
            "inputs: Priority, Description") in deployment.warnings
    with new_uow() as uow:
        forms = uow.compiled(deployment.definition_id).forms
    assert forms["approve"]["properties"] == {"approved": {"type": "boolean", "title": "approved"},
                                              "managerNote": {"type": "string", "title": "managerNote"}}
    assert forms["pay"]["properties"] == {"paid_on": {"type": "string", "format": "date", "title": "paid_on"}}
    service.add_user(new_uow(), "mia", ["managers"])
    service.add_user(new_uow(), "tom", ["accounting"])
    instance_id = service.start_instance(new_uow(), "expense_claim", CUSTOMER,
                                         {"employee": "ada", "amount": 2500, "reason": "Conference"})
    [approve] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), approve["id"], "mia")
    service.complete_task(new_uow(), approve["id"], "mia", {"approved": True, "managerNote": "Within budget"})
    [pay] = open_tasks(new_uow, instance_id)
    data = queries.instance_view(new_uow(), instance_id)["data"]
    assert (data["amount"], data["claim_reason"], data["large"]) == (2500, "Conference", True)
    assert not {"TaskName", "GroupId", "Skippable", "Priority", "Description", "CreatedBy"} & set(data)
    assert (pay["role"], data["approved"], data["comment"]) == ("accounting", True, "Within budget")
    service.claim_task(new_uow(), pay["id"], "tom")
    service.complete_task(new_uow(), pay["id"], "tom", {"paid_on": "2026-03-04"})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["manager_comment"], view["data"]["claim_amount"],
            view["data"]["paymentDate"]) == ("completed", "Within budget", 2500, "2026-03-04")


def test_a_jbpm_variable_or_output_left_unset_maps_as_none_as_jbpm_maps_it_to_null(new_uow):
    service.deploy(new_uow(), read_package(JBPM_EXPENSE))
    service.add_user(new_uow(), "mia", ["managers"])
    instance_id = service.start_instance(new_uow(), "expense_claim", CUSTOMER, {"amount": 300})
    [approve] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), approve["id"], "mia")
    service.complete_task(new_uow(), approve["id"], "mia", {"approved": False})
    data = queries.instance_view(new_uow(), instance_id)["data"]
    assert (data["claim_reason"], data["large"], data["approved"], data["comment"]) == (None, False, False, None)


APPROVED = "<bpmn2:targetRef>approved</bpmn2:targetRef>"


@pytest.mark.parametrize("written, instead, refusal", [
    ('itemSubjectRef="__approve_approvedOutputXItem" name="approved"', 'name="ActorId"',
     "its output ActorId, the user who completed the task in jBPM, is not given by Valueflow: remove the output"),
    (APPROVED, APPROVED + "<bpmn2:transformation>approved.toString()</bpmn2:transformation>",
     "its output 'approved' is mapped through a transformation, which Valueflow does not run: map the variable "
     "itself, and compute the value in a script task"),
    (APPROVED, "<bpmn2:targetRef>approved</bpmn2:targetRef><bpmn2:assignment><bpmn2:from>approve_approvedOutputX"
               "</bpmn2:from><bpmn2:to>#{claim.approved}</bpmn2:to></bpmn2:assignment>",
     "its output 'approved' is mapped to or from a part of a value (an assignment with a path), which Valueflow "
     "does not map: map the whole variable, and read or set the part in a script task"),
    ("#{amount > 1000}", "#{processInstance.id > 1000}",
     "its input 'large' reads processInstance, jBPM's own object, which Valueflow's cases do not have"),
    ("#{amount > 1000}", "#{claims.total(amount)}",
     "its mapping of 'large' to '#{claims.total(amount)}' cannot run: calling claims.total() is not supported"),
    ('"__approve_approvedOutputXItem" structureRef="Boolean"', '"__approve_approvedOutputXItem" '
                                                              'structureRef="com.example.Approval"',
     "output 'approved' has the type 'com.example.Approval', which a person cannot fill in on Valueflow's form: "
     "make it a text, a number, true or false, or a date"),
], ids=["ActorId output", "transformation", "path", "jBPM object", "method call", "Java class"])
def test_a_jbpm_data_mapping_valueflow_cannot_honour_is_refused_naming_the_task(new_uow, written, instead, refusal):
    xml = JBPM_EXPENSE.read_text(encoding="utf-8")
    assert written in xml
    [problem] = deploy_refused(new_uow, xml.replace(written, instead, 1))
    assert problem.startswith(f"approve (Approve expense): {refusal}"), problem


def test_an_owner_computed_at_run_time_without_a_queue_to_fall_back_to_is_refused_naming_it(new_uow):
    xml = samples.two_step().replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', '').replace(
        'xmlns:bpmn=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:bpmn=').replace(
        '<bpmn:userTask id="review"', '<bpmn:userTask id="review" camunda:assignee="${reviewer}"')
    with pytest.raises(DeploymentRefused, match=r"review \(Review\): user task has its assignee \$\{reviewer\} "
                                                r"computed when the case runs, and no lane nor candidate group whose "
                                                r"queue it waits in when that computes no one: put it in a lane"):
        service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))


def test_a_task_for_the_person_who_started_the_case_goes_to_them_as_the_start_events_initiator_names(new_uow):
    """Flowable's and Camunda 7's way to send work back to whoever started the case: the start event names a
    variable for them (``flowable:initiator``), and a task's assignee reads it."""
    steps = ('<bpmn:userTask id="adjust" name="Adjust the request" flowable:assignee="${initiator}"/>'
             '<bpmn:sequenceFlow id="f_adjust" sourceRef="adjust" targetRef="approve"/>'
             '<bpmn:userTask id="approve" name="Approve" flowable:candidateGroups="management"/>')
    package = samples.laneless("vacation", steps, "adjust", "approve")
    xml = package.bpmn_xml.replace('<bpmn:startEvent id="start"/>',
                                   '<bpmn:startEvent id="start" flowable:initiator="initiator"/>')
    service.deploy(new_uow(), Package("vacation", "vacation.bpmn", {"vacation.bpmn": xml}))
    service.add_user(new_uow(), "emma", ["staff"])
    service.add_user(new_uow(), "mia", ["management"])
    instance_id = service.start_instance(new_uow(), "vacation", CUSTOMER, actor="emma")
    assert work_through(new_uow, instance_id, {"management": "mia"}) == [
        ("adjust", None, "emma"), ("approve", "management", None)]
    assert queries.instance_view(new_uow(), instance_id)["data"]["initiator"] == "emma"
    without = service.start_instance(new_uow(), "vacation", CUSTOMER)  # no person: nobody to give it to
    [task] = open_tasks(new_uow, without)
    assert (task["step_id"], task["role"], task["assignee"]) == ("adjust", None, None)
    with pytest.raises(DeploymentRefused, match=r"adjust \(Adjust the request\): user task has its assignee "
                                                r"\$\{initiator\} computed when the case runs, and no lane"):
        service.deploy(new_uow(), Package("vacation", "vacation.bpmn", {"vacation.bpmn": package.bpmn_xml}))


def test_lanes_named_in_any_script_give_roles_that_people_can_hold_and_claim_with(new_uow):
    deployment = service.deploy(new_uow(), read_package(DIALECTS / "lanes_in_other_scripts.bpmn"))
    assert deployment.roles == {"käufer": "lane 'Käufer'", "отдел-продаж": "lane 'Отдел продаж'"}
    service.add_user(new_uow(), "olga", ["отдел-продаж"])
    service.add_user(new_uow(), "karl", ["käufer"])
    instance_id = service.start_instance(new_uow(), "lanes_in_other_scripts", CUSTOMER)
    [offer] = open_tasks(new_uow, instance_id)
    with pytest.raises(NotAllowed, match="karl does not hold the role 'отдел-продаж'"):
        service.claim_task(new_uow(), offer["id"], "karl")
    steps = work_through(new_uow, instance_id, {"отдел-продаж": "olga", "käufer": "karl"})
    assert steps == [("Task_offer", "отдел-продаж", None), ("Task_accept", "käufer", None)]


@pytest.mark.parametrize("lane, role", [("Credit Analyst", "credit-analyst"), ("Käufer", "käufer"),
                                        ("Ka\u0308ufer", "käufer"), ("Отдел продаж", "отдел-продаж"),
                                        ("営業 部", "営業-部"), ("Back_Office / EU", "back-office-eu")])
def test_a_lane_name_becomes_its_letters_lower_cased_with_dashes_between_words(lane, role):
    assert role_key(lane) == role


def test_a_lane_with_no_letter_to_name_a_role_after_is_refused(new_uow):
    xml = samples.two_step().replace('name="Back Office"', 'name="★ / ★"')
    with pytest.raises(DeploymentRefused, match=r"review \(Review\): its lane '★ / ★' has no letter or digit"):
        service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))


# -- files as other tools write them -------------------------------------------------------------------------------

def deploy_refused(new_uow, xml: str) -> list[str]:
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    return [str(p) for p in caught.value.problems if not p.warning]


@pytest.mark.parametrize("as_folder", [False, True], ids=["lone file", "package folder"])
def test_a_flowable_bpmn20_xml_file_deploys_and_runs_to_its_end(new_uow, tmp_path, as_folder):
    source = DIALECTS / "flowable_vacation.bpmn20.xml"
    if as_folder:
        (tmp_path / "flowable_vacation").mkdir()
        source = tmp_path / "flowable_vacation" / "vacation.bpmn20.xml"
        source.write_bytes((DIALECTS / "flowable_vacation.bpmn20.xml").read_bytes())
        source = source.parent
    deployment = service.deploy(new_uow(), read_package(source))
    assert deployment.roles == {"management": "candidate group 'management'", "hr": "candidate group 'hr'"}
    service.add_user(new_uow(), "mia", ["management"])
    service.add_user(new_uow(), "hal", ["hr"])
    instance_id = service.start_instance(new_uow(), "flowable_vacation", CUSTOMER)
    assert work_through(new_uow, instance_id, {"management": "mia", "hr": "hal"}) == [
        ("handleRequest", "management", None), ("confirmDates", "hr", None)]


def test_a_diagram_on_the_activiti_template_deploys_again_unchanged_and_then_changed(new_uow):
    """Activiti, Flowable and Camunda 7 diagrams start from a template declaring ``xmlns:tns="Examples"``, a
    relative namespace URI: a later deploy of the process compares it with the stored version, rewritten or
    changed, and never fails on it."""
    template = (DIALECTS / "flowable_vacation.bpmn20.xml").read_text().replace(
        'targetNamespace="http://www.flowable.org/processdef"', 'targetNamespace="Examples" xmlns:tns="Examples"')

    def deploy(xml: str) -> service.Deployment:
        return service.deploy(new_uow(), Package("vacation", "vacation.bpmn20.xml", {"vacation.bpmn20.xml": xml}))

    first = deploy(template)
    rewritten = deploy(template.replace("\n  ", "\n    "))
    renamed = deploy(template.replace('name="Handle vacation request"', 'name="Decide on the vacation request"'))
    assert (first.version, first.created) == (1, True)
    assert (rewritten.version, rewritten.created) == (1, False)
    assert (renamed.version, renamed.created) == (2, True)
    assert [str(c) for c in renamed.changes] == ["step renamed: “Handle vacation request” → "
                                                 "“Decide on the vacation request”"]


@pytest.mark.parametrize("suffix", [".bpmn2", ".xml"])
def test_other_diagram_file_names_are_read_as_packages(tmp_path, suffix):
    path = tmp_path / f"claim{suffix}"
    path.write_bytes((DIALECTS / "camunda8_claim.bpmn").read_bytes())
    package = read_package(path)
    assert (package.name, package.bpmn_file) == ("claim", f"claim{suffix}")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16"])
def test_a_file_is_read_in_the_encoding_its_prolog_declares(new_uow, tmp_path, encoding):
    xml = samples.two_step().replace('encoding="UTF-8"', f'encoding="{encoding}"').replace(
        'name="Back Office"', 'name="Käufer"')
    path = tmp_path / "two_step.bpmn"
    path.write_bytes(xml.encode(encoding))
    deployment = service.deploy(new_uow(), read_package(path))
    assert deployment.roles["käufer"] == "lane 'Käufer'"


def test_a_file_that_is_not_in_its_declared_encoding_is_refused_saying_so(tmp_path):
    path = tmp_path / "two_step.bpmn"
    path.write_bytes(samples.two_step().replace('name="Back Office"', 'name="Käufer"').encode("ISO-8859-1"))
    with pytest.raises(DeploymentRefused,
                       match=r"two_step.bpmn is not valid UTF-8 text \(byte 711\): save it as UTF-8, or declare"):
        read_package(path)


@pytest.mark.parametrize("form_file", ["forms/review.json", "request.form"])
def test_a_form_file_that_is_not_utf8_is_refused_naming_it(tmp_path, form_file):
    folder = tmp_path / "two_step"
    (folder / "forms").mkdir(parents=True)
    (folder / "two_step.bpmn").write_text(samples.two_step(), encoding="utf-8")
    (folder / form_file).write_bytes('{"title": "Prüfung"}'.encode("ISO-8859-1"))
    with pytest.raises(DeploymentRefused, match=rf"{form_file} is not valid UTF-8 text \(byte 13\): save it as UTF-8"):
        read_package(folder)


def test_two_elements_with_one_id_are_named_instead_of_an_xsd_complaint(new_uow):
    xml = samples.two_step().replace('<bpmn:userTask id="approve"', '<bpmn:userTask id="review"', 1)
    problems = deploy_refused(new_uow, xml)
    assert any(p.startswith("review (Review): two elements share the id 'review' (user task, user task): "
                            "give each its own id") for p in problems), problems


def test_an_xsd_complaint_is_rewritten_in_plain_words_about_the_element(new_uow):
    xml = samples.two_step().replace('<bpmn:startEvent id="begin"/>',
                                     '<bpmn:startEvent id="begin" name="Asked" messageRef="m1"/>')
    assert deploy_refused(new_uow, xml) == [
        "begin (Asked): BPMN does not allow the attribute messageRef on a start event: remove it, or draw the element "
        "again in your modeler (line 3)"]


def test_a_data_store_is_a_warning_and_the_process_runs(new_uow):
    xml = samples.two_step().replace(
        '<bpmn:endEvent id="finish"/>',
        '<bpmn:endEvent id="finish"/><bpmn:dataStoreReference id="ledger_ref" name="Ledger" dataStoreRef="ledger"/>'
    ).replace('</bpmn:process>', '</bpmn:process><bpmn:dataStore id="ledger" name="Ledger"/>').replace(
        '<bpmn:userTask id="approve" name="Approve">',
        '<bpmn:userTask id="approve" name="Approve"><bpmn:dataOutputAssociation id="to_ledger">'
        '<bpmn:targetRef>ledger_ref</bpmn:targetRef></bpmn:dataOutputAssociation>')
    deployment = service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert any(w.startswith("warning: ledger_ref (Ledger): data store: Valueflow keeps no data stores")
               for w in deployment.warnings), deployment.warnings
    service.add_user(new_uow(), "bo", ["back-office", "approver"])
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER)
    assert work_through(new_uow, instance_id, {"back-office": "bo", "approver": "bo"})[-1][0] == "approve"


def linked(*events: str) -> str:
    """The two-step process with the flow from Review to Approve drawn as link events: ``events`` between them,
    each ``throw:<id>:<link>``, ``catch:<id>:<link>``, or ``flow:<source>:<target>``."""
    drawn = ""
    for event in events:
        kind, event_id, link = event.split(":")
        if kind == "flow":
            drawn += f'<bpmn:sequenceFlow id="f_{event_id}_{link}" sourceRef="{event_id}" targetRef="{link}"/>'
            continue
        tag = "intermediateThrowEvent" if kind == "throw" else "intermediateCatchEvent"
        drawn += (f'<bpmn:{tag} id="{event_id}" name="Link {link}"><bpmn:linkEventDefinition name="{link}"/>'
                  f'</bpmn:{tag}>')
    return samples.two_step().replace(
        '<bpmn:sequenceFlow id="f_review_approve" sourceRef="review" targetRef="approve"/>', drawn)


def test_a_link_event_pair_leads_the_case_on_as_the_flow_it_stands_for(new_uow):
    xml = linked("flow:review:go", "throw:go:A", "catch:arrive:A", "flow:arrive:approve")
    service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    service.add_user(new_uow(), "bo", ["back-office"])
    service.add_user(new_uow(), "ap", ["approver"])
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER)
    assert work_through(new_uow, instance_id, {"back-office": "bo", "approver": "ap"}) == [
        ("review", "back-office", None), ("approve", "approver", None)]


def test_link_events_that_lead_nowhere_or_to_two_places_are_refused_naming_them(new_uow):
    xml = linked("flow:review:go", "throw:go:A", "catch:arrive:B", "flow:arrive:approve")
    assert ("go (Link A): link event leads to the link 'A', which no catching link event of this process is named: "
            "add an intermediate catching link event named 'A' where the flow goes on, or draw a sequence flow "
            "instead") in deploy_refused(new_uow, xml)
    xml = linked("flow:review:go", "throw:go:A", "catch:arrive:A", "catch:again:A", "flow:arrive:approve",
                 "flow:again:approve")
    assert deploy_refused(new_uow, xml) == [
        "again (Link A): 2 catching link events of this process are named 'A', so a link thrown to it would not "
        "know where to go: give each its own name"]


def test_the_only_process_not_marked_executable_deploys_with_a_warning_saying_how_to_mark_it(new_uow):
    xml = samples.two_step().replace('isExecutable="true"', 'isExecutable="false"')
    deployment = service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert ('warning: two_step (Two Step): is not marked executable, and Valueflow runs it as the document\'s only '
            'process: mark it executable (isExecutable="true"; in Camunda Modeler, "Executable" in its properties)'
            ) in deployment.warnings
    service.add_user(new_uow(), "bo", ["back-office", "approver"])
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER)
    work_through(new_uow, instance_id, {"back-office": "bo", "approver": "bo"})


def test_several_flows_out_of_a_task_are_refused_with_the_gateway_to_add(new_uow):
    xml = samples.two_step().replace(
        '<bpmn:endEvent id="finish"/>',
        '<bpmn:endEvent id="finish"/><bpmn:sequenceFlow id="f_review_finish" sourceRef="review" targetRef="finish"/>')
    assert deploy_refused(new_uow, xml) == [
        "review (Review): 2 sequence flows leave this user task without a gateway: add a parallel gateway after it if "
        "all of them are to be taken, or an exclusive gateway if only one is (BPMN tools draw several flows out of a "
        "step, which Valueflow runs only through a gateway)"]


# -- expressions ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, segment, expected", [
    (1500, "standard", [("Task_check", "accounting", None), ("Task_approve", "management", None)]),
    (1500, "premium", [("Task_check", "accounting", None)]),
    (200, "standard", [("Task_check", "accounting", None)]),
])
def test_a_camunda_7_process_with_a_generated_form_and_juel_conditions_runs_the_branch_they_choose(
        new_uow, amount, segment, expected):
    service.deploy(new_uow(), read_package(DIALECTS / "camunda7_juel.bpmn"))
    service.add_user(new_uow(), "ann", ["accounting", "management"])
    instance_id = service.start_instance(new_uow(), "camunda7_juel", service.CustomerRef("c-2", "Bo", segment))
    filled = {"Task_check": {"amount": amount, "reason": "late", "receivedOn": "2026-01-02"}}
    assert work_through(new_uow, instance_id, {"accounting": "ann", "management": "ann"}, filled) == expected
    assert queries.instance_view(new_uow(), instance_id)["data"]["amount"] == amount


def test_a_camunda_7_generated_form_becomes_the_steps_form_with_its_fields_labels_options_and_required_flags(
        new_uow):
    deployment = service.deploy(new_uow(), read_package(DIALECTS / "camunda7_juel.bpmn"))
    with new_uow() as uow:
        form = uow.compiled(deployment.definition_id).forms["Task_check"]
    assert form == {"type": "object", "required": ["amount"], "properties": {
        "amount": {"type": "integer", "title": "Amount to refund", "minimum": 1},
        "reason": {"type": "string", "title": "Reason", "enum": ["damaged", "late"], "default": "damaged",
                   "x-labels": {"damaged": "Arrived damaged", "late": "Arrived late"}},
        "goodwill": {"type": "boolean", "title": "Goodwill gesture", "default": False},
        "receivedOn": {"type": "string", "format": "date", "title": "Received on"}}}
    service.add_user(new_uow(), "ann", ["accounting"])
    instance_id = service.start_instance(new_uow(), "camunda7_juel", CUSTOMER)
    [task] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), task["id"], "ann")
    with pytest.raises(FormInvalid) as caught:
        service.complete_task(new_uow(), task["id"], "ann", {"reason": "lost"})
    assert set(caught.value.errors) == {"amount", "reason"}


def test_a_generated_form_field_of_a_type_valueflow_cannot_show_is_refused_naming_it(new_uow):
    xml = (DIALECTS / "camunda7_juel.bpmn").read_text(encoding="utf-8").replace('type="date"', 'type="customer"')
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("camunda7_juel", "camunda7_juel.bpmn", {"camunda7_juel.bpmn": xml}))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "Task_check (Check the refund): form field 'receivedOn' has the type 'customer', which Valueflow cannot "
        "show: use one of string, long, boolean, date, enum"]


@pytest.mark.parametrize("condition, why", [
    ("=approved ? 1", "FEEL that Valueflow does not run: '?' is not supported there"),
    ("=time(\"09:00\")", "FEEL that Valueflow does not run: the function time() is not one Valueflow knows"),
    ("${approved ? 1 : 2}", "'?' is not supported there in a JUEL condition"),
    ("${order.isUrgent()}", "calling order.isUrgent() is not supported in a JUEL expression"),
    ("Vacation Approval = 'Approved'", "cannot run as Python: syntax error in script"),
    ("__import__('os')", "cannot run as Python: name '__import__' is not allowed in a script"),
])
def test_a_condition_that_cannot_run_is_refused_at_deploy_naming_the_flow(new_uow, condition, why):
    xml = (DIALECTS / "camunda7_juel.bpmn").read_text(encoding="utf-8").replace(
        "${amount gt 1000 &amp;&amp; customer.segment != 'premium'}", condition.replace("&", "&amp;"))
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("camunda7_juel", "camunda7_juel.bpmn", {"camunda7_juel.bpmn": xml}))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    assert problem.startswith(f"Flow_large (large): the condition {condition!r} cannot run"), problem
    assert why in problem, problem


def test_a_script_that_cannot_run_is_refused_at_deploy_naming_the_task(new_uow):
    xml = (DIALECTS / "camunda7_juel.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:endEvent id="EndEvent_paid" name="Refund paid"/>',
        '<bpmn:endEvent id="EndEvent_paid" name="Refund paid"/><bpmn:scriptTask id="Task_log" name="Log it">'
        '<bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="Flow_4" sourceRef="Task_approve" targetRef="Task_log"/>'
        '<bpmn:sequenceFlow id="Flow_5" sourceRef="Task_log" targetRef="EndEvent_approved"/>').replace(
        '<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_approve" targetRef="EndEvent_approved"/>', '')
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("camunda7_juel", "camunda7_juel.bpmn", {"camunda7_juel.bpmn": xml}))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "Task_log (Log it): its script cannot run: import is not allowed in a script: line 1"]


def test_a_task_its_diagram_gives_to_a_person_is_not_released_into_no_queue_but_a_manager_can_reassign_it(new_uow):
    service.deploy(new_uow(), read_package(DIALECTS / "camunda7_invoice.bpmn"))
    for name, roles in (("ann", ["accounting"]), ("demo", ["payments"]), ("max", ["manager"]), ("kim", ["payments"])):
        service.add_user(new_uow(), name, roles)
    instance_id = service.start_instance(new_uow(), "camunda7_invoice", CUSTOMER)
    [approve] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), approve["id"], "ann")
    service.complete_task(new_uow(), approve["id"], "ann", {})
    [pay] = open_tasks(new_uow, instance_id)
    with pytest.raises(NotAllowed, match="belongs to no role's queue"):
        service.release_task(new_uow(), pay["id"], "demo")
    service.assign_task(new_uow(), pay["id"], "kim", "max")
    service.complete_task(new_uow(), pay["id"], "kim", {})
    assert [t["step_id"] for t in open_tasks(new_uow, instance_id)] == ["Task_archive"]


SIZE_TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="sizes" name="Sizes" namespace="http://x">
  <decision id="order_size" name="Order size">
    <decisionTable id="order_size_table">
      <input id="in_amount"><inputExpression id="in_amount_expr" typeRef="number"><text>amount</text>
      </inputExpression></input>
      <output id="out_size" name="size" typeRef="string"/>
      <rule id="small"><inputEntry id="small_in"><text>&lt; 250</text></inputEntry>
        <outputEntry id="small_out"><text>"small"</text></outputEntry></rule>
      <rule id="medium"><inputEntry id="medium_in"><text>MEDIUM</text></inputEntry>
        <outputEntry id="medium_out"><text>"medium"</text></outputEntry></rule>
      <rule id="large"><inputEntry id="large_in"><text>-</text></inputEntry>
        <outputEntry id="large_out"><text>"large"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def sized(cell: str) -> Package:
    """two_step with a business rule task (order_size) between its start and Review, and the size table."""
    xml = samples.two_step().replace(
        '<bpmn:sequenceFlow id="f_begin_review" sourceRef="begin" targetRef="review"/>',
        '<bpmn:businessRuleTask id="size" name="Size the order"><bpmn:extensionElements>'
        '<spiffworkflow:calledDecisionId>order_size</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
        '</bpmn:businessRuleTask>'
        '<bpmn:sequenceFlow id="f_begin_size" sourceRef="begin" targetRef="size"/>'
        '<bpmn:sequenceFlow id="f_size_review" sourceRef="size" targetRef="review"/>').replace(
        '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
                                                      '<bpmn:flowNodeRef>size</bpmn:flowNodeRef>')
    return Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml, "sizes.dmn": SIZE_TABLE.replace("MEDIUM", cell)})


@pytest.mark.parametrize("cell, amount, size", [
    ("[250..1000]", 1000, "medium"), ("(250..1000]", 250, "large"), ("]250..1000[", 1000, "large"),
    ("250, 600, 800", 600, "medium"), ("not(&lt; 500)", 600, "medium"), ("not(&lt; 500)", 300, "large"),
    ("&gt;= 250 * 2", 500, "medium"), ("? &gt; 250 and ? &lt; 1000", 300, "medium"),
    ("null", None, "medium"), ("[250..1000]", None, "large"),
])
def test_a_decision_table_written_in_feel_deploys_and_decides_with_its_ranges_lists_and_negations(
        new_uow, cell, amount, size):
    service.deploy(new_uow(), sized(cell))
    service.add_user(new_uow(), "bo", ["back-office", "approver"])
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER, {"amount": amount})
    assert queries.instance_view(new_uow(), instance_id)["data"]["size"] == size


def test_a_decision_cell_neither_feel_nor_python_reads_is_refused_at_deploy_naming_the_decision_and_the_rule(new_uow):
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), sized("[250..1000"))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    assert problem.startswith("order_size (Order size): rule 2: the input cell '[250..1000' cannot run: neither FEEL ("), \
        problem
    assert problem.endswith('write a range as [250..1000], a list as "a","b", a text in double quotes'), problem


def test_a_decision_table_written_in_python_deploys_and_decides(new_uow):
    service.deploy(new_uow(), sized("250 &lt;= ? &lt;= 1000"))
    service.add_user(new_uow(), "bo", ["back-office", "approver"])
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER, {"amount": 600})
    assert queries.instance_view(new_uow(), instance_id)["data"]["size"] == "medium"


def test_a_camunda_decision_in_feel_called_by_reference_evaluates_the_decision_it_requires_first(new_uow):
    deployment = service.deploy(new_uow(), read_package(DIALECTS / "camunda7_invoice_decisions"))
    service.add_user(new_uow(), "mia", ["management"])
    service.add_user(new_uow(), "ann", ["accounting"])
    budget = service.start_instance(new_uow(), "camunda7_invoice_decisions", CUSTOMER,
                                    {"amount": 250, "invoiceCategory": "Misc"})
    day_to_day = service.start_instance(new_uow(), "camunda7_invoice_decisions", CUSTOMER,
                                        {"amount": 249.99, "invoiceCategory": "Misc"})
    assert work_through(new_uow, budget, {"management": "mia"}) == [("Task_management", "management", None)]
    assert work_through(new_uow, day_to_day, {"accounting": "ann"}) == [("Task_accounting", "accounting", None)]
    data = queries.instance_view(new_uow(), day_to_day)["data"]
    assert (data["invoiceClassification"], data["approverGroups"]) == ("day-to-day expense", ["accounting", "sales"])
    assert not [w for w in deployment.warnings if "decision" in w], deployment.warnings


@pytest.mark.parametrize("amount, segment, large", [(1500, "standard", True), (1500, "premium", False),
                                                    (900, "standard", False)])
def test_camunda_8_feel_conditions_with_their_leading_equals_sign_choose_the_gateways_branch(
        new_uow, amount, segment, large):
    xml = (DIALECTS / "camunda7_juel.bpmn").read_text(encoding="utf-8").replace(
        "${amount gt 1000 &amp;&amp; customer.segment != 'premium'}",
        '=amount &gt; 1000 and customer.segment != "premium"').replace(
        '#{!(amount &gt; 1000) || customer.segment eq "premium"}',
        '= not(amount &gt; 1000) or customer.segment = "premium"')
    service.deploy(new_uow(), Package("camunda7_juel", "camunda7_juel.bpmn", {"camunda7_juel.bpmn": xml}))
    service.add_user(new_uow(), "ann", ["accounting", "management"])
    instance_id = service.start_instance(new_uow(), "camunda7_juel", service.CustomerRef("c-2", "Bo", segment))
    filled = {"Task_check": {"amount": amount, "reason": "late", "receivedOn": "2026-01-02"}}
    steps = [step for step, _, _ in work_through(new_uow, instance_id, {"accounting": "ann", "management": "ann"},
                                                 filled)]
    assert ("Task_approve" in steps) is large, steps


def test_a_decision_requiring_one_that_no_table_defines_is_refused_at_deploy_naming_both(new_uow):
    folder = DIALECTS / "camunda7_invoice_decisions"
    tables = (folder / "invoiceBusinessDecisions.dmn").read_text(encoding="utf-8")
    without_classification = re.sub(r'<decision id="invoiceClassification".*?</decision>', "", tables, flags=re.S)
    package = Package("camunda7_invoice_decisions", "camunda7_invoice_decisions.bpmn", {
        "camunda7_invoice_decisions.bpmn": (folder / "camunda7_invoice_decisions.bpmn").read_text(encoding="utf-8"),
        "invoiceBusinessDecisions.dmn": without_classification})
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "Task_assign (Assign approver group): the decision 'invoice-assign-approver' requires the decision "
        "'invoiceClassification', which no decision table of the package defines: add its .dmn file"]


def test_camunda_7s_own_invoice_example_without_its_review_process_is_refused_naming_the_call(new_uow):
    example = DIALECTS / "camunda7_invoice_example" / "invoice.v2.bpmn"
    tables = DIALECTS / "camunda7_invoice_decisions" / "invoiceBusinessDecisions.dmn"  # the example's own, as shipped
    package = Package("invoice", example.name, {example.name: example.read_text(encoding="utf-8"),
                                                tables.name: tables.read_text(encoding="utf-8")})
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "reviewInvoice (Review Invoice): call activity calls the process 'ReviewInvoice', which no diagram of the "
        "package holds: add the diagram that defines it to the package (its process id must be 'ReviewInvoice')",
        "ServiceTask_1 (Archive Invoice): runs the Java class "
        "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService (camunda:class): Java delegates do not run in "
        "Valueflow: make it an external task (a topic its workers fetch), a connector step (http or email), or a script "
        "task that calls a helper (docs/authoring.md#service-tasks)"]


def test_camunda_7s_own_invoice_example_checks_the_review_process_it_calls_like_its_own(new_uow):
    folder = DIALECTS / "camunda7_invoice_example"  # invoice.v2.bpmn and reviewInvoice.bpmn, as Camunda ships them
    tables = DIALECTS / "camunda7_invoice_decisions" / "invoiceBusinessDecisions.dmn"
    files = {path.name: path.read_text(encoding="utf-8") for path in [*folder.glob("*.bpmn"), tables]}
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), Package("invoice", "invoice.v2.bpmn", files))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "reviewInvoice (Review Invoice): user task has its assignee ${reviewer} computed when the case runs, and no "
        "lane nor candidate group whose queue it waits in when that computes no one: put it in a lane named after "
        "the role that does the work, or give it a candidate group as well",
        "ServiceTask_1 (Archive Invoice): runs the Java class "
        "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService (camunda:class): Java delegates do not run in "
        "Valueflow: make it an external task (a topic its workers fetch), a connector step (http or email), or a script "
        "task that calls a helper (docs/authoring.md#service-tasks)"]


@pytest.mark.parametrize("reference, result", [
    ('<bpmn:extensionElements><zeebe:calledDecision xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
     'decisionId="order_size" resultVariable="orderSize"/></bpmn:extensionElements>', "medium"),
    ('', {"size": "medium"}),
])
def test_a_camunda_business_rule_tasks_result_variable_holds_the_decision_as_its_engine_shapes_it(
        new_uow, reference, result):
    package = sized("[250..1000]")
    camunda = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:decisionRef="order_size" ' \
              'camunda:resultVariable="orderSize" camunda:mapDecisionResult="singleResult"'
    xml = re.sub(r'<bpmn:businessRuleTask id="size" name="Size the order">.*?</bpmn:businessRuleTask>',
                 f'<bpmn:businessRuleTask id="size" name="Size the order" {camunda if not reference else ""}>'
                 f'{reference}</bpmn:businessRuleTask>', package.files["two_step.bpmn"], flags=re.S)
    service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {**package.files, "two_step.bpmn": xml}))
    instance_id = service.start_instance(new_uow(), "two_step", CUSTOMER, {"amount": 600})
    assert queries.instance_view(new_uow(), instance_id)["data"]["orderSize"] == result
