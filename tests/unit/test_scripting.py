"""The restricted script engine, seen through small BPMN/DMN workflows run by SpiffWorkflow."""

from __future__ import annotations

import threading
import time
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.sandbox.scripting import ScriptRefused, build_script_engine

BPMN_NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def _definitions(body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<bpmn:definitions {BPMN_NS} id="defs" targetNamespace="http://valueflow.test">'
        f'<bpmn:process id="proc" isExecutable="true">{body}</bpmn:process>'
        f"</bpmn:definitions>"
    )


def script_process(script: str) -> str:
    return _definitions(
        '<bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="the_script" name="The script" scriptFormat="python">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        f"<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="the_script"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="the_script" targetRef="end_event"/>'
    )


def gateway_process(condition: str) -> str:
    """A script sets nothing; an exclusive gateway sends the token to 'high' when `condition` holds, else 'low'."""
    return _definitions(
        '<bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:exclusiveGateway id="gw" name="Which way" default="to_low">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>to_high</bpmn:outgoing>"
        "<bpmn:outgoing>to_low</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:scriptTask id="high" name="High"><bpmn:incoming>to_high</bpmn:incoming>'
        "<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>branch = 'high'</bpmn:script></bpmn:scriptTask>"
        '<bpmn:scriptTask id="low" name="Low"><bpmn:incoming>to_low</bpmn:incoming>'
        "<bpmn:outgoing>f4</bpmn:outgoing><bpmn:script>branch = 'low'</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="end_event"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>'
        "</bpmn:endEvent>"
        '<bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="to_high" sourceRef="gw" targetRef="high">'
        f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="to_low" sourceRef="gw" targetRef="low"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="high" targetRef="end_event"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="low" targetRef="end_event"/>'
    )


def timer_process(duration_expression: str) -> str:
    return _definitions(
        '<bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition>"
        f"<bpmn:timeDuration>{escape(duration_expression)}</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end_event"/>'
    )


def decision_process(setup_script: str) -> str:
    """A script sets the inputs, then a business rule task runs the 'risk_table' decision."""
    return _definitions(
        '<bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="setup" name="Set up"><bpmn:incoming>f1</bpmn:incoming>'
        f"<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(setup_script)}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:businessRuleTask id="decide" name="Decide risk">'
        "<bpmn:extensionElements><spiffworkflow:calledDecisionId>risk_table</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>"
        "</bpmn:businessRuleTask>"
        '<bpmn:endEvent id="end_event"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="setup"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="setup" targetRef="decide"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end_event"/>'
    )


def _rule(rule_id: str, score: str, segment: str, risk: str) -> str:
    return (
        f'<rule id="{rule_id}">'
        f'<inputEntry id="{rule_id}_score"><text>{escape(score)}</text></inputEntry>'
        f'<inputEntry id="{rule_id}_segment"><text>{escape(segment)}</text></inputEntry>'
        f'<outputEntry id="{rule_id}_risk"><text>{escape(risk)}</text></outputEntry>'
        "</rule>"
    )


RISK_TABLE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="risk_defs" name="Risk" '
    'namespace="http://valueflow.test">'
    '<decision id="risk_table" name="Risk table"><decisionTable id="risk_dt" hitPolicy="UNIQUE">'
    '<input id="in_score" label="Score"><inputExpression id="in_score_expr" typeRef="integer">'
    "<text>applicant['score']</text></inputExpression></input>"
    '<input id="in_segment" label="Segment"><inputExpression id="in_segment_expr" typeRef="string">'
    "<text>segment.upper()</text></inputExpression></input>"
    '<output id="out_risk" label="Risk" name="risk" typeRef="string"/>'
    + _rule("r_vip", "-", '"VIP"', '"LOW"')
    + _rule("r_high", "? < 550", "-", '"HIGH"')
    + _rule("r_medium", "550 <= ? < 700", "-", '"MEDIUM"')
    + _rule("r_low", ">= 700", "-", '"LOW"')
    + "</decisionTable></decision></definitions>"
)


