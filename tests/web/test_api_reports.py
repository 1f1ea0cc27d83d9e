"""The API's reports: one customer's cases, and a process's dashboard figures and event log, on the dashboard's
hand-built history with known answers (tests/web/test_dashboard.py), with the web pages' permissions."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from engine import service
from engine.analytics import costs
from tests.conftest import T0
from tests.histories import HOUR, Story
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan
from tests.web.test_api import as_user, assert_error  # noqa: F401 (as_user is a fixture)

DAY = 24 * 3600


@pytest.fixture
def story(new_uow, clock) -> Story:
    """Three finished cases (5 h, 24 h and 29 h end to end against a day) and a fourth waiting since T0 + 6 d."""
    story = Story(new_uow, clock)
    story.cases = [story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)]),
                   story.case(T0, [(3 * HOUR, HOUR), (17 * HOUR, 3 * HOUR)]),
                   story.case(T0, [(5 * HOUR, 2 * HOUR), (20 * HOUR, 2 * HOUR)]),
                   story.start(T0 + timedelta(days=6))]
    clock.set(T0 + timedelta(days=7))
    return story


# -- customers ----------------------------------------------------------------------------------------

def test_a_customer_answers_their_cases_with_every_step(as_user, new_uow):
    instance_id = start_loan(new_uow, "c-7", "Ada Moss")
    customer = as_user("customer-service").get("/customers/c-7").get_json()
    assert (customer["name"], customer["open_cases"], customer["finished_cases"]) == ("Ada Moss", 1, 0)
    [case] = customer["cases"]
    assert case["instance_id"] == instance_id and case["process"] == "loan_decision"
    [step] = case["steps"]
    assert step["step_id"] == "capture_application" and step["status"] == "open"
    assert step["created_at"].endswith("+00:00")


def test_a_customers_cases_come_in_pages_newest_first(as_user, new_uow):
    ids = [start_loan(new_uow, "c-7", "Ada Moss") for _ in range(3)]
    start_loan(new_uow, "c-8", "Ben Ortiz")
    api = as_user("manager")
    first = api.get("/customers/c-7/cases", per_page=2).get_json()
    second = api.get("/customers/c-7/cases", per_page=2, page=2).get_json()
    assert (first["total"], first["pages"]) == (3, 2)
    assert [row["id"] for row in first["rows"] + second["rows"]] == sorted(ids, reverse=True)


def test_staff_list_only_the_customers_cases_with_a_step_of_their_roles(as_user, new_uow):
    instance_id = start_loan(new_uow, "c-7", "Ada Moss")  # its one step so far is customer service's
    clerk = as_user("customer-service").get("/customers/c-7/cases").get_json()
    assert [row["id"] for row in clerk["rows"]] == [instance_id]
    assert_error(as_user("credit-analyst").get("/customers/c-7/cases"), 403, "has a step of your roles")


@pytest.mark.parametrize("user, url, status, fragment", [
    ("customer-service", "/customers/nobody", 404, "no customer 'nobody'"),
    ("manager", "/customers/nobody/cases", 404, "no customer 'nobody'"),
    ("process-owner", "/customers/c-7", 403, "front-line staff and managers"),
    (None, "/customers/c-7/cases", 401, "Authorization: Bearer"),
])
def test_a_customer_refused_says_why(as_user, new_uow, user, url, status, fragment):
    start_loan(new_uow, "c-7", "Ada Moss")
    assert_error(as_user(user).get(url), status, fragment)


# -- dashboards ---------------------------------------------------------------------------------------

def test_the_summary_counts_cases_and_end_to_end_time_against_the_target(as_user, story):
    summary = as_user("manager").get(f"/dashboards/{story.key}/summary").get_json()
    assert (summary["started"], summary["finished"], summary["running"]) == (4, 3, 1)
    assert summary["lead"] == {"n": 3, "median": DAY, "p90": DAY + 0.8 * 5 * 3600}
    assert (summary["target_seconds"], summary["with_target"], summary["within_target"]) == (DAY, 3, 2)


def test_the_step_table_puts_the_step_taking_most_time_first_with_its_colour(as_user, story):
    steps = as_user("process-owner").get(f"/dashboards/{story.key}/steps").get_json()["steps"]
    assert [(s["step_id"], s["status"]) for s in steps] == [("approve", "red"), ("review", "amber")]
    review = steps[1]
    assert review["wait"]["median"] == 3 * 3600 and review["target_seconds"] == 4 * 3600
    assert review["open_now"] == 1 and review["breached_now"] == 1


def test_segments_and_work_at_risk_follow_the_filters(as_user, story):
    api = as_user("admin")
    [standard] = api.get(f"/dashboards/{story.key}/segments").get_json()["segments"]
    assert (standard["segment"], standard["finished"], standard["within_target"]) == ("standard", 3, 2)
    risk = api.get(f"/dashboards/{story.key}/risk").get_json()
    assert risk["breached_count"] == 1 and risk["at_risk_count"] == 0
    [late] = risk["breached"]
    assert late["instance_id"] == story.cases[3] and late["seconds_left"] == -20 * 3600
    first_week = api.get(f"/dashboards/{story.key}/summary", **{"from": "2026-01-05", "to": "2026-01-10"})
    assert first_week.get_json()["started"] == 3  # the fourth case started on 11 January


def test_the_event_log_comes_as_csv_and_xes_with_every_case(as_user, story):
    api = as_user("manager")
    log = api.get(f"/dashboards/{story.key}/events.csv")
    assert log.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(log.get_data(as_text=True))))
    assert {int(row["case_id"]) for row in rows} == set(story.cases)
    xes = api.get(f"/dashboards/{story.key}/events.xes")
    assert xes.mimetype == "application/xml"
    traces = ET.fromstring(xes.get_data()).findall("{http://www.xes-standard.org/}trace")
    assert len(traces) == 4


def test_costs_come_in_the_operators_currency_with_each_roles_rate(app, as_user, story, new_uow):
    app.config["CURRENCY"] = "EUR"
    back_office, approver = story.role("back-office"), story.role("approver")
    costs.set_role_rate(new_uow(), back_office, "60", "admin")  # Review's work: 1 h, 1 h and 2 h
    answer = as_user("manager").get(f"/dashboards/{story.key}/costs").get_json()
    assert answer["currency"] == "EUR"
    assert (answer["cases"], answer["cost"], answer["mean"], answer["total"]) == (
        3, {"n": 3, "median": 60.0, "p90": 108.0}, 80.0, 240.0)
    assert answer["weeks"] == [{"week": "2026-01-05", "cases": 3, "cost": {"n": 3, "median": 60.0, "p90": 108.0}}]
    assert answer["roles_without_rate"] == [approver]
    assert sorted(answer["rates"], key=lambda r: r["role"]) == [{"role": approver, "hourly_rate": None},
                                                                {"role": back_office, "hourly_rate": 60.0}]


def test_costs_without_a_currency_set_say_null(as_user, story):
    answer = as_user("process-owner").get(f"/dashboards/{story.key}/costs", version="all").get_json()
    assert answer["currency"] is None and answer["total"] == 0.0 and answer["cases"] == 3


@pytest.mark.parametrize("user, url, query, status, fragment", [
    ("credit-analyst", "/summary", {}, 403, "Dashboards are for managers and process owners"),
    ("customer-service", "/events.csv", {}, 403, "Dashboards are for managers and process owners"),
    (None, "/risk", {}, 401, "Authorization: Bearer"),
    ("manager", "/steps", {"segment": "gold"}, 422, "'gold' is not a customer segment"),
    ("manager", "/summary", {"from": "2026-02-01", "to": "2026-01-01"}, 422, "must end after it starts"),
    ("manager", "/segments", {"version": "9"}, 422, "has no version 9"),
    ("manager", "/risk", {"limit": "0"}, 422, "limit"),
    ("credit-analyst", "/costs", {}, 403, "Dashboards are for managers and process owners"),
    ("manager", "/costs", {"role": "pilot"}, 422, "pilot"),
    ("manager", "/events.xes", {"version": "newest"}, 422, "a version number or all"),
])
def test_a_dashboard_refused_says_why(as_user, story, user, url, query, status, fragment):
    assert_error(as_user(user).get(f"/dashboards/{story.key}{url}", **query), status, fragment)


@pytest.mark.parametrize("query, fields", [
    ({"segment": "gold"}, {"segment"}),
    ({"from": "2026-02-01", "to": "2026-01-01"}, {"to"}),
    ({"from": "soon"}, {"from"}),
    ({"role": "pilot", "version": "9"}, {"role", "version"}),
    ({"assignee": "nobody"}, {"assignee"}),
])
def test_a_refused_dashboard_filter_is_named_by_its_query_parameter(as_user, story, query, fields):
    found = assert_error(as_user("manager").get(f"/dashboards/{story.key}/summary", **query), 422)
    assert set(found["fields"]) == fields
    assert all(found["fields"][name] and f"{name}: " in found["message"] for name in fields), found


def test_an_unknown_process_has_no_figures(as_user):
    assert_error(as_user("manager").get("/dashboards/no_such/steps"), 404, "no process 'no_such' is deployed")


def test_a_finished_loan_counts_in_the_shipped_process_summary(as_user, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)
    service.claim_task(new_uow(), task["id"], "customer-service")
    service.complete_task(new_uow(), task["id"], "customer-service", MEDIUM_RISK)
    steps = as_user("manager").get("/dashboards/loan_decision/steps").get_json()["steps"]
    assert next(s for s in steps if s["step_id"] == "capture_application")["count"] == 1
