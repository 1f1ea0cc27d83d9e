"""Code that could run long or grow large runs in a sandbox process with CPU and memory limits that hold inside C.

The expressions here each hold the interpreter lock inside one C call for
seconds to forever; in the server's own process nothing could stop them.
Cheap code (provably bounded) stays in the server's process; every value a
script or expression leaves must be one a case can keep.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import threading

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from engine.sandbox.bounded import is_bounded
from engine.sandbox.scripting import ScriptRefused, build_script_engine
from engine.sandbox.values import why_unstorable
from tests.unit.test_scripting import (
    RISK_TABLE,
    decision_process,
    gateway_process,
    make_workflow,
    run_script,
    script_process,
)

CPU_HOGS = {
    "huge power": "10 ** 10 ** 8 > 1",
    "14 s power": "10 ** 10 ** 7 > 1",
    "endless C loop": "sum(iter(int, 1)) > 1",
}
MEMORY_HOGS = {
    "2 GB list": "len([0] * (2 * 10 ** 9 // 8)) > 1",
    "1 GB text": "len('x' * 10 ** 9) > 1",
}


def stopped(workflow) -> WorkflowTaskException:
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    return caught.value


@pytest.mark.parametrize("condition", CPU_HOGS.values(), ids=CPU_HOGS.keys())
def test_a_condition_running_long_inside_c_is_stopped_at_its_cpu_limit(condition):
    error = stopped(make_workflow(gateway_process(condition), time_limit=1))
    assert str(error).startswith("the script of step 'Which way' used more than 1 s of CPU")
    assert error.task.task_spec.bpmn_id == "gw" and error.task.state == TaskState.ERROR


@pytest.mark.parametrize("condition", MEMORY_HOGS.values(), ids=MEMORY_HOGS.keys())
def test_a_condition_growing_a_huge_value_is_stopped_at_its_memory_limit(condition):
    error = stopped(make_workflow(gateway_process(condition)))
    assert str(error).startswith("the script of step 'Which way' used more than 256 MB of memory")
    assert error.task.state == TaskState.ERROR


def test_a_script_running_long_inside_c_is_stopped_at_its_cpu_limit():
    error = stopped(make_workflow(script_process("total = sum(iter(int, 1))"), time_limit=1))
    assert str(error).startswith("the script of step 'The script' used more than 1 s of CPU")
    assert error.task.state == TaskState.ERROR


def test_the_server_thread_runs_on_while_a_sandbox_computes():
    workflow = make_workflow(gateway_process(CPU_HOGS["huge power"]), time_limit=1)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(error=stopped(workflow)))
    runner.start()
    rounds = 0
    while runner.is_alive():  # in the server's process the power would hold the lock: no round would run
        rounds += 1
        runner.join(0.01)
    assert rounds > 10
    assert "used more than 1 s of CPU" in str(outcome["error"])


def test_after_an_overrun_the_next_code_runs_in_a_new_sandbox():
    stopped(make_workflow(gateway_process(CPU_HOGS["endless C loop"]), time_limit=1))
    workflow = run_script("squares = [n * n for n in numbers]", numbers=[1, 2, 3])
    assert workflow.get_tasks(spec_name="the_script")[0].data["squares"] == [1, 4, 9]


def test_a_sandboxed_script_reports_the_line_of_its_error():
    error = stopped(make_workflow(script_process("total = 0\nfor n in [1, 0]:\n    total += 1 / n")))
    assert (error.error_type, error.line_number, error.error_line) == ("ZeroDivisionError", 3, "    total += 1 / n")


@pytest.mark.parametrize("script, fragment", [
    ("big = 10 ** 5000", "the script left an integer of more than 4,000 digits in 'big'"),
    ("deep = []\nfor i in range(5000):\n    deep = [deep]",
     "the script left lists or dicts nested more than 100 levels deep in 'deep'"),
    ("rules = {'check': lambda x: x}", "the script left a function in 'rules'"),
    ("loop = [1]\nloop.append(loop)", "the script left lists or dicts nested more than 100 levels deep in 'loop'"),
    ("wide = [0]\nfor i in range(21):\n    wide = [wide, wide]", "the script left more than 1,000,000 values in 'wide'"),
    ("f = lambda: 1\ng = len", "the script left a function in 'f'"),
    ("g = len", "the script left a function in 'g'"),
    ("def f():\n    return 1", "the script left a function in 'f'"),
    ("t = int", "the script left a type in 't'"),
    ("x = float('nan')", "the script left a number that is not finite (nan) in 'x'"),
    ("x = -float('inf')", "the script left a number that is not finite (-inf) in 'x'"),
    ("s = ['ok', chr(0xd800)]", "the script left text with a lone surrogate character in 's'"),
    ("d = {chr(0xdc00): 1}", "the script left a dict key with a lone surrogate character in 'd'"),
], ids=["5,000 digits", "5,000 deep", "function", "holds itself", "shared 2**21 times", "lambda", "builtin",
        "def", "type", "nan", "infinity", "surrogate", "surrogate key"])
def test_a_value_a_case_cannot_keep_stops_the_script_and_names_the_variable(script, fragment):
    error = stopped(make_workflow(script_process(script)))
    assert isinstance(error.__cause__, ScriptRefused)
    assert fragment in str(error)
    assert error.task.state == TaskState.ERROR


@pytest.mark.parametrize("script", [
    "a = 'x' * 4_000_000\nb = 'y' * 4_000_000\nc = 'z' * 4_000_000",
    "a = [0] * 600_000\nb = [1] * 600_000",
], ids=["text", "values"])
def test_a_script_leaving_too_much_in_all_the_cases_variables_stops_at_its_step(script):
    error = stopped(make_workflow(script_process(script)))
    assert isinstance(error.__cause__, ScriptRefused)
    assert "the script left the case's data holding more than" in str(error) and "in all its variables" in str(error)
    assert error.task.state == TaskState.ERROR


def test_a_decision_or_condition_giving_a_value_a_case_cannot_keep_is_refused():
    environment = build_script_engine({}).environment
    with pytest.raises(ScriptRefused, match="the expression gave an integer of more than 4,000 digits"):
        environment.evaluate("0x1" + "0" * 3400, {})  # a literal of 4,095 decimal digits
    with pytest.raises(ScriptRefused, match="the expression gave an integer of more than 4,000 digits"):
        environment.evaluate("10 ** 5000", {})


def test_a_decision_giving_nan_stops_at_its_step():
    table = RISK_TABLE.replace('<text>"HIGH"</text>', "<text>float('nan')</text>")
    error = stopped(make_workflow(decision_process("applicant = {'score': 400}\nsegment = 'retail'"), dmn=table))
    assert "the expression gave a number that is not finite (nan), which a case cannot keep" in str(error)
    assert error.task.task_spec.bpmn_id == "decide"


def test_a_script_growing_nested_data_in_place_runs_in_a_sandbox_and_is_stopped_at_its_cpu_limit():
    doubling = "customer['a'] = [customer['a'], customer['a']]\ncustomer['b'] = [customer['b'], customer['b']]\n"
    workflow = make_workflow(script_process(doubling * 29 + "z = customer['a'] == customer['b']"), time_limit=1)
    workflow.get_tasks(spec_name="start_event")[0].set_data(customer={"a": 1, "b": 1})
    error = stopped(workflow)
    assert str(error).startswith("the script of step 'The script' used more than 1 s of CPU")
    assert error.task.state == TaskState.ERROR


def test_a_script_growing_text_in_place_runs_in_a_sandbox_and_is_stopped_at_its_memory_limit():
    workflow = make_workflow(script_process("customer['name'] = customer['name'] + customer['name']\n" * 28))
    workflow.get_tasks(spec_name="start_event")[0].set_data(customer={"name": "Ann Lee"})
    error = stopped(workflow)
    assert str(error).startswith("the script of step 'The script' used more than 256 MB of memory")


@pytest.mark.parametrize("value, reason", [
    (10 ** 4000 - 1, None),
    (-10 ** 4000, "an integer of more than 4,000 digits"),
    ({"a": [1, {"b": (2, 3)}], "when": None}, None),
    ({1: "x"}, "a dict whose keys are not all text"),
    (range(3), "a range"),
    ("x" * 10_000_001, "more than 10,000,000 characters of text"),
    (1e308, None),
    ([float("nan")], "a number that is not finite (nan)"),
    ({"a": "caf\u00e9 \U0001f600"}, None),
    ({"a": "caf\u00e9 \udc00"}, "text with a lone surrogate character"),
    (len, "a function"),
    (int, "a type"),
])
def test_what_a_case_can_keep(value, reason):
    assert why_unstorable(value) == reason


BOUNDED = [
    "amount > 1000 and risk == 'LOW'",
    "550 <= dmninputexpr < 700",
    '"HIGH"',
    "customer['segment'] in ('premium', 'gold') or not approved",
    "-amount + fee - 3 if amount else len(items)",
    "credit_score(annual_income, existing_debts, loan_amount, years_employed)",
]
UNBOUNDED = [
    "10 ** 10 ** 8",
    "amount * 10 ** 9",
    "1 << 10 ** 9",
    "sum(iter(int, 1))",
    "sorted(items)",
    "'x'.join(items)",
    "[x for x in items]",
    "f'{amount:>1000000000}'",
    "text % values",
    "credit_score(*items)",
    "str([text, text, text])",
    "text + text + text + text + text + text",
]


@pytest.mark.parametrize("expression", BOUNDED)
def test_cheap_expressions_are_proved_bounded(expression):
    assert is_bounded(ast.parse(expression, mode="eval"), frozenset({"credit_score"}))


@pytest.mark.parametrize("expression", UNBOUNDED)
def test_expressions_that_may_run_long_are_not_proved_bounded(expression):
    assert not is_bounded(ast.parse(expression, mode="eval"), frozenset({"credit_score"}))


@pytest.mark.parametrize("script, bounded", [
    ("score = credit_score(a, b, c, d)\nratio = loan_to_income_ratio(c, a)", True),
    ("document_reminders = document_reminders + 1", True),
    ("reminders += 1\ntotal = amount - fee", True),
    ("a = a + a\nb = a + a", False),  # doubling line after line
    ("a += a\na += a", False),
    ("while True:\n    pass", False),
    ("if amount:\n    x = 1", False),
    ("def f():\n    return 1", False),
    ("total += amount", False),
    ("customer['a'] = 1", False),
    ("customer.name = 'x'", False),
    ("customer['a'] += 1", False),
    ("items += items", False),
    ("a, b = b, a", False),
    ("x = [n for n in items]", False),
    ("x = text * 3", False),
    ("x = str(text)", False),
], ids=["helper calls", "counter", "independent lines", "chained doubling", "chained +=", "loop", "if", "def",
        "+= a name", "subscript target", "attribute target", "subscript +=", "list grown in place", "tuple target",
        "comprehension", "* operator", "call of a non-cheap builtin"])
def test_a_script_is_bounded_only_when_no_line_builds_on_another(script, bounded):
    helpers = frozenset({"credit_score", "loan_to_income_ratio"})
    assert is_bounded(ast.parse(script, mode="exec"), helpers) is bounded


def test_a_worker_whose_parent_is_gone_ends_quietly(tmp_path):
    """A web process killed while its script runs leaves the worker nobody to answer: it ends without a
    traceback in the server's log."""
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import sys, time\n"
        f"sys.path[:0] = {sys.path!r}\n"
        "from engine.sandbox.isolation import _Worker\n"
        "worker = _Worker()\n"
        "worker.requests.send((5, 64 * 2 ** 20, time.sleep, (0.5,)))\n"
        "worker.replies.close()  # as a killed parent's end closes\n"
        "sys.exit(worker.process.wait(30))\n")
    ended = subprocess.run([sys.executable, str(parent)], capture_output=True, text=True, timeout=60)
    assert ended.returncode == 0, ended.stderr
    assert "Traceback" not in ended.stderr and "BrokenPipeError" not in ended.stderr