def make_workflow(bpmn: str, helpers=None, time_limit: float = 2.0, dmn: str | None = None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    if dmn is not None:
        parser.add_dmn_str(dmn.encode())
    spec = parser.get_spec("proc")
    return BpmnWorkflow(spec, script_engine=build_script_engine(helpers or {}, time_limit=time_limit))


def run_script(script: str, helpers=None, time_limit: float = 2.0, **data) -> BpmnWorkflow:
    workflow = make_workflow(script_process(script), helpers, time_limit)
    workflow.get_tasks(spec_name="start_event")[0].set_data(**data)
    workflow.do_engine_steps()
    return workflow


def failing_run(script: str, **kwargs) -> tuple[WorkflowTaskException, BpmnWorkflow]:
    workflow = make_workflow(script_process(script), kwargs.pop("helpers", None), kwargs.pop("time_limit", 2.0))
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    return caught.value, workflow


# --------------------------------------------------------------------------- scripts that work


def test_a_script_sets_task_data():
    workflow = run_script("total = amount * 2\nlabel = f'{customer} owes {total}'", amount=21, customer="Ada")
    assert workflow.is_completed()
    assert workflow.data["total"] == 42
    assert workflow.data["label"] == "Ada owes 42"


def test_a_script_calls_a_helper_function():
    calls = []

    def notify(who, what):
        calls.append((who, what))
        return "sent"

    workflow = run_script("status = notify(owner, 'ready')", helpers={"notify": notify}, owner="bob")
    assert calls == [("bob", "ready")]
    assert workflow.data["status"] == "sent"


def test_a_script_can_loop_build_and_change_dicts_and_lists():
    script = (
        "totals = {}\n"
        "for line in lines:\n"
        "    totals[line['sku']] = totals.get(line['sku'], 0) + line['qty']\n"
        "count = 0\n"
        "while count < 3:\n"
        "    count += 1\n"
        "skus = sorted(k for k in totals)\n"
        "pairs = [(k, v) for k, v in totals.items()]\n"
        "first, second = pairs[0]\n"
        "lines.append({'sku': 'z', 'qty': 0})\n"
        "def double(x):\n"
        "    return x * 2\n"
        "doubled = [double(v) for v in totals.values()]\n"
        "del double\n"
        "biggest = max(totals.values())\n"
        "print('printing is allowed and discarded')\n"
    )
    workflow = run_script(script, lines=[{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}, {"sku": "a", "qty": 1}])
    data = workflow.data
    assert data["totals"] == {"a": 3, "b": 1}
    assert data["count"] == 3
    assert data["skus"] == ["a", "b"]
    assert (data["first"], data["second"]) == ("a", 3)
    assert data["lines"][-1] == {"sku": "z", "qty": 0}
    assert data["doubled"] == [6, 2]
    assert data["biggest"] == 3


def add_one(n: int) -> int:
    """A helper defined at the top of a module, as a sandbox process can import it."""
    return n + 1


def test_helpers_builtins_and_guards_are_not_left_in_the_data():
    workflow = run_script(
        "n = len(items)\nresult = helper(n)\nprint(n)",
        helpers={"helper": add_one},
        items=[1, 2],
    )
    task_data = workflow.get_tasks(spec_name="the_script")[0].data
    assert set(task_data) == {"items", "n", "result"}
    assert task_data["result"] == 3


def test_a_script_may_define_a_variable_named_like_a_forbidden_builtin():
    workflow = run_script("input = 3\ntype = 'loan'\nresult = input * 2")
    assert workflow.data["result"] == 6


def test_compiler_warnings_in_a_script_do_not_break_it():
    workflow = run_script("same = 1 is 1\npattern = '\\d+'")
    assert workflow.data["same"] is True


def test_a_data_variable_may_share_a_name_with_a_forbidden_builtin():
    workflow = make_workflow(gateway_process("type == 'loan'"))
    workflow.get_tasks(spec_name="start_event")[0].set_data(type="loan")
    workflow.do_engine_steps()
    assert workflow.data["branch"] == "high"


# --------------------------------------------------------------------------- gateways, DMN, timers


@pytest.mark.parametrize(
    ("amount", "risk", "branch"),
    [(1500, "LOW", "high"), (1500, "HIGH", "low"), (900, "LOW", "low")],
)
def test_a_gateway_condition_chooses_the_branch(amount, risk, branch):
    workflow = make_workflow(gateway_process("amount > 1000 and risk == 'LOW'"))
    workflow.get_tasks(spec_name="start_event")[0].set_data(amount=amount, risk=risk)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["branch"] == branch


def test_a_gateway_condition_can_use_a_helper():
    workflow = make_workflow(gateway_process("is_big(amount)"), helpers={"is_big": lambda a: a > 10})
    workflow.get_tasks(spec_name="start_event")[0].set_data(amount=11)
    workflow.do_engine_steps()
    assert workflow.data["branch"] == "high"


@pytest.mark.parametrize(
    ("score", "segment", "risk"),
    [(400, "retail", "HIGH"), (550, "retail", "MEDIUM"), (699, "retail", "MEDIUM"), (700, "retail", "LOW"),
     (300, "vip", "LOW")],
)
def test_a_decision_table_gives_its_result(score, segment, risk):
    setup = f"applicant = {{'score': {score}}}\nsegment = '{segment}'"
    workflow = make_workflow(decision_process(setup), dmn=RISK_TABLE)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["risk"] == risk


def test_a_duration_timer_expression_is_evaluated():
    workflow = make_workflow(timer_process("'PT4H'"))
    workflow.do_engine_steps()
    (waiting,) = workflow.waiting_events()
    assert waiting.event_type == "DurationTimerEventDefinition"
    assert not workflow.is_completed()


def test_a_timer_expression_may_compute_its_duration():
    workflow = make_workflow(timer_process("f'PT{hours}H'"))
    workflow.get_tasks(spec_name="start_event")[0].set_data(hours=4)
    workflow.do_engine_steps()
    assert len(workflow.waiting_events()) == 1


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("import os", "import is not allowed in a script: line 1"),
        ("x = 1\nfrom os import path", "import is not allowed in a script: line 2"),
        ("data = open('/etc/passwd').read()", "open() is not allowed in a script: line 1"),
        ("x = amount.__class__", "attribute '__class__' is not allowed in a script: line 1"),
        ("x = ().__class__.__base__.__subclasses__()", "attribute '__class__' is not allowed in a script: line 1"),
        ("x = helper.__globals__", "attribute '__globals__' is not allowed in a script: line 1"),
        ("x = getattr(amount, '__class__')", "getattr() is not allowed in a script: line 1"),
        ("x = eval('1 + 1')", "eval() is not allowed in a script: line 1"),
        ("exec('x = 1')", "exec() is not allowed in a script: line 1"),
        ("x = compile('1', 'f', 'eval')", "compile() is not allowed in a script: line 1"),
        ("x = type(amount)", "type() is not allowed in a script: line 1"),
        ("x = __import__('os')", "name '__import__' is not allowed in a script: line 1"),
        ("x = globals()", "globals() is not allowed in a script: line 1"),
        ("x = vars()", "vars() is not allowed in a script: line 1"),
        ("breakpoint()", "breakpoint() is not allowed in a script: line 1"),
        ("x = (i for i in [1]).gi_frame", "attribute 'gi_frame' is not allowed in a script: line 1"),
        ("x = '{0.__class__}'.format(amount)", "str.format() is not allowed in a script: line 1"),
        ("class Sneaky:\n    pass", "class definitions are not allowed in a script: line 1"),
        ("x = ", "syntax error in script: invalid syntax: line 1"),
    ],
)
def test_a_forbidden_construct_in_a_script_is_refused(script, message):
    error, workflow = failing_run(script, helpers={"helper": lambda: None})
    assert error.error_type == "ScriptRefused"
    assert isinstance(error.__cause__, ScriptRefused)
    assert str(error.__cause__) == message
    assert message in str(error)
    assert error.task.task_spec.bpmn_id == "the_script"
    assert error.task.state == TaskState.ERROR
    assert workflow.get_tasks(state=TaskState.ERROR) == [error.task]


