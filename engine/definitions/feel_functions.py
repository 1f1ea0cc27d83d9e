"""FEEL's built-in functions, as the Python functions a translated expression (engine.definitions.feel) calls.

They follow FEEL as Camunda 8 runs it (feel-scala) and DMN 1.5 defines it, for the values a case holds (numbers,
text, booleans, dates, dates and times, days-and-time durations, lists and contexts): positions count from 1, and
from the end when negative; a function given an argument of a kind it does not take (null, a number where it reads
text) gives null; and what feel-scala reports as an error (``sum(["a"])``, ``sublist(items, 0)``, a pattern that is
no regular expression) raises ValueError saying so, which stops the case at its step.

A translated expression calling only these runs in the server's own process (engine.sandbox.bounded trusts
helpers), so each keeps to time and memory in proportion to its arguments, and what it makes to what a case keeps
(engine.sandbox.values): no text of more than MAX_TEXT characters, no list of more than MAX_ITEMS items, no number
of more than MAX_DIGITS digits. The regular expressions of ``matches``, ``replace``, ``split`` and ``extract``, in
the syntax Java's and the regex package's share (feel-scala reads them as Java's), with XPath's flags ``i``, ``s``,
``m``, ``x`` and ``q``, run on the regex package: a pattern too long once its repeats are written out
(``(?:a{1000}){1000}``, engine.definitions.pattern_size) is refused before it is compiled, which would take gigabytes, and a match going on longer
than REGEX_SECONDS (catastrophic backtracking: ``^(a|aa)+$`` on a long run of "a"s ending in "b") is stopped, the
interpreter lock released meanwhile. That bounds each call, not an expression making many.

Left out: ``now()`` and ``today()`` (the engine's clock, engine.time.clock, does not reach the sandbox processes, so
a case moved in time would see two times), ``random number()``, times of day, durations of years and months, ranges,
and the functions taking a function (``sort(list, precedes)``; ``sort(list)`` sorts in ascending order).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import json
import math
import re
import sys
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import (ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP,
                     ROUND_UP, Context, Decimal)
from typing import Any, Callable, Optional

import regex

from engine.definitions.pattern_size import pattern_too_large
from engine.sandbox.values import MAX_DIGITS, MAX_ITEMS, MAX_TEXT
from engine.time.durations import InvalidDuration, duration_length

REGEX_SECONDS = 1.0

_EXACT = Context(prec=3 * MAX_DIGITS)  # sums and products of the numbers a case holds, to the last digit
_QUOTIENT = Context(prec=34)  # FEEL's decimal128: means, square roots, logarithms
_MAX_SCALE = 6176  # the decimal places FEEL's numbers have at most


# --------------------------------------------------------------------------- kinds of values

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


_KINDS: dict[str, Callable[[Any], bool]] = {
    "text": lambda value: isinstance(value, str), "number": _is_number, "list": _is_list,
    "context": lambda value: isinstance(value, dict), "any": lambda value: True,
}


def _takes(*kinds: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A built-in whose arguments are of these kinds (of ``_KINDS``), in order: given one of another kind, null
    included, it gives null, as FEEL does."""
    checks = [_KINDS[kind] for kind in kinds]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def checked(*args: Any) -> Any:
            if all(check(arg) for check, arg in zip(checks, args)):
                return function(*args)
            return None
        return checked
    return decorate


def _items(args: tuple[Any, ...]) -> list[Any]:
    """The items of a function FEEL lets take a list or the items themselves (``sum([1, 2])``, ``sum(1, 2)``)."""
    return list(args[0]) if len(args) == 1 and _is_list(args[0]) else list(args)


