"""Shapes of diagram SpiffWorkflow's parser refuses are refused in Valueflow's words, naming the element and the fix;
shapes BPMN and other engines accept that the parser does not read deploy and run (engine.definitions.parser_shapes).
"""

from __future__ import annotations

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused, Package
from engine.work import queries
from tests import samples

CUSTOMER = service.CustomerRef("c-1", "Ada Moss", "standard")


def script(step_id: str, name: str, code: str = "x = 1", inside: str = "") -> str:
    return f'<bpmn:scriptTask id="{step_id}" name="{name}">{inside}<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def steps(body: str, first: str = "step", last: str = "step", definitions: str = "") -> Package:
    """A process of script tasks and events, without lanes: start → ``body`` (``first`` … ``last``) → end."""
    return samples.laneless("steps", body, first, last, definitions)


def refused(new_uow, package: Package) -> list[str]:
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    problems = [str(p) for p in caught.value.problems if not p.warning]
    assert not any("SpiffWorkflow" in p for p in problems), problems
    return problems


def edited(package: Package, old: str, new: str) -> Package:
    assert old in package.bpmn_xml
    return Package(package.name, package.bpmn_file, {package.bpmn_file: package.bpmn_xml.replace(old, new)})


def run(new_uow, package: Package, data: dict | None = None) -> dict:
    """Deploy the package, start a case, and return its view once it has run to its first wait."""
    deployment = service.deploy(new_uow(), package)
    instance_id = service.start_instance(new_uow(), deployment.key, CUSTOMER, data)
    return queries.instance_view(new_uow(), instance_id)


def test_a_process_without_a_start_event_is_refused_naming_the_process(new_uow):
    package = edited(steps(script("step", "Step")), '<bpmn:startEvent id="start"/>', "")
    package = edited(package, '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="step"/>', "")
    assert "steps: the process has no start event, so a case of it has nowhere to begin: draw a start event, and a " \
           "sequence flow from it to the first step" in refused(new_uow, package)


SUB_START = '<bpmn:startEvent id="sub_start"/><bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner"/>'
SUB_END = '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end"/><bpmn:endEvent id="sub_end"/>'


@pytest.mark.parametrize("inside, expected", [
    (script("inner", "Inner") + SUB_END,
     "sub (Check): the subprocess has no start event: draw one inside it, with a sequence flow to its first step"),
    (SUB_START + '<bpmn:startEvent id="other_start"/><bpmn:sequenceFlow id="s3" sourceRef="other_start" '
                 'targetRef="inner"/>' + script("inner", "Inner") + SUB_END,
     "sub (Check): the subprocess has 2 start events (sub_start, other_start), and Valueflow starts it at one: keep "
     "one, with sequence flows from it to where the others led"),
    (SUB_START + script("inner", "Inner"),
     "sub (Check): the subprocess has no end event: draw one inside it, after its last step"),
], ids=["no start event", "two start events", "no end event"])
def test_a_subprocess_without_one_start_event_or_an_end_event_is_refused_naming_it(new_uow, inside, expected):
    package = steps(f'<bpmn:subProcess id="sub" name="Check">{inside}</bpmn:subProcess>', "sub", "sub")
    assert expected in refused(new_uow, package)


@pytest.mark.parametrize("kind", ["signal", "message", "error", "escalation"])
def test_a_signal_message_error_or_escalation_without_an_id_is_refused_naming_the_process(new_uow, kind):
    package = steps(script("step", "Step"), definitions=f'<bpmn:{kind} name="alert"/>')
    assert refused(new_uow, package) == [
        f"steps: the {kind} 'alert' declared on line 6 has no id, so no event can refer to it: give it an id, and "
        "choose it in the events that send or catch it (or remove it)"]


@pytest.mark.parametrize("kind, event", [("signal", "intermediateCatchEvent"), ("message", "intermediateCatchEvent"),
                                         ("escalation", "intermediateThrowEvent")])
