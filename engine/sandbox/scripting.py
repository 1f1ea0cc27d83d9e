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

Time and memory limits
----------------------
Code the compiler proves cheap (engine.sandbox.bounded: no loops, calls of
helpers and a few builtins only, no ``*``/``**``...) runs in the server's
process: almost every condition, DMN cell and timer, at no extra cost. Any
other code runs in a sandbox process (engine.sandbox.isolation) under a CPU
limit of ``time_limit`` seconds and a memory limit of ``memory_mb`` MB that the
kernel holds, also inside one long C-level operation (``10 ** 10 ** 8``,
``sum(iter(int, 1))``, ``[0] * 10 ** 9``). Past either, the step fails with
``"the script of step 'Route' used more than 2 s of CPU"`` (or ``"... more
than 256 MB of memory"``), the error's ``__cause__`` an ``Overrun``. Only data
crosses between the processes: the data a script leaves, or an expression's
value (an iterator read out into a list); helpers go by reference, so those
the code uses must be functions defined at the top of a module.

Inside, each loop body (``while``/``for``), comprehension/generator step,
function call and lambda call gets an injected ``_tick_()`` call that raises
once ``time_limit`` seconds have passed, and keeps raising at every later
tick, so a script that swallows the exception (bare ``except:``) is stopped at
its next iteration; if it swallows it and finishes anyway, the run still
fails. That gives a Python-level loop the clearer message
``"script ran longer than 2.0 s"`` with its line; the kernel's limit allows
half a second more, for what no tick sees.

Data
----
As in SpiffWorkflow, every top-level name a script assigns ends up in the task
data; builtins, guards and helpers are removed after the run. A value a case
could not keep (engine.sandbox.values: a function the script defined or
named, a type, NaN, an integer of 5,000 digits, lists nested 5,000 deep...)
is removed too, and the script fails naming the variable; an expression
giving such a value fails.  In ``evaluate`` the helpers and builtins take precedence over data keys
of the same name; in ``execute`` SpiffWorkflow's check refuses (ValueError)
data keys that would hide a helper.  ``print`` is accepted and discarded.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import pickle
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

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

from engine.sandbox.bounded import is_bounded
from engine.sandbox.isolation import Overrun, shared_pool
from engine.sandbox.values import Tally, why_unstorable

__all__ = ["ScriptRefused", "build_script_engine", "SAFE_BUILTIN_NAMES"]

_FLAT = frozenset({bool, type(None)})  # values a case keeps whatever they are
_FILENAME = "<string>"  # SpiffWorkflow looks for this name in tracebacks to find the line
_TICK = "_tick_"
_CACHE_SIZE = 1024


class ScriptRefused(Exception):
    """A script or expression used something the sandbox forbids (import, open, dunder attribute, unknown builtin),
    ran too long, or left a value a case cannot keep."""

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
    bounded: bool                              # provably cheap: may run in the server's process
    helpers_used: frozenset[str]               # the helpers it names: what a sandbox process needs
    unsafe: tuple[tuple[str, int], ...]        # (builtin name, line) used but only allowed if the data defines it


def _refusal(message: str, line: int | None) -> _Compiled:
    suffix = f": line {line}" if line else ""
    return _Compiled(None, message + suffix, line, False, False, frozenset(), ())


def _analyse(tree: ast.AST, helper_names: frozenset[str]) -> _Compiled | tuple[bool, tuple[tuple[str, int], ...]]:
    """Our own checks, before RestrictedPython's, for clear messages. Returns the first refusal in
    source order, or (ticks, unsafe).

    A builtin off the safe list is refused when it runs, unless the data has a value of that name (a variable
    called ``type``, say); but one that is called, and not defined by the script itself, is refused here: no
    value a case keeps is a function, so the call could only ever fail."""
    ticks = False
    bound: set[str] = set()
    loaded: list[tuple[str, int]] = []
    called: list[ast.Name] = []
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
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _UNSAFE_BUILTIN_NAMES \
                and node.func.id not in helper_names:
            called.append(node.func)
    for name in called:
        if name.id not in bound:
            refuse(name, f"{name.id}() is not allowed in a script")
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
        bounded = is_bounded(tree, helper_names)
        helpers_used = frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name)) & helper_names
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
    return _Compiled(result.code, None, None, ticks, bounded, helpers_used, unsafe)