def _key(value: Any) -> Any:
    """``value`` as FEEL compares it for equality, as something Python hashes: true is not 1, and lists and
    contexts are equal when their items are."""
    if isinstance(value, bool):
        return ("boolean", value)
    if _is_number(value):
        return ("number", value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return ("list", tuple(_key(item) for item in value))
    if isinstance(value, dict):
        return ("context", frozenset((key, _key(item)) for key, item in value.items()))
    return (type(value).__name__, value)


def _too_long(function: str) -> ValueError:
    return ValueError(f"{function}() would make a text of more than {MAX_TEXT:,} characters, more than a case keeps")


def _too_many(function: str) -> ValueError:
    return ValueError(f"{function}() would make a list of more than {MAX_ITEMS:,} items, more than a case keeps")


# --------------------------------------------------------------------------- numbers

def _exact(number: Any) -> Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def _plain(number: Decimal) -> int | float:
    """A number as a case keeps it: an int when whole, else a float."""
    if number.is_finite() and number.adjusted() >= MAX_DIGITS:
        raise ValueError(f"the result has more than {MAX_DIGITS:,} digits, more than a case keeps")
    return int(number) if number == number.to_integral_value() else float(number)


def _numbers(items: list[Any], function: str) -> list[Decimal]:
    for item in items:
        if not _is_number(item):
            raise ValueError(f"{function}() takes numbers, not {_text(item, quoted=True)}")
    return [_exact(item) for item in items]


def _rounded(number: Any, scale: Any, rounding: str) -> Optional[int | float]:
    if not _is_number(number) or not _is_number(scale) or scale != int(scale) or abs(scale) > _MAX_SCALE:
        return None
    return _plain(_exact(number).quantize(Decimal(1).scaleb(-int(scale)), rounding=rounding, context=_EXACT))


def _decimal(number: Any, scale: Any = 0) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_HALF_EVEN)


def _floor(number: Any, scale: Any = 0) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_FLOOR)


def _ceiling(number: Any, scale: Any = 0) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_CEILING)


def _round_up(number: Any, scale: Any) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_UP)


def _round_down(number: Any, scale: Any) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_DOWN)


def _round_half_up(number: Any, scale: Any) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_HALF_UP)


def _round_half_down(number: Any, scale: Any) -> Optional[int | float]:
    return _rounded(number, scale, ROUND_HALF_DOWN)


def _abs(value: Any) -> Any:
    return abs(value) if _is_number(value) or isinstance(value, timedelta) else None


@_takes("number", "number")
def _modulo(dividend: Any, divisor: Any) -> int | float:
    """The remainder with the divisor's sign, as FEEL's ``modulo(-7, 4)`` is 1."""
    if divisor == 0:
        raise ZeroDivisionError(f"modulo({_text(dividend)}, 0) divides by zero")
    remainder = _EXACT.remainder(_exact(dividend), _exact(divisor))
    if remainder and (remainder < 0) != (divisor < 0):
        remainder = _EXACT.add(remainder, _exact(divisor))
    return _plain(remainder)


@_takes("number")
def _sqrt(number: Any) -> Optional[int | float]:
    return None if number < 0 else _plain(_exact(number).sqrt(_QUOTIENT))


@_takes("number")
def _log(number: Any) -> Optional[int | float]:
    return None if number <= 0 else _plain(_exact(number).ln(_QUOTIENT))


@_takes("number")
def _exp(number: Any) -> Optional[float]:
    try:
        return math.exp(number)
    except OverflowError:
        return None


def _whole(number: Any) -> bool:
    return _is_number(number) and number == int(number)


def _odd(number: Any) -> Optional[bool]:
    return int(number) % 2 == 1 if _whole(number) else None


def _even(number: Any) -> Optional[bool]:
    return int(number) % 2 == 0 if _whole(number) else None


def _sum(*args: Any) -> Optional[int | float]:
    numbers = _numbers(_items(args), "sum")
    return _plain(_sum_exact(numbers)) if numbers else None