def test_an_event_referring_to_an_undeclared_signal_message_or_escalation_is_refused_naming_it(new_uow, kind, event):
    package = steps(f'<bpmn:{event} id="step" name="Wait"><bpmn:{kind}EventDefinition {kind}Ref="go"/></bpmn:{event}>')
    assert refused(new_uow, package) == [
        f"step (Wait): it refers to the {kind} 'go', which the document does not declare: choose one of the "
        f"document's {kind}s in its properties in your modeler, or declare it (<bpmn:{kind} id=\"go\" name=\"…\"/>)"]


def test_an_undeclared_error_is_its_own_error_code_as_in_camunda_and_its_boundary_event_catches_it(new_uow):
    body = ('<bpmn:subProcess id="sub" name="Try"><bpmn:startEvent id="sub_start"/>'
            '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="fail"/>'
            '<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="late"/></bpmn:endEvent></bpmn:subProcess>'
            '<bpmn:sequenceFlow id="f_sub_after" sourceRef="sub" targetRef="after"/>'
            + script("after", "After", "caught = False") +
            '<bpmn:boundaryEvent id="on_late" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="late"/>'
            '</bpmn:boundaryEvent><bpmn:sequenceFlow id="f_late" sourceRef="on_late" targetRef="handle"/>'
            + script("handle", "Handle", "caught = True") +
            '<bpmn:sequenceFlow id="f_handled" sourceRef="handle" targetRef="handled"/><bpmn:endEvent id="handled"/>')
    case = run(new_uow, steps(body, "sub", "after"))
    assert (case["status"], case["data"].get("caught")) == ("completed", True)


def test_a_message_referred_to_by_a_qname_of_the_document_namespace_deploys_and_its_case_waits_for_it(new_uow):
    package = steps('<bpmn:intermediateCatchEvent id="step" name="Paid"><bpmn:messageEventDefinition '
                    'xmlns:tns="http://bpmn.io/schema/bpmn" messageRef="tns:paid"/></bpmn:intermediateCatchEvent>',
                    definitions='<bpmn:message id="paid" name="payment"/>')
    deployment = service.deploy(new_uow(), package)
    instance_id = service.start_instance(new_uow(), deployment.key, CUSTOMER)
    assert queries.instance_view(new_uow(), instance_id)["status"] == "running"
    service.deliver_message(new_uow(), instance_id, "payment")
    assert queries.instance_view(new_uow(), instance_id)["status"] == "completed"


def test_a_timer_that_says_not_when_it_fires_is_refused_naming_its_event(new_uow):
    package = steps('<bpmn:intermediateCatchEvent id="step" name="Later"><bpmn:timerEventDefinition/>'
                    '</bpmn:intermediateCatchEvent>')
    assert refused(new_uow, package) == [
        "step (Later): its timer says not when it fires: give it a date, a duration (e.g. PT4H) or a cycle (e.g. "
        "R3/PT1H)"]


CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


@pytest.mark.parametrize("marker, expected", [
    ("<bpmn:multiInstanceLoopCharacteristics/>",
     "its multi-instance marker says neither how many instances run nor which list to run one per item of: give it "
     "a loop cardinality (the number of instances; in Camunda Modeler, \"Loop cardinality\"), or a loopDataInputRef "
     "naming the variable that holds the list"),
    (f'<bpmn:multiInstanceLoopCharacteristics {CAMUNDA} camunda:collection="orders" camunda:elementVariable="order"/>',
     "its multi-instance marker runs one instance per item of 'orders' (camunda:collection), which Valueflow does not "
     "read: write the list as BPMN does, a loopDataInputRef naming the variable that holds it and an inputDataItem "
     "naming each item, or give it a loop cardinality (the number of instances)"),
    ("<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>"
     "<bpmn:loopDataInputRef>orders</bpmn:loopDataInputRef></bpmn:multiInstanceLoopCharacteristics>",
     "its multi-instance marker gives both a loop cardinality and a list to run one instance per item of "
     "(loopDataInputRef): keep one of them"),
    ("<bpmn:standardLoopCharacteristics/>",
     "its loop marker says neither when the loop stops (a loop condition) nor how often it runs at most "
     "(loopMaximum): give it a loop condition, or remove the marker"),
    ('<bpmn:ioSpecification><bpmn:dataInput id="step_list" name="MultiInstanceInput"/><bpmn:inputSet/>'
     '<bpmn:outputSet/></bpmn:ioSpecification><bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>'
     'step_list</bpmn:loopDataInputRef></bpmn:multiInstanceLoopCharacteristics>',
     "its multi-instance marker runs over its own data input 'MultiInstanceInput' (loopDataInputRef), which "
     "Valueflow cannot read there: name the process variable that holds the list instead"),
], ids=["multi-instance without a size", "camunda collection", "cardinality and list", "loop without an end",
        "over its own data input (jBPM)"])
