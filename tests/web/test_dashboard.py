"""The manager's dashboard on a hand-built history with known answers (tests.histories).

The process (tests.samples.two_step): Review (Back Office, VA, 4 h; premium 1 h) then Approve (Approver,
BVA, 8 h); one day end to end. Three standard cases start on Monday 5 January 2026 at 09:00:

    case  review wait/work  approve wait/work   lead
    1     2 h / 1 h  (3 h)   1 h / 1 h  (2 h)     5 h
    2     3 h / 1 h  (4 h)  17 h / 3 h (20 h)    24 h  (exactly the day's target)
    3     5 h / 2 h  (7 h)  20 h / 2 h (22 h)    29 h

so the median case takes 1 d, two cases in three are within target, Review waits 3 h at the median and is
amber (its p90 is over its 4 h target), Approve is red (its 20 h median is over its 8 h target).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from engine import service
from engine.analytics import costs, exports
from tests import samples
from tests.conftest import T0
from tests.histories import HOUR, Story
from tests.web.conftest import text_of

XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def story(new_uow, clock) -> Story:
    story = Story(new_uow, clock)
    story.cases = [story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)]),
                   story.case(T0, [(3 * HOUR, HOUR), (17 * HOUR, 3 * HOUR)]),
                   story.case(T0, [(5 * HOUR, 2 * HOUR), (20 * HOUR, 2 * HOUR)])]
    clock.set(T0 + timedelta(days=7))
    return story


def data_of(response) -> dict:
    """The JSON the page hands to dashboard.js (heat map cells and chart series)."""
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>',
                      response.get_data(as_text=True), flags=re.S)
    assert found, "the page has no dashboard data"
    return json.loads(found.group(1))


def step_rows(response) -> list[str]:
    """The step table's step ids, in the page's order."""
    table = response.get_data(as_text=True).split('id="step-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-step="([^"]+)"', table)


# -- who may see it --------------------------------------------------------------------------------

def test_a_signed_out_visitor_is_sent_to_sign_in(client, story):
    response = client.get(f"/dashboard/{story.key}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("user", ["customer-service", "credit-analyst"])
def test_staff_are_refused_in_words(client, auth, story, user):
    auth.login(user)
    for url in (f"/dashboard/{story.key}", "/dashboard", f"/dashboard/{story.key}/events.csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Dashboards are for managers and process owners" in text_of(response)


def test_process_owners_read_every_dashboard_but_neither_set_rates_nor_open_cases_from_it(client, auth, story):
    auth.login("process-owner")
    page = client.get(f"/dashboard/{story.key}?step=approve")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<a href="/dashboard"' in html  # the "Dashboards" link in the top bar
    assert "Admins set the rates." in text_of(page) and "/rates" not in html
    assert re.search(r'href="/(instances|tasks)/\d+"', html) is None  # cases are for staff and managers
    assert client.get("/dashboard").status_code == 200
    assert client.get(f"/dashboard/{story.key}/events.csv").status_code == 200
    assert f'href="/dashboard/{story.key}"' in client.get("/processes").get_data(as_text=True)
    refused = auth.post(f"/dashboard/{story.key}/rates", {"role": story.role("approver"), "hourly_rate": "50"})
    assert refused.status_code == 403


@pytest.mark.parametrize("user", ["manager", "admin"])
def test_managers_and_admins_see_the_dashboard_and_its_link(client, auth, story, user):
    auth.login(user)
    response = client.get(f"/dashboard/{story.key}")
    assert response.status_code == 200
    assert '<a href="/dashboard"' in response.get_data(as_text=True)  # the "Dashboards" link in the top bar
    processes = client.get("/processes").get_data(as_text=True)
    assert f'href="/dashboard/{story.key}"' in processes


def test_the_top_bar_has_no_dashboards_link_for_staff(client, auth):
    auth.login("customer-service")
    assert "Dashboards" not in text_of(client.get("/inbox"))


def test_the_dashboards_page_lists_every_process(client, auth, story):
    auth.login("manager")
    text = text_of(client.get("/dashboard"))
    assert "Loan decision" in text and story.key.replace("_", " ").title() in text
    assert "median 1 d · target 1 d" in text and "67 % (2 of 3)" in text


def test_an_unknown_process_has_no_dashboard(client, auth):
    auth.login("manager")
    response = client.get("/dashboard/no_such_process")
    assert response.status_code == 404
    assert "no process 'no_such_process' is deployed" in text_of(response)


# -- the figures ---------------------------------------------------------------------------------------

def test_the_dashboard_shows_cases_and_end_to_end_time_against_target(client, auth, story):
    auth.login("manager")
    text = text_of(client.get(f"/dashboard/{story.key}"))
    assert "Cases started 3 3 finished · 0 running" in text
    assert "End to end, median 1 d target 1 d Within target" in text
    assert "End to end, p90 1 d 4 h" in text  # 24 h + 0.8 × 5 h
    assert "Cases within target 67 % 2 of 3" in text
    assert "Process cycle efficiency 7 %" in text  # 4 h of VA work in 58 h
    assert "No step of a finished case in this period." not in text


def test_a_figure_just_over_its_target_never_reads_as_the_target(client, auth, new_uow, clock):
    story = Story(new_uow, clock)  # Review 16 h 25 min 40 s, Approve 8 h 00 min 20 s: 24 h 26 min end to end
    case = story.case(T0, [(15 * HOUR, timedelta(hours=1, minutes=25, seconds=40)),
                           (7 * HOUR, HOUR + timedelta(seconds=20))])
    clock.set(T0 + timedelta(days=7))
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}")
    text = text_of(response)
    assert "End to end, median 1 d 0 h 26 min target 1 d Over target" in text
    assert "End to end, p90 1 d 0 h 26 min" in text
    assert re.search(r"Approve .*? BVA 1 8 h 00 min 20 s 8 h 00 min 20 s 7 h 00 min 1 h 00 min 8 h 00 min 0 % ", text)
    cell = data_of(response)["cells"]["approve"]
    assert (cell["median"], cell["target"]) == ("8 h 00 min 20 s", "8 h")
    assert "8 h 00 min 20 s of 8 h 00 min" in text_of(client.get(f"/instances/{case}"))  # the case page too


def test_the_step_table_puts_the_biggest_share_of_the_time_first(client, auth, story):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}")
    assert step_rows(response) == ["approve", "review"]
    text = text_of(response)
    # step, class, done, median, p90, wait, work, target, met target, share of time, open, past due, status
    assert re.search(r"Approve .*? BVA 3 20 h 00 min 21 h 36 min 17 h 00 min 2 h 00 min "
                     r"8 h 00 min 33 % 76 % 0 0 Median over target", text)
    assert re.search(r"Review .*? VA 3 4 h 00 min 6 h 24 min 3 h 00 min 1 h 00 min 4 h 00 min premium 1 h 00 min "
                     r"67 % 24 % 0 0 p90 over target", text)


def test_a_segments_own_target_is_named_beside_the_step_target_its_tasks_count_against(client, auth, story):
    story.case(T0, [(HOUR, HOUR), (HOUR, HOUR)], customer=story.customer("premium"))  # Review in 2 h: over 1 h
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}?step=review")
    text = text_of(response)
    assert "median 3 h 30 min against a target of 4 h 00 min (premium 1 h 00 min, each segment's tasks" in text
    assert re.search(r"Review .*? 4 h 00 min premium 1 h 00 min 50 %", text)
    assert data_of(response)["cells"]["review"]["segment_targets"] == "premium 1 h 00 min"
    premium = text_of(client.get(f"/dashboard/{story.key}?segment=premium&step=review"))
    assert "against a target of 1 h 00 min;" in premium and "premium 1 h 00 min" not in premium


def test_the_heat_map_colours_each_step_and_links_it_to_its_slowest_cases(client, auth, story):
    auth.login("manager")
    data = data_of(client.get(f"/dashboard/{story.key}"))
    assert "<bpmn:userTask id=\"review\"" in data["xml"]
    cells = data["cells"]
    assert {k: (c["status"], c["word"], c["count"]) for k, c in cells.items()} == {
        "review": ("amber", "p90 over target", 3), "approve": ("red", "Median over target", 3)}
    assert (cells["approve"]["median"], cells["approve"]["target"]) == ("20 h", "8 h")
    assert cells["approve"]["url"] == f"/dashboard/{story.key}?step=approve#step-detail"


def test_choosing_a_step_filters_the_table_and_lists_its_slowest_cases(client, auth, story):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}?step=approve")
    assert step_rows(response) == ["approve"]
    html = response.get_data(as_text=True)
    slowest = html.split('id="slowest-cases"', 1)[1].split("</table>", 1)[0]
    linked = re.findall(r'href="/instances/(\d+)"', slowest)
    assert linked == [str(story.cases[2]), str(story.cases[1]), str(story.cases[0])]  # 22 h, 20 h, 2 h
    assert "Slowest cases at Approve" in text_of(response)
    assert data_of(response)["cells"]["approve"]["chosen"] is True


def test_the_filters_are_in_the_url_and_change_the_figures(client, auth, story):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}?from=2026-01-05&to=2026-01-05")
    text = text_of(response)
    assert "Cases started 3 1 finished · 2 running" in text  # cases 2 and 3 end the next day
    html = response.get_data(as_text=True)
    assert 'name="from" type="date" value="2026-01-05"' in html and 'name="to" type="date" value="2026-01-05"' in html
    # every link on the page keeps the filters
    assert f'/dashboard/{story.key}?from=2026-01-05&amp;to=2026-01-05&amp;step=review#step-detail' in html
    assert f'/dashboard/{story.key}/events.csv?from=2026-01-05&amp;to=2026-01-05' in html
    assert f'/dashboard/{story.key}/steps.csv?from=2026-01-05&amp;to=2026-01-05' in html


def test_the_segment_role_and_person_filters_narrow_the_figures(client, auth, story):
    story.case(T0, [(HOUR, HOUR), (HOUR, HOUR)], customer=story.customer("premium"))
    auth.login("manager")
    premium = client.get(f"/dashboard/{story.key}?segment=premium")
    assert "Cases started 1 1 finished" in text_of(premium)
    assert 'value="premium" selected' in premium.get_data(as_text=True)
    approver = story.role("approver")
    by_role = data_of(client.get(f"/dashboard/{story.key}?role={approver}"))["cells"]
    assert (by_role["approve"]["count"], by_role["review"]["count"]) == (4, 0)
    person = story.users["back-office"]
    assert "Cases started 4 4 finished" in text_of(client.get(f"/dashboard/{story.key}?assignee={person}"))


@pytest.mark.parametrize("query, message", [
    ("from=yesterday", "From must be a date like 2026-01-31, not 'yesterday'."),
    ("to=2026-13-01", "To must be a date like 2026-01-31"),
    ("from=2026-02-01&to=2026-01-01", "The period must end after it starts."),
    ("version=two", "Version must be a number or 'all', not 'two'."),
    ("version=7", "has no version 7; its versions are 1"),
    ("segment=gold", "'gold' is not a customer segment (choose one of:"),
    ("role=wizard", "'wizard' is not a role of this process"),
    ("assignee=nobody", "'nobody' is not a person holding a role of this process"),
    ("step=nope", "has no step 'nope'."),
])
def test_a_bad_filter_is_named_and_no_figure_is_shown(client, auth, story, query, message):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}?{query}")
    assert response.status_code == 400
    text = text_of(response)
    assert "These filters cannot be used, so no figures are shown" in text and message in text
    assert "Cases started" not in text and "Show the dashboard without filters" in text


def test_satisfaction_is_set_against_end_to_end_time_by_segment(client, auth, story, new_uow):
    from engine.work import feedback
    for instance_id, score in zip(story.cases, (5, 3, 1)):
        feedback.record_feedback(new_uow(), instance_id, score, story.users["approver"])
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}")
    chart = data_of(response)["charts"]["satisfaction"]
    assert chart["labels"][:3] == ["under 12 h 00 min", "12 h 00 min to 1 d", "1 d to 1 d 12 h"]
    assert chart["segments"] == [{"name": "standard", "scores": [5.0, None, 2.0, None, None, None],
                                  "counts": [1, 0, 2, 0, 0, 0]}]
    assert "Satisfaction 3.0 / 5 3 scores" in text_of(response)


def test_the_weekly_trend_and_the_time_by_value_class_feed_the_charts(client, auth, story):
    auth.login("manager")
    charts = data_of(client.get(f"/dashboard/{story.key}"))["charts"]
    assert charts["trend"]["labels"] == ["5 Jan"] and charts["trend"]["finished"] == [3]
    assert (charts["trend"]["median"], charts["trend"]["target"], charts["trend"]["unit"]) == ([24.0], 24.0, "hours")
    assert charts["split"]["labels"][:3] == ["VA", "BVA", "NVA"]
    assert charts["split"]["work"][:2] == [4.0, 6.0] and charts["split"]["wait"][:2] == [10.0, 38.0]


# -- breaches, work at risk, segments ----------------------------------------------------------------------

def test_breached_and_at_risk_tasks_link_to_the_task_and_the_customer(client, auth, story, clock):
    now = T0 + timedelta(days=7)
    late = story.start(now - 5 * HOUR)  # Review due 1 h ago
    close = story.start(now - 3.5 * HOUR)  # 30 min of 4 h left
    clock.set(now)
    auth.login("manager")
    html = client.get(f"/dashboard/{story.key}").get_data(as_text=True)
    breached = html.split('id="risk-breached"', 1)[1].split("</table>", 1)[0]
    at_risk = html.split('id="risk-at_risk"', 1)[1].split("</table>", 1)[0]
    assert f'href="/tasks/{story.open_task(late)["id"]}"' in breached and "1 h 00 min" in breached
    assert f'href="/tasks/{story.open_task(close)["id"]}"' in at_risk and "30 min" in at_risk
    assert "/customers/" in breached and "unclaimed" in breached


def test_a_starved_segment_is_flagged_in_words(client, auth, new_uow, clock):
    story = Story(new_uow, clock)
    minute = timedelta(minutes=1)
    for i in range(10):
        story.case(T0 + i * HOUR, [(10 * minute, 20 * minute), (HOUR, HOUR)], customer=story.customer("premium"))
        story.case(T0 + i * HOUR, [(8 * HOUR, 72 * minute), (16 * HOUR, HOUR)], customer=story.customer("standard"))
    auth.login("manager")
    text = text_of(client.get(f"/dashboard/{story.key}"))
    assert "Starved segment: Standard customers wait 2.3× longer than their target allows at Review." in text


# -- cost per case and rates ---------------------------------------------------------------------------

def test_an_admin_sets_a_roles_hourly_rate_and_the_cost_per_case_follows(client, auth, story, new_uow):
    auth.login("admin")
    back_office, approver = story.role("back-office"), story.role("approver")
    response = auth.post(f"/dashboard/{story.key}/rates?from=2026-01-01", data={"role": back_office,
                                                                                "hourly_rate": "60"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/dashboard/{story.key}?from=2026-01-01#costs"
    auth.post(f"/dashboard/{story.key}/rates", data={"role": approver, "hourly_rate": "100.00"})
    assert {r: costs.role_rates(new_uow())[r] for r in (back_office, approver)} == {back_office: 60.0,
                                                                                   approver: 100.0}
    page = client.get(f"/dashboard/{story.key}")
    assert "hourly rate of" in text_of(page) and "is now 100.00" in text_of(page)
    assert "Cost per case, median 320.00" in text_of(page)  # cases cost 160, 360 and 320
    assert f'id="rate-{approver}" name="hourly_rate" inputmode="decimal" class="input-number" value="100.00"' in \
        page.get_data(as_text=True)


@pytest.mark.parametrize("rate, message", [
    ("ten", "The rate of {role} was not changed: the hourly rate must be a number, not 'ten'."),
    ("-5", "The rate of {role} was not changed: the hourly rate must be zero or more"),
    ("", "Enter an hourly rate, such as 45 or 62.50."),
])
def test_a_bad_rate_is_refused_and_changes_nothing(client, auth, story, new_uow, rate, message):
    auth.login("admin")
    role = story.role("approver")
    response = auth.post(f"/dashboard/{story.key}/rates", data={"role": role, "hourly_rate": rate})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/dashboard/{story.key}#rate-error"
    response = client.get(response.headers["Location"])
    assert response.status_code == 400
    assert message.format(role=role) in text_of(response)
    assert role not in costs.role_rates(new_uow())
    assert f'value="{rate}" aria-invalid="true"' in response.get_data(as_text=True) or not rate


def test_a_rate_for_a_role_outside_the_process_is_refused(client, auth, story, new_uow):
    auth.login("admin")
    response = auth.post(f"/dashboard/{story.key}/rates", data={"role": "underwriter", "hourly_rate": "50"},
                         follow_redirects=True)
    assert response.status_code == 400
    assert "'underwriter' is not a role of" in text_of(response)
    assert "underwriter" not in costs.role_rates(new_uow())


def test_only_admins_set_rates(client, auth, story, new_uow):
    auth.login("manager")
    role = story.role("approver")
    page = client.get(f"/dashboard/{story.key}").get_data(as_text=True)
    assert 'name="hourly_rate"' not in page and "Admins set the rates." in page
    response = auth.post(f"/dashboard/{story.key}/rates", data={"role": role, "hourly_rate": "50"})
    assert response.status_code == 403 and "Hourly rates are set by admins" in text_of(response)
    assert role not in costs.role_rates(new_uow())


def test_a_rate_form_without_its_security_token_changes_nothing(client, auth, story, new_uow):
    auth.login("admin")
    role = story.role("approver")
    response = client.post(f"/dashboard/{story.key}/rates", data={"role": role, "hourly_rate": "50"})
    assert response.status_code == 400 and role not in costs.role_rates(new_uow())



def set_rates(auth, story) -> None:
    """As the admin: Back Office at 60 an hour, Approver at 100, so the three first cases cost 160, 360 and 320."""
    auth.login("admin")
    for role, rate in (("back-office", "60"), ("approver", "100")):
        assert auth.post(f"/dashboard/{story.key}/rates", data={"role": story.role(role),
                                                                 "hourly_rate": rate}).status_code == 302


def test_costs_and_rates_carry_the_operators_currency_wherever_they_are_read(app, client, auth, redesigned):
    app.config["CURRENCY"] = "EUR"
    set_rates(auth, redesigned)
    approver = redesigned.role("approver")
    page = client.get(f"/dashboard/{redesigned.key}?version=1")
    assert "The hourly rate of " + approver + " is now 100.00 EUR;" in text_of(page)
    assert f'<label class="visually-hidden" for="rate-{approver}">Hourly rate (EUR) of {approver}</label>' in \
        page.get_data(as_text=True)

    auth.login("manager")
    page = client.get(f"/dashboard/{redesigned.key}?version=1")
    text = text_of(page)
    assert "Cost per case, median 320.00 EUR work time × hourly rate" in text
    assert "Median 320.00 EUR · slowest tenth (p90) 352.00 EUR · mean 280.00 EUR · over 3 finished cases." in text
    rates = text.split("Hourly rates", 1)[1]
    assert rates.startswith(" Role Per hour (EUR) ") and "60.00 EUR" in rates and "100.00 EUR" in rates
    assert "the currency the admin chose" not in text
    assert data_of(page)["charts"]["cost"]["axis"] == "Cost (EUR)"
    compared = text_of(client.get(f"/dashboard/{redesigned.key}/compare?first=1&second=2"))
    assert "Cost per case, median 320.00 EUR 160.00 EUR Better" in compared


def test_without_a_currency_costs_are_bare_numbers_in_the_currency_the_admin_chose(client, auth, story):
    set_rates(auth, story)
    approver = story.role("approver")
    page = client.get(f"/dashboard/{story.key}")
    assert "is now 100.00; every cost" in text_of(page)
    assert f'for="rate-{approver}">Hourly rate of {approver}</label>' in page.get_data(as_text=True)
    auth.login("manager")
    page = client.get(f"/dashboard/{story.key}")
    text = text_of(page)
    assert "Cost per case, median 320.00 work time" in text and "mean 280.00 · over 3" in text
    assert "Role Per hour " in text and "Rates, and so costs, are in the currency the admin chose." in text
    assert data_of(page)["charts"]["cost"]["axis"] == "Cost"

# -- downloads ------------------------------------------------------------------------------------------

def test_the_step_table_downloads_as_csv(client, auth, story):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}/steps.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{story.key}-steps.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["step_id"], r["count"], r["median_hours"], r["median_wait_hours"], r["status"]) for r in rows] == [
        ("approve", "3", "20.00", "17.00", "red"), ("review", "3", "4.00", "3.00", "amber")]


def test_the_event_log_downloads_as_csv_one_row_per_lifecycle_change(client, auth, story):
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}/events.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    assert response.headers["Content-Disposition"] == f'attachment; filename="{story.key}-events.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == exports.CSV_COLUMNS
    assert {int(r["case_id"]) for r in rows} == set(story.cases)
    first = [(r["activity"], r["lifecycle"]) for r in rows if int(r["case_id"]) == story.cases[0]]
    assert first == [("Case started", "complete"),
                     ("Review", "schedule"), ("Review", "assign"), ("Review", "start"), ("Review", "complete"),
                     ("Approve", "schedule"), ("Approve", "assign"), ("Approve", "start"), ("Approve", "complete"),
                     ("Case completed", "complete")]


def test_the_event_log_downloads_as_xes_one_trace_per_case(client, auth, story):
    story.case(T0, [(HOUR, HOUR), (HOUR, HOUR)], customer=story.customer("premium"))
    auth.login("manager")
    response = client.get(f"/dashboard/{story.key}/events.xes")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    log = ET.fromstring(response.get_data())
    traces = log.findall(f"{XES}trace")
    assert len(traces) == 4
    names = {t.find(f"{XES}string[@key='concept:name']").get("value") for t in traces}
    assert names == {str(i) for i in story.cases} | {str(max(story.cases) + 1)}
    event = traces[0].findall(f"{XES}event")[1]  # the first task event, after "Case started"
    assert {e.get("key") for e in event} >= {"concept:name", "lifecycle:transition", "time:timestamp", "org:role"}
    # the filters apply: premium cases only
    premium = ET.fromstring(client.get(f"/dashboard/{story.key}/events.xes?segment=premium").get_data())
    assert len(premium.findall(f"{XES}trace")) == 1


@pytest.mark.parametrize("url, code, message", [
    ("/dashboard/{key}/events.xes?from=soon", 400, "from must be a date"),
    ("/dashboard/{key}/events.json", 404, "The event log comes as events.xes or events.csv"),
    ("/dashboard/nothing_here/events.csv", 404, "no process 'nothing_here' is deployed"),
    ("/dashboard/{key}/steps.csv?version=3", 400, "has no version 3"),
])
def test_a_bad_download_is_refused_in_words(client, auth, story, url, code, message):
    auth.login("manager")
    response = client.get(url.format(key=story.key))
    assert response.status_code == code and message in text_of(response)


# -- two versions side by side ----------------------------------------------------------------------------

@pytest.fixture
def redesigned(story, new_uow) -> Story:
    """Version 2 halves Review's target; one case through it takes 4 h."""
    faster = samples.two_step(story.key).replace('value="PT4H"', 'value="PT2H"', 1)
    assert story.deploy(faster).version == 2
    story.case(T0 + timedelta(days=3), [(HOUR, HOUR), (HOUR, HOUR)])
    return story