def _sum_exact(numbers: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for number in numbers:
        total = _EXACT.add(total, number)
    return total


def _product(*args: Any) -> Optional[int | float]:
    numbers = _numbers(_items(args), "product")
    if not numbers:
        return None
    result = Decimal(1)
    for number in numbers:
        result = _EXACT.multiply(result, number)
        if result and result.adjusted() >= MAX_DIGITS:
            raise ValueError(f"product() gives a number of more than {MAX_DIGITS:,} digits, more than a case keeps")
    return _plain(result)


def _mean(*args: Any) -> Optional[int | float]:
    numbers = _numbers(_items(args), "mean")
    return _plain(_QUOTIENT.divide(_sum_exact(numbers), len(numbers))) if numbers else None


def _median(*args: Any) -> Optional[int | float]:
    numbers = sorted(_numbers(_items(args), "median"))
    if not numbers:
        return None
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return _plain(numbers[middle])
    return _plain(_QUOTIENT.divide(_EXACT.add(numbers[middle - 1], numbers[middle]), 2))


def _stddev(*args: Any) -> Optional[int | float]:
    """The sample standard deviation; null for fewer than two numbers."""
    numbers = _numbers(_items(args), "stddev")
    if len(numbers) < 2:
        return None
    mean = _QUOTIENT.divide(_sum_exact(numbers), len(numbers))
    squares = _sum_exact([_QUOTIENT.power(_QUOTIENT.subtract(number, mean), 2) for number in numbers])
    return _plain(_QUOTIENT.divide(squares, len(numbers) - 1).sqrt(_QUOTIENT))


def _mode(*args: Any) -> list[Any]:
    """The numbers that come most often, smallest first."""
    numbers = _items(args)
    _numbers(numbers, "mode")
    counts = Counter(numbers)
    most = max(counts.values(), default=0)
    return sorted(number for number, count in counts.items() if count == most)


def _compared(function: str, choose: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    items = _items(args)
    if not items:
        return None
    try:
        return choose(items)
    except TypeError:
        raise ValueError(f"{function}() takes items that compare with each other, not "
                         f"{_text(items, quoted=True)[:200]}") from None


def _min(*args: Any) -> Any:
    return _compared("min", min, args)


def _max(*args: Any) -> Any:
    return _compared("max", max, args)


# --------------------------------------------------------------------------- booleans

def _not(value: Any) -> Optional[bool]:
    return not value if isinstance(value, bool) else None


def _decided(args: tuple[Any, ...], decisive: bool) -> Optional[bool]:
    """``decisive`` when one of the items is, else the other boolean when all are booleans, else null."""
    result: Optional[bool] = not decisive
    for item in _items(args):
        if item is decisive:
            return decisive
        if not isinstance(item, bool):
            result = None
    return result


def _all(*args: Any) -> Optional[bool]:
    return _decided(args, False)


def _any(*args: Any) -> Optional[bool]:
    return _decided(args, True)


def _get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


def _assert(value: Any, condition: Any, cause: Any = None) -> Any:
    """``value`` when ``condition`` is true; else the case stops with ``cause``."""
    if condition is True:
        return value
    raise ValueError(cause if isinstance(cause, str) else f"assert() found its condition not met for {_text(value)}")


# --------------------------------------------------------------------------- text

def _position(length: int, position: Any) -> int:
    """The Python index of FEEL's 1-based ``position`` (from the end when negative), within 0..length."""
    index = int(position) - 1 if position > 0 else length + int(position)
    return min(max(index, 0), length)


@_takes("text", "number", "number")
def _substring(text: str, start: Any, length: Any = None) -> Optional[str]:
    begin = _position(len(text), start)
    if length is None:
        return text[begin:]
    return text[begin:begin + int(length)] if length >= 0 else None


@_takes("text")
def _string_length(text: str) -> int:
    return len(text)


@_takes("text")
def _upper_case(text: str) -> str:
    return text.upper()


@_takes("text")
def _lower_case(text: str) -> str:
    return text.lower()


@_takes("text", "text")
def _substring_before(text: str, match: str) -> str:
    return text.partition(match)[0] if match in text else ""


@_takes("text", "text")
def _substring_after(text: str, match: str) -> str:
    return text.partition(match)[2] if match in text else ""


@_takes("text", "text")
def _contains(text: str, match: str) -> bool:
    return match in text


@_takes("text", "text")
def _starts_with(text: str, match: str) -> bool:
    return text.startswith(match)


@_takes("text", "text")
def _ends_with(text: str, match: str) -> bool:
    return text.endswith(match)


@_takes("text")
def _trim(text: str) -> str:
    return text.strip()


@_takes("text")
def _is_blank(text: str) -> bool:
    return not text.strip()


def _uuid() -> str:
    return str(uuid.uuid4())


@_takes("text")
def _to_base64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@_takes("text")
def _from_base64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"from base64() takes Base64 of UTF-8 text, not {text[:100]!r}") from None


@_takes("list", "any", "any", "any")
def _string_join(items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> Optional[str]:
    """The texts of ``items`` (nulls left out) joined by ``delimiter``, between ``prefix`` and ``suffix``."""
    if not all(isinstance(part, (str, type(None))) for part in (delimiter, prefix, suffix)):
        return None
    texts = [item for item in items if item is not None]
    if not all(isinstance(item, str) for item in texts):
        raise ValueError(f"string join() takes a list of texts, not {_text(items, quoted=True)[:200]}")
    delimiter, prefix, suffix = delimiter or "", prefix or "", suffix or ""
    if sum(map(len, texts)) + len(delimiter) * max(len(texts) - 1, 0) + len(prefix) + len(suffix) > MAX_TEXT:
        raise _too_long("string join")
    return prefix + delimiter.join(texts) + suffix


# --------------------------------------------------------------------------- regular expressions

_FLAGS = {"i": regex.IGNORECASE, "s": regex.DOTALL, "m": regex.MULTILINE, "x": regex.VERBOSE}
@functools.lru_cache(maxsize=32)
def regular_expression(pattern: str, flags: str = "") -> Any:
    """``pattern`` compiled with FEEL's ``flags`` (``i`` ignores case, ``s`` lets ``.`` match a line break, ``m``
    makes ``^`` and ``$`` match at lines, ``x`` ignores blanks and ``#`` comments, ``q`` reads the pattern as plain
    text); ValueError saying why it is not one Valueflow runs."""
    if set(flags) - set(_FLAGS) - {"q"}:
        raise ValueError(f"{flags!r} are not flags of a regular expression: use i, s, m, x or q, or none")
    if "q" in flags:
        pattern = regex.escape(pattern)
    too_large = pattern_too_large(pattern)
    if too_large:
        raise ValueError(too_large)
    options = 0
    for flag in set(flags) - {"q"}:
        options |= _FLAGS[flag]
    try:
        return regex.compile(pattern, options, cache_pattern=False)
    except regex.error as exc:
        raise ValueError(f"the pattern {pattern!r} is not a regular expression: {exc}") from None
    except RecursionError:
        raise ValueError(f"the pattern {pattern[:50]!r}… nests its groups too deep") from None


def _timed(pattern: str, text: str, run: Callable[[], Any]) -> Any:
    try:
        return run()
    except TimeoutError:
        raise ValueError(f"the pattern {pattern!r} took longer than {REGEX_SECONDS:g} s on a text of {len(text):,} "
                         "characters: write it so that it cannot match the same text in many ways (as (a|aa)+ or "
                         "(x+)+ can, trying each in turn)") from None


@_takes("text", "text", "text")
def _matches(text: str, pattern: str, flags: str = "") -> bool:
    """Whether ``pattern`` matches somewhere in ``text``."""
    compiled = regular_expression(pattern, flags)
    return _timed(pattern, text, lambda: compiled.search(text, timeout=REGEX_SECONDS, concurrent=True) is not None)


_TEMPLATE = re.compile(r"\\(.)|\$(\d+|\{\w+\})|([\\$])|([^\\$]+)", re.S)


def _replacement(template: str, compiled: Any) -> list[str | int]:
    """Java's replacement text as parts: plain text, and the numbers of the groups ``$1`` or ``${name}`` put in (a
    group number takes as many digits as make a group of the pattern; ``\\$`` is a dollar sign)."""
    parts: list[str | int] = []
    for escaped, group, alone, plain in _TEMPLATE.findall(template):
        if alone:
            raise ValueError(f"the replacement {template!r} has a '$' that names no group or a '\\' that escapes "
                             "nothing: write \\$ for a dollar sign, \\\\ for a backslash")
        if group.startswith("{") and group[1:-1] not in compiled.groupindex:
            raise ValueError(f"the replacement {template!r} names the group {group[1:-1]!r}, which the pattern does "
                             "not have")
        if group.startswith("{"):
            parts.append(compiled.groupindex[group[1:-1]])
        elif group:
            digits = 1
            while digits < len(group) and int(group[:digits + 1]) <= compiled.groups:
                digits += 1
            if int(group[:digits]) > compiled.groups:
                raise ValueError(f"the replacement {template!r} names the group {group[:digits]}, which the pattern "
                                 "does not have")
            parts += [int(group[:digits]), group[digits:]]
        else:
            parts.append(escaped or plain)
    return [part for part in parts if part != ""]


@_takes("text", "text", "text", "text")
def _replace(text: str, pattern: str, replacement: str, flags: str = "") -> str:
    """``text`` with each match of ``pattern`` replaced, ``$1`` in ``replacement`` standing for the first group
    (with the flag ``q``, ``replacement`` is plain text too)."""
    compiled = regular_expression(pattern, flags)
    parts = [replacement] if "q" in flags else _replacement(replacement, compiled)
    made = [len(text)]

    def replace(match: Any) -> str:
        made[0] += sum(len(part) if isinstance(part, str) else match.end(part) - match.start(part) for part in parts)
        if made[0] > MAX_TEXT:
            raise _too_long("replace")
        return "".join(part if isinstance(part, str) else match.group(part) or "" for part in parts)

    return _timed(pattern, text, lambda: compiled.sub(replace, text, timeout=REGEX_SECONDS, concurrent=True))


def _found(text: str, pattern: str, function: str) -> list[Any]:
    compiled = regular_expression(pattern)

    def matches() -> list[Any]:
        found = []
        for match in compiled.finditer(text, timeout=REGEX_SECONDS, concurrent=True):
            found.append(match)
            if len(found) > MAX_ITEMS:
                raise _too_many(function)
        return found
    return _timed(pattern, text, matches)


@_takes("text", "text")
def _split(text: str, delimiter: str) -> list[str]:
    """The parts of ``text`` between the matches of the pattern ``delimiter``, empty ones too (but none before a
    match of no characters at the start)."""
    pieces, begin = [], 0
    for match in _found(text, delimiter, "split"):
        if match.end() == 0:
            continue
        pieces.append(text[begin:match.start()])
        begin = match.end()
    return [*pieces, text[begin:]]


@_takes("text", "text")
def _extract(text: str, pattern: str) -> list[str]:
    """Every match of ``pattern`` in ``text``."""
    return [match.group() for match in _found(text, pattern, "extract")]


# --------------------------------------------------------------------------- lists

@_takes("list", "any")
def _list_contains(items: Any, match: Any) -> bool:
    wanted = _key(match)
    return any(_key(item) == wanted for item in items)


@_takes("list")
def _count(items: Any) -> int:
    return len(items)


@_takes("list")
def _is_empty(items: Any) -> bool:
    return not items


def _nonzero(position: Any, function: str) -> None:
    if position == 0:
        raise ValueError(f"{function}() counts positions from 1 (and from -1 at the end), not from 0")


@_takes("list", "number", "number")
def _sublist(items: Any, start: Any, length: Any = None) -> Optional[list[Any]]:
    _nonzero(start, "sublist")
    begin = _position(len(items), start)
    if length is None:
        return list(items[begin:])
    return list(items[begin:begin + int(length)]) if length >= 0 else None


@_takes("list")
def _append(items: Any, *more: Any) -> list[Any]:
    return [*items, *more]


def _spread(lists: tuple[Any, ...]) -> list[Any]:
    """The items of the lists, in order; an argument that is no list counts as one item, as in feel-scala."""
    return [item for part in lists for item in (part if _is_list(part) else [part])]


def _concatenate(*lists: Any) -> list[Any]:
    return _spread(lists)


@_takes("list", "number", "any")
def _insert_before(items: Any, position: Any, new_item: Any) -> list[Any]:
    _nonzero(position, "insert before")
    index = _position(len(items), position)
    return [*items[:index], new_item, *items[index:]]


@_takes("list", "number")
def _remove(items: Any, position: Any) -> list[Any]:
    _nonzero(position, "remove")
    index = int(position) - 1 if position > 0 else len(items) + int(position)
    return [item for at, item in enumerate(items) if at != index]


@_takes("list", "number", "any")
def _list_replace(items: Any, position: Any, new_item: Any) -> Optional[list[Any]]:
    """``items`` with the one at ``position`` replaced (DMN 1.5); null for a position the list does not have."""
    if position == 0 or abs(position) > len(items):
        return None
    index = int(position) - 1 if position > 0 else len(items) + int(position)
    return [new_item if at == index else item for at, item in enumerate(items)]


@_takes("list")
def _reverse(items: Any) -> list[Any]:
    return list(reversed(items))


@_takes("list", "any")
def _index_of(items: Any, match: Any) -> list[int]:
    wanted = _key(match)
    return [position for position, item in enumerate(items, start=1) if _key(item) == wanted]


def _distinct(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    kept = []
    for item in items:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _union(*lists: Any) -> list[Any]:
    return _distinct(_spread(lists))


@_takes("list")
def _distinct_values(items: Any) -> list[Any]:
    return _distinct(list(items))


@_takes("list")
def _duplicate_values(items: Any) -> list[Any]:
    counts = Counter(_key(item) for item in items)
    return [item for item in _distinct(list(items)) if counts[_key(item)] > 1]


@_takes("list")
def _flatten(items: Any) -> list[Any]:
    """The items of ``items`` and of the lists in it, however deep, in order."""
    flat: list[Any] = []
    pending = [iter(items)]
    while pending:
        for item in pending[-1]:
            if _is_list(item):
                pending.append(iter(item))
                break
            flat.append(item)
        else:
            pending.pop()
    return flat


@_takes("list")
def _sort(items: Any) -> list[Any]:
    """The items in ascending order (``sort`` with a function FEEL also has is not translated)."""
    return _compared("sort", sorted, (list(items),)) or []


@_takes("list", "number")
def _partition(items: Any, size: Any) -> list[list[Any]]:
    if size < 1:
        raise ValueError(f"partition() takes a size of 1 or more, not {_text(size)}")
    step = int(size)
    return [list(items[at:at + step]) for at in range(0, len(items), step)]


# --------------------------------------------------------------------------- contexts

def _keys(path: Any) -> Optional[list[str]]:
    """A key, or a list of keys, as a path; None for anything else."""
    if isinstance(path, str):
        return [path]
    if _is_list(path) and path and all(isinstance(key, str) for key in path):
        return list(path)
    return None


@_takes("context", "any")
def _get_value(context: dict[str, Any], key: Any) -> Any:
    """The value at ``key`` (or along a list of keys) of ``context``; null when it has none."""
    path = _keys(key)
    if path is None:
        return None
    value: Any = context
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


@_takes("context")
def _get_entries(context: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in context.items()]


def _put(context: Any, path: list[str], value: Any) -> dict[str, Any]:
    """``context`` (a new context when it is none) with the entry at ``path`` set to ``value``, the contexts on the
    way copied, or made where there is none: as ``context put()`` does, and a Camunda 8 mapping to
    ``target="order.status"``."""
    top = dict(context) if isinstance(context, dict) else {}
    inner = top
    for key in path[:-1]:
        below = inner.get(key)
        inner[key] = dict(below) if isinstance(below, dict) else {}
        inner = inner[key]
    inner[path[-1]] = value
    return top


@_takes("context", "any", "any")
def _context_put(context: dict[str, Any], key: Any, value: Any) -> Optional[dict[str, Any]]:
    path = _keys(key)
    return _put(context, path, value) if path else None


def _context_merge(*contexts: Any) -> Optional[dict[str, Any]]:
    """One context of the entries of ``contexts``, a later one's entry winning."""
    contexts_given = _items(contexts)
    if not all(isinstance(context, dict) for context in contexts_given):
        return None
    return {key: value for context in contexts_given for key, value in context.items()}


@_takes("list")
def _context(entries: Any) -> Optional[dict[str, Any]]:
    """The context of a list of entries ``{key: "a", value: 1}``."""
    if not all(isinstance(entry, dict) and isinstance(entry.get("key"), str) and "value" in entry
               for entry in entries):
        return None
    return {entry["key"]: entry["value"] for entry in entries}


# --------------------------------------------------------------------------- conversions

def read_date(text: str) -> date:
    """A date written ``2026-03-02``; ValueError when it is none."""
    return date.fromisoformat(text)


def read_date_and_time(text: str) -> datetime:
    """A date and time written ``2026-03-02T09:00:00``; ValueError when it is none."""
    return datetime.fromisoformat(text)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def read_number(text: str, grouping: Any = None, decimal: Any = None) -> int | float:
    """The number ``text`` writes (``2.5``, ``-1e3``), its digits grouped by ``grouping`` (a space, "," or ".") and
    its decimals after ``decimal`` ("," or "."); ValueError when it writes none."""
    if grouping not in (None, " ", ",", ".") or decimal not in (None, ",", ".") or (grouping and grouping == decimal):
        raise ValueError(f"number() groups digits with ' ', ',' or '.' and marks decimals with ',' or '.', not "
                         f"{grouping!r} and {decimal!r}")
    plain = text.strip().replace(grouping or "", "").replace(decimal or ".", ".")
    if not _NUMBER.fullmatch(plain):
        raise ValueError(f"{text!r} is not a number")
    return _plain(Decimal(plain))


def read_duration(text: str) -> timedelta:
    """A days-and-time duration (``P3D``, ``-PT4H30M``); years and months have no fixed length and are refused."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("-")
    if re.search(r"\d[YM]", body.upper().split("T")[0]):
        raise ValueError(f"the duration {text!r} counts years or months, which have no fixed length: "
                         "write it in days (P30D)")
    try:
        return sign * timedelta(seconds=round(duration_length(body)))
    except InvalidDuration:
        raise ValueError(f"{text!r} is not an ISO 8601 duration (for example P3D or PT4H)") from None
    except OverflowError:
        raise ValueError(f"the duration {text!r} is longer than a date can be away") from None


def _date(*parts: Any) -> Optional[date]:
    """``date("2026-03-02")``, the date of a date and time, or ``date(2026, 3, 2)``."""
    if len(parts) == 3:
        if not all(_whole(part) for part in parts):
            return None
        try:
            return date(*map(int, parts))
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"date({', '.join(map(_text, parts))}) is no date: {exc}") from None
    [value] = parts
    if isinstance(value, str):
        return read_date(value)
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _date_and_time(value: Any) -> Optional[datetime]:
    if isinstance(value, str):
        return read_date_and_time(value)
    return value if isinstance(value, datetime) else None


@_takes("text", "any", "any")
def _number(text: str, grouping: Any = None, decimal: Any = None) -> int | float:
    return read_number(text, grouping, decimal)


@_takes("text")
def _duration(text: str) -> timedelta:
    return read_duration(text)


def _string(value: Any) -> Optional[str]:
    return None if value is None else _text(value)


def _duration_text(length: timedelta) -> str:
    """A days-and-time duration as FEEL writes it: ``P1DT2H30M``, ``-PT4H``, ``P0D``."""
    sign, length = ("-", -length) if length < timedelta(0) else ("", length)
    hours, rest = divmod(length.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    second_text = f"{seconds}.{length.microseconds:06d}".rstrip("0") if length.microseconds else str(seconds)
    time = "".join(f"{amount}{unit}" for amount, unit in ((hours, "H"), (minutes, "M"), (second_text, "S"))
                   if amount not in (0, "0"))
    days = f"{length.days}D" if length.days else ""
    return sign + "P" + days + (f"T{time}" if time else "") if days or time else "P0D"


def _text(value: Any, quoted: bool = False) -> str:
    """``value`` written as FEEL's ``string()`` writes it; a text in a list or a context (``quoted``) in quotes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if quoted else value
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration_text(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(item, True) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}:{_text(item, True)}" for key, item in value.items()) + "}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, timedelta):
        return _duration_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def _to_json(value: Any) -> str:
    return json.dumps(value, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a case keeps")


@_takes("text")
def _from_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"from json() takes JSON, not {text[:100]!r}: {exc}") from None


# --------------------------------------------------------------------------- dates

def _day(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _day_of_year(value: Any) -> Optional[int]:
    day = _day(value)
    return day.timetuple().tm_yday if day else None


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def _day_of_week(value: Any) -> Optional[str]:
    day = _day(value)
    return _WEEKDAYS[day.weekday()] if day else None


def _month_of_year(value: Any) -> Optional[str]:
    day = _day(value)
    return _MONTHS[day.month - 1] if day else None


def _week_of_year(value: Any) -> Optional[int]:
    day = _day(value)
    return day.isocalendar().week if day else None


def _last_day_of_month(value: Any) -> Optional[date]:
    day = _day(value)
    return day.replace(day=calendar.monthrange(day.year, day.month)[1]) if day else None


# --------------------------------------------------------------------------- types and names

# FEEL's type names, for ``instance of``, and the Python types whose values are of them.
TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float, Decimal), "string": (str,), "boolean": (bool,), "date": (date,),
    "date and time": (datetime,), "days and time duration": (timedelta,), "list": (list, tuple),
    "context": (dict,), "Any": (object,),
}


