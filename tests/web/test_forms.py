"""A step's JSON Schema as form fields, and posted text back as typed values."""

from __future__ import annotations

from datetime import date

import pytest

from web import forms

TODAY = date(2026, 1, 5)

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "title": "Amount", "minimum": 1000, "description": "In euros."},
        "years": {"type": "integer", "title": "Years"},
        "purpose": {"type": "string", "title": "Purpose", "enum": ["purchase", "re_finance"]},
        "complete": {"type": "boolean", "title": "Complete"},
        "until": {"type": "string", "title": "Until", "format": "date"},
        "notes": {"type": "string", "x-widget": "textarea"},
        "reference": {"type": "string", "title": "Reference"},
    },
    "required": ["amount", "purpose", "complete"],
}


def test_each_schema_type_gets_its_widget_label_help_and_required_mark():
    fields = {f.name: f for f in forms.fields_for(SCHEMA, date(2026, 1, 5))}
    assert {n: f.widget for n, f in fields.items()} == {
        "amount": "number", "years": "integer", "purpose": "select", "complete": "checkbox", "until": "date",
        "notes": "textarea", "reference": "text"}
    assert (fields["amount"].label, fields["amount"].help, fields["amount"].required) == ("Amount", "In euros.", True)
    assert fields["amount"].limits == "at least 1,000"
    assert fields["notes"].label == "Notes" and not fields["notes"].required
    assert fields["purpose"].options == [("purchase", "Purchase"), ("re_finance", "Re finance")]
    assert fields["complete"].required is False  # a checkbox always has a value


def test_a_date_fields_picker_offers_the_dates_it_takes_its_forms_own_or_a_century_either_side_of_today():
    fields = {f.name: f for f in forms.fields_for(SCHEMA, date(2026, 2, 28))}
    assert (fields["until"].earliest, fields["until"].latest) == ("1926-02-28", "2126-02-28")
    bounded = {"type": "object", "properties": {"ship_on": {"type": "string", "format": "date",
                                                            "formatMinimum": "2026-01-01"}}}
    [ship_on] = forms.fields_for(bounded, date(2026, 2, 28))
    assert (ship_on.earliest, ship_on.latest) == ("2026-01-01", "2126-02-28")
    assert (fields["amount"].earliest, fields["amount"].latest) == ("", "")


@pytest.mark.parametrize("text, whole, value", [
    ("250000", False, 250000), ("250,000", False, 250000), ("250 000", False, 250000), ("3.5", False, 3.5),
    ("-2", True, -2), (" 7 ", True, 7), ("1,234.5", False, 1234.5), ("1\u00a0250\u00a0000", True, 1250000),
    ("250_000", True, 250000)])
def test_numbers_are_read_as_people_type_them(text, whole, value):
    assert forms.parse_number(text, whole) == value


@pytest.mark.parametrize("text, whole, message", [
    ("sixty", False, "must be a number"), ("3.5", True, "must be a whole number"), ("nan", False, "must be a number"),
    ("1e999", False, "must be a number"), ("12,34", False, "in groups of three"),
    ("1_000_0", True, "in groups of three"), ("1 000 0", False, "in groups of three"),
    ("1,000 000", False, "in groups of three"),
    ("9" * 4000, True, "has 4,000 characters, more than any number a form takes")])
def test_text_that_is_not_a_number_is_refused(text, whole, message):
    with pytest.raises(ValueError, match=message):
        forms.parse_number(text, whole)


@pytest.mark.parametrize("text, spec, message", [
    ("lots", {"type": "number", "minimum": 0, "maximum": 25}, "must be a number, like 3.5"),
    ("lots", {"type": "number", "minimum": 0}, "must be a number, like 250000 or 3.5"),
    ("lots", {"type": "number", "minimum": 5, "maximum": 9}, "must be a number, like 7.0"),
    ("lots", {"type": "number", "minimum": 1000, "maximum": 5000}, "must be a number, like 3000"),
    ("2.5", {"type": "integer", "minimum": 10, "maximum": 40}, "must be a whole number, like 25"),
    ("2.5", {"type": "integer", "minimum": 1000}, "must be a whole number, like 1000"),
    ("1 0", {"type": "number", "minimum": 0, "maximum": 25}, "must be a number without spaces or commas, like 3.5"),
    ("1 0", {"type": "number", "minimum": 0, "maximum": 10_000_000},
     "must be a number with its digits in groups of three, like 250,000 or 250 000"),
])
def test_a_refused_number_is_shown_an_example_the_field_takes(text, spec, message):
    with pytest.raises(forms.FormInvalidTyped) as caught:
        forms.read_submission({"properties": {"rate": spec}}, {"rate": text}, TODAY)
    assert caught.value.errors == {"rate": message}


def test_a_submission_is_typed_with_empty_optional_fields_left_out():
    data, typed = forms.read_submission(SCHEMA, {"amount": "1,500", "years": "", "purpose": "purchase",
                                                 "complete": "on", "until": "2026-12-31", "notes": "  ",
                                                 "reference": " R-1 ", "csrf_token": "x", "extra": "y"}, TODAY)
    assert data == {"amount": 1500, "purpose": "purchase", "complete": True, "until": "2026-12-31",
                    "reference": "R-1"}
    assert typed["amount"] == "1,500" and typed["years"] == ""


def test_every_bad_field_is_named_at_once_and_the_typed_values_come_back():
    with pytest.raises(forms.FormInvalidTyped) as caught:
        forms.read_submission(SCHEMA, {"amount": "lots", "years": "2.5", "purpose": "holiday",
                                       "until": "31/12/2026"}, TODAY)
    assert caught.value.errors == {
        "amount": "must be a number, like 250000", "years": "must be a whole number, like 3",
        "purpose": "must be one of Purchase, Re finance", "until": "must be a valid date"}
    assert caught.value.typed["amount"] == "lots" and caught.value.typed["complete"] is False


def test_every_missing_required_field_is_named():
    with pytest.raises(forms.FormInvalidTyped) as caught:
        forms.read_submission(SCHEMA, {}, TODAY)
    assert caught.value.errors == {"amount": "is required", "purpose": "is required"}