# --------------------------------------------------------------------------- environment and engine

class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles with RestrictedPython, with safe builtins, guards, helpers and limits.

    Code the compiler proves bounded (engine.sandbox.bounded) runs here; any
    other code runs in a sandbox process (engine.sandbox.isolation) with
    ``time_limit`` seconds of CPU and ``memory_mb`` MB of memory, unless
    ``isolated`` is false (as inside that process itself). Either way every
    value it leaves must be one a case can keep (engine.sandbox.values).
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0, memory_mb: int = 256,
                 isolated: bool = True):
        for name in helpers:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
        self.helpers = dict(helpers)
        self.time_limit = float(time_limit)
        self.memory_mb = memory_mb
        self.isolated = isolated
        self._portable: set[frozenset[str]] = set()  # sets of helpers known to reach a sandbox process
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
        if self.isolated and not compiled.bounded:
            return self._in_sandbox(compiled, "eval", expression, context, external_context)
        result = self._evaluate_here(compiled, context, external_context)
        if result.__class__ not in _FLAT:  # a condition's True or False needs no look
            reason = why_unstorable(result)
            if reason is not None:
                raise ScriptRefused(f"the expression gave {reason}, which a case cannot keep")
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        compiled = self._prepare(script, "exec", context, external_context)
        self.check_for_overwrite(context, external_context or {})
        if self.isolated and not compiled.bounded:
            left = self._in_sandbox(compiled, "exec", script, context, external_context)
            context.clear()
            context.update(left)
            return True
        self._execute_here(compiled, context, external_context)
        return True

    # -- internals

    def _evaluate_here(self, compiled: _Compiled, context: dict[str, Any],
                       external_context: dict[str, Any] | None) -> Any:
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

    def _execute_here(self, compiled: _Compiled, context: dict[str, Any],
                      external_context: dict[str, Any] | None) -> None:
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
            self._remove_globals(context, external_context)
            context.pop(_TICK, None)
            if isinstance(context.get("_print"), _DiscardPrint):
                del context["_print"]
        if clock is not None and clock.expired:  # the script swallowed the stop and finished anyway
            raise self._too_long(clock)
        tally = Tally()
        unstorable = {name: reason for name, value in context.items() if (reason := why_unstorable(value, tally))}
        if unstorable:
            for name in unstorable:
                del context[name]  # the case could not be saved with them
            name, reason = next(iter(unstorable.items()))
            raise ScriptRefused(f"the script left {reason} in {name!r}, which a case cannot keep "
                                "(use numbers, text, lists, dicts, dates)")
        if (too_much := tally.too_much()) is not None:
            raise ScriptRefused(f"the script left the case's data holding {too_much} in all its variables, more "
                                "than a case keeps (keep large documents outside the case and their address in it)")

    def _remove_globals(self, context: dict[str, Any], external_context: dict[str, Any] | None) -> None:
        """Take the builtins, guards, helpers and external context out of the data a script ran in; unlike
        SpiffWorkflow's clean-up it keeps the functions the script left, so that the value check refuses them."""
        for name in [*context]:
            if name == "__builtins__" or name in self.globals or (external_context and name in external_context):
                del context[name]

    def _in_sandbox(self, compiled: _Compiled, mode: str, source: str, context: dict[str, Any],
                    external_context: dict[str, Any] | None) -> Any:
        """Run the code in a sandbox process: the result (eval) or the data the script leaves (exec)."""
        helpers = {name: self.helpers[name] for name in compiled.helpers_used}
        if compiled.helpers_used not in self._portable:
            try:
                pickle.dumps(helpers)
            except Exception:
                raise ScriptRefused(
                    "this code runs in a sandbox process, which cannot reach the helper functions "
                    f"{', '.join(sorted(helpers))}: helpers must be functions defined at the top of a module"
                ) from None
            self._portable.add(compiled.helpers_used)
        return shared_pool().run(
            _run_isolated, (helpers, self.time_limit, mode, source, context, external_context),
            cpu_seconds=self.time_limit, memory_mb=self.memory_mb, wall_seconds=5 * self.time_limit + 5)

    def _prepare(self, source: str, mode: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None) -> _Compiled:
        compiled = self._compile(source, mode)
        if compiled.refusal is not None:
            raise ScriptRefused(compiled.refusal, compiled.line)
        for name, line in compiled.unsafe:  # builtins outside the safe list, read (not called) as the data's names
            if name not in context and not (external_context and name in external_context):
                raise ScriptRefused(f"name {name!r} is not defined: the case holds no value called {name} (Python's "
                                    f"{name}() is not available in a script): line {line}", line)
        return compiled

    def _too_long(self, clock: _Clock | None) -> ScriptRefused:
        return ScriptRefused(f"script ran longer than {self.time_limit} s", clock.line if clock else None)