def test_a_refused_script_reports_its_line():
    error, _ = failing_run("a = 1\nb = 2\nimport sys")
    assert error.line_number == 3
    assert error.error_line == "import sys"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("__import__('os').system('true')", "name '__import__' is not allowed in a script: line 1"),
        ("amount.__class__.__subclasses__()", "attribute '__class__' is not allowed in a script: line 1"),
        ("open('/etc/passwd')", "open() is not allowed in a script: line 1"),
        ("eval('1')", "eval() is not allowed in a script: line 1"),
    ],
)
def test_a_forbidden_construct_in_a_gateway_condition_is_refused(condition, message):
    workflow = make_workflow(gateway_process(condition))
    workflow.get_tasks(spec_name="start_event")[0].set_data(amount=1)
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__cause__, ScriptRefused)
    assert message in str(caught.value)
    assert caught.value.task.task_spec.bpmn_id == "gw"
    assert caught.value.task.state == TaskState.ERROR


def test_a_forbidden_construct_in_a_timer_expression_is_refused():
    workflow = make_workflow(timer_process("__import__('os').getcwd()"))
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "name '__import__' is not allowed in a script" in str(caught.value)
    assert caught.value.task.task_spec.bpmn_id == "wait"  # the timer task stays FUTURE: SpiffWorkflow's choice


def test_a_forbidden_construct_in_a_decision_table_is_refused():
    table = RISK_TABLE.replace("segment.upper()", "segment.__class__")
    workflow = make_workflow(decision_process("applicant = {'score': 1}\nsegment = 'x'"), dmn=table)
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "attribute '__class__' is not allowed in a script" in str(caught.value)
    assert caught.value.task.task_spec.bpmn_id == "decide"


