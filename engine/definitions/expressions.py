"""Expressions and decision tables as other engines write them, turned into the Python the restricted engine runs.

An expression — a sequence flow's condition, a timer, a multi-instance count or
completion condition, a loop or conditional event's condition, a message
correlation, a computed owner — may be Python (Valueflow's and SpiffWorkflow's
own dialect), JUEL as Camunda 7, Flowable and Activiti write it
(``${approved}``, ``#{amount > 1000 && !urgent}``) or FEEL as Camunda 8 writes
it (``=approved = false``, or any expression whose ``language`` says FEEL; see
``feel``). JUEL is translated here: comparisons (also ``eq``, ``ne``, ``lt``,
``gt``, ``le``, ``ge``), ``&&``/``||``/``!`` (and ``and``, ``or``, ``not``),
arithmetic (also ``div``, ``mod``), ``empty``, literals (``true``, ``false``,
``null``, numbers, strings) and property access (``customer.segment`` reads the
key ``segment`` of ``customer``). What neither translation covers (JUEL method
calls, the ``? :`` operator, text around the ``${...}``; FEEL's ``for``,
unknown functions) raises ``ExpressionNotSupported``, so that the deploy
refuses the element instead of a case failing on it later.

The input expressions and cells of DMN decision tables (``prepare_decision_tables``)
are read as FEEL first and rewritten into Python, else run as the Python
SpiffWorkflow reads; a cell that neither reads, or a hit policy SpiffWorkflow
cannot give its DMN meaning, is refused at deploy, naming the decision.
"""

from __future__ import annotations

import ast
import re
from typing import Callable, Iterable, Optional

from lxml import etree

from engine.definitions import feel
from engine.definitions.namespaces import BPMN_NS, NS
from engine.definitions.assignments import assignment_of
from engine.definitions.validation import Problem, human_tasks
from engine.sandbox.scripting import RestrictedEnvironment
from engine.definitions.timer_events import timer_refusal
from engine.time.durations import is_bare_iso_timer
from engine.time.timer_bounds import CYCLE, DATE, DURATION

# A cron expression as Camunda and Quartz write timers: five to seven fields, one of them * or ?.
_CRON_FIELD = r"(?:[0-9*?][0-9A-Z*?/,#-]*|[A-Z]{3}(?:[-,][A-Z]{3})*)"
_CRON = re.compile(rf"^(?=.*[*?])\s*{_CRON_FIELD}(?:\s+{_CRON_FIELD}){{4,6}}\s*$")
_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<operator>==|!=|<=|>=|&&|\|\||[<>!+\-*/%().\[\]])
  | (?P<other>.)
