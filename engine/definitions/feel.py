"""FEEL (DMN 1.3, Camunda 8) translated into the Python the restricted engine runs.

FEEL is translated, as JUEL is, rather than run by a FEEL library: the
libraries on PyPI (pySFeel, S-FEEL only, GPL-3.0, last release 2022;
bkflow-feel, last release 2023, pinned to old pytz and pydantic) evaluate in
their own interpreter, outside the restricted engine, so they would escape its
time limit and its refusals. A translated expression is plain Python that the
restricted engine compiles, checks and times like any other.

Covered: literals (numbers, ``"strings"``, ``true``, ``false``, ``null``,
``@"2026-03-02"``, ``@"P3D"``), names, also of several words (``Customer
Status`` reads the variable ``Customer_Status``), paths (``customer.segment``
reads the key ``segment``), lists, contexts (``{rate: 0.1}``, a dict),
arithmetic, also of dates and days-and-time durations, comparisons (``=``,
``!=``, ``<``...), ``and``/``or``/``not(...)``, ``if … then … else``,
``some``/``every … in … satisfies``, ``x between a and b``, ``x in <unary
tests>``, ``x instance of number`` (and the other types of ``TYPES``), ``is defined(x)`` and ``is
defined(x.y)`` (whether the case has the variable, and it the entry, whatever its value, null too), and
FEEL's built-in functions on the values a case holds, each a call of a Python function of
engine.definitions.feel_functions (``FUNCTIONS``, which the restricted engine is given); an argument a
function reads as a notation, when literal (``date("2026-02-30")``, the pattern of ``matches``), is read
when translated. Unary tests
(a DMN input cell) add ``< 5``, ranges ``[a..b]``, ``(a..b]``, ``]a..b[``,
lists of tests ``"a","b"``, ``not(...)``, ``-`` and ``?`` for the input; as in
FEEL, a null input matches no comparison nor range.
Anything else raises ``FeelNotSupported`` naming what is not supported.
"""

from __future__ import annotations

import ast
import keyword
import re

# FUNCTIONS: what the translations call, by helper name, for the restricted engine (engine.definitions.packages).
from engine.definitions.feel_functions import BUILTINS, FUNCTIONS, MANY, NOTATIONS, TYPES, helper_name

INPUT = "dmninputexpr"  # the name SpiffWorkflow gives a DMN input when a cell refers to it


class FeelNotSupported(ValueError):
    """A FEEL expression, or a construct in it, that Valueflow cannot translate."""


_IS_DEFINED = "is defined"  # a built-in whose argument is a variable or a path, read by _Parser.is_defined
_MULTIWORD = sorted([*(name for name in BUILTINS if " " in name), _IS_DEFINED], key=len, reverse=True)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<function>(?:""" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in _MULTIWORD) + r"""))(?=\s*\()
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<operator>\.\.|!=|<=|>=|\*\*|[=<>+\-*/(),.\[\]?{}:@])
  | (?P<other>.)
