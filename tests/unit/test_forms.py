"""Form checks: the quick check of flat forms never accepts what jsonschema refuses, nor refuses what it accepts."""

from __future__ import annotations

import json
from datetime import date
import random
from pathlib import Path

import jsonschema
import pytest

from engine.definitions.forms import DEFAULT_LARGEST_NUMBER, DEFAULT_MAX_LENGTH, FormInvalid, _checkers, _with_caps, check_form

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FORMS = sorted(ROOT.glob("bpmn/*/forms/*.json"))
ODD_VALUES = [None, True, False, 0, 1, -1, 1.0, 2.5, -0.5, 10**20, float("nan"), float("inf"), "", " ", "x",
              "2026-01-05", "2026-02-30", "05/01/2026", "ünïcode", [], {}, [1], {"a": 1}]


def values_for(field: dict) -> list:
    """Odd values, and values at and across each limit the field sets."""
    values = list(ODD_VALUES) + list(field.get("enum", []))
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if keyword in field:
            limit = field[keyword]
            values += [limit, limit - 1, limit + 1, limit - 0.5, limit + 0.5, float(limit)]
    for keyword in ("minLength", "maxLength"):
        if keyword in field:
            values += ["y" * max(field[keyword] - 1, 0), "y" * field[keyword], "y" * (field[keyword] + 1)]
    return values


def jsonschema_accepts(schema: dict, data: dict) -> bool:
    """jsonschema's verdict on the form as a completion checks it (its open bounds capped)."""
    validator = jsonschema.Draft202012Validator(_with_caps(schema)[0], format_checker=jsonschema.FormatChecker())
    return set(data) <= set(schema["properties"]) and validator.is_valid(data)


@pytest.mark.parametrize("path", SHIPPED_FORMS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_the_quick_check_agrees_with_jsonschema_on_every_shipped_form(path):
    schema = json.loads(path.read_text())
    _, quick, _, _ = _checkers(schema)
    assert quick is not None, "every shipped form is flat enough for the quick check"
    fields = schema["properties"]
    pools = {name: values_for(field) for name, field in fields.items()}
    chooser = random.Random(path.name)
    verdicts = {True: 0, False: 0}
    for _ in range(400):
        data = {name: chooser.choice(pool) for name, pool in pools.items() if chooser.random() < 0.9}
        if chooser.random() < 0.1:
            data["not_a_field"] = 1
        accepted = jsonschema_accepts(schema, data)
        assert quick(data) == accepted, data
        verdicts[accepted] += 1
    # Data made of values each field accepts on its own, so that accepted data is common too.
    good = {name: [value for value in pools[name] if jsonschema.Draft202012Validator(
        field, format_checker=jsonschema.FormatChecker()).is_valid(value)] for name, field in fields.items()}
    for _ in range(200):
        data = {name: chooser.choice(good[name] if chooser.random() < 0.97 else pools[name]) for name in fields}
        accepted = jsonschema_accepts(schema, data)
        assert quick(data) == accepted, data
        verdicts[accepted] += 1
    assert verdicts[True] and verdicts[False], verdicts


@pytest.mark.parametrize("enum, value", [([1], 1.0), ([1.5], 1.5), (["a"], "a")])
def test_an_enum_value_of_another_type_goes_to_jsonschema_which_accepts_it(enum, value):
    schema = {"type": "object", "properties": {"n": {"enum": enum}}}
    assert check_form(schema, {"n": value}) == {"n": value}


def test_true_is_not_the_enum_member_one():
    schema = {"type": "object", "properties": {"n": {"enum": [1]}}}
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"n": True})
    assert refused.value.errors == {"n": "must be one of 1"}


def test_a_form_beyond_the_quick_check_is_checked_by_jsonschema_alone():
    schema = {"type": "object", "required": ["amount"],
              "properties": {"amount": {"type": "number", "multipleOf": 5},
                             "notes": {"type": "object", "properties": {"text": {"type": "string"}}}}}
    assert _checkers(schema)[1] is None
    assert check_form(schema, {"amount": 10}) == {"amount": 10}
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"amount": 12, "notes": {"text": 3}})
    assert set(refused.value.errors) == {"amount", "notes.text"}