def test_a_script_cannot_write_a_file(tmp_path):
    target = tmp_path / "pwned.txt"
    error, _ = failing_run(f"f = open({str(target)!r}, 'w')\nf.write('x')\nf.close()")
    assert "open() is not allowed in a script" in str(error)
    assert not target.exists()


def test_a_refused_script_runs_none_of_its_lines():
    calls = []
    error, workflow = failing_run("record('before')\nx = type(1)", helpers={"record": calls.append})
    assert "type() is not allowed" in str(error)
    assert calls == []


# --------------------------------------------------------------------------- time limit


@pytest.mark.parametrize(
    "script",
    [
        "while True: pass",
        "x = 0\nwhile True:\n    x += 1",
        "x = [i for i in iter(int, 1)]",
        "x = sum(1 for i in iter(int, 1))",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
        "f = lambda n: f(n - 1) + f(n - 1) if n else 0\nx = f(60)",
        "def g(n):\n    return g(n - 1) + g(n - 1) if n else 0\nx = g(60)",
    ],
    ids=["one-line-while", "counting-while", "comprehension", "generator", "swallowing-except", "lambda-recursion",
         "function-recursion"],
)
def test_an_endless_script_is_stopped_after_the_time_limit(script):
    started = time.monotonic()
    error, workflow = failing_run(script, time_limit=0.2)
    elapsed = time.monotonic() - started
    assert isinstance(error.__cause__, ScriptRefused)
    assert "script ran longer than 0.2 s" in str(error)
    assert error.task.state == TaskState.ERROR
    assert 0.2 <= elapsed < 1.5


def test_the_time_limit_works_outside_the_main_thread():
    outcome = {}

    def worker():
        try:
            run_script("while True:\n    pass", time_limit=0.1)
        except WorkflowTaskException as error:
            outcome["message"] = str(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert "script ran longer than 0.1 s" in outcome["message"]


def test_a_lazy_result_does_not_hit_the_deadline_later():
    environment = build_script_engine({}, time_limit=0.05).environment
    numbers = environment.evaluate("(x * 2 for x in items)", {"items": [1, 2, 3]})
    time.sleep(0.1)
    assert list(numbers) == [2, 4, 6]


def test_a_script_that_swallows_the_stop_and_finishes_still_fails():
    script = "try:\n    while True:\n        pass\nexcept:\n    pass\ndone = True"
    error, workflow = failing_run(script, time_limit=0.1)
    assert "script ran longer than 0.1 s" in str(error)
    assert error.task.state == TaskState.ERROR


def test_an_endless_gateway_condition_is_stopped():
    workflow = make_workflow(gateway_process("any(True for x in iter(int, 1) if x)"), time_limit=0.1)
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "script ran longer than 0.1 s" in str(caught.value)


# --------------------------------------------------------------------------- ordinary errors


@pytest.mark.parametrize(
    ("script", "error_type", "fragment"),
    [
        ("x = 1 / 0", "ZeroDivisionError", "division by zero"),
        ("x = unknown_variable + 1", "NameError", "unknown_variable"),
        ("x = {}['missing']", "KeyError", "missing"),
        ("x = {}[1]", "KeyError", "1"),
        ("x = 'text'.no_such_attribute", "AttributeError", "no_such_attribute"),
    ],
)
def test_an_ordinary_runtime_error_is_reported_with_the_task(script, error_type, fragment):
    error, _ = failing_run(script)
    assert error.error_type == error_type
    assert fragment in str(error)
    assert error.task.task_spec.bpmn_id == "the_script"
    assert error.task.state == TaskState.ERROR


def test_an_ordinary_error_in_a_condition_keeps_its_message():
    workflow = make_workflow(gateway_process("amount / 0 > 1"))
    workflow.get_tasks(spec_name="start_event")[0].set_data(amount=1)
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "ZeroDivisionError: division by zero" in str(caught.value)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


# --------------------------------------------------------------------------- direct use and cost


def test_script_refused_is_raised_directly_by_the_environment():
    environment = build_script_engine({}).environment
    with pytest.raises(ScriptRefused, match="import is not allowed in a script: line 1"):
        environment.execute("import os", {})
    with pytest.raises(ScriptRefused, match="attribute '__class__'"):
        environment.evaluate("x.__class__", {"x": 1})


def test_the_engine_is_a_spiffworkflow_script_engine():
    assert isinstance(build_script_engine({}), PythonScriptEngine)


def test_a_simple_condition_costs_little():
    environment = build_script_engine({}).environment
    data = {"amount": 1500, "risk": "LOW", "customer": "Ada", "items": [1, 2, 3]}
    expression = "amount > 1000 and risk == 'LOW'"
    assert environment.evaluate(expression, data) is True
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        environment.evaluate(expression, data)
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 100e-6  # measured ~2 µs; generous for noisy machines
