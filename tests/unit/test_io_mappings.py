"""Input and output mappings as Camunda 7 and Camunda 8 write them on a step run before and after it."""

from __future__ import annotations

import pytest

from engine import service
from engine.work import queries
from tests import samples
from tests.unit.test_expressions_at_deploy import CUSTOMER, only_refusal, with_step
from tests.unit.test_other_tools import open_tasks


def script_task(mappings: str) -> str:
    return (f'<bpmn:scriptTask id="step" name="Price"><bpmn:extensionElements>{mappings}</bpmn:extensionElements>'
            '<bpmn:script>price = base * 2</bpmn:script></bpmn:scriptTask>')


def user_task(mappings: str) -> str:
    return (f'<bpmn:userTask id="step" name="Price" camunda:candidateGroups="sales"><bpmn:extensionElements>'
            f'{mappings}</bpmn:extensionElements></bpmn:userTask>')


CAMUNDA = script_task(
    '<camunda:inputOutput><camunda:inputParameter name="base">${amount + 1}</camunda:inputParameter>'
    '<camunda:inputParameter name="currency">EUR</camunda:inputParameter>'
    '<camunda:outputParameter name="total">${price}</camunda:outputParameter></camunda:inputOutput>')
ZEEBE = script_task(
    '<zeebe:ioMapping><zeebe:input source="=amount + 1" target="base"/><zeebe:input source="EUR" target="currency"/>'
    '<zeebe:output source="=price" target="the total"/></zeebe:ioMapping>')


@pytest.mark.parametrize("step, total", [(CAMUNDA, "total"), (ZEEBE, "the_total")], ids=["camunda 7", "camunda 8"])
def test_input_and_output_mappings_set_the_case_data_before_and_after_a_script(new_uow, step, total):
    service.deploy(new_uow(), with_step(step))
    instance_id = service.start_instance(new_uow(), "steps", CUSTOMER, {"amount": 20})
    data = queries.instance_view(new_uow(), instance_id)["data"]
    assert (data["base"], data["currency"], data["price"], data[total]) == (21, "EUR", 42, 42)


def test_a_user_tasks_outputs_read_the_inputs_it_was_given(new_uow):
    service.deploy(new_uow(), with_step(user_task(
        '<camunda:inputOutput><camunda:inputParameter name="suggested">${amount * 2}</camunda:inputParameter>'
        '<camunda:outputParameter name="agreed">${suggested}</camunda:outputParameter></camunda:inputOutput>')))
    service.add_user(new_uow(), "sam", ["sales"])
    instance_id = service.start_instance(new_uow(), "steps", CUSTOMER, {"amount": 20})
    [task] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), task["id"], "sam")
    service.complete_task(new_uow(), task["id"], "sam", {})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["agreed"]) == ("completed", 40)


@pytest.mark.parametrize("step, refusal", [
    (script_task('<camunda:inputOutput><camunda:inputParameter name="items"><camunda:list><camunda:value>a'
                 '</camunda:value></camunda:list></camunda:inputParameter></camunda:inputOutput>'),
     "its parameter 'items' is a camunda:list, which Valueflow does not map: compute it in a script task instead"),
    (script_task('<zeebe:ioMapping><zeebe:output source="=price" target="order.items[1]"/></zeebe:ioMapping>'),
     "its mapping to 'order.items[1]' cannot run: Valueflow maps to a variable or a path of names (order.status)"),
    (script_task('<camunda:inputOutput><camunda:inputParameter name="base">${prices.lookup(amount)}'
                 '</camunda:inputParameter></camunda:inputOutput>'),
     "its mapping of 'base' to '${prices.lookup(amount)}' cannot run: calling prices.lookup() is not supported"),
])
def test_a_mapping_valueflow_cannot_honour_is_refused_at_deploy_naming_the_step(new_uow, step, refusal):
    problem = only_refusal(new_uow, step)
    assert problem.startswith(f"step (Price): {refusal}"), problem