""", re.X | re.S)
_KEYWORDS = {"true": "True", "false": "False", "null": "None"}
_RESERVED = {"and", "or", "not", "between", "in", "if", "then", "else", "for", "some", "every", "function",
             "instance", "of", "satisfies", "return"}
_PYTHON_ONLY = {"True", "False", "None", "is", "lambda", "def", "class", "del", "global", "pass", "import",
                "from", "as", "with", "try", "except", "finally", "raise", "while", "yield", "assert", "async",
                "await", "break", "continue", "elif", "nonlocal"}
_COMPARISONS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def expression_to_python(text: str) -> str:
    """The Python for one FEEL expression (a condition, an input expression, an output cell); a leading ``=``
    (Camunda 8) is dropped. Raises FeelNotSupported."""
    body = text.strip()
    if body.startswith("="):
        body = body[1:]
    parser = _Parser(body)
    python = parser.expression()
    parser.end()
    return python


def unary_tests_to_python(text: str) -> str | None:
    """The Python condition on ``dmninputexpr`` for a DMN input cell written as FEEL unary tests; None when the
    cell matches any input (``-`` or empty). Raises FeelNotSupported."""
    body = text.strip()
    if body in ("", "-"):
        return None
    parser = _Parser(body)
    python = parser.unary_tests(INPUT)
    parser.end()
    return python


class _Parser:
    """A recursive-descent reader of one FEEL text, producing Python source."""

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup or "other"
            if kind == "other":
                raise FeelNotSupported(f"{match.group()!r} is not FEEL that Valueflow reads")
            if kind == "function":
                self.tokens.append((kind, " ".join(match.group().split())))
            elif kind != "space":
                self.tokens.append((kind, match.group()))
        if not self.tokens:
            raise FeelNotSupported("the expression is empty")
        self.index = 0
        self.in_range_bound = False  # a '[' after a range's upper bound closes the range (']a..b['), not an index

    # -- tokens

    def peek(self, offset: int = 0) -> tuple[str, str]:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.index += 1
        return token

    def accept(self, value: str) -> bool:
        if self.peek()[1] == value and self.peek()[0] in ("operator", "name"):
            self.index += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise FeelNotSupported(f"expected {value!r} {self.where()}")

    def where(self) -> str:
        kind, value = self.peek()
        return "at the end" if kind == "end" else f"before {value!r}"

    def end(self) -> None:
        if self.peek()[0] != "end":
            raise FeelNotSupported(f"{self.peek()[1]!r} is not supported there")

    # -- unary tests

    def unary_tests(self, subject: str) -> str:
        if self.peek() == ("name", "not") and self.peek(1) == ("operator", "("):
            self.index += 2
            inner = self.positive_tests(subject)
            self.expect(")")
            return f"(not {inner})"
        return self.positive_tests(subject)

    def positive_tests(self, subject: str) -> str:
        tests = [self.positive_test(subject)]
        while self.accept(","):
            tests.append(self.positive_test(subject))
        return tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"

    def positive_test(self, subject: str) -> str:
        kind, value = self.peek()
        if kind == "operator" and value in ("=", "!="):
            self.index += 1
            return f"({subject} {_COMPARISONS[value]} {self.additive()})"
        if kind == "operator" and value in ("<", "<=", ">", ">="):  # null is neither less nor more than anything
            self.index += 1
            return f"({subject} is not None and {subject} {value} {self.additive()})"
        if kind == "operator" and value in ("[", "(", "]") and self.is_interval():
            return self.interval(subject)
        if (kind, value) == ("name", "null"):
            self.index += 1
            return f"({subject} is None)"
        start = self.index
        python = self.expression()
        if any(token == ("operator", "?") for token in self.tokens[start:self.index]):
            return f"({python})"
        if self.tokens[start] == ("operator", "[") and self.index - start > 1 and self.tokens[self.index - 1] == (
                "operator", "]"):
            return f"({subject} in {python})"  # a list matches each of its items
        return f"({subject} == {python})"

    def is_interval(self) -> bool:
        depth = 1  # the opening bracket, which may be ']' in ']a..b]'
        for kind, value in self.tokens[self.index + 1:]:
            if kind == "operator" and value in ("(", "["):
                depth += 1
            elif kind == "operator" and value in (")", "]"):
                depth -= 1
                if depth <= 0:
                    return False
            elif (kind, value) == ("operator", "..") and depth == 1:
                return True
        return False

    def interval(self, subject: str) -> str:
        opening = self.take()[1]
        low = self.additive()
        self.expect("..")
        self.in_range_bound = True
        high = self.additive()
        self.in_range_bound = False
        closing = self.take()[1]
        if closing not in ("]", ")", "["):
            raise FeelNotSupported(f"a range must end with ']', ')' or '[', not {closing!r}")
        left = "<=" if opening == "[" else "<"
        right = "<=" if closing == "]" else "<"
        return f"({subject} is not None and {low} {left} {subject} {right} {high})"

    # -- expressions

    def expression(self) -> str:
        if self.accept("if"):
            condition = self.expression()
            self.expect("then")
            chosen = self.expression()
            self.expect("else")
            otherwise = self.expression()
            return f"({chosen} if {condition} else {otherwise})"
        for quantifier, python in (("some", "any"), ("every", "all")):
            if self.accept(quantifier):
                kind, variable = self.take()
                if kind != "name" or variable in _RESERVED or variable in _KEYWORDS or variable in _PYTHON_ONLY:
                    raise FeelNotSupported(f"'{quantifier}' must be followed by a variable name")
                self.expect("in")
                collection = self.disjunction()
                self.expect("satisfies")
                condition = self.expression()
                return f"{python}({condition} for {variable} in {collection})"
        return self.disjunction()

    def disjunction(self) -> str:
        parts = [self.conjunction()]
        while self.accept("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.comparison()]
        while self.accept("and"):
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def comparison(self) -> str:
        left = self.additive()
        kind, value = self.peek()
        if kind == "operator" and value in _COMPARISONS:
            self.index += 1
            right = self.additive()
            if right == "None" and value in ("=", "!="):
                return f"({left} {'is' if value == '=' else 'is not'} None)"
            return f"({left} {_COMPARISONS[value]} {right})"
        if self.accept("instance"):
            self.expect("of")
            type_name = next((name for name in sorted(TYPES, key=len, reverse=True)
                              if [value for _, value in self.tokens[self.index:self.index + len(name.split())]]
                              == name.split()), None) or self.peek()[1]
            self.index += len(type_name.split())
            if type_name not in TYPES:
                raise FeelNotSupported(f"{type_name!r} is not a type Valueflow knows: use one of {', '.join(TYPES)}")
            return f"feel_instance_of({left}, {type_name!r})"
        if self.accept("between"):
            low = self.additive()
            self.expect("and")
            high = self.additive()
            return f"({low} <= {left} <= {high})"
        if self.accept("in"):
            if self.peek() == ("operator", "(") and not self.is_interval():
                self.index += 1
                tests = self.positive_tests(left)
                self.expect(")")
                return tests
            return self.positive_test(left)
        return left

    def additive(self) -> str:
        python = self.multiplicative()
        while self.peek() in (("operator", "+"), ("operator", "-")):
            python = f"({python} {self.take()[1]} {self.multiplicative()})"
        return python

    def multiplicative(self) -> str:
        python = self.power()
        while self.peek() in (("operator", "*"), ("operator", "/")):
            python = f"({python} {self.take()[1]} {self.power()})"
        return python

    def power(self) -> str:
        python = self.unary()
        if self.accept("**"):
            python = f"({python} ** {self.unary()})"
        return python

    def unary(self) -> str:
        if self.accept("-"):
            return f"(-{self.unary()})"
        return self.postfix()

    def postfix(self) -> str:
        python = self.primary()
        while True:
            if self.peek() == ("operator", ".") and self.peek(1)[0] == "name":
                self.index += 1
                python = f"{python}[{self.words(self.take()[1])!r}]"
            elif self.peek() == ("operator", "[") and not self.in_range_bound:
                self.index += 1
                position = self.expression()
                self.expect("]")
                python = f"{python}[({position}) - 1]"
            else:
                return python

    def primary(self) -> str:
        kind, value = self.take()
        if kind == "number":
            return value
        if kind == "string":
            return repr(_unquote(value))
        if kind == "function" or (kind == "name" and self.peek() == ("operator", "(")):
            return self.call(value)
        if kind == "name" and value in _KEYWORDS:
            return _KEYWORDS[value]
        if kind == "name":
            if value in _RESERVED or value in _PYTHON_ONLY:
                raise FeelNotSupported(f"{value!r} is not supported there")
            return variable_name(self.words(value))
        if (kind, value) == ("operator", "?"):
            return INPUT
        if (kind, value) == ("operator", "("):
            inner = self.expression()
            self.expect(")")
            return f"({inner})"
        if (kind, value) == ("operator", "["):
            return "[" + ", ".join(self.items_until("]")) + "]"
        if (kind, value) == ("operator", "{"):
            return self.context()
        if (kind, value) == ("operator", "@"):
            return self.temporal_literal()
        if kind == "end":
            raise FeelNotSupported("the expression ends too soon")
        raise FeelNotSupported(f"{value!r} is not supported there")

    def words(self, first: str) -> str:
        """A name of one or more words (FEEL names may hold spaces: ``Customer Status``)."""
        words = [first]
        while self.peek()[0] == "name" and self.peek()[1] not in _RESERVED | set(_KEYWORDS):
            words.append(self.take()[1])
        return " ".join(words)

    def context(self) -> str:
        """A context ``{a: 1, "b c": 2}`` (after its ``{``), as a dict keyed by the entries' names."""
        entries: list[str] = []
        if not self.accept("}"):
            while True:
                kind, key = self.take()
                if kind == "string":
                    key = _unquote(key)
                elif kind == "name" and key not in _RESERVED:
                    key = self.words(key)
                else:
                    raise FeelNotSupported(f"a context entry must start with a name, not {key!r}")
                self.expect(":")
                entries.append(f"{key!r}: {self.expression()}")
                if not self.accept(","):
                    break
            self.expect("}")
        return "{" + ", ".join(entries) + "}"

    def temporal_literal(self) -> str:
        """``@"2026-03-02"``, ``@"2026-03-02T09:00:00"`` or ``@"P3D"``: a date, a date and time or a duration."""
        kind, literal = self.take()
        if kind != "string":
            raise FeelNotSupported("'@' must be followed by a date, a date and time or a duration in double quotes")
        text = _unquote(literal)
        function = "duration" if text.lstrip("-").upper().startswith("P") else "date and time" if "T" in text \
            else "date"
        return self.checked_call(function, [repr(text)])

    def call(self, name: str) -> str:
        if name == _IS_DEFINED:
            return self.is_defined()
        if name not in BUILTINS:
            raise FeelNotSupported(f"the function {name}() is not one Valueflow knows")
        self.expect("(")
        return self.checked_call(name, self.items_until(")"))

    def is_defined(self) -> str:
        """``is defined(x)`` or ``is defined(x.y.z)`` (after the function's name): the call of feel_is_defined
        with the variable's name and the path's entries, which the expression does not read itself, as reading a
        missing one fails."""
        self.expect("(")
        kind, first = self.take()
        if kind != "name" or first.startswith("_") or first in _RESERVED | set(_KEYWORDS) | _PYTHON_ONLY:
            raise FeelNotSupported(f"is defined() takes a variable or a path such as customer.discount, not {first!r}")
        names = [variable_name(self.words(first))]
        while self.peek() == ("operator", ".") and self.peek(1)[0] == "name":
            self.index += 1
            names.append(self.words(self.take()[1]))
        if self.peek()[0] == "end":
            raise FeelNotSupported("the expression ends too soon")
        if not self.accept(")"):
            raise FeelNotSupported(f"is defined() takes a variable or a path such as customer.discount: "
                                   f"{self.peek()[1]!r} is not supported there")
        return f"feel_is_defined({', '.join(map(repr, names))})"

    def checked_call(self, name: str, args: list[str]) -> str:
        """The Python calling the built-in ``name`` with ``args``; a literal it reads as a notation (a date, a
        duration, a pattern) is read now, so that a wrong one is refused before a case runs into it."""
        arities, _ = BUILTINS[name]
        if len(args) not in arities and not (MANY in arities and len(args) >= arities[arities.index(MANY) - 1]):
            raise FeelNotSupported(f"{name}() takes {_arities(arities)} argument(s), not {len(args)}")
        positions, read = NOTATIONS.get(name, ((), None))
        literals = [_literal(args[at]) for at in positions if at < len(args)]
        if read and literals and None not in literals:
            try:
                read(*literals)
            except ValueError as exc:
                raise FeelNotSupported(f"{name}({', '.join(args)}): {exc}") from None
        return f"{helper_name(name)}({', '.join(args)})"

    def items_until(self, closing: str) -> list[str]:
        """The comma-separated expressions up to ``closing`` (a list's or a call's), which is taken too."""
        items: list[str] = []
        if not self.accept(closing):
            items.append(self.expression())
            while self.accept(","):
                items.append(self.expression())
            self.expect(closing)
        return items


def is_variable(name: str) -> bool:
    """Whether a case variable can have the name: a Python name, not one of Python's own words (``from``,
    ``class``) and not starting with ``_`` (which scripts may not touch)."""
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def variable_name(name: str) -> str:
    """The case variable a FEEL name reads: a name of several words joins them with underscores
    (``Customer Status`` reads ``Customer_Status``), as a Python variable cannot hold a space."""
    return "_".join(name.split())


def _arities(arities: tuple[int | None, ...]) -> str:
    """``(2, 3)`` as "2 or 3", ``(1, MANY)`` as "1 or more"."""
    words = [str(count) if count is not MANY else "more" for count in arities]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _literal(python: str) -> str | None:
    """The text a translated argument is when it is a literal text, else None."""
    if not python.startswith(("'", '"')):
        return None
    try:
        value = ast.literal_eval(python)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


# What FEEL's escapes in a text stand for; any other keeps its backslash, as a pattern's "\d" or "\s" needs.
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), body, flags=re.S)