def test_a_loop_marker_that_says_not_how_often_to_run_is_refused_naming_the_step(new_uow, marker, expected):
    assert refused(new_uow, steps(script("step", "Count", inside=marker))) == [f"step (Count): {expected}"]


@pytest.mark.parametrize("trigger, expected", [
    ("<bpmn:compensateEventDefinition/>",
     "compensation is not supported: draw the steps that undo the work on the path the process takes when it fails "
     "(for example after an error boundary event)"),
    ("", "the boundary event has no trigger Valueflow knows: give it a timer, message, signal, error, escalation or "
         "condition, or remove it"),
    ("<bpmn:cancelEventDefinition/>",
     "a cancel boundary event is on a transaction, and this one is not: attach it to a transaction subprocess, or "
     "make it an error boundary event"),
], ids=["compensation", "none", "cancel off a transaction"])
def test_a_boundary_event_without_a_trigger_the_parser_knows_is_refused_naming_it(new_uow, trigger, expected):
    body = (script("step", "Step") + f'<bpmn:boundaryEvent id="undo" name="Undo" attachedToRef="step">{trigger}'
            '</bpmn:boundaryEvent><bpmn:sequenceFlow id="f_undo" sourceRef="undo" targetRef="undone"/>'
            '<bpmn:endEvent id="undone"/>')
    assert refused(new_uow, steps(body)) == [f"undo (Undo): {expected}"]


IO = ('<bpmn:ioSpecification><bpmn:dataInput id="step_in" name="amount"/><bpmn:dataOutput id="step_out" '
      'name="total"/><bpmn:inputSet><bpmn:dataInputRefs>step_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet>'
      '<bpmn:dataOutputRefs>step_out</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>')


def test_a_data_association_to_an_undeclared_data_object_is_refused_naming_the_step(new_uow):
    associations = ('<bpmn:dataInputAssociation id="a"><bpmn:sourceRef>ledger</bpmn:sourceRef><bpmn:targetRef>step_in'
                    '</bpmn:targetRef></bpmn:dataInputAssociation>')
    package = steps(script("step", "Step", inside=IO + associations)
                    + '<bpmn:dataObjectReference id="ledger" dataObjectRef="ledger_data"/>')
    assert refused(new_uow, package) == [
        "step (Step): its data input association reads the data object reference 'ledger', whose data object "
        "'ledger_data' is not declared where the step is (in the process or subprocess holding it, or the one around "
        "that): draw the reference again from a data object declared there"]


def test_data_associations_to_process_variables_copy_them_into_and_out_of_the_step(new_uow):
    """As jBPM reads them (engine.definitions.io_mappings), not as SpiffWorkflow's parser, which cannot."""
    associations = ('<bpmn:dataInputAssociation id="a"><bpmn:sourceRef>amount</bpmn:sourceRef><bpmn:targetRef>'
                    'step_in</bpmn:targetRef></bpmn:dataInputAssociation><bpmn:dataOutputAssociation id="b">'
                    '<bpmn:sourceRef>step_out</bpmn:sourceRef><bpmn:targetRef>price</bpmn:targetRef>'
                    '</bpmn:dataOutputAssociation>')
    package = edited(steps(script("step", "Step", code="total = amount * 2", inside=IO + associations)),
                     'isExecutable="true">', 'isExecutable="true"><bpmn:property id="amount" name="amount"/>'
                     '<bpmn:property id="price" name="price"/>')
    view = run(new_uow, package, {"amount": 21})
    assert (view["status"], view["data"]["price"]) == ("completed", 42)