@pytest.fixture
def retargeted(story) -> Story:
    """Version 2 halves Review's target (2 h) and the end-to-end one (12 h); one case through it takes 4 h."""
    xml = samples.two_step(story.key).replace('value="PT4H"', 'value="PT2H"', 1).replace('"P1D"', '"PT12H"')
    assert story.deploy(xml).version == 2
    story.case(T0 + timedelta(days=3), [(HOUR, HOUR), (HOUR, HOUR)])
    return story


def test_the_dashboard_opens_on_the_newest_version_against_its_own_targets(client, auth, retargeted):
    auth.login("manager")
    response = client.get(f"/dashboard/{retargeted.key}")
    text = text_of(response)
    assert "Version 2 · all time" in text and "Cases started 1 1 finished" in text
    assert "End to end, median 4 h 00 min target 12 h 00 min Within target" in text
    assert re.search(r'<option value="2" selected>Version 2 \(newest\), deployed [^<]+</option>\s*'
                     r'<option value="1">Version 1, deployed [^<]+</option>\s*<option value="all">All versions',
                     response.get_data(as_text=True))
    assert re.search(r"Review .*? VA 1 2 h 00 min 2 h 00 min 1 h 00 min 1 h 00 min 2 h 00 min premium 1 h 00 min "
                     r"100 % ", text)
    assert data_of(response)["cells"]["review"]["url"] == f"/dashboard/{retargeted.key}?step=review#step-detail"


