"""Customer 360: one customer's cases across processes as a timeline, linked from every task and case page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import service

from tests.conftest import T0
from tests.histories import HOUR, Story
from tests.web.conftest import open_task, start_loan, text_of


@pytest.fixture
def story(new_uow, clock) -> Story:
    """Ann has a finished case (5 h, within target) and, two days later, one waiting past its target."""
    story = Story(new_uow, clock)
    story.ann = story.customer("standard")
    story.done = story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)], customer=story.ann)
    story.running = story.start(T0 + timedelta(days=2), customer=story.ann)
    story.step(story.running, 6 * HOUR, None)  # claimed after 6 h, past Review's 4 h target
    clock.set(T0 + timedelta(days=2, hours=7))
    return story


def test_the_customer_page_lists_their_cases_newest_first_with_waits_breaches_and_people(client, auth, story):
    auth.login("manager")
    response = client.get(f"/customers/{story.ann.id}")
    assert response.status_code == 200
    text = text_of(response)
    assert story.ann.name in text and "1 open case · 1 finished · 1 step late" in text
    html = response.get_data(as_text=True)
    cases = re.findall(r'<li class="timeline-case timeline-(\w+)[^"]*" id="case-(\d+)"', html)
    assert cases == [("running", str(story.running)), ("completed", str(story.done))]
    running, done = html.split(f'id="case-{story.done}"')
    assert "Late" in running and "waited 6 h 00 min" in running and story.users["back-office"] in running
    assert "Within target" in done and "took 5 h 00 min of a 1 d target" in text
    assert f"handled by {story.users['back-office']}, {story.users['approver']}" in text
    assert "waited 2 h 00 min · worked 1 h 00 min" in text_of_fragment(done)
    assert f'href="/instances/{story.done}"' in done
    assert f'href="/tasks/{story.open_task(story.running)["id"]}"' in running


def text_of_fragment(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("user", ["manager", "admin"])
def test_managers_see_every_customer(client, auth, story, user):
    auth.login(user)
    assert client.get(f"/customers/{story.ann.id}").status_code == 200


@pytest.mark.parametrize("user", ["customer-service", "credit-analyst"])
def test_staff_of_other_roles_do_not_see_the_customer(client, auth, story, user):
    auth.login(user)
    response = client.get(f"/customers/{story.ann.id}")
    assert response.status_code == 403 and story.ann.name not in text_of(response)


def test_staff_see_only_the_customers_cases_of_their_roles_or_that_they_handled(client, auth, story, new_uow):
    approver = story.users["approver"]
    service.add_user(new_uow(), approver, [], "pw-approver-1234")
    auth.login(approver, "pw-approver-1234")
    html = client.get(f"/customers/{story.ann.id}").get_data(as_text=True)
    assert re.findall(r'id="case-(\d+)"', html) == [str(story.done)]  # the running case has no approval yet
    assert "0 open cases · 1 finished" in text_of_fragment(html)


def test_a_process_owner_without_a_staff_role_is_refused(client, auth, story):
    auth.login("process-owner")
    response = client.get(f"/customers/{story.ann.id}")
    assert response.status_code == 403 and "for front-line staff and managers" in text_of(response)


def test_an_unknown_customer_is_named(client, auth):
    auth.login("manager")
    response = client.get("/customers/nobody-here")
    assert response.status_code == 404 and "no customer 'nobody-here'" in text_of(response)


def test_every_task_page_and_case_page_links_to_the_customer(client, auth, new_uow):
    instance_id = start_loan(new_uow, customer_id="c-77", name="Ada Moss")
    auth.login("customer-service")
    task = client.get(f"/tasks/{open_task(new_uow, instance_id)['id']}").get_data(as_text=True)
    assert '<a href="/customers/c-77" id="customer-link">All cases of Ada Moss →</a>' in task
    case = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'href="/customers/c-77"' in case
    assert "Loan decision" in text_of(client.get("/customers/c-77"))
