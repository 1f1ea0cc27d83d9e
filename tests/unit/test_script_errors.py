"""A script or condition that fails stops its own case at that step, keeps the message, and nothing else.

Through the public API only (engine.service, engine.work.queries), with small
processes written here: the failing case's status is "error", its view names
the step and keeps a clear message, an ``instance_errored`` event is logged,
and a healthy case started afterwards runs as usual. Also: what a script
computes reaches later steps, and a process's helper functions (workflows/)
are callable only from that process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused, Package, read_package
from engine.errors import NotFound
from engine.work import queries
from tests import samples
from tests.conftest import SHIPPED
from workflows.loan_decision import credit_score


KIM = service.CustomerRef("c-1", "Kim Park", "standard")
LEE = service.CustomerRef("c-2", "Ann Lee", "premium")


def script_task(task_id: str, name: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{task_id}" name="{name}" scriptFormat="python">'
            f"<bpmn:script><![CDATA[{script}]]></bpmn:script></bpmn:scriptTask>")


def scripted(key: str, script: str, then: Optional[str] = None) -> str:
    """start → Calculate (script) → Review (Back Office) [→ Follow up (script ``then``)] → end."""
    body = '<bpmn:startEvent id="begin"/>' + script_task("calculate", "Calculate", script) \
        + samples.user_task("review", "Review") + '<bpmn:endEvent id="finish"/>'
    steps = ["begin", "calculate", "review"]
    if then is not None:
        body += script_task("follow_up", "Follow up", then)
        steps.append("follow_up")
    return samples.document(key, body + samples.chain(*steps, "finish"),
                            {"Back Office": [*steps, "finish"]})


def reviewed_then(key: str, script: str) -> str:
    """start → Review (Back Office) → Calculate (script) → Approve (Approver) → end: a script after a person."""
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + script_task("calculate", "Calculate", script) + samples.user_task("approve", "Approve")
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "review", "calculate", "approve", "finish"))
    return samples.document(key, body, {"Back Office": ["begin", "review", "calculate"],
                                        "Approver": ["approve", "finish"]})


def gated(key: str, condition: str) -> str:
    """start → Route (exclusive gateway: ``condition`` → Big, else Small) → end."""
    body = ('<bpmn:startEvent id="begin"/><bpmn:exclusiveGateway id="route" name="Route" default="to_small"/>'
            + samples.user_task("big", "Big order") + samples.user_task("small", "Small order")
            + '<bpmn:endEvent id="finish"/>'
            + samples.flow("to_route", "begin", "route") + samples.flow("to_big", "route", "big", condition)
            + samples.flow("to_small", "route", "small")
            + samples.flow("big_done", "big", "finish") + samples.flow("small_done", "small", "finish"))
    return samples.document(key, body, {"Back Office": ["begin", "route", "big", "small", "finish"]})


def deploy(new_uow, key: str, xml: str) -> None:
    service.deploy(new_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}))


@pytest.fixture
def staff(new_uow) -> None:
    service.add_user(new_uow(), "bo1", ["back-office"])
    service.add_user(new_uow(), "ap1", ["approver"])


def complete(new_uow, instance_id: int, step_id: str, user: str, data: dict[str, Any]) -> None:
    [task] = [t for t in queries.list_tasks(new_uow(), instance_id=instance_id) if t["step_id"] == step_id]
    service.claim_task(new_uow(), task["id"], user)
    service.complete_task(new_uow(), task["id"], user, data)


def assert_errored_at(new_uow, instance_id: int, step_id: str, fragment: str) -> dict[str, Any]:
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error"
    assert view["error"]["step"] == step_id
    message = view["error"]["message"]
    assert fragment in message and "\n" not in message and "Traceback" not in message, message
    assert view["open_steps"] == []
    [errored] = [e for e in view["events"] if e["type"] == "instance_errored"]
    assert errored["detail"] == {"step": step_id, "message": message}
    return view


def assert_a_healthy_case_is_unaffected(new_uow) -> None:
    deploy(new_uow, "healthy", samples.two_step("healthy"))
    instance_id = service.start_instance(new_uow(), "healthy", LEE, {"amount": 10})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["error"]) == ("running", None)
    assert [(s["step_id"], s["status"]) for s in view["open_steps"]] == [("review", "open")]


# Scripts the restricted engine refuses before they run: the deploy refuses them, naming the step.
REFUSED_SCRIPTS = [
    ("import", "import os\nresult = os.listdir('/')", "import is not allowed in a script"),
    ("from-import", "total = 1\nfrom subprocess import run", "import is not allowed in a script: line 2"),
    ("subclasses", "classes = ().__class__.__base__.__subclasses__()", "attribute '__class__' is not allowed"),
    ("function globals", "def peek():\n    return 1\nfound = peek.__globals__",
     "attribute '__globals__' is not allowed"),
    ("dunder import", "os = __import__('os')", "name '__import__' is not allowed"),
    ("eval", "total = eval('1 + 1')", "eval() is not allowed in a script"),
    ("open a file", "secret = open('/etc/passwd').read()", "open() is not allowed in a script"),
    ("builtin off the safe list", "names = vars()", "vars() is not allowed in a script"),
    ("syntax error", "total = (amount", "syntax error in script"),
]
# Scripts that fail only on what they meet when they run: they stop their case.
FAILING_SCRIPTS = [
    ("builtin off the safe list, not called", "kind = type",
     "name 'type' is not defined: the case holds no value called type (Python's type() is not available in a "
     "script): line 1"),
    ("unknown name", "total = amount * rate", "NameError: name 'rate' is not defined"),
    ("division by zero", "total = amount / 0", "ZeroDivisionError: division by zero"),
    ("a value a case cannot keep", "total = 1\nnumbers = range(3)", "the script left a range in 'numbers'"),
]


@pytest.mark.parametrize("script, fragment", [pytest.param(s, f, id=i) for i, s, f in REFUSED_SCRIPTS])
def test_a_script_the_engine_would_refuse_is_refused_at_deploy_naming_its_step(new_uow, script, fragment):
    with pytest.raises(DeploymentRefused) as caught:
        deploy(new_uow, "risky", scripted("risky", script))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    assert problem.startswith("calculate (Calculate): its script cannot run: ") and fragment in problem, problem
    with pytest.raises(NotFound):
        service.start_instance(new_uow(), "risky", KIM, {"amount": 100})


@pytest.mark.parametrize("script, fragment", [pytest.param(s, f, id=i) for i, s, f in FAILING_SCRIPTS])
def test_a_failing_script_errors_its_case_at_that_step_and_keeps_the_message(new_uow, script, fragment):
    deploy(new_uow, "risky", scripted("risky", script))
    instance_id = service.start_instance(new_uow(), "risky", KIM, {"amount": 100})
    assert_errored_at(new_uow, instance_id, "calculate", fragment)
    assert queries.list_tasks(new_uow(), instance_id=instance_id, status=None) == []
    assert_a_healthy_case_is_unaffected(new_uow)


def test_an_errored_case_logs_an_instance_errored_event(new_uow):
    deploy(new_uow, "risky", scripted("risky", "total = 1 / 0"))
    instance_id = service.start_instance(new_uow(), "risky", KIM)
    types = [e["type"] for e in queries.instance_view(new_uow(), instance_id)["events"]]
    assert types == ["instance_started", "instance_errored"]


def test_a_script_cannot_create_a_file(new_uow, tmp_path: Path):
    target = tmp_path / "pwned.txt"
    with pytest.raises(DeploymentRefused, match=r"calculate \(Calculate\): its script cannot run: open\(\) is not "
                                                r"allowed in a script: line 1"):
        deploy(new_uow, "writer", scripted("writer", f"f = open({str(target)!r}, 'w')\nf.write('owned')\nf.close()"))
    assert list(tmp_path.iterdir()) == []


def test_a_variable_named_like_a_builtin_off_the_safe_list_is_read_from_the_data(new_uow):
    deploy(new_uow, "typed", scripted("typed", "kind = type"))
    instance_id = service.start_instance(new_uow(), "typed", KIM, {"type": "gold"})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], [s["step_id"] for s in view["open_steps"]]) == ("running", ["review"])


def test_an_endless_script_is_stopped_after_the_time_limit_and_its_case_errored(new_uow):
    deploy(new_uow, "endless", scripted("endless", "while True:\n    pass"))
    began = time.monotonic()
    instance_id = service.start_instance(new_uow(), "endless", KIM)
    elapsed = time.monotonic() - began
    assert 2.0 <= elapsed < 10.0
    assert_errored_at(new_uow, instance_id, "calculate", "script ran longer than 2.0 s")
    assert_a_healthy_case_is_unaffected(new_uow)


@pytest.mark.parametrize("condition, fragment", [
    pytest.param("amount / 0 &gt; 1", "ZeroDivisionError: division by zero", id="division by zero"),
    pytest.param("undefined_limit &lt; amount", "name 'undefined_limit' is not defined", id="unknown name"),
])
def test_a_failing_gateway_condition_errors_the_case_at_the_gateway(new_uow, condition, fragment):
    deploy(new_uow, "routing", gated("routing", condition))
    instance_id = service.start_instance(new_uow(), "routing", KIM, {"amount": 100})
    assert_errored_at(new_uow, instance_id, "route", fragment)
    assert_a_healthy_case_is_unaffected(new_uow)


@pytest.mark.parametrize("condition, refusal", [
    pytest.param("amount.__class__ is int", "attribute '__class__' is not allowed in a script", id="dunder"),
    pytest.param("open('/etc/passwd') is not None", "open() is not allowed in a script", id="open"),
    pytest.param("input() == 'yes'", "input() is not allowed in a script", id="a builtin called"),
])
def test_a_condition_the_engine_would_refuse_is_refused_at_deploy_naming_its_flow(new_uow, condition, refusal):
    with pytest.raises(DeploymentRefused) as caught:
        deploy(new_uow, "routing", gated("routing", condition))
    [problem] = [str(p) for p in caught.value.problems if not p.warning]
    assert problem.startswith(f"to_big: the condition {condition!r} cannot run as Python: {refusal}"), problem


def test_a_working_gateway_condition_routes_the_case(new_uow):
    deploy(new_uow, "routing", gated("routing", "amount &gt; 1000"))
    big = service.start_instance(new_uow(), "routing", KIM, {"amount": 5000})
    small = service.start_instance(new_uow(), "routing", LEE, {"amount": 50})
    assert [s["step_id"] for s in queries.instance_view(new_uow(), big)["open_steps"]] == ["big"]
    assert [s["step_id"] for s in queries.instance_view(new_uow(), small)["open_steps"]] == ["small"]


def test_a_script_failing_after_a_completed_task_errors_the_case_there_and_the_completion_stands(new_uow, staff):
    deploy(new_uow, "later", reviewed_then("later", "ratio = amount / discount"))
    instance_id = service.start_instance(new_uow(), "later", KIM, {"amount": 100})
    complete(new_uow, instance_id, "review", "bo1", {"comment": "ok"})  # returns: the error is the case's
    view = assert_errored_at(new_uow, instance_id, "calculate", "name 'discount' is not defined")
    [review] = queries.list_tasks(new_uow(), instance_id=instance_id, status="completed")
    assert (review["step_id"], review["completed_by"]) == ("review", "bo1")
    types = [e["type"] for e in view["events"]]
    assert types[-2] == "task_completed" and types[-1] == "instance_errored"
    other = service.start_instance(new_uow(), "later", LEE, {"amount": 100})
    assert [s["step_id"] for s in queries.instance_view(new_uow(), other)["open_steps"]] == ["review"]


def test_an_errored_case_refuses_messages_with_a_clear_error(new_uow):
    deploy(new_uow, "risky", scripted("risky", "total = 1 / 0"))
    instance_id = service.start_instance(new_uow(), "risky", KIM)
    with pytest.raises(service.TaskClosed, match="is error"):
        service.deliver_message(new_uow(), instance_id, "anything", {})
    assert queries.instance_view(new_uow(), instance_id)["status"] == "error"


def test_what_a_script_computes_reaches_the_later_steps_and_scripts(new_uow, staff):
    deploy(new_uow, "carry", scripted(
        "carry", "total = amount * 2\nlines = [{'n': i, 'sq': i * i} for i in range(3)]\nlabel = 'T-' + str(total)",
        then="grand_total = total + len(lines)\nsummary = label + ' / ' + comment"))
    instance_id = service.start_instance(new_uow(), "carry", KIM, {"amount": 21})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "running"
    assert (view["data"]["total"], view["data"]["label"]) == (42, "T-42")
    assert view["data"]["lines"] == [{"n": 0, "sq": 0}, {"n": 1, "sq": 1}, {"n": 2, "sq": 4}]
    complete(new_uow, instance_id, "review", "bo1", {"comment": "checked"})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "completed", view["error"]
    assert (view["data"]["grand_total"], view["data"]["summary"]) == (45, "T-42 / checked")
    assert view["data"]["amount"] == 21 and view["data"]["customer"]["id"] == "c-1"


def test_a_set_a_script_makes_is_kept_as_a_list_after_the_case_is_saved(new_uow, staff):
    deploy(new_uow, "tags", scripted("tags", "tags = {'urgent'}\nwhen = {'due': (1, 2)}"))
    instance_id = service.start_instance(new_uow(), "tags", KIM)
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "running", view["error"]
    complete(new_uow, instance_id, "review", "bo1", {"comment": "ok"})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["tags"], view["data"]["when"]) == ("completed", ["urgent"], {"due": [1, 2]})


LOW_RISK_APPLICATION = {"loan_amount": 200000, "loan_purpose": "purchase", "annual_income": 80000,
                        "existing_debts": 5000, "years_employed": 6, "property_value": 300000,
                        "documents_complete": True}


def test_the_loan_process_scripts_call_its_credit_score_helper(new_uow):
    service.deploy(new_uow(), read_package(SHIPPED / "loan_decision"))
    service.add_user(new_uow(), "cs1", ["customer-service"])
    instance_id = service.start_instance(new_uow(), "loan_decision", KIM)
    complete(new_uow, instance_id, "capture_application", "cs1", LOW_RISK_APPLICATION)
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "running", view["error"]
    assert view["data"]["score"] == credit_score(80000, 5000, 200000, 6) == 721


def test_another_process_cannot_call_the_loan_helpers_in_a_script(new_uow):
    deploy(new_uow, "not_a_loan", scripted("not_a_loan", "score = credit_score(80000, 5000, 200000, 6)"))
    instance_id = service.start_instance(new_uow(), "not_a_loan", KIM)
    assert_errored_at(new_uow, instance_id, "calculate", "name 'credit_score' is not defined")


def test_another_process_cannot_call_the_loan_helpers_in_a_condition(new_uow):
    deploy(new_uow, "not_a_loan", gated("not_a_loan", "credit_score(amount, 0, 1, 1) &gt; 600"))
    instance_id = service.start_instance(new_uow(), "not_a_loan", KIM, {"amount": 100})
    assert_errored_at(new_uow, instance_id, "route", "name 'credit_score' is not defined")