def test_all_versions_show_each_versions_target_and_the_heat_map_its_own_versions_figures(client, auth, retargeted):
    auth.login("manager")
    response = client.get(f"/dashboard/{retargeted.key}?version=all")
    text = text_of(response)
    assert "All 2 versions · all time" in text and "Cases started 4 4 finished" in text
    # 5 h, 24 h, 29 h in version 1 (target 1 d) and 4 h in version 2 (target 12 h): no one target to be within
    assert "End to end, median 14 h 30 min target v2 12 h 00 min · v1 1 d End to end, p90" in text
    assert re.search(r"Review .*? VA 4 3 h 30 min .*? v2 2 h 00 min · v1 4 h 00 min premium 1 h 00 min 75 % ", text)
    assert re.search(r"Approve .*? BVA 4 11 h 00 min .*? 8 h 00 min 50 % ", text)  # one target in both versions
    assert "grouped by how long they took against the 12 h 00 min target of version 2, by segment" in text
    data = data_of(response)
    review = data["cells"]["review"]
    assert (review["count"], review["median"], review["target"]) == (1, "2 h", "2 h")  # version 2's, as drawn
    assert review["url"] == f"/dashboard/{retargeted.key}?version=all&step=review#step-detail"
    trend = data["charts"]["trend"]
    assert trend["target"] is None
    assert trend["targets"] == [{"version": 2, "value": 12.0}, {"version": 1, "value": 24.0}]  # in hours


