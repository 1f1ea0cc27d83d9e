"""FEEL's built-in functions, as DMN 1.5 and Camunda 8 define them, translated and run in the restricted engine;
their regular expressions stopped when they backtrack too long."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta

import pytest

from engine import service
from engine.definitions.feel import FUNCTIONS, FeelNotSupported, expression_to_python
from engine.definitions.feel_functions import REGEX_SECONDS
from engine.sandbox.scripting import RestrictedEnvironment
from engine.work import queries
from tests.unit.test_script_errors import KIM, LEE, assert_errored_at, deploy, gated

ENVIRONMENT = RestrictedEnvironment(FUNCTIONS)
DATA = {"name": "Ada Moss", "items": [3, 5, 8], "due": date(2026, 3, 2), "order": {"id": 7, "lines": [1, 2]},
        "note": None}
BACKTRACKING = ("a" * 60 + "b", "^(a|aa)+$")  # a text and a pattern that would try ways to match for ages


def run(feel: str, data: dict | None = None):
    return ENVIRONMENT.evaluate(expression_to_python(feel), dict(DATA if data is None else data))


@pytest.mark.parametrize("feel, value", [
    # text
    ('matches("Sales team", "SALES", "i") and not(matches("Sales team", "^team"))', True),
    (r'matches("two\nlines", "two.lines", "s") and matches("two\nlines", "^lines$", "m")', True),
    ('matches("a b", "a b c", "x") = false and matches("1+1", "1+1", "q")', True),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
    ('replace("0123456789", "(0)(1)(2)(3)(4)(5)(6)(7)(8)(9)", "$10")', "9"),
    (r'replace("Ada Moss", "(?<first>\w+) (\w+)", "$2, ${first}")', "Moss, Ada"),
    (r'replace("abc", "", "-") + replace("a.b", ".", "$", "q") + replace("ABC", "b", "\$", "i")', "-a-b-c-a$bA$C"),
    (r'split("John Doe", "\s")', ["John", "Doe"]),
    ('split("a;b;c;;", ";")', ["a", "b", "c", "", ""]),
    ('split("abc", "")', ["a", "b", "c", ""]),
    ('extract("references are 1234, 1256, 1378", "12[0-9]*")', ["1234", "1256"]),
    ('substring("foobar", -2, 1) + substring("foobar", 3) + substring("foobar", -10, 2)', "aobarfo"),
    (r'string length("straße") + string length("") + count(extract("a1b2", "\d"))', 8),
    ('lower case("ABC") + upper case("abc") + trim("  x  ") + replace("y", "y", "z")', "abcABCxz"),
    (r'is blank(" \t") and not(is blank(" a")) and ends with(name, "Moss")', True),
    ('to base64("FEEL") + " " + from base64("RkVFTA==")', "RkVFTA== FEEL"),
    ('string join(["a", null, "c"], ", ", "[", "]")', "[a, c]"),
    ('count(uuid()) = null and string length(uuid()) = 36 and uuid() != uuid()', True),
    ('string(1.5) + string(2) + string(true) + string(due) + string(duration("-P1DT2H30M"))',
     "1.52true2026-03-02-P1DT2H30M"),
    ('string([1, "a", {b: null}]) + string(0.0000001) + string(duration("PT0S"))', '[1, "a", {b:null}]0.0000001P0D'),
    # lists
    ('list contains([1, null], null) and not(list contains([true], 1))', True),
    ("min(3, 1, 2) + max([1, 4]) + sum(1, 2) + count([1, [2, 3]])", 1 + 4 + 3 + 2),
    ("sum([0.1, 0.2]) = 0.3 and product(2, 3, 4) = 24 and mean(1, 2, 3) = 2", True),
    ("[median(8, 2, 5, 3, 4), median([6, 1, 2, 3]), stddev(2, 4, 7, 5)]", [4, 2.5, 2.0816659994661326]),
    ("[mode(6, 3, 9, 6, 6), mode([6, 1, 9, 6, 1]), mode([])]", [[6], [1, 6], []]),
    ("[all([]), all(true, null), all(false, null), any([]), any(false, null), any(null, true)]",
     [True, None, False, False, None, True]),
    ("[sublist([4, 5, 6], 1, 2), sublist([4, 5, 6], -2), sublist([4, 5, 6], 2, 9)]", [[4, 5], [5, 6], [5, 6]]),
    ("[insert before([1, 3], 2, 2), insert before([1, 3], -1, 2), remove([1, 2, 3], 2), remove([1, 2, 3], -1)]",
     [[1, 2, 3], [1, 2, 3], [1, 3], [1, 2]]),
    ("[list replace([2, 4, 7, 8], 3, 6), append([1], 2, 3), concatenate([1, 2], [3]), reverse([1, 2, 3])]",
     [[2, 4, 6, 8], [1, 2, 3], [1, 2, 3], [3, 2, 1]]),
    ("[union([1, 2], [2, 3]), distinct values([1, [1], [1], true, 1.0]), duplicate values([1, 2, 3, 2, 1])]",
     [[1, 2, 3], [1, [1], True], [1, 2]]),
    ("[index of([1, 2, 3, 2], 2), flatten([[1, 2], [[3]], 4]), sort([3, 1, 2]), sort([\"b\", \"a\"])]",
     [[2, 4], [1, 2, 3, 4], [1, 2, 3], ["a", "b"]]),
    ("is empty([]) and not(is empty(items))", True),
    ("partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
    # numbers
    ("[floor(-2.5), floor(1.567, 2), ceiling(1.5), ceiling(-1.567, 2), decimal(2.5, 0), decimal(1.125, 2)]",
     [-3, 1.56, 2, -1.56, 2, 1.12]),
    ("[round up(5.5, 0), round up(-5.5, 0), round down(5.5, 0), round half up(-5.5, 0), round half down(5.5, 0)]",
     [6, -6, 5, -6, 5]),
    ("[round up(1.121, 2), round down(1.129, 2), round half up(1.125, 2), round half down(1.125, 2)]",
     [1.13, 1.12, 1.13, 1.12]),
    ("[modulo(12, 5), modulo(-12, 5), modulo(12, -5), modulo(10.1, 4.5)]", [2, 3, -3, 1.1]),
    ("[sqrt(16), sqrt(2), log(10), exp(5), abs(-1.5), abs(duration(\"-P1D\"))]",
     [4, 1.4142135623730951, 2.302585092994046, 148.4131591025766, 1.5, timedelta(days=1)]),
    ("[odd(5), odd(-3), odd(2), even(-2), even(3), odd(2.5)]", [True, True, False, True, False, None]),
    # contexts
    ('[get value(order, "id"), get value({a: {b: 2}}, ["a", "b"]), get value(order, "x")]', [7, 2, None]),
    ("get entries({a: 1, b: 2})", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
    ('context([{key: "a", value: 1}, {key: "b", value: null}])', {"a": 1, "b": None}),
    ('context put(order, "id", 8)', {"id": 8, "lines": [1, 2]}),
    ('context put({x: {y: 1}}, ["x", "z"], 2)', {"x": {"y": 1, "z": 2}}),
    ("[context merge([{x: 1}, {y: 2}]), context merge({x: 1}, {x: 2})]", [{"x": 1, "y": 2}, {"x": 2}]),
    # conversions, booleans
    ('[number("1,000.21", ",", "."), number("1.000,5", ".", ","), number("1 000", " "), number("-1e3")]',
     [1000.21, 1000.5, 1000, -1000]),
    ('[date(2026, 2, 28), date(date and time("2026-03-02T09:00:00")), date(due)]',
     [date(2026, 2, 28), date(2026, 3, 2), date(2026, 3, 2)]),
    ('to json({a: [1, "x", due, null, duration("PT1H")]})', '{"a":[1,"x","2026-03-02",null,"PT1H"]}'),
    ('from json("{\\"a\\": [1, 2.5, true, null]}")', {"a": [1, 2.5, True, None]}),
    ('[get or else(note, "none"), get or else(name, "none"), assert(name, name != null)]',
     ["none", "Ada Moss", "Ada Moss"]),
    # dates
    ('[day of year(date(2019, 9, 17)), day of week(date(2019, 9, 17)), month of year(date(2019, 9, 17))]',
     [260, "Tuesday", "September"]),
    ('[week of year(date(2019, 9, 17)), last day of month(date(2024, 2, 1)), day of week(@"2026-03-02T09:00:00")]',
     [38, date(2024, 2, 29), "Monday"]),
])
def test_feels_built_in_functions_give_what_feel_gives(feel, value):
    assert run(feel) == value


@pytest.mark.parametrize("feel", [
    "upper case(note)", "string length(3)", 'contains(note, "a")', "substring(note, 1)", 'matches(note, "a")',
    'replace("a", "a", note)', 'split(3, ",")', "string(note)", "not(note)", "not(1)", "count(note)",
    "list contains(note, 1)", "sublist(note, 1)", "sum([])", "min([])", "mean([])", "stddev([1])", "product([])",
    "floor(note)", 'decimal("1", 2)', "decimal(1.5, 1.5)", "sqrt(-1)", "log(0)", "exp(100000)", "odd(2.5)",
    'abs("1")', "list replace([1, 2], 3, 0)", 'get value(note, "a")', "get value(order, 1)", "context([1])",
    'context put(order, [], 1)', "context merge([order, 1])", 'number(note)', 'date(note)', "date(2026, 2, 30.5)",
    "day of week(note)", 'string join(["a"], 1)', "matches(name, \"a\", note)",
])
def test_a_built_in_given_null_or_a_value_of_another_kind_gives_null(feel):
    assert run(feel) is None


@pytest.mark.parametrize("feel, error", [
    ('sum([1, "a"])', 'sum() takes numbers, not "a"'),
    ('max([1, "a"])', 'max() takes items that compare with each other, not [1, "a"]'),
    ("sublist(items, 0)", "sublist() counts positions from 1 (and from -1 at the end), not from 0"),
    ("partition(items, 0)", "partition() takes a size of 1 or more, not 0"),
    ('string join(["a", 1])', 'string join() takes a list of texts, not ["a", 1]'),
    ('replace(name, "Ada", "$2")', "the replacement '$2' names the group 2, which the pattern does not have"),
    ('replace(name, "a", "US$")', "the replacement 'US$' has a '$' that names no group or a '\\' that escapes "
                                  "nothing: write \\$ for a dollar sign, \\\\ for a backslash"),
    ('from json("{")', "from json() takes JSON, not '{': Expecting property name enclosed in double quotes: line 1 "
                       "column 2 (char 1)"),
    ("date(2026, 2, 30)", "date(2026, 2, 30) is no date: day is out of range for month"),
    ('assert(note, note != null, "a note is needed")', "a note is needed"),
])
def test_what_camunda_8_reports_as_an_error_stops_with_a_message(feel, error):
    with pytest.raises(ValueError, match="^" + re.escape(error) + "$"):
        run(feel)


def test_a_pattern_from_the_case_data_is_checked_when_it_runs():
    with pytest.raises(ValueError, match=r"^the pattern '\(' is not a regular expression: missing \) at position 1$"):
        run("matches(name, pattern)", {"name": "Ada", "pattern": "("})


@pytest.mark.parametrize("feel, why", [
    ('matches(name, "(")', "matches(name, '('): the pattern '(' is not a regular expression: missing ) at position 1"),
    ('replace(name, "a", "b", "g")', "replace(name, 'a', 'b', 'g'): 'g' are not flags of a regular expression: use "
                                     "i, s, m, x or q, or none"),
    ('split(name, "(?:(?:a{100}){100}){100}")',
     "split(name, '(?:(?:a{100}){100}){100}'): the pattern '(?:(?:a{100}){100}){100}'… is too large once its repeats "
     "are written out (more than 10,000 characters): repeat a group a range of times ({1,1000}) instead"),
    ('number("1,5")', "number('1,5'): '1,5' is not a number"),
    ('number("1", "x")', "number('1', 'x'): number() groups digits with ' ', ',' or '.' and marks decimals with ',' "
                         "or '.', not 'x' and None"),
    ("sum()", "sum() takes 1 or more argument(s), not 0"),
    ('string join(items, ",", "[")', "string join() takes 1, 2 or 4 argument(s), not 3"),
])
def test_a_literal_a_built_in_cannot_read_is_refused_when_translated(feel, why):
    with pytest.raises(FeelNotSupported, match="^" + re.escape(why) + "$"):
        expression_to_python(feel)


@pytest.mark.parametrize("feel", ["matches(text, pattern)", 'replace(text, pattern, "x")', "split(text, pattern)",
                                  "extract(text, pattern)"])
def test_a_pattern_backtracking_longer_than_its_time_stops_with_a_clear_error(feel):
    text, pattern = BACKTRACKING
    began = time.monotonic()
    with pytest.raises(ValueError, match=re.escape(f"the pattern '{pattern}' took longer than 1 s on a text of 61 "
                                                   "characters: write it so that it cannot match the same text in "
                                                   "many ways")):
        run(feel, {"text": text, "pattern": pattern})
    assert time.monotonic() - began < REGEX_SECONDS + 2  # the regex package looks at the clock now and then


@pytest.mark.parametrize("feel, what", [
    ('replace(text, "", text)', "replace() would make a text of more than 10,000,000 characters"),
    ('string join([text, text, text, text], text)', "string join() would make a text of more than 10,000,000 "
                                                    "characters"),
    ('split(text, "")', "split() would make a list of more than 1,000,000 items"),
])
def test_a_built_in_refuses_to_make_more_than_a_case_keeps(feel, what):
    with pytest.raises(ValueError, match="^" + re.escape(what) + ", more than a case keeps$"):
        run(feel, {"text": "x" * 3_000_000})


def test_a_camunda_8_condition_matching_a_pattern_routes_the_case(new_uow):
    deploy(new_uow, "routing", gated("routing", '=matches(route, "SALES|LEGAL", "i")'))
    sales = service.start_instance(new_uow(), "routing", KIM, {"route": "Sales team"})
    other = service.start_instance(new_uow(), "routing", LEE, {"route": "Engineering"})
    assert [[step["step_id"] for step in queries.instance_view(new_uow(), instance)["open_steps"]]
            for instance in (sales, other)] == [["big"], ["small"]]


def test_a_condition_whose_pattern_backtracks_too_long_stops_its_case_at_the_gateway(new_uow):
    text, pattern = BACKTRACKING
    deploy(new_uow, "routing", gated("routing", f'=matches(route, "{pattern}")'))
    instance_id = service.start_instance(new_uow(), "routing", KIM, {"route": text})
    assert_errored_at(new_uow, instance_id, "route", f"the pattern '{pattern}' took longer than 1 s")