def test_a_camunda_8_mapping_reads_whether_a_variable_is_defined(new_uow):
    service.deploy(new_uow(), with_step(script_task(
        '<zeebe:ioMapping><zeebe:input source="=if is defined(amount) then amount else 0" target="base"/>'
        '<zeebe:output source="=is defined(coupon)" target="couponed"/></zeebe:ioMapping>')))
    with_amount = service.start_instance(new_uow(), "steps", CUSTOMER, {"amount": 20})
    without = service.start_instance(new_uow(), "steps", CUSTOMER, {"coupon": None})
    assert [(data["price"], data["couponed"]) for data in (queries.instance_view(new_uow(), instance)["data"]
                                                           for instance in (with_amount, without))] == [
        (40, False), (0, True)]


def test_a_camunda_8_mapping_to_a_path_sets_that_entry_and_keeps_the_others(new_uow):
    service.deploy(new_uow(), with_step(script_task(
        '<zeebe:ioMapping><zeebe:input source="bearer" target="authentication.type"/>'
        '<zeebe:output source="=price" target="order.totals.net"/>'
        '<zeebe:output source="=base" target="order.base"/></zeebe:ioMapping>')))
    kept = service.start_instance(new_uow(), "steps", CUSTOMER,
                                  {"base": 4, "order": {"id": "o-7", "totals": {"gross": 50}}})
    made = service.start_instance(new_uow(), "steps", CUSTOMER, {"base": 4})
    first, second = (queries.instance_view(new_uow(), instance)["data"] for instance in (kept, made))
    assert first["order"] == {"id": "o-7", "totals": {"gross": 50, "net": 8}, "base": 4}
    assert (first["authentication"], second["order"]) == ({"type": "bearer"}, {"totals": {"net": 8}, "base": 4})


def test_a_mapping_to_a_word_python_keeps_for_itself_is_refused_naming_it(new_uow):
    problem = only_refusal(new_uow, script_task(
        '<zeebe:ioMapping><zeebe:input source="ops@example.com" target="from.email"/></zeebe:ioMapping>'))
    assert problem == ("step (Price): its mapping to 'from.email' cannot run: 'from' is a word Python keeps for "
                       "itself, which no case variable can be named: map to another name")


PAID = ('<bpmn:intermediateCatchEvent id="step" name="Paid"><bpmn:extensionElements><zeebe:ioMapping>'
        '<zeebe:output source="=amount * 2" target="doubled"/><zeebe:output source="=amount" target="payment.amount"/>'
        '</zeebe:ioMapping></bpmn:extensionElements><bpmn:messageEventDefinition messageRef="paid_message"/>'
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f_noted" sourceRef="step" targetRef="noted"/>'
        '<bpmn:intermediateThrowEvent id="noted" name="Noted"><bpmn:extensionElements><zeebe:ioMapping>'
        '<zeebe:input source="=doubled + 1" target="noted_total"/></zeebe:ioMapping></bpmn:extensionElements>'
        '</bpmn:intermediateThrowEvent>')


def test_camunda_8_mappings_on_events_map_a_messages_payload_as_it_is_caught(new_uow):
    """Camunda 8 maps a message's variables with output mappings on the event that catches it, and sets a thrown
    event's variables with input mappings."""
    service.deploy(new_uow(), samples.laneless("steps", PAID, "step", "noted",
                                               '<bpmn:message id="paid_message" name="paid"/>'))
    instance_id = service.start_instance(new_uow(), "steps", CUSTOMER)
    with pytest.raises(ValueError, match=r"the message 'paid' names 'feel_put', which the process's scripts call as "
                                         r"functions; give those fields other names \(nothing was delivered\)"):
        service.deliver_message(new_uow(), instance_id, "paid", {"amount": 21, "feel_put": 1})
    service.deliver_message(new_uow(), instance_id, "paid", {"amount": 21})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["error"]) == ("completed", None)
    assert (view["data"]["doubled"], view["data"]["payment"], view["data"]["noted_total"]) == (42, {"amount": 21}, 43)


def test_a_mapping_on_an_event_that_cannot_run_is_refused_naming_the_event(new_uow):
    problem = only_refusal(new_uow, '<bpmn:intermediateThrowEvent id="step" name="Price"><bpmn:extensionElements>'
                                    '<zeebe:ioMapping><zeebe:input source="=prices.lookup(1)" target="base"/>'
                                    '</zeebe:ioMapping></bpmn:extensionElements></bpmn:intermediateThrowEvent>')
    assert problem.startswith("step (Price): its mapping of 'base' to '=prices.lookup(1)' cannot run"), problem
