"""Which code is cheap for certain: what may run in the server's own process instead of a sandbox process.

Sending code to a sandbox process costs a round trip (0.1 to 0.3 ms on this
machine, against 1 to 2 µs for a condition run here), too much for every
gateway condition and DMN cell of every step; but code in the server's
process cannot be stopped once it is inside one long C-level operation
(``10 ** 10 ** 8``). So the code that can be proved to finish in
time proportional to its own length times the size of the case's data runs
here, and everything else goes to a sandbox process (engine.sandbox.isolation).

What counts as bounded, and why each part is:

- constants, names, attribute and subscript reads (slices too): one lookup,
  or a copy no longer than the data;
- comparisons (``==``, ``<``, ``in``...), ``and``/``or``/``not``, ``x if c else y``,
  unary minus and plus: one pass over their operands at most;
- at most ``MAX_ADDITIONS`` ``+`` and ``-`` in one expression (or one line of
  a script): each result is at most as long as its operands together, so
  the value is at most five times the largest one read, however long the
  expression (numbers grow by a few bits). ``*``, ``**``, ``<<``, ``%`` and
  f-strings are left out, because each can make a value far larger than its
  operands;
- tuple, list, set and dict displays of such parts;
- calls of the process's helper functions (trusted code, registered by the
  process's package) and of the builtins in ``CHEAP_BUILTINS`` only, each a
  single pass over its arguments, with no ``*args``/``**kwargs`` unpacking
  (``str`` is not one: of a display naming one large value many times, it
  writes that value as many times).

A script is bounded when each of its statements is an assignment to plain
names, ``name += constant`` (or ``-=``) or a call of the kinds above, and no
statement reads a name an earlier one assigned: ``a = a + a`` repeated would
double the value at each line, while without the chain each line's result is
bounded by the data the script was given. Only names are assigned, so no line
changes a value in place: ``d['a'] = [d['a'], d['a']]`` or ``d.a += d.a``
repeated would build a value that doubles at each line (and values in the
data may share parts, so one change can show up under several names). Loops,
functions, lambdas, comprehensions, ``try``, ``if`` and every other statement
leave the server's process. The data itself stays bounded
between steps because every value a script or expression leaves is checked
(engine.sandbox.values).
"""

from __future__ import annotations

import ast

CHEAP_BUILTINS = frozenset({"len", "abs", "min", "max", "bool", "int", "float"})
MAX_ADDITIONS = 4

_LEAVES = (ast.Constant, ast.Name, ast.Load, ast.Store, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.cmpop)
_SHAPES = (ast.Expression, ast.Attribute, ast.Subscript, ast.Slice, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp,
           ast.Tuple, ast.List, ast.Set, ast.Dict, ast.keyword)


def is_bounded(tree: ast.AST, helper_names: frozenset[str]) -> bool:
    """Whether a parsed expression (mode "eval") or script (mode "exec") runs in bounded time and memory."""
    if isinstance(tree, ast.Expression):
        return _bounded_expression(tree, helper_names)
    if not isinstance(tree, ast.Module):
        return False
    assigned: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            value, targets = statement.value, statement.targets
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.op, (ast.Add, ast.Sub)):
            value, targets = statement.value, [statement.target]
            if any(isinstance(node, ast.Name) for node in ast.walk(value)):  # `items += items` grows in place
                return False
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            value, targets = statement.value, []
        elif isinstance(statement, ast.Pass):
            continue
        else:
            return False
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        if len(names) < len(targets) or not _bounded_expression(value, helper_names):
            return False
        read = {node.id for node in ast.walk(value) if isinstance(node, ast.Name)}
        if isinstance(statement, ast.AugAssign):
            read.update(names)
        if read & assigned:
            return False
        assigned.update(names)
    return True


def _bounded_expression(tree: ast.AST, helper_names: frozenset[str]) -> bool:
    additions = 0
    for node in ast.walk(tree):
        if isinstance(node, _LEAVES) or isinstance(node, _SHAPES):
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            additions += 1
            if additions > MAX_ADDITIONS:
                return False
            continue
        if isinstance(node, ast.Call):
            callee = node.func
            if not isinstance(callee, ast.Name) or callee.id not in helper_names | CHEAP_BUILTINS:
                return False
            if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
                return False
            continue
        if isinstance(node, (ast.Add, ast.Sub)):  # the operator nodes of the BinOps let through above
            continue
        return False
    return True