def test_data_the_quick_check_refuses_gets_every_field_named():
    schema = json.loads((ROOT / "bpmn/loan_decision/forms/capture_application.json").read_text())
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"loan_amount": -5, "loan_purpose": "yacht", "extra": 1})
    errors = refused.value.errors
    assert errors["loan_amount"] == "must be at least 1000"
    assert errors["loan_purpose"].startswith("must be one of purchase")
    assert errors["extra"] == "is not a field of this form"
    assert errors["annual_income"] == "is required"


@pytest.mark.parametrize("field, value, accepted", [
    ({"minimum": 3}, "abc", True), ({"minimum": 3}, 2, False), ({"minLength": 2}, 5, True),
    ({"minLength": 2}, "a", False), ({"pattern": "^a"}, 7, True), ({"pattern": "^a"}, "ba", False),
    ({"type": ["string", "null"], "maxLength": 1}, None, True), ({"type": ["string", "null"], "maxLength": 1}, "ab", False),
])
def test_a_field_without_one_type_applies_its_limits_to_values_of_their_kind_only(field, value, accepted):
    schema = {"type": "object", "properties": {"n": field}}
    assert _checkers(schema)[1]({"n": value}) == accepted == jsonschema_accepts(schema, {"n": value})


def test_a_text_longer_than_the_forms_max_length_is_refused_with_the_limit():
    schema = {"type": "object", "properties": {"reference": {"type": "string", "maxLength": 20}}}
    assert check_form(schema, {"reference": "x" * 20}) == {"reference": "x" * 20}
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"reference": "x" * 21})
    assert refused.value.errors == {"reference": "must be at most 20 characters (it has 21)"}


def test_a_text_field_without_a_max_length_takes_the_default_cap_and_says_so():
    assert check_form(None, {"comment": "x" * DEFAULT_MAX_LENGTH}) == {"comment": "x" * DEFAULT_MAX_LENGTH}
    with pytest.raises(FormInvalid) as refused:
        check_form(None, {"comment": "x" * 200_000})
    assert refused.value.errors == {"comment": "must be at most 10,000 characters (it has 200,000), the most any "
                                               "field takes when its form sets no limit"}


def test_a_number_field_without_bounds_takes_the_default_range_and_says_so():
    schema = {"type": "object", "properties": {"debts": {"type": "integer", "minimum": 0},
                                               "ratio": {"type": "number"}, "big": {"type": "integer",
                                                                                    "maximum": 10**18}}}
    largest = DEFAULT_LARGEST_NUMBER
    fine = {"debts": largest, "ratio": -largest, "big": 10**17}
    assert check_form(schema, fine) == fine
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"debts": 10**4000 - 1, "ratio": -1e300, "big": 10**17})
    assert refused.value.errors == {
        "debts": "must be at most 999,999,999,999,999, the widest range any number field takes when its form "
                 "sets no limit",
        "ratio": "must be at least -999,999,999,999,999, the widest range any number field takes when its form "
                 "sets no limit"}


DATES = {"type": "object", "properties": {
    "ship_on": {"type": "string", "format": "date", "title": "Ship date"},
    "valid_until": {"type": "string", "format": "date", "formatMinimum": "2026-01-01", "formatMaximum": "2026-12-31"},
    "call_at": {"type": "string", "format": "date-time"}}}
WIDEST = ("must be a date from 5 Jan 1926 to 5 Jan 2126, the widest range a date field takes when its form sets "
          "none: 100 years either side of today")


@pytest.mark.parametrize("data, errors", [
    ({"ship_on": "9999-12-31"}, {"ship_on": WIDEST}),
    ({"ship_on": "0001-01-01", "call_at": "2200-03-01T09:00:00Z"}, {"ship_on": WIDEST, "call_at": WIDEST}),
    ({"valid_until": "2027-01-01"}, {"valid_until": "must be a date from 1 Jan 2026 to 31 Dec 2026"}),
    ({"ship_on": "2126-01-05", "valid_until": "2026-12-31", "call_at": "1926-01-05T00:00:00Z"}, {}),
])
def test_a_date_outside_its_forms_range_or_a_hundred_years_of_today_is_refused_with_the_range(data, errors):
    today = date(2026, 1, 5)
    if not errors:
        assert check_form(DATES, data, today) == data
        return
    with pytest.raises(FormInvalid) as refused:
        check_form(DATES, data, today)
    assert refused.value.errors == errors
