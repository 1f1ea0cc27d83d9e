"""Forms read nothing outside themselves and match patterns under a time limit: at deploy, at completion, and
for a form stored before these rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import referencing.exceptions

from engine import service
from engine.definitions.form_validator import form_validator
from engine.definitions.forms import FormInvalid, check_form
from engine.definitions.packages import DeploymentRefused, Package
from engine.storage.tables import ProcessDefinition
from engine.storage.wiring import connect
from engine.work import queries
from tests import samples

BOB = service.CustomerRef("c-2", "Bob Stone", "standard")
CATASTROPHIC = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a|aa)+$"}}}
HOSTILE = "a" * 5000 + "!"


def review_form(schema: dict) -> Package:
    return Package("two_step", "two_step.bpmn", {"two_step.bpmn": samples.two_step(),
                                                 "forms/review.json": json.dumps(schema)})


def with_field(field: dict) -> dict:
    return {"type": "object", "properties": {"a": field}}


def refusals(package: Package) -> list[str]:
    result = service.validate_package(package)
    return [str(p) for p in result.errors]


def staffed_case(new_uow) -> int:
    """A case of two_step waiting at its review, claimed by bo1; the review task's id."""
    service.add_user(new_uow(), "bo1", ["back-office"])
    instance_id = service.start_instance(new_uow(), "two_step", BOB)
    [task] = queries.list_tasks(new_uow(), instance_id=instance_id)
    service.claim_task(new_uow(), task["id"], "bo1")
    return task["id"]


@pytest.mark.parametrize("ref", ["file:///tmp/secret.json", "http://127.0.0.1:5800/remote.json", "secret.json",
                                 "../forms/other.json#/$defs/x"])
def test_validate_and_deploy_refuse_a_ref_outside_the_form_naming_the_task_and_the_ref(new_uow, ref):
    package = review_form(with_field({"$ref": ref}))
    expected = f"review (Review): its form's $ref {ref!r} points outside the form"
    assert any(p.startswith(expected) for p in refusals(package)), refusals(package)
    with pytest.raises(DeploymentRefused) as refused:
        service.deploy(new_uow(), package)
    assert any(str(p).startswith(expected) for p in refused.value.problems)


def test_a_ref_hidden_in_a_forms_data_is_refused_too():
    schema = {**with_field({"$ref": "#/x-data/0"}), "x-data": [{"$ref": "file:///etc/passwd"}]}
    assert any("$ref 'file:///etc/passwd' points outside the form" in p for p in refusals(review_form(schema)))


