"""Decision tables as Camunda Modeler writes them (DMN 1.3, FEEL) deploy and decide in a case, or are refused at
deploy naming the decision: names with spaces, ranges, dates and durations, contexts, decision requirements and
hit policies."""

from __future__ import annotations

import re
from datetime import date

import pytest

from engine import service
from engine.definitions.packages import DeploymentRefused, Package, read_package
from engine.work import queries
from tests.unit.test_other_tools import CUSTOMER, DIALECTS, work_through

PACKAGE = DIALECTS / "camunda_dmn13_discount"


@pytest.mark.parametrize("spend, since, status, rate, offer_until, offered", [
    (60000, date(2025, 6, 1), "platinum", 0.15, date(2026, 4, 1), True),
    (12000, date(2020, 5, 1), "gold", 0.06, date(2026, 3, 9), True),
    (12000, date(2025, 5, 1), "standard", 0, None, False),
    (500, date(2020, 5, 1), "standard", 0, None, False),
])
def test_a_decision_requiring_another_decides_with_feel_ranges_dates_and_names_with_spaces_and_the_case_ends(
        new_uow, spend, since, status, rate, offer_until, offered):
    deployment = service.deploy(new_uow(), read_package(PACKAGE))
    assert not [w for w in deployment.warnings if "decision" in w], deployment.warnings
    service.add_user(new_uow(), "sam", ["sales"])
    instance_id = service.start_instance(new_uow(), "camunda_dmn13_discount", CUSTOMER, {
        "Yearly_Spend": spend, "customer_since": since, "order_date": date(2026, 3, 2)})
    steps = work_through(new_uow, instance_id, {"sales": "sam"})
    assert [step for step, _, _ in steps] == (["Task_offer"] if offered else [])
    data = queries.instance_view(new_uow(), instance_id)["data"]
    assert (data["Customer_Status"], data["rate"], data["offer_until"]) == (status, pytest.approx(rate), offer_until)


def with_hit_policy(policy: str) -> Package:
    package = read_package(PACKAGE)
    tables = package.files["discount.dmn"].replace('hitPolicy="FIRST"', policy)
    return Package(package.name, package.bpmn_file, {**package.files, "discount.dmn": tables})


@pytest.mark.parametrize("policy, status", [('hitPolicy="ANY"', "standard"), ('hitPolicy="UNIQUE"', "standard"),
                                            ('hitPolicy="RULE ORDER"', ["gold", "standard"]),
                                            ('hitPolicy="COLLECT"', ["gold", "standard"])])
def test_every_hit_policy_valueflow_runs_gives_the_matching_outputs_its_dmn_meaning(new_uow, policy, status):
    service.deploy(new_uow(), with_hit_policy(policy))
    # a spend of 12000 by an old customer matches "gold" and the catch-all "standard"; a spend of 100 only the latter
    instance_id = service.start_instance(new_uow(), "camunda_dmn13_discount", CUSTOMER, {
        "Yearly_Spend": 12000 if isinstance(status, list) else 100, "customer_since": date(2020, 1, 1),
        "order_date": date(2026, 3, 2)})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["data"]["Customer_Status"] == status


@pytest.mark.parametrize("policy, refusal", [
    ('hitPolicy="COLLECT" aggregation="SUM"',
     "customerStatus (Customer Status): its hit policy COLLECT SUM is not supported: use COLLECT without an "
     "aggregation, which gives the list of matching outputs, and sum(...) in a script task after it"),
    ('hitPolicy="PRIORITY"',
     "customerStatus (Customer Status): its hit policy PRIORITY is not supported: use FIRST and order the rules by "
     "priority, or COLLECT for every matching output (Valueflow runs UNIQUE, FIRST, ANY, RULE ORDER and COLLECT)"),
])
def test_a_hit_policy_valueflow_does_not_run_is_refused_at_deploy_naming_the_decision(new_uow, policy, refusal):
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), with_hit_policy(policy))
    assert [str(p) for p in caught.value.problems if not p.warning] == [refusal]


def test_a_decision_table_whose_parts_have_no_ids_as_dmn_allows_deploys_and_decides(new_uow):
    package = read_package(PACKAGE)
    without_ids = re.sub(r'(<(?:decisionTable|input|output|rule|inputEntry|outputEntry)\b[^>]*?) id="[^"]*"', r"\1",
                         package.files["discount.dmn"])
    assert without_ids.count(" id=") < package.files["discount.dmn"].count(" id=")
    service.deploy(new_uow(), Package(package.name, package.bpmn_file, {**package.files, "discount.dmn": without_ids}))
    instance_id = service.start_instance(new_uow(), "camunda_dmn13_discount", CUSTOMER, {
        "Yearly_Spend": 60000, "customer_since": date(2025, 6, 1), "order_date": date(2026, 3, 2)})
    assert queries.instance_view(new_uow(), instance_id)["data"]["Customer_Status"] == "platinum"


@pytest.mark.parametrize("order, price_list, steps", [
    ({"discount": 0.1}, "discounted", ["Task_apply"]),
    ({"discount": None}, "discounted", ["Task_apply"]),
    ({}, "list price", []),
])
def test_is_defined_decides_and_routes_on_whether_the_case_has_the_variable_whatever_its_value(
        new_uow, order, price_list, steps):
    service.deploy(new_uow(), read_package(DIALECTS / "camunda8_optional_discount"))
    service.add_user(new_uow(), "sam", ["sales"])
    instance_id = service.start_instance(new_uow(), "camunda8_order_pricing", CUSTOMER, order)
    assert [step for step, _, _ in work_through(new_uow, instance_id, {"sales": "sam"})] == steps
    assert queries.instance_view(new_uow(), instance_id)["data"]["price_list"] == price_list
