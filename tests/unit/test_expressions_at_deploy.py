"""Every place an expression can live in a diagram is checked at deploy: JUEL and FEEL there run as Python, and what
neither reads is refused naming the step and the expression, instead of stopping a case that reaches it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused, Package
from engine.work import queries
from tests import samples

CUSTOMER = service.CustomerRef("c-1", "Ada Moss", "standard")


def with_step(step: str, definitions: str = "") -> Package:
    """A process running one step, with id "step", from its start to its end (and ``definitions`` beside it)."""
    return samples.laneless("steps", step, "step", "step", definitions)


def only_refusal(new_uow, step: str) -> str:
    """The one blocking problem deploying a process with ``step`` is refused for."""
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), with_step(step))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    return problem


def timer(text: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="step" name="Wait"><bpmn:timerEventDefinition id="timer_1">'
            f'<bpmn:timeDuration>{text}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def repeated(loop: str) -> str:
    return (f'<bpmn:scriptTask id="step" name="Count"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
            f'{loop}</bpmn:multiInstanceLoopCharacteristics><bpmn:script>counted = counted + 1</bpmn:script>'
            f'</bpmn:scriptTask>')


@pytest.mark.parametrize("step, refusal", [
    (timer("${reminder.due()}"), "the timer '${reminder.due()}' cannot run: calling reminder.due() is not supported"),
    (timer("0 0 9 * * ?"), "the timer '0 0 9 * * ?' is a cron expression, which Valueflow does not run: write it "
                           "as an ISO 8601 cycle, e.g. R/PT5M"),
    (timer("0/5 0/1 * 1/1 * ?"), "the timer '0/5 0/1 * 1/1 * ?' is a cron expression"),
    (timer('=duration("P1M")'), "the timer '=duration(\"P1M\")' cannot run: FEEL that Valueflow does not run: "
                                "duration('P1M'): the duration 'P1M' counts years or months"),
    (repeated("<bpmn:loopCardinality>${count()}</bpmn:loopCardinality>"),
     "the number of instances '${count()}' cannot run: calling count() is not supported"),
    (repeated("<bpmn:loopCardinality>3</bpmn:loopCardinality>"
              "<bpmn:completionCondition>${nrOfCompletedInstances >= 2}</bpmn:completionCondition>"),
     "the completion condition '${nrOfCompletedInstances >= 2}' cannot run: nrOfCompletedInstances is a variable "
     "other engines give a multi-instance step, which Valueflow does not keep"),
    ('<bpmn:intermediateCatchEvent id="step" name="Wait"><bpmn:conditionalEventDefinition>'
     '<bpmn:condition>=amount &gt;</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>',
     "the condition '=amount >' cannot run: FEEL that Valueflow does not run: the expression ends too soon"),
    ('<bpmn:scriptTask id="step" name="Count"><bpmn:extensionElements><spiffworkflow:preScript>import os'
     '</spiffworkflow:preScript></bpmn:extensionElements><bpmn:script>counted = 1</bpmn:script></bpmn:scriptTask>',
     "its preScript cannot run: import is not allowed in a script"),
    ('<bpmn:scriptTask id="step" name="Count" scriptFormat="groovy"><bpmn:script>def counted = 1\n'
     'execution.setVariable("counted", counted)</bpmn:script></bpmn:scriptTask>',
     "its script is written in groovy (scriptFormat), which Valueflow does not run: rewrite it in Python"),
    ('<bpmn:scriptTask id="step" name="Count" scriptFormat="http://www.java.com/java"><bpmn:script>'
     'kcontext.setVariable("counted", 1);</bpmn:script></bpmn:scriptTask>',
     "its script is written in Java (scriptFormat), which Valueflow does not run"),
    ('<bpmn:scriptTask id="step" name="Count" scriptFormat="python" camunda:resource="scripts/count.py"/>',
     "script task has no script (its script is in the file 'scripts/count.py', which Valueflow does not read): "
     "write the Python it runs in the step's script"),
    ('<bpmn:scriptTask id="step" name="Count"/>', "script task has no script: write the Python it runs"),
    ('<bpmn:businessRuleTask id="step" name="Count"/>', "business rule task names no decision to decide with: add "
                                                        "a .dmn file to the package and give the task the id"),
    ('<bpmn:businessRuleTask id="step" name="Count" camunda:decisionRef="fees"/>',
     "it decides with the decision 'fees', which no .dmn file of the package defines (its decisions: none)"),
])
def test_an_expression_that_cannot_run_is_refused_at_deploy_naming_its_step(new_uow, step, refusal):
    problem = only_refusal(new_uow, step)
    assert problem.startswith(f"step ({'Wait' if 'Wait' in step else 'Count'}): {refusal}"), problem


@pytest.mark.parametrize("language", ["python", "Python3", "text/x-python", "application/x-python"])
def test_a_script_its_tool_marks_as_python_in_any_usual_way_deploys_and_runs(new_uow, language):
    service.deploy(new_uow(), with_step(f'<bpmn:scriptTask id="step" name="Count" scriptFormat="{language}">'
                                        '<bpmn:script>counted = 1</bpmn:script></bpmn:scriptTask>'))
    instance_id = service.start_instance(new_uow(), "steps", service.CustomerRef("c-1", "Ada Moss", "standard"))
    assert queries.instance_view(new_uow(), instance_id)["data"]["counted"] == 1


def test_a_message_correlation_that_cannot_run_is_refused_at_deploy_naming_the_correlation(new_uow):
    correlation = ('<bpmn:message id="paid" name="paid"/><bpmn:correlationProperty id="order_key" name="Order">'
                   '<bpmn:correlationPropertyRetrievalExpression messageRef="paid">'
                   '<bpmn:formalExpression>${order.getId()}</bpmn:formalExpression>'
                   '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>')
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), with_step('<bpmn:scriptTask id="step"><bpmn:script>x = 1</bpmn:script>'
                                            '</bpmn:scriptTask>', correlation))
    assert [str(p) for p in caught.value.problems if not p.warning] == [
        "order_key (Order): the correlation '${order.getId()}' cannot run: calling order.getId() is not supported in "
        "a JUEL expression: Valueflow runs no Java methods; compute the value in a script task and test it here"]


def test_a_timer_written_in_juel_or_feel_waits_as_long_as_the_case_data_says(new_uow):
    for text in ("${reminder}", "=reminder"):
        service.deploy(new_uow(), with_step(timer(text)))
        instance_id = service.start_instance(new_uow(), "steps", CUSTOMER, {"reminder": "PT2H"})
        view = queries.instance_view(new_uow(), instance_id)
        assert (view["status"], [w["kind"] for w in view["waits"]]) == ("running", ["timer"]), view
        started, due = (datetime.fromisoformat(view[key]) for key in ("started_at", "next_timer_at"))
        assert due - started == timedelta(hours=2)


def test_a_multi_instance_count_written_in_juel_repeats_the_step_that_many_times(new_uow):
    service.deploy(new_uow(), with_step(repeated("<bpmn:loopCardinality>${times}</bpmn:loopCardinality>")))
    instance_id = service.start_instance(new_uow(), "steps", CUSTOMER, {"times": 3, "counted": 0})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["counted"]) == ("completed", 3), view


def zeebe_script(expression: str, result: str = "doubled") -> str:
    return (f'<bpmn:scriptTask id="step" name="Double"><bpmn:extensionElements><zeebe:script expression="{expression}"'
            f' resultVariable="{result}"/></bpmn:extensionElements></bpmn:scriptTask>')


def test_a_camunda_8_script_task_sets_its_result_variable_to_its_feel_expression(new_uow):
    service.deploy(new_uow(), with_step(zeebe_script("=amount * 2 + count([1, 2])")))
    instance_id = service.start_instance(new_uow(), "steps", CUSTOMER, {"amount": 100})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["doubled"]) == ("completed", 202)


@pytest.mark.parametrize("step, refusal", [
    (zeebe_script("=amount * 2", result=""), "its Camunda 8 script needs an expression and a result variable"),
    (zeebe_script("=for x in [1] return x"), "its script '=for x in [1] return x' cannot run: FEEL that Valueflow "
                                             "does not run"),
])
def test_a_camunda_8_script_task_valueflow_cannot_run_is_refused_naming_it(new_uow, step, refusal):
    assert only_refusal(new_uow, step).startswith(f"step (Double): {refusal}")