def test_the_step_table_csv_over_all_versions_gives_each_versions_target(client, auth, retargeted):
    auth.login("manager")
    for query, review_target, by_version in (("", "2.00", "2=2.00"), ("?version=all", "", "2=2.00;1=4.00")):
        rows = list(csv.DictReader(io.StringIO(
            client.get(f"/dashboard/{retargeted.key}/steps.csv{query}").get_data(as_text=True))))
        review = next(r for r in rows if r["step_id"] == "review")
        assert (review["target_hours"], review["targets_by_version"]) == (review_target, by_version)


def test_two_versions_are_compared_side_by_side(client, auth, redesigned):
    auth.login("manager")
    response = client.get(f"/dashboard/{redesigned.key}/compare?first=1&second=2")
    assert response.status_code == 200
    text = text_of(response)
    assert "Version 1 against version 2" in text
    assert "Cases finished 3 1" in text
    assert "End to end, median 1 d 4 h 00 min Better" in text
    steps = response.get_data(as_text=True).split('id="compare-steps"', 1)[1]
    assert re.search(r"Review</th>\s*<td class=\"num\">3</td><td class=\"num\">4 h 00 min</td>"
                     r"<td class=\"num\">4 h 00 min</td>\s*<td class=\"num\">1</td><td class=\"num\">2 h 00 min</td>"
                     r"<td class=\"num\">2 h 00 min</td>", steps)


