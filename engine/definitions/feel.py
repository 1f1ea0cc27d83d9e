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
tests>``, ``x instance of number`` (and the other types of ``_TYPES``), ``is defined(x)`` and ``is
defined(x.y)`` (whether the case has the variable, and it the entry, whatever its value, null too), and the
built-in functions a decision table commonly uses (``_BUILTINS``); a literal a function reads
(``date("2026-02-30")``) is read when translated. Unary tests
(a DMN input cell) add ``< 5``, ranges ``[a..b]``, ``(a..b]``, ``]a..b[``,
lists of tests ``"a","b"``, ``not(...)``, ``-`` and ``?`` for the input; as in
FEEL, a null input matches no comparison nor range.
Anything else raises ``FeelNotSupported`` naming what is not supported.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Callable

from engine.time.durations import InvalidDuration, duration_seconds

INPUT = "dmninputexpr"  # the name SpiffWorkflow gives a DMN input when a cell refers to it


class FeelNotSupported(ValueError):
    """A FEEL expression, or a construct in it, that Valueflow cannot translate."""


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _date_and_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _number(text: str) -> int | float:
    value = Decimal(str(text))
    return int(value) if value == value.to_integral_value() else float(value)


def _duration(text: str) -> timedelta:
    """A days-and-time duration (``P3D``, ``-PT4H30M``); years and months have no fixed length and are refused."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("-")
    if re.search(r"\d[YM]", body.upper().split("T")[0]):
        raise ValueError(f"the duration {text!r} counts years or months, which have no fixed length: "
                         "write it in days (P30D)")
    try:
        return sign * timedelta(seconds=duration_seconds(body))
    except InvalidDuration:
        raise ValueError(f"{text!r} is not an ISO 8601 duration (for example P3D or PT4H)") from None


def _substring(text: str, start: int, length: int | None = None) -> str:
    begin = start - 1 if start > 0 else len(text) + start
    return text[begin:] if length is None else text[begin:begin + length]


def _substring_before(text: str, match: str) -> str:
    return text.partition(match)[0] if match in text else ""


def _substring_after(text: str, match: str) -> str:
    return text.partition(match)[2] if match in text else ""


def _string_join(items: list[Any], delimiter: str = "") -> str:
    return delimiter.join(str(item) for item in items if item is not None)


def _decimal(number: Any, scale: int) -> float:
    return float(Decimal(str(number)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN))


def _modulo(dividend: Any, divisor: Any) -> Any:
    return dividend % divisor


def _mean(items: list[Any]) -> float:
    return sum(items) / len(items)


def _product(items: list[Any]) -> Any:
    result = 1
    for item in items:
        result *= item
    return result


def _append(items: list[Any], *more: Any) -> list[Any]:
    return [*items, *more]


def _concatenate(*lists: list[Any]) -> list[Any]:
    return [item for items in lists for item in items]


def _distinct_values(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _index_of(items: list[Any], match: Any) -> list[int]:
    return [position for position, item in enumerate(items, start=1) if item == match]


# FEEL's type names, for ``instance of``, and the Python types whose values are of them.
_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float, Decimal), "string": (str,), "boolean": (bool,), "date": (date,),
    "date and time": (datetime,), "days and time duration": (timedelta,), "list": (list, tuple),
    "context": (dict,), "Any": (object,),
}


def _instance_of(value: Any, type_name: str) -> bool:
    if type_name == "number" and isinstance(value, bool):
        return False
    if type_name == "date" and isinstance(value, datetime):
        return False
    return isinstance(value, _TYPES[type_name])


def _is_defined(name: str, *path: str) -> bool:
    """FEEL's ``is defined(name.path)``: whether the expression calling it can read the variable ``name`` and,
    along ``path``, each context entry, whatever the value (null too). It looks the name up where the calling
    expression's own names live (its comprehension's, then the restricted engine's scope for it), reads nothing
    else and gives only True or False."""
    caller = sys._getframe(1)
    scope = caller.f_locals if name in caller.f_locals else caller.f_globals
    if name not in scope:
        return False
    value = scope[name]
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def _put(context: Any, path: list[str], value: Any) -> dict[str, Any]:
    """A mapping's value put along a path, as Camunda 8 maps to ``target="order.status"``: ``context`` (a new
    context when it is none) with the entry at ``path`` set to ``value``, the contexts on the way copied, or made
    where there is none."""
    top = dict(context) if isinstance(context, dict) else {}
    inner = top
    for key in path[:-1]:
        below = inner.get(key)
        inner[key] = dict(below) if isinstance(below, dict) else {}
        inner = inner[key]
    inner[path[-1]] = value
    return top


# Functions a translation may call, by the helper name the restricted engine is given them under.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "feel_date": _date, "feel_date_and_time": _date_and_time, "feel_number": _number,
    "feel_duration": _duration, "feel_substring": _substring, "feel_substring_before": _substring_before,
    "feel_substring_after": _substring_after, "feel_string_join": _string_join, "feel_decimal": _decimal,
    "feel_modulo": _modulo, "feel_mean": _mean, "feel_product": _product, "feel_append": _append,
    "feel_concatenate": _concatenate, "feel_distinct_values": _distinct_values, "feel_index_of": _index_of,
    "feel_instance_of": _instance_of, "feel_is_defined": _is_defined, "feel_put": _put,
}
# The functions that read a literal text (a date, a duration, a number): a literal is checked when translated.
_READING_LITERALS = {"date": _date, "date and time": _date_and_time, "duration": _duration, "number": _number}

# FEEL built-ins written as Python over the engine's safe builtins, or as one of FUNCTIONS: name → (arities, template).
_BUILTINS: dict[str, tuple[tuple[int, ...], str]] = {
    "date": ((1,), "feel_date({0})"),
    "date and time": ((1,), "feel_date_and_time({0})"),
    "number": ((1,), "feel_number({0})"),
    "duration": ((1,), "feel_duration({0})"),
    "string": ((1,), "str({0})"),
    "string length": ((1,), "len({0})"),
    "upper case": ((1,), "({0}).upper()"),
    "lower case": ((1,), "({0}).lower()"),
    "contains": ((2,), "(({1}) in ({0}))"),
    "starts with": ((2,), "({0}).startswith({1})"),
    "ends with": ((2,), "({0}).endswith({1})"),
    "substring": ((2, 3), "feel_substring({args})"),
    "substring before": ((2,), "feel_substring_before({args})"),
    "substring after": ((2,), "feel_substring_after({args})"),
    "string join": ((1, 2), "feel_string_join({args})"),
    "trim": ((1,), "({0}).strip()"),
    "abs": ((1,), "abs({0})"),
    "floor": ((1,), "(({0}) // 1)"),
    "ceiling": ((1,), "(-(-({0}) // 1))"),
    "round": ((1, 2), "round({args})"),
    "decimal": ((2,), "feel_decimal({args})"),
    "modulo": ((2,), "feel_modulo({args})"),
    "odd": ((1,), "(({0}) % 2 == 1)"),
    "even": ((1,), "(({0}) % 2 == 0)"),
    "min": ((1, 2, 3, 4, 5, 6, 7, 8), "min({args})"),
    "max": ((1, 2, 3, 4, 5, 6, 7, 8), "max({args})"),
    "sum": ((1,), "sum({0})"),
    "count": ((1,), "len({0})"),
    "mean": ((1,), "feel_mean({0})"),
    "product": ((1,), "feel_product({0})"),
    "all": ((1,), "all({0})"),
    "any": ((1,), "any({0})"),
    "list contains": ((2,), "(({1}) in ({0}))"),
    "append": ((2, 3, 4, 5, 6, 7, 8), "feel_append({args})"),
    "concatenate": ((1, 2, 3, 4, 5, 6, 7, 8), "feel_concatenate({args})"),
    "reverse": ((1,), "list(reversed({0}))"),
    "distinct values": ((1,), "feel_distinct_values({0})"),
    "index of": ((2,), "feel_index_of({args})"),
    "not": ((1,), "(not ({0}))"),
}
_IS_DEFINED = "is defined"  # a built-in whose argument is a variable or a path, read by _Parser.is_defined
_MULTIWORD = sorted([*(name for name in _BUILTINS if " " in name), _IS_DEFINED], key=len, reverse=True)
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
            type_name = next((name for name in sorted(_TYPES, key=len, reverse=True)
                              if [value for _, value in self.tokens[self.index:self.index + len(name.split())]]
                              == name.split()), None) or self.peek()[1]
            self.index += len(type_name.split())
            if type_name not in _TYPES:
                raise FeelNotSupported(f"{type_name!r} is not a type Valueflow knows: use one of {', '.join(_TYPES)}")
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
        if name not in _BUILTINS:
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
        """The Python calling the built-in ``name`` with ``args``; a literal it reads (a date, a duration) is read
        now, so that a wrong one is refused before a case runs into it."""
        arities, template = _BUILTINS[name]
        if len(args) not in arities:
            raise FeelNotSupported(f"{name}() takes {' or '.join(map(str, arities))} argument(s), not {len(args)}")
        if name in _READING_LITERALS and args[0].startswith(("'", '"')):
            try:
                _READING_LITERALS[name](ast.literal_eval(args[0]))
            except ValueError as exc:
                raise FeelNotSupported(f"{name}({args[0]}): {exc}") from None
        return template.format(*args, args=", ".join(args))


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


# What FEEL's escapes in a text stand for; any other keeps its backslash, as a pattern's "\d" or "\s" needs.
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), body, flags=re.S)