def _instance_of(value: Any, type_name: str) -> bool:
    if type_name == "number" and isinstance(value, bool):
        return False
    if type_name == "date" and isinstance(value, datetime):
        return False
    return isinstance(value, TYPES[type_name])


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


MANY = None  # in a built-in's arities: any number of arguments from the one before

# FEEL's built-in functions by name: the numbers of arguments each takes, and the function.
BUILTINS: dict[str, tuple[tuple[Optional[int], ...], Callable[..., Any]]] = {
    # conversions
    "date": ((1, 3), _date), "date and time": ((1,), _date_and_time), "number": ((1, 2, 3), _number),
    "string": ((1,), _string), "duration": ((1,), _duration), "from json": ((1,), _from_json),
    "to json": ((1,), _to_json),
    # booleans
    "not": ((1,), _not), "get or else": ((2,), _get_or_else), "assert": ((2, 3), _assert),
    # text
    "substring": ((2, 3), _substring), "string length": ((1,), _string_length), "upper case": ((1,), _upper_case),
    "lower case": ((1,), _lower_case), "substring before": ((2,), _substring_before),
    "substring after": ((2,), _substring_after), "replace": ((3, 4), _replace), "contains": ((2,), _contains),
    "starts with": ((2,), _starts_with), "ends with": ((2,), _ends_with), "matches": ((2, 3), _matches),
    "split": ((2,), _split), "extract": ((2,), _extract), "trim": ((1,), _trim), "uuid": ((0,), _uuid),
    "to base64": ((1,), _to_base64), "from base64": ((1,), _from_base64), "is blank": ((1,), _is_blank),
    # lists
    "list contains": ((2,), _list_contains), "count": ((1,), _count), "min": ((1, MANY), _min),
    "max": ((1, MANY), _max), "sum": ((1, MANY), _sum), "product": ((1, MANY), _product),
    "mean": ((1, MANY), _mean), "median": ((1, MANY), _median), "stddev": ((1, MANY), _stddev),
    "mode": ((1, MANY), _mode), "all": ((1, MANY), _all), "any": ((1, MANY), _any),
    "sublist": ((2, 3), _sublist), "append": ((2, MANY), _append), "concatenate": ((1, MANY), _concatenate),
    "insert before": ((3,), _insert_before), "remove": ((2,), _remove), "list replace": ((3,), _list_replace),
    "reverse": ((1,), _reverse), "index of": ((2,), _index_of), "union": ((1, MANY), _union),
    "distinct values": ((1,), _distinct_values), "duplicate values": ((1,), _duplicate_values),
    "flatten": ((1,), _flatten), "sort": ((1,), _sort), "string join": ((1, 2, 4), _string_join),
    "is empty": ((1,), _is_empty), "partition": ((2,), _partition),
    # numbers
    "decimal": ((2,), _decimal), "floor": ((1, 2), _floor), "ceiling": ((1, 2), _ceiling),
    "round": ((1, 2), _decimal), "round up": ((2,), _round_up), "round down": ((2,), _round_down),
    "round half up": ((2,), _round_half_up), "round half down": ((2,), _round_half_down), "abs": ((1,), _abs),
    "modulo": ((2,), _modulo), "sqrt": ((1,), _sqrt), "log": ((1,), _log), "exp": ((1,), _exp),
    "odd": ((1,), _odd), "even": ((1,), _even),
    # contexts
    "get value": ((2,), _get_value), "get entries": ((1,), _get_entries), "context put": ((3,), _context_put),
    "context merge": ((1, MANY), _context_merge), "context": ((1,), _context),
    # dates
    "day of year": ((1,), _day_of_year), "day of week": ((1,), _day_of_week),
    "month of year": ((1,), _month_of_year), "week of year": ((1,), _week_of_year),
    "last day of month": ((1,), _last_day_of_month),
}


def helper_name(name: str) -> str:
    """The name a translation calls the built-in ``name`` by: ``string join`` is ``feel_string_join``."""
    return "feel_" + "_".join(name.split())


# The functions a translation may call, by the helper name the restricted engine is given them under.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{helper_name(name): function for name, (_, function) in BUILTINS.items()},
    "feel_instance_of": _instance_of, "feel_is_defined": _is_defined, "feel_put": _put,
}

# The arguments a built-in reads as a notation (a date, a duration, a pattern), by position, and the function reading
# them: a literal one is read when the expression is translated, so that a wrong one is refused before a case runs.
NOTATIONS: dict[str, tuple[tuple[int, ...], Callable[..., Any]]] = {
    "date": ((0,), read_date), "date and time": ((0,), read_date_and_time), "duration": ((0,), read_duration),
    "number": ((0, 1, 2), read_number), "matches": ((1, 2), regular_expression), "replace": ((1, 3), regular_expression),
    "split": ((1,), regular_expression), "extract": ((1,), regular_expression),
}