@functools.lru_cache(maxsize=64)
def _sandbox_environment(helpers: tuple[tuple[str, Callable[..., Any]], ...], time_limit: float
                         ) -> RestrictedEnvironment:
    return RestrictedEnvironment(dict(helpers), time_limit, isolated=False)


def _run_isolated(helpers: dict[str, Callable[..., Any]], time_limit: float, mode: str, source: str,
                  context: dict[str, Any], external_context: dict[str, Any] | None) -> Any:
    """What a sandbox process runs: the code, in-process there, under its limits; only data comes back.

    An iterator an expression gives is read out into a list (still under the
    limits), since only values cross between processes; the line of a runtime
    error goes back as ``script_line``, the traceback cannot.
    """
    environment = _sandbox_environment(tuple(sorted(helpers.items())), time_limit)
    try:
        if mode == "exec":
            environment.execute(source, context, external_context)
            return context
        compiled = environment._prepare(source, mode, context, external_context)
        result = environment._evaluate_here(compiled, context, external_context)
        if isinstance(result, (Iterator, range)):
            result = list(result)
        reason = why_unstorable(result)
        if reason is not None:
            raise ScriptRefused(f"the expression gave {reason}, which a case cannot keep")
        return result
    except Exception as error:
        lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == _FILENAME]
        if lines:
            error.script_line = lines[-1]  # type: ignore[attr-defined]
        raise


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _overran(task: Any, err: Overrun) -> WorkflowTaskException:
    """The error of a step whose code went past its limits, naming the step, e.g.
    "the script of step 'Route' used more than 2 s of CPU"."""
    spec = task.task_spec
    return WorkflowTaskException(f"the script of step {spec.bpmn_name or spec.bpmn_id or spec.name!r} {err}",
                                 task=task, exception=err)


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose errors keep the original message and chain the original exception (``__cause__``)."""

    environment: RestrictedEnvironment

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except Overrun as err:
            raise _overran(task, err) from err
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
        except Overrun as err:
            raise _overran(task, err) from err
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
        line_number = getattr(err, "line_number", None) or getattr(err, "script_line", None) or line_number
        if line_number:
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return WorkflowTaskException(
            _describe(err), task=task, exception=err, line_number=line_number, error_line=error_line
        )


def build_script_engine(helpers: Mapping[str, Callable[..., Any]], time_limit: float = 2.0,
                        memory_mb: int = 256) -> PythonScriptEngine:
    """A SpiffWorkflow script engine whose environment compiles every script and expression with RestrictedPython
    and exposes only the instance data, a safe list of builtins and the given helper functions, within
    ``time_limit`` seconds of CPU and ``memory_mb`` MB of memory."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers, time_limit, memory_mb))
