"""The restricted script engine: every piece of Python in a BPMN runs through it.

Script tasks (``execute``), gateway conditions, DMN input/output cells, timer
expressions and every other expression SpiffWorkflow evaluates (``evaluate``)
are compiled with RestrictedPython and run with only

* the instance data (task data, plus SpiffWorkflow's external context such as
  data objects or the DMN ``dmninputexpr``),
* a short list of harmless builtins (``SAFE_BUILTIN_NAMES``), and
* the helper functions given to :func:`build_script_engine`.

BPMN scripts are untrusted: they cannot import, open files, use ``eval``/``exec``
/``compile``/``getattr``/``type``/``globals``..., or touch any name or attribute
that starts with ``_`` (``__class__``, ``__subclasses__``, ``__globals__``...).

What the caller sees
--------------------
Through a workflow (``wf.do_engine_steps()``, ``task.run()``) every failure in
a script or expression comes out as SpiffWorkflow's ``WorkflowTaskException``
(``from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException``):

* ``exc.task`` is the failing task; for script tasks and gateways it is left
  in ``TaskState.ERROR`` (SpiffWorkflow's ``TaskSpec._run`` does that), so the
  instance can be marked errored at that step.
* ``str(exc)`` is one line that keeps our message, e.g.
  ``"ScriptRefused: import is not allowed in a script: line 1. ..."`` for a
  script task, or ``"Error evaluating expression 'x > 1': ScriptRefused: ..."``
  for a condition/DMN cell/timer.  SpiffWorkflow appends notes (DMN row, line)
  after ``". "``.
* ``exc.error_type`` is the original class name (``"ScriptRefused"``,
  ``"ZeroDivisionError"``, ``"NameError"``...), ``exc.__cause__`` the original
  exception object, ``exc.line_number`` / ``exc.error_line`` the script line
  when known.

:class:`ScriptRefused` is raised for: a forbidden construct (refused before the
script runs, so nothing partial happens), a syntax error, or a run longer than
``time_limit`` seconds (message ``"script ran longer than 2.0 s"``).  Ordinary
runtime errors (ZeroDivisionError, NameError for an unknown data variable,
KeyError...) are raised as they are and wrapped by the engine as above.
SpiffWorkflow calls the *environment* directly (no task, no wrapping) for a
process's data-object/completion conditions and message correlation
expressions: there the raw ``ScriptRefused`` / runtime error comes out.

Time limit
----------
Each loop body (``while``/``for``), comprehension/generator step, function
call and lambda call in a script gets an injected ``_tick_()`` call that raises
once the deadline has passed, and keeps raising at every later tick, so a
script that swallows the exception (bare ``except:``) is stopped at its next
iteration; if it swallows it and finishes anyway, the run still fails.  Code
without loops/functions (almost every condition) pays nothing.  No
``sys.settrace``/signals: it works in any thread and leaves debuggers and
coverage alone.  Known limit: a single long C-level operation
(``10 ** 10 ** 8``, ``"x" * 10 ** 10``, ``sorted(range(10 ** 9))``) is not
interrupted; hostile authors need process isolation (subprocess + rlimits).

Data
----
As in SpiffWorkflow, every top-level name a script assigns ends up in the task
data; builtins, guards, helpers and any function objects are removed after the
run.  In ``evaluate`` the helpers and builtins take precedence over data keys
of the same name; in ``execute`` SpiffWorkflow's check refuses (ValueError)
data keys that would hide a helper.  ``print`` is accepted and discarded.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

__all__ = ["ScriptRefused", "build_script_engine", "SAFE_BUILTIN_NAMES"]

_FILENAME = "<string>"  # SpiffWorkflow looks for this name in tracebacks to find the line
_TICK = "_tick_"
_CACHE_SIZE = 1024


class ScriptRefused(Exception):
    """A script or expression used something the sandbox forbids (import, open, dunder attribute, unknown builtin) or ran too long."""

    def __init__(self, message: str, line_number: int | None = None):
        super().__init__(message)
        self.line_number = line_number


class _Deadline(BaseException):
    """Raised inside the script when its time is up (not an Exception, so `except Exception` can't swallow it)."""


# --------------------------------------------------------------------------- builtins and guards

# Exceptions a script must not raise or catch by name: they escape `except Exception` handlers.
_UNSAFE_EXCEPTIONS = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
# RestrictedPython's safe_builtins minus class building, (guarded) setattr/delattr and the guard itself.
_FROM_RESTRICTED = {
    name: value
    for name, value in safe_builtins.items()
    if name not in {"__build_class__", "setattr", "delattr", "_getattr_"} | _UNSAFE_EXCEPTIONS
}
_EXTRA = {
    name: getattr(builtins, name)
    for name in (
        "min", "max", "sum", "any", "all", "sorted", "reversed", "enumerate", "zip", "map", "filter",
        "dict", "list", "tuple", "set", "frozenset", "iter", "next",
    )
}
SAFE_BUILTINS: dict[str, Any] = {**_FROM_RESTRICTED, **_EXTRA}
SAFE_BUILTIN_NAMES = frozenset(SAFE_BUILTINS)
# Builtins a script may not use unless the data defines a variable of that name (e.g. `type`).
_UNSAFE_BUILTIN_NAMES = frozenset(
    name for name in dir(builtins) if not name.startswith("_") and name not in SAFE_BUILTIN_NAMES
) - {"print"}  # print is rewritten by RestrictedPython to a collector we discard

_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    return _INPLACE_OPS[op](x, y)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _DiscardPrint:
    """`_print_` for RestrictedPython: `print(...)` in a script is accepted and its output dropped."""

    def __init__(self, _getattr_: Any = None):
        pass

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        pass

    def __call__(self) -> str:  # the `printed` variable
        return ""


def _getattr(obj: Any, name: str) -> Any:
    """RestrictedPython's safer_getattr (raising on a missing attribute), with its refusals as ScriptRefused."""
    try:
        return safer_getattr_raise(obj, name)
    except NotImplementedError:  # str.format / string.Formatter
        frame = sys._getframe(1)
        line = frame.f_lineno if frame.f_code.co_filename == _FILENAME else None
        what = "str.format()" if isinstance(obj, str) or obj is str else "string.Formatter"
        raise ScriptRefused(f"{what} is not allowed in a script" + (f": line {line}" if line else ""), line) from None


_GUARDS: dict[str, Any] = {
    "_getattr_": _getattr,              # refuses "_..." names, str.format, frames/code/generator internals
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,        # dicts and lists writable; other objects only via __guarded_setitem__
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    "_print_": _DiscardPrint,
}


# --------------------------------------------------------------------------- compiling

class _Clock:
    __slots__ = ("deadline", "expired", "line")

    def __init__(self, limit: float):
        self.deadline = time.monotonic() + limit
        self.expired = False
        self.line: int | None = None

    def tick(self) -> bool:
        if time.monotonic() > self.deadline:
            if not self.expired:
                self.expired = True
                self.line = sys._getframe(1).f_lineno
            raise _Deadline
        return True

    def disarm(self) -> None:
        self.deadline = float("inf")


def _tick_call(node: ast.AST) -> ast.Call:
    name = ast.copy_location(ast.Name(_TICK, ast.Load()), node)
    return ast.copy_location(ast.Call(func=name, args=[], keywords=[]), node)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus a `_tick_()` call in every loop body, comprehension step and function body.

    The calls are added after RestrictedPython checked the node, so its ban on `_` names does not see them.
    """

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_tick_call(node)), node))
        return node

    def visit_For(self, node: ast.For) -> Any:
        node = super().visit_For(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_tick_call(node)), node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, _tick_call(node.target))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_tick_call(node)), node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.And(), values=[_tick_call(node), node.body]), node.body)
        return node


_LOOPING = (ast.While, ast.For, ast.comprehension, ast.FunctionDef, ast.Lambda)


class _Compiled(NamedTuple):
    code: Any                                  # code object, None when refused
    refusal: str | None                        # message when refused at compile time
    line: int | None                           # line of the refusal
    ticks: bool                                # needs a clock (has loops/functions)
    unsafe: tuple[tuple[str, int], ...]        # (builtin name, line) used but only allowed if the data defines it


def _refusal(message: str, line: int | None) -> _Compiled:
    suffix = f": line {line}" if line else ""
    return _Compiled(None, message + suffix, line, False, ())


def _analyse(tree: ast.AST, helper_names: frozenset[str]) -> _Compiled | tuple[bool, tuple[tuple[str, int], ...]]:
    """Our own checks, before RestrictedPython's, for clear messages. Returns the first refusal in
    source order, or (ticks, unsafe)."""
    ticks = False
    bound: set[str] = set()
    loaded: list[tuple[str, int]] = []
    refusals: list[tuple[int, int, int, str]] = []

    def refuse(node: ast.AST, message: str) -> None:
        position = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0))
        refusals.append((*position, message))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            refuse(node, "import is not allowed in a script")
        elif isinstance(node, ast.ClassDef):
            refuse(node, "class definitions are not allowed in a script")
        elif isinstance(node, (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)):
            refuse(node, "async code is not allowed in a script")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            refuse(node, f"attribute '{node.attr}' is not allowed in a script")
        elif isinstance(node, ast.Name):
            if node.id.startswith("_") and node.id != "_":
                refuse(node, f"name '{node.id}' is not allowed in a script")
            elif isinstance(node.ctx, ast.Load):
                if node.id in ("eval", "exec", "breakpoint"):  # RestrictedPython refuses these in any case
                    refuse(node, f"{node.id}() is not allowed in a script")
                elif node.id in _UNSAFE_BUILTIN_NAMES and node.id not in helper_names:
                    loaded.append((node.id, node.lineno))
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            ticks = True
            if isinstance(node, ast.FunctionDef):
                bound.add(node.name)
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    bound.add(arg.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, _LOOPING):
            ticks = True
    if refusals:
        line, _, _, message = min(refusals)
        return _refusal(message, line or None)
    unsafe = tuple(sorted({(name, line) for name, line in loaded if name not in bound}, key=lambda x: x[1]))
    return ticks, unsafe


def _translate(error: str) -> tuple[str, int | None]:
    """Turn one of RestrictedPython's error strings ('Line 3: ... .') into our one-line message."""
    line = None
    text = error
    if text.startswith("Line "):
        head, _, rest = text.partition(": ")
        try:
            line = int(head[5:])
            text = rest
        except ValueError:
            pass
    text = text.rstrip(".").replace('"', "'")
    if text.startswith("SyntaxError: "):
        text = "syntax error in script: " + text[len("SyntaxError: "):].split(" at statement:")[0]
    elif " is a restricted name" in text or " is an invalid attribute name" in text:
        text = f"attribute {text.split(' ')[0]} is not allowed in a script"
    elif " is an invalid variable name" in text or " is a reserved name" in text:
        text = f"name {text.split(' ')[0]} is not allowed in a script"
    elif "not allowed" in text:
        text = f"{text} in a script"
    else:
        text = f"not allowed in a script: {text}"
    return text, line


def _compile(source: str, mode: str, helper_names: frozenset[str]) -> _Compiled:
    if not isinstance(source, str):
        return _refusal(f"a script must be a string, not {type(source).__name__}", None)
    # Compiler warnings ('"is" with a literal', invalid escapes) would reach the server's stderr, or become
    # SyntaxErrors under `-W error`; a BPMN author never sees them, so drop them.  Only runs on a cache miss.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source, _FILENAME, mode)
        except SyntaxError as err:
            return _refusal(f"syntax error in script: {err.msg}", err.lineno)
        except ValueError as err:  # e.g. null bytes
            return _refusal(f"syntax error in script: {err}", None)
        analysed = _analyse(tree, helper_names)
        if isinstance(analysed, _Compiled):
            return analysed
        ticks, unsafe = analysed
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        try:
            result = compiler(tree, filename=_FILENAME, policy=_Policy)
        except (SyntaxError, ValueError) as err:  # from compiling the checked tree, e.g. 'return' outside function
            return _refusal(f"syntax error in script: {getattr(err, 'msg', err)}", getattr(err, "lineno", None))
    if result.errors:
        message, line = _translate(result.errors[0])
        if len(result.errors) > 1:
            message += f" (and {len(result.errors) - 1} more problem{'s' if len(result.errors) > 2 else ''})"
        return _refusal(message, line)
    return _Compiled(result.code, None, None, ticks, unsafe)


# --------------------------------------------------------------------------- environment and engine

class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles with RestrictedPython, with safe builtins, guards, helpers and a time limit."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0):
        for name in helpers:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
        self.helpers = dict(helpers)
        self.time_limit = float(time_limit)
        # `globals` is what SpiffWorkflow's TaskDataEnvironment uses for its overwrite check and clean-up.
        super().__init__({"__builtins__": SAFE_BUILTINS, **_GUARDS, **self.helpers})
        helper_names = frozenset(self.helpers)
        self._compile = functools.lru_cache(maxsize=_CACHE_SIZE)(
            lambda source, mode: _compile(source, mode, helper_names)
        )

    def refusal(self, source: str, mode: str = "eval") -> str | None:
        """Why ``source`` would be refused before it runs (a syntax error, a forbidden construct), or None."""
        return self._compile(source, mode).refusal

    # -- public hooks called by SpiffWorkflow

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        compiled = self._prepare(expression, "eval", context, external_context)
        if external_context:
            scope = {**external_context, **context, **self.globals}
        else:
            scope = {**context, **self.globals}
        if not compiled.ticks:
            return eval(compiled.code, scope)
        clock = _Clock(self.time_limit)
        scope[_TICK] = clock.tick
        try:
            result = eval(compiled.code, scope)
        except _Deadline:
            raise self._too_long(clock) from None
        finally:
            clock.disarm()  # a lambda/generator returned by the expression must not raise _Deadline later
        if clock.expired:
            raise self._too_long(clock)
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        compiled = self._prepare(script, "exec", context, external_context)
        self.check_for_overwrite(context, external_context or {})
        if external_context:
            context.update(external_context)
        context.update(self.globals)
        clock = None
        if compiled.ticks:
            clock = _Clock(self.time_limit)
            context[_TICK] = clock.tick
        try:
            exec(compiled.code, context)
        except _Deadline:
            raise self._too_long(clock) from None
        finally:
            if clock is not None:
                clock.disarm()
            self._remove_globals_and_functions_from_context(context, external_context)
            context.pop(_TICK, None)
            if isinstance(context.get("_print"), _DiscardPrint):
                del context["_print"]
        if clock is not None and clock.expired:  # the script swallowed the stop and finished anyway
            raise self._too_long(clock)
        kept_back = [name for name, value in context.items() if not storable(value)]
        if kept_back:
            kinds = {name: type(context.pop(name)).__name__ for name in kept_back}  # the case could not be saved
            name = kept_back[0]
            raise ScriptRefused(f"the script left a {kinds[name]} in {name!r}, which a case cannot keep "
                                "(use numbers, text, lists, dicts, dates)")
        return True

    # -- internals

    def _prepare(self, source: str, mode: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None) -> _Compiled:
        compiled = self._compile(source, mode)
        if compiled.refusal is not None:
            raise ScriptRefused(compiled.refusal, compiled.line)
        for name, line in compiled.unsafe:  # builtins outside the safe list, unless the data defines the name
            if name not in context and not (external_context and name in external_context):
                raise ScriptRefused(f"{name}() is not allowed in a script: line {line}", line)
        return compiled

    def _too_long(self, clock: _Clock | None) -> ScriptRefused:
        return ScriptRefused(f"script ran longer than {self.time_limit} s", clock.line if clock else None)


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose errors keep the original message and chain the original exception (``__cause__``)."""

    environment: RestrictedEnvironment

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {_describe(err)}", task=task, exception=err
            ) from err

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # The base class refers to an undefined `script` when wrapping the error.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(_describe(err), task=task, exception=err) from err

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        # The base class does `":" + err.args[0]`, which fails on e.g. KeyError(1); and it cannot find the line
        # of a refusal (no script frame in the traceback).
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        if isinstance(err, ScriptRefused) and err.line_number:
            line_number = err.line_number
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return WorkflowTaskException(
            _describe(err), task=task, exception=err, line_number=line_number, error_line=error_line
        )


_PLAIN = (str, int, float, bool, type(None), date, datetime, timedelta, Decimal, UUID)


def storable(value: Any) -> bool:
    """Whether a case's data can keep ``value``: JSON's kinds, dates, times, decimals and ids, nested."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(storable(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and storable(item) for key, item in value.items())
    return False


def build_script_engine(helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0) -> PythonScriptEngine:
    """A SpiffWorkflow script engine whose environment compiles every script and expression with RestrictedPython
    and exposes only the instance data, a safe list of builtins and the given helper functions."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers, time_limit))