""", re.X | re.S)
_WORDS = {"true": "True", "false": "False", "null": "None", "and": "and", "or": "or", "not": "not",
          "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_OPERATORS = {"&&": " and ", "||": " or ", "!": " not "}


class ExpressionNotSupported(ValueError):
    """An expression in a language, or using a construct, that Valueflow cannot run."""


# Where else in a process an expression lives (by its element's tag), and how a process owner calls it.
_EXPRESSIONS = {"conditionExpression": "the condition", "condition": "the condition", "timeDate": "the timer",
                "timeDuration": "the timer", "timeCycle": "the timer", "loopCardinality": "the number of instances",
                "completionCondition": "the completion condition", "loopCondition": "the loop condition"}
# What a timer's element gives: a date, a duration or a cycle (engine.time.timer_bounds).
_TIMER_KINDS = {"timeDate": DATE, "timeDuration": DURATION, "timeCycle": CYCLE}
# Elements between an expression and the step it belongs to, which a process owner does not see.
_WRAPPERS = ("EventDefinition", "LoopCharacteristics", "RetrievalExpression")
# Variables other engines give a multi-instance step, which Valueflow's cases do not have.
_ENGINE_VARIABLES = ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "loopCounter")


def prepare_expressions(process: etree._Element, environment: RestrictedEnvironment) -> Iterable[Problem]:
    """Check every expression and script of a process before it is stored — conditions, timers, multi-instance
    counts and conditions, message correlations, scripts — and rewrite those written in JUEL or FEEL into the
    Python that runs them (in the parsed document only): what would fail in a case is refused now."""
    found = [(e, _EXPRESSIONS.get(etree.QName(e).localname)) for e in process.iter()
             if isinstance(e.tag, str) and etree.QName(e).namespace == BPMN_NS]
    found += [(e, "the correlation") for e in process.getroottree().getroot().iterfind(
        ".//bpmn:correlationPropertyRetrievalExpression/*", NS)]
    for expression, what in found:
        written = (expression.text or "").strip()
        if what is None or not written:
            continue
        holder = expression.getparent()
        while holder.getparent() is not None and (holder.get("id") is None or holder.tag.endswith(_WRAPPERS)):
            holder = holder.getparent()
        if what == "the timer" and is_bare_iso_timer(written):
            python = repr(written)  # a plain ISO 8601 value, as other modelers write it: the text it gives
        elif what == "the timer" and _CRON.match(written):
            yield Problem(holder.get("id"), holder.get("name"),
                          f"the timer {written!r} is a cron expression, which Valueflow does not run: write it as an "
                          "ISO 8601 cycle, e.g. R/PT5M for every five minutes, or R/2026-01-05T09:00:00Z/P1D for "
                          "every day at nine")
            continue
        else:
            try:
                python = _expression_to_python(written, expression.get("language") or "")
            except ExpressionNotSupported as exc:
                yield Problem(holder.get("id"), holder.get("name"), f"{what} {written!r} cannot run: {exc}")
                continue
            refusal = environment.refusal(python)
            if refusal is not None:
                yield Problem(holder.get("id"), holder.get("name"),
                              f"{what} {written!r} cannot run as Python: {refusal}")
                continue
        expression.text = python
        literal = _text_literal(python) if what == "the timer" else None
        refusal = timer_refusal(_TIMER_KINDS[etree.QName(expression).localname], literal) \
            if literal is not None else None
        if refusal is not None:
            yield Problem(holder.get("id"), holder.get("name"), f"{what} {written!r} cannot run: {refusal}")
    for task in human_tasks(process):
        written = assignment_of(task)
        for what, text in (("candidate groups", written.computed_groups), ("assignee", written.computed_assignee)):
            try:
                refusal = environment.refusal(_expression_to_python(text, "")) if text else None
            except ExpressionNotSupported as exc:
                refusal = str(exc)
            if refusal is not None:
                yield Problem(task.get("id"), task.get("name"), f"its {what} {text!r}, computed when the task opens, "
                                                                 f"cannot run: {refusal}")
    for task in process.iter():
        refusal = _script_task_refusal(task) if task.tag == f"{{{BPMN_NS}}}scriptTask" else None
        if refusal is not None:
            yield Problem(task.get("id"), task.get("name"), refusal)
            continue
        scripts = [("its script", task.findtext("bpmn:script", namespaces=NS))] \
            if task.tag == f"{{{BPMN_NS}}}scriptTask" else []
        scripts += [(f"its {kind}", task.findtext(f"bpmn:extensionElements/spiffworkflow:{kind}", namespaces=NS))
                    for kind in ("preScript", "postScript")]
        for what, script in scripts:
            refusal = environment.refusal(script, "exec") if script is not None else None
            if refusal is not None:
                yield Problem(task.get("id"), task.get("name"), f"{what} cannot run: {refusal}")


# How tools name Python as a script's language (scriptFormat).
_PYTHON = ("python", "python3", "py", "text/x-python", "text/python", "application/x-python")
# The languages jBPM names by a URI.
_SCRIPT_LANGUAGES = {"http://www.java.com/java": "Java", "http://www.javascript.com/javascript": "JavaScript",
                     "http://www.mvel.org/2.0": "MVEL"}


def _script_task_refusal(task: etree._Element) -> Optional[str]:
    """Why a script task cannot run, when it is written in another language than Python or holds no script
    (another engine's script in a file of its own, ``camunda:resource``), else None."""
    language = (task.get("scriptFormat") or "python").strip()
    if language.lower() not in _PYTHON:
        language = _SCRIPT_LANGUAGES.get(language, language)
        return (f"its script is written in {language} (scriptFormat), which Valueflow does not run: rewrite it "
                "in Python and set scriptFormat to python (docs/authoring.md#expressions-scripts-and-helpers)")
    if not (task.findtext("bpmn:script", namespaces=NS) or "").strip():
        if task.find("bpmn:extensionElements/zeebe:script", NS) is not None:
            return None  # Camunda 8's, which engine.definitions.expression_steps turns into Python or refuses
        kept_apart = next((v for k, v in task.attrib.items() if etree.QName(k).localname == "resource"), None)
        where = f" (its script is in the file {kept_apart!r}, which Valueflow does not read)" if kept_apart else ""
        return f"script task has no script{where}: write the Python it runs in the step's script"
    return None


def _text_literal(python: str) -> Optional[str]:
    """The text a Python expression gives when it is a string literal (``"PT4H"``), else None: computed."""
    try:
        value = ast.literal_eval(python)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _expression_to_python(text: str, language: str) -> str:
    """The Python for an expression written in Python, JUEL or FEEL, whose ``language`` may say which; raises
    ExpressionNotSupported."""
    if language and not any(known in language.lower() for known in ("python", "juel", "feel")):
        raise ExpressionNotSupported(f"it is written in {language}, which Valueflow does not run: write it in Python")
    python = condition_to_python(text, feel_language="feel" in language.lower())
    used = [name for name in _ENGINE_VARIABLES if re.search(rf"\b{name}\b", python)]
    if used:
        raise ExpressionNotSupported(f"{used[0]} is a variable other engines give a multi-instance step, which "
                                     "Valueflow does not keep: count the results in the case data instead")
    return python


def prepare_decision_tables(dmn: etree._Element, environment: RestrictedEnvironment) -> Iterable[Problem]:
    """Rewrite a DMN document's input expressions and cells written in FEEL into the Python SpiffWorkflow runs
    (in the parsed document only), and name every one that neither FEEL nor Python reads. A cell is read as FEEL
    first (``"a","b"`` is a list of tests there, not a tuple), then as SpiffWorkflow's Python: an input cell as
    ``input == (cell)``, ``input cell`` (``< 250``) or with ``?`` standing for the input (``250 <= ? < 1000``)."""
    model = etree.QName(dmn).namespace
    for decision in dmn.iter(f"{{{model}}}decision"):
        def problem(where: str, text: str, refusal: str) -> Problem:
            return Problem(decision.get("id"), decision.get("name"),
                           f"{where} {text!r} cannot run: {refusal}")
        for table in decision.iterfind(f"{{{model}}}decisionTable"):
            refusal = _prepare_hit_policy(table)
            if refusal is not None:
                yield Problem(decision.get("id"), decision.get("name"), refusal)
            for output in table.iterfind(f"{{{model}}}output"):
                written = output.get("name") or output.get("label") or ""
                if " " in written.strip():
                    output.set("name", feel.variable_name(written))
        for expression in decision.iterfind(f".//{{{model}}}inputExpression/{{{model}}}text"):
            text = (expression.text or "").strip()
            python, refusal = _feel_or_python(text, [text], environment, feel.expression_to_python)
            if refusal is not None:
                yield problem("the input expression", text, refusal)
            expression.text = python
        for number, rule in enumerate(decision.iter(f"{{{model}}}rule"), start=1):
            for cell in rule.iterfind(f"{{{model}}}inputEntry/{{{model}}}text"):
                text = (cell.text or "").strip()
                if text in ("", "-"):
                    continue
                tries = [re.sub(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", feel.INPUT, text)] if "?" in text \
                    else [f"{feel.INPUT} == ({text})", f"{feel.INPUT} {text}"]
                python, refusal = _feel_or_python(text, tries, environment, feel.unary_tests_to_python)
                if refusal is not None:
                    yield problem(f"rule {number}: the input cell", text, refusal)
                cell.text = python
            for cell in rule.iterfind(f"{{{model}}}outputEntry/{{{model}}}text"):
                text = (cell.text or "").strip()
                if text:
                    python, refusal = _feel_or_python(text, [text], environment, feel.expression_to_python)
                    if refusal is not None:
                        yield problem(f"rule {number}: the output cell", text, refusal)
                    cell.text = python


def _prepare_hit_policy(table: etree._Element) -> Optional[str]:
    """Make a decision table's hit policy one SpiffWorkflow runs with its DMN meaning, or say why it cannot.

    SpiffWorkflow takes the first matching rule, or with COLLECT the outputs of every matching rule in rule order:
    that is UNIQUE, FIRST and ANY (whose matching rules agree), and RULE ORDER (written as COLLECT here)."""
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().split())
    aggregation = (table.get("aggregation") or "").upper()
    if policy == "RULE ORDER":
        table.set("hitPolicy", "COLLECT")
    elif policy == "COLLECT" and aggregation:
        return (f"its hit policy COLLECT {aggregation} is not supported: use COLLECT without an aggregation, which "
                f"gives the list of matching outputs, and {_AGGREGATES.get(aggregation, 'a script')} after it")
    elif policy not in ("UNIQUE", "FIRST", "ANY", "COLLECT"):
        return (f"its hit policy {policy} is not supported: use FIRST and order the rules by priority, "
                "or COLLECT for every matching output (Valueflow runs UNIQUE, FIRST, ANY, RULE ORDER and COLLECT)")
    return None


_AGGREGATES = {"SUM": "sum(...) in a script task", "MIN": "min(...) in a script task",
               "MAX": "max(...) in a script task", "COUNT": "len(...) in a script task"}


def _feel_or_python(text: str, python_tries: list[str], environment: RestrictedEnvironment,
                    translate: Callable[[str], Optional[str]]) -> tuple[str, Optional[str]]:
    """The Python to store for ``text``: its FEEL translation when FEEL reads it, else ``text`` itself when one of
    its Python readings compiles; with the reason neither does, or None."""
    try:
        python = translate(text)
        if python is None or environment.refusal(python) is None:
            return python or text, None
        feel_refusal = str(environment.refusal(python))
    except feel.FeelNotSupported as exc:
        feel_refusal = str(exc)
    python_refusals = [environment.refusal(attempt) for attempt in python_tries]
    if not all(python_refusals):
        return text, None
    return text, (f"neither FEEL ({feel_refusal}) nor Python ({python_refusals[0]}) reads it; write a range as "
                  "[250..1000], a list as \"a\",\"b\", a text in double quotes")


def condition_to_python(text: str, feel_language: bool = False) -> str:
    """The Python to evaluate for a condition written in Python, JUEL or FEEL (a leading ``=``, or
    ``feel_language`` when the flow says so); raises ExpressionNotSupported."""
    stripped = text.strip()
    if stripped.startswith("=") or feel_language:
        try:
            return feel.expression_to_python(stripped)
        except feel.FeelNotSupported as exc:
            raise ExpressionNotSupported(f"FEEL that Valueflow does not run: {exc}") from None
    if "${" in stripped or "#{" in stripped:
        return juel_to_python(stripped)
    return stripped


def juel_to_python(text: str) -> str:
    """Translate one JUEL expression ``${...}`` or ``#{...}`` into Python; raises ExpressionNotSupported."""
    whole = _JUEL.match(text)
    if whole is None or "${" in whole["body"] or "#{" in whole["body"]:
        raise ExpressionNotSupported("only a single ${...} expression is supported, without text around it")
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(whole["body"]) if m.lastgroup != "space"]
    out: list[str] = []
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "other" or value in ("[", "]", "."):
            raise ExpressionNotSupported(f"{value!r} is not supported there in a JUEL condition")
        if kind == "name" and value == "empty":
            index, operand = _path(tokens, index + 1)
            out.append(f"({operand} in (None, '') or {operand} == [] or {operand} == {{}})")
        elif kind == "name" and value not in _WORDS:
            index, operand = _path(tokens, index)
            out.append(operand)
        else:
            out.append(f" {_WORDS[value]} " if kind == "name" else _OPERATORS.get(value, f" {value} ")
                       if kind == "operator" else value)
            index += 1
    return " ".join("".join(out).split())


def _path(tokens: list[tuple[str | None, str]], index: int) -> tuple[int, str]:
    """A name and its ``.property`` accesses from ``index``: the index after them, and the Python reading them."""
    if index >= len(tokens) or tokens[index][0] != "name" or tokens[index][1] in _WORDS:
        raise ExpressionNotSupported("'empty' must be followed by a variable in a JUEL condition")
    python = written = tokens[index][1]
    index += 1
    while index + 1 < len(tokens) and tokens[index] == ("operator", ".") and tokens[index + 1][0] == "name":
        python += f"[{tokens[index + 1][1]!r}]"
        written += f".{tokens[index + 1][1]}"
        index += 2
    if index < len(tokens) and tokens[index] == ("operator", "("):
        raise ExpressionNotSupported(f"calling {written}() is not supported in a JUEL expression: Valueflow runs no "
                                     "Java methods; compute the value in a script task and test it here")
    return index, python