def test_the_dashboard_offers_the_comparison_newest_against_the_one_before(client, auth, redesigned):
    auth.login("manager")
    html = client.get(f"/dashboard/{redesigned.key}").get_data(as_text=True)
    form = html.split('id="compare-heading"', 1)[1]
    assert f'action="/dashboard/{redesigned.key}/compare"' in form
    assert re.search(r'name="first">\s*<option value="2">Version 2</option><option value="1" selected>', form)
    default = client.get(f"/dashboard/{redesigned.key}/compare")
    assert "Version 1 against version 2" in text_of(default)


@pytest.mark.parametrize("query, message", [
    ("first=1&second=1", "Choose two different versions to compare."),
    ("first=1&second=9", "has no version 9."),
    ("first=one&second=2", "First must be a version number, not 'one'."),
    ("first=1&second=2&segment=gold", "'gold' is not a customer segment"),
])
def test_a_bad_comparison_is_named(client, auth, redesigned, query, message):
    auth.login("manager")
    response = client.get(f"/dashboard/{redesigned.key}/compare?{query}")
    assert response.status_code == 400 and message in text_of(response)


def test_a_process_with_one_version_has_nothing_to_compare(client, auth, story):
    auth.login("manager")
    text = text_of(client.get(f"/dashboard/{story.key}/compare"))
    assert "has only one version deployed so far" in text