def test_a_form_of_another_tool_with_an_invalid_pattern_is_refused_at_deploy():
    form_js = {"id": "review_form", "components": [{"type": "textfield", "key": "a", "label": "A",
                                                     "validate": {"pattern": "(unclosed"}}]}
    xml = samples.two_step().replace(
        '<bpmn:userTask id="review" name="Review"><bpmn:extensionElements>',
        '<bpmn:userTask id="review" name="Review"><bpmn:extensionElements><zeebe:formDefinition '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" formId="review_form"/>', 1)
    package = Package("two_step", "two_step.bpmn", {"two_step.bpmn": xml, "review.form": json.dumps(form_js)})
    assert any(p.startswith("review (Review): its form's pattern '(unclosed' is not a valid regular expression")
               for p in refusals(package)), refusals(package)


def test_an_invalid_pattern_in_a_forms_file_is_refused_at_deploy():
    problems = refusals(review_form(with_field({"type": "string", "pattern": "(unclosed"})))
    assert any("forms/review.json is not a valid JSON Schema: '(unclosed' is not a 'regex'" in p for p in problems)


def test_pattern_properties_are_refused_at_deploy():
    schema = {"type": "object", "properties": {"a": {"type": "object", "patternProperties": {"^x": {}}}}}
    assert any("patternProperties are not taken" in p for p in refusals(review_form(schema)))


def test_a_ref_inside_the_form_works_end_to_end(new_uow):
    schema = {"type": "object", "$defs": {"colour": {"enum": ["red", "green"]}},
              "properties": {"a": {"$ref": "#/$defs/colour"}}}
    service.deploy(new_uow(), review_form(schema))
    task = staffed_case(new_uow)
    with pytest.raises(FormInvalid) as refused:
        service.complete_task(new_uow(), task, "bo1", {"a": "blue"})
    assert refused.value.errors == {"a": "must be one of red, green"}
    service.complete_task(new_uow(), task, "bo1", {"a": "green"})
    [done] = queries.list_tasks(new_uow(), status="completed")
    assert done["id"] == task


def test_a_form_stored_with_an_outside_ref_refuses_its_values_and_reads_nothing(tmp_path: Path, clock):
    url = f"sqlite:///{tmp_path / 'stored.db'}"
    deploying = connect(url, clock, migrate=True)
    deployed = service.deploy(deploying(), review_form(with_field({"type": "string"})))
    task = staffed_case(deploying)
    missing = tmp_path / "no-such-file.json"
    with deploying() as uow:  # as stored before deploys held forms to their rules
        row = uow.session.get(ProcessDefinition, deployed.definition_id)
        row.files = {**row.files, "forms/review.json": json.dumps(with_field({"$ref": missing.as_uri()}))}
        uow.commit()
    deploying.dispose()
    serving = connect(url, clock)  # compiles the stored package afresh
    with pytest.raises(FormInvalid) as refused:
        service.complete_task(serving(), task, "bo1", {"a": "x"})
    serving.dispose()
    message = refused.value.errors[""]
    assert message.startswith(f"this form cannot check its values: $ref {missing.as_uri()!r} points outside the form")
    assert "No such file" not in message and "Errno" not in message


def test_the_validator_retrieves_nothing_even_for_a_form_that_escaped_the_rules(tmp_path: Path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"enum": ["TOP-SECRET-123"]}')
    validator = form_validator(with_field({"$ref": secret.as_uri()}))
    with pytest.raises(referencing.exceptions.Unresolvable) as unresolved:
        list(validator.iter_errors({"a": "x"}))
    assert unresolved.value.ref == secret.as_uri()
    assert not isinstance(unresolved.value.__cause__, OSError)


def test_a_catastrophic_pattern_refuses_a_hostile_value_instead_of_hanging():
    with pytest.raises(FormInvalid) as refused:
        check_form(CATASTROPHIC, {"code": HOSTILE})
    assert refused.value.errors["code"].startswith("could not be checked against the pattern ^(a|aa)+$ within")
    assert check_form(CATASTROPHIC, {"code": "aaa"}) == {"code": "aaa"}
    with pytest.raises(FormInvalid) as mismatch:
        check_form(CATASTROPHIC, {"code": "b"})
    assert mismatch.value.errors == {"code": "'b' does not match '^(a|aa)+$'"}


def test_a_pattern_reached_through_a_declared_draft_is_matched_under_the_time_limit_too():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "$defs": {"code": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string",
                                 "pattern": "^(a|aa)+$"}},
              "properties": {"code": {"$ref": "#/$defs/code"}}}
    with pytest.raises(FormInvalid) as refused:
        check_form(schema, {"code": HOSTILE})
    assert refused.value.errors["code"].startswith("could not be checked against the pattern")


def test_a_catastrophic_pattern_refuses_a_hostile_value_at_completion(new_uow):
    service.deploy(new_uow(), review_form(CATASTROPHIC))
    task = staffed_case(new_uow)
    with pytest.raises(FormInvalid) as refused:
        service.complete_task(new_uow(), task, "bo1", {"code": HOSTILE})
    assert refused.value.errors["code"].startswith("could not be checked against the pattern")


def test_a_date_fields_bound_that_is_no_date_is_refused_at_deploy():
    problems = refusals(review_form(with_field({"type": "string", "format": "date", "formatMaximum": "next year"})))
    assert any("formatMaximum 'next year' is not a date: write it as YYYY-MM-DD" in p for p in problems), problems


def test_a_pattern_that_would_take_gigabytes_to_compile_is_refused_at_deploy_before_it_is():
    huge = "(?:(?:a{1000}){1000}){1000}"
    problems = refusals(review_form(with_field({"type": "string", "pattern": huge})))
    assert any(f"the pattern {huge!r}… is too large once its repeats are written out (more than 10,000 characters)"
               in p for p in problems), problems