def test_a_data_object_two_subprocesses_out_from_its_reference_is_refused_where_the_parser_would_look_forever(new_uow):
    reference = script("inner", "Inner", inside='<bpmn:dataInputAssociation id="a"><bpmn:sourceRef>ledger'
                                                '</bpmn:sourceRef><bpmn:targetRef>sub_start</bpmn:targetRef>'
                                                '</bpmn:dataInputAssociation>')
    body = ('<bpmn:dataObject id="ledger_data" name="Ledger"/><bpmn:subProcess id="outer" name="Outer">'
            '<bpmn:startEvent id="outer_start"/><bpmn:sequenceFlow id="o1" sourceRef="outer_start" targetRef="sub"/>'
            '<bpmn:subProcess id="sub" name="Check">' + SUB_START + reference + SUB_END
            + '<bpmn:dataObjectReference id="ledger" dataObjectRef="ledger_data"/></bpmn:subProcess>'
            '<bpmn:sequenceFlow id="o2" sourceRef="sub" targetRef="outer_end"/><bpmn:endEvent id="outer_end"/>'
            '</bpmn:subProcess>')
    assert refused(new_uow, steps(body, "outer", "outer")) == [
        "inner (Inner): its data input association reads the data object reference 'ledger', whose data object "
        "'ledger_data' is not declared where the step is (in the process or subprocess holding it, or the one around "
        "that): draw the reference again from a data object declared there"]


def test_sequence_flows_without_ids_are_followed_as_camunda_follows_them(new_uow):
    package = steps(script("step", "Step", "reached = True"))
    package = edited(edited(package, ' id="f_start"', ""), ' id="f_end"', "")
    case = run(new_uow, package)
    assert (case["status"], case["data"].get("reached")) == ("completed", True)


def test_a_document_without_a_target_namespace_deploys_and_runs_as_bpmn_js_opens_it(new_uow):
    xml = samples.two_step().replace(' targetNamespace="http://bpmn.io/schema/bpmn"', "")
    case = run(new_uow, Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert [step["step_id"] for step in case["open_steps"]] == ["review"]


def test_a_tools_own_xsi_type_in_its_extension_data_deploys(new_uow):
    xml = samples.two_step().replace("</bpmn:process>", (
        '</bpmn:process><bpmn:relationship id="simulation" type="BPSimData"><bpmn:extensionElements>'
        '<bpsim:BPSimData xmlns:bpsim="http://www.bpsim.org/schemas/1.0"><bpsim:Scenario xsi:type="bpsim:Scenario" '
        'id="default"/></bpsim:BPSimData></bpmn:extensionElements><bpmn:source>two_step</bpmn:source>'
        '<bpmn:target>two_step</bpmn:target></bpmn:relationship>'))
    case = run(new_uow, Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml}))
    assert [step["step_id"] for step in case["open_steps"]] == ["review"]


@pytest.mark.parametrize("old, new, expected", [
    ("</bpmn:process>",
     '</bpmn:process><bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
     'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="diagram"><bpmndi:BPMNPlane id="plane" '
     'bpmnElement="two_step"><bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="1" y="2" '
     'height="80"/></bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>',
     "review_di: a bounds lacks its width, which BPMN requires: add it, or draw the element again in your modeler "
     "(line 3)"),
    ('<bpmn:userTask id="review" name="Review">',
     '<bpmn:userTask id="review" name="Review"><bpmn:documentation xsi:type="bpmn:tNothing">Look</bpmn:documentation>',
     "review (Review): the documentation's xsi:type names the type 'tNothing', which BPMN does not define: remove "
     "the attribute (line 3)"),
], ids=["required attribute missing", "unknown xsi:type"])
def test_more_xsd_complaints_are_rewritten_in_plain_words_about_the_element(new_uow, old, new, expected):
    xml = samples.two_step().replace(old, new, 1)
    assert refused(new_uow, Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml})) == [expected]
