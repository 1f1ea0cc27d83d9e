"""JUEL conditions as Camunda 7, Flowable and Activiti write them, translated to the Python the restricted engine
runs, and run there."""

from __future__ import annotations

import re

import pytest

from engine.definitions.expressions import ExpressionNotSupported, juel_to_python
from engine.sandbox.scripting import RestrictedEnvironment

ENVIRONMENT = RestrictedEnvironment({})
DATA = {"amount": 1200, "approved": False, "comment": "", "tags": [], "applicant": {"owner": "ada", "age": 41},
        "note": None}


@pytest.mark.parametrize("juel, value", [
    ("${empty comment}", True),
    ("${empty tags && empty note}", True),
    ("${not empty applicant.owner}", True),
    ("${!empty applicant}", True),
    ("${amount eq 1200 and amount ne 5}", True),
    ("#{amount lt 2000 && amount gt 1000 && amount le 1200 && amount ge 1200}", True),
    ("${amount > 1000 || approved}", True),
    ("${!approved and not (amount < 10)}", True),
    ("${applicant.owner == 'ada' && applicant.age >= 18}", True),
    ("${amount div 4 + amount mod 7}", 300 + 1200 % 7),
    ("${approved == false && note == null}", True),
])
def test_juel_conditions_run_in_the_restricted_engine_with_juels_meaning(juel, value):
    assert ENVIRONMENT.evaluate(juel_to_python(juel), dict(DATA)) == value


@pytest.mark.parametrize("juel, why", [
    ("${applicant.getOwner()}", "calling applicant.getOwner() is not supported in a JUEL expression: Valueflow "
                                "runs no Java methods; compute the value in a script task and test it here"),
    ("${approved ? 1 : 2}", "'?' is not supported there in a JUEL condition"),
    ("${tags[0]}", "'[' is not supported there in a JUEL condition"),
    ("amount is ${amount}", "only a single ${...} expression is supported, without text around it"),
    ("${empty}", "'empty' must be followed by a variable in a JUEL condition"),
])
def test_juel_that_valueflow_does_not_translate_is_named(juel, why):
    with pytest.raises(ExpressionNotSupported, match="^" + re.escape(why) + "$"):
        juel_to_python(juel)
