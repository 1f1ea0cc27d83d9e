"""FEEL as DMN 1.3 and Camunda 8 write it, translated to the Python the restricted engine runs, and run there."""

from __future__ import annotations

from datetime import date, timedelta

import re

import pytest

from engine.definitions.feel import FUNCTIONS, FeelNotSupported, expression_to_python, unary_tests_to_python
from engine.sandbox.scripting import RestrictedEnvironment

ENVIRONMENT = RestrictedEnvironment(FUNCTIONS)
DATA = {"amount": 600, "name": "Ada Moss", "customer": {"segment": "premium"}, "items": [3, 5, 8], "note": None,
        "due": date(2026, 3, 2), "Customer_Status": "gold"}


@pytest.mark.parametrize("feel, value", [
    ('=amount > 500 and customer.segment = "premium"', True),
    ("=not(amount > 500) or note = null", True),
    ("amount * 2 - 200 / 4", 1150.0),
    ('"Ada" + " " + "Moss" = name', True),
    ('if amount between 250 and 1000 then "budget" else "exceptional"', "budget"),
    ("amount in [250..1000]", True),
    ("amount in (600..1000]", False),
    ("amount in [500, 600]", True),
    ('upper case(substring(name, 1, 3))', "ADA"),
    ('string length(name) = 8 and starts with(name, "Ada") and contains(name, "Mo")', True),
    ("items[1] + count(items) + sum(items) + max(items)", 30),
    ("list contains(items, 5) and floor(2.7) = 2 and ceiling(2.1) = 3 and abs(-3) = 3", True),
    ('due < date("2026-04-01") and number("2.5") = 2.5', True),
    ("some item in items satisfies item > 7", True),
    ("every item in items satisfies item > 3", False),
    ('Customer Status = "gold"', True),
    ('{limit: 500, "risk class": {level: 2}}.risk class.level + {limit: 500}.limit', 502),
    ('date("2026-02-27") + duration("P3D") = due', True),
    ('due - date("2026-02-01") > duration("P3D") and due > @"2026-03-01"', True),
    ('date and time("2026-03-02T09:00:00") + @"PT90M"', __import__("datetime").datetime(2026, 3, 2, 10, 30)),
    ('duration("-P1DT12H")', -timedelta(days=1, hours=12)),
    ('substring before(name, " ") + "/" + substring after(name, " ")', "Ada/Moss"),
    ('string join(["a", "b", null], ", ") + trim("  x ")', "a, bx"),
    ("decimal(2.345, 2) + modulo(7, 4) + mean(items) + product(items)", 2.34 + 3 + 16 / 3 + 120),
    ("odd(3) and even(4) and all([true, amount > 1]) and any([false, true])", True),
    ("append(items, 9)[4] + count(concatenate(items, [1, 2])) + index of([1, 2, 1], 1)[2]", 9 + 5 + 3),
    ("reverse(distinct values([1, 1, 2]))", [2, 1]),
    ("amount instance of number and not(true instance of number) and due instance of date and customer instance of "
     "context and items instance of list and name instance of string and duration(\"P1D\") instance of days and "
     "time duration", True),
    ("is defined(note) and is defined(customer.segment) and is defined(Customer Status) and not(is defined(discount)) "
     "and not(is defined(customer.discount)) and not(is defined(note.text))", True),
    ("every item in [customer, {segment: null}] satisfies is defined(item.segment)", True),
])
def test_feel_expressions_run_in_the_restricted_engine_with_feels_meaning(feel, value):
    assert ENVIRONMENT.evaluate(expression_to_python(feel), dict(DATA)) == value


@pytest.mark.parametrize("cell, matching, other", [
    ("[250..1000]", 250, 1001), ("(250..1000]", 1000, 250), ("]250..1000[", 999, 1000), ("< 5", 4, 5),
    ('"Misc","Travel Expenses"', "Misc", "Software"), ('not("Misc")', "Travel", "Misc"),
    ('>= date("2026-01-01")', date(2026, 1, 1), date(2025, 12, 31)), ("null", None, 0), ("? > 2 and ? < 4", 3, 4),
])
def test_feel_unary_tests_match_the_input_they_describe(cell, matching, other):
    python = unary_tests_to_python(cell)
    assert ENVIRONMENT.evaluate(python, {}, {"dmninputexpr": matching}) is True
    assert ENVIRONMENT.evaluate(python, {}, {"dmninputexpr": other}) is False


def test_a_text_keeps_the_backslash_of_an_escape_feel_does_not_have_as_a_pattern_needs():
    assert ENVIRONMENT.evaluate(expression_to_python(r'"\d\s" + "\"\\\n"'), {}) == '\\d\\s"\\\n'


def test_a_dash_or_an_empty_cell_matches_any_input():
    assert unary_tests_to_python("-") is None and unary_tests_to_python(" ") is None


@pytest.mark.parametrize("feel, why", [
    ("for x in items return x", "'for' is not supported there"),
    ("some in items satisfies true", "'some' must be followed by a variable name"),
    ('time("09:00")', "the function time() is not one Valueflow knows"),
    ("'single quotes'", "\"'\" is not FEEL that Valueflow reads"),
    ("amount ==  5", "'=' is not supported there"),
    ("substring(name)", "substring() takes 2 or 3 argument(s), not 1"),
    ("amount in [1..", "the expression ends too soon"),
    ('duration("P1M") > duration("P3D")', "duration('P1M'): the duration 'P1M' counts years or months, which have "
                                          "no fixed length: write it in days (P30D)"),
    ('date("2026-02-30")', "date('2026-02-30'): day is out of range for month"),
    ("@5", "'@' must be followed by a date, a date and time or a duration in double quotes"),
    ("{1: 2}", "a context entry must start with a name, not '1'"),
    ("{a 1}", "expected ':' before '1'"),
    ("amount instance of money", "'money' is not a type Valueflow knows: use one of number, string, boolean, date, "
                                 "date and time, days and time duration, list, context, Any"),
    ("is defined(amount + 1)", "is defined() takes a variable or a path such as customer.discount: '+' is not "
                               "supported there"),
    ("is defined(null)", "is defined() takes a variable or a path such as customer.discount, not 'null'"),
])
def test_feel_that_valueflow_does_not_translate_is_named(feel, why):
    with pytest.raises(FeelNotSupported, match="^" + re.escape(why) + "$"):
        expression_to_python(feel)