def test_a_process_without_cases_shows_empty_figures(client, auth, new_uow):
    service.add_user(new_uow(), "boss-2", ["manager"], "pw-boss-2-1234")
    auth.login("boss-2")
    response = client.get("/dashboard/service_request")
    assert response.status_code == 200
    text = text_of(response)
    assert "Cases started 0" in text and "No case started or finished in this period." in text
    assert "No step of a finished case in this period." in text  # under the empty chart of the time by value class


def test_the_chart_library_comes_from_the_app_itself(client, auth, story):
    auth.login("manager")
    page = client.get(f"/dashboard/{story.key}").get_data(as_text=True)
    assert '<script src="/vendor/chart.js/chart.umd.min.js"></script>' in page and "cdn" not in page.lower()
    library = client.get("/vendor/chart.js/chart.umd.min.js")
    assert library.status_code == 200 and b"Chart.js v4.6.1" in library.get_data()
    library.close()


def test_the_case_page_gives_the_cases_own_cycle_efficiency(client, auth, story):
    auth.login("manager")
    text = text_of(client.get(f"/instances/{story.cases[0]}"))
    assert ("Took 5 h 00 min end to end: 1 h 00 min of VA work, 1 h 00 min of BVA work, 3 h 00 min waiting for a "
            "person. Process cycle efficiency (value-adding work ÷ lead time): 20 %") in text


def test_managers_open_the_cases_and_tasks_the_dashboard_lists(client, auth, story):
    auth.login("manager")
    html = client.get(f"/dashboard/{story.key}?step=approve").get_data(as_text=True)
    assert re.search(r'href="/(instances|tasks)/\d+"', html) is not None
