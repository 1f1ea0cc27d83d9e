"""Satisfaction scores: staff record one on the case page or give the customer a one-time link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import service
from engine.work import feedback
from engine.work.case_score import case_score
from tests.conftest import T0
from tests.histories import HOUR, Story
from tests.web.conftest import text_of


@pytest.fixture
def story(new_uow, clock) -> Story:
    story = Story(new_uow, clock)
    story.done = story.case(T0, [(2 * HOUR, HOUR), (HOUR, HOUR)])
    story.running = story.start(T0 + timedelta(hours=1))
    story.staff = story.users["approver"]  # who handled the finished case's last step
    service.add_user(new_uow(), story.staff, [], STAFF_PASSWORD)
    clock.set(T0 + timedelta(days=1))
    return story


STAFF_PASSWORD = "pw-approver-1234"


def issue_link(auth, client, instance_id: int) -> str:
    response = auth.post(f"/instances/{instance_id}/feedback-link")
    assert response.status_code == 200
    found = re.search(r'value="(http://localhost/feedback/[^"]+)"', response.get_data(as_text=True))
    assert found, text_of(response)
    return found.group(1).replace("http://localhost", "")


def test_a_customer_scores_a_finished_case_once_through_their_link(client, auth, story, new_uow):
    auth.login(story.staff, STAFF_PASSWORD)
    link = issue_link(auth, client, story.done)
    assert "1 link was given to the customer and is not used yet." in text_of(client.get(f"/instances/{story.done}"))
    auth.logout()

    page = client.get(link)  # the customer, not signed in
    assert page.status_code == 200
    assert "How did we do," in text_of(page) and f"Your case {story.done}" in text_of(page)
    answer = auth.post(link, data={"score": "4", "comment": "Quick, thank you."})
    assert answer.status_code == 200 and "Your score of 4 out of 5" in text_of(answer)
    score = case_score(new_uow(), story.done)
    assert (score.score, score.comment, score.source) == (4, "Quick, thank you.", "customer")

    again = auth.post(link, data={"score": "1"})
    assert again.status_code == 410 and "we have your score already" in text_of(again)
    assert case_score(new_uow(), story.done).score == 4
    assert client.get(link).status_code == 410


def test_an_unknown_link_gets_a_clear_page(client):
    response = client.get("/feedback/not-a-real-token")
    assert response.status_code == 404
    assert "This feedback link is not valid" in text_of(response) and "nothing was recorded" in text_of(response)


def test_an_expired_link_gets_a_clear_page(client, auth, story, clock):
    auth.login(story.staff, STAFF_PASSWORD)
    link = issue_link(auth, client, story.done)
    clock.advance(feedback.TOKEN_LIFETIME)
    response = client.get(link)
    assert response.status_code == 410 and "This feedback link has expired" in text_of(response)


@pytest.mark.parametrize("score", ["", "0", "6", "five", "2.5"])
def test_a_bad_score_through_the_link_is_explained_and_nothing_is_recorded(client, auth, story, new_uow, score):
    auth.login(story.staff, STAFF_PASSWORD)
    link = issue_link(auth, client, story.done)
    response = auth.post(link, data={"score": score, "comment": "kept"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#feedback-error")
    response = client.get(response.headers["Location"])
    assert response.status_code == 400
    assert "Choose a score from 1 (poor) to 5 (excellent)." in text_of(response)
    assert ">kept</textarea>" in response.get_data(as_text=True)
    assert case_score(new_uow(), story.done).score is None
    again = client.get(link)  # reloaded: the link still works, and the refusal is not shown twice
    assert again.status_code == 200 and "Choose a score" not in text_of(again)


def test_staff_record_the_score_a_customer_gave_them(client, auth, story, new_uow):
    auth.login(story.staff, STAFF_PASSWORD)
    response = auth.post(f"/instances/{story.done}/feedback", data={"score": "5", "comment": "Said thanks."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/instances/{story.done}#satisfaction")
    text = text_of(client.get(f"/instances/{story.done}"))
    assert f"5 / 5 — recorded by {story.staff}" in text and "Said thanks." in text
    again = auth.post(f"/instances/{story.done}/feedback", data={"score": "1"}, follow_redirects=True)
    assert again.status_code == 409 and "already has a satisfaction score" in text_of(again)
    assert case_score(new_uow(), story.done).score == 5
    no_link = auth.post(f"/instances/{story.done}/feedback-link", follow_redirects=True)
    assert no_link.status_code == 409 and "No link was made" in text_of(no_link)


@pytest.mark.parametrize("form, message", [
    ({"score": "9"}, "Choose the customer's score, from 1 (poor) to 5 (excellent); nothing was recorded."),
    ({}, "Choose the customer's score"),
    ({"score": "3", "comment": "x" * 2001}, "the comment is longer than 2000 characters"),
])
def test_a_bad_staff_score_is_refused(client, auth, story, new_uow, form, message):
    auth.login(story.staff, STAFF_PASSWORD)
    response = auth.post(f"/instances/{story.done}/feedback", data=form, follow_redirects=True)
    assert response.status_code == 400 and message in text_of(response)
    assert case_score(new_uow(), story.done).score is None


def test_a_running_case_takes_no_score_yet(client, auth, story, new_uow):
    auth.login("manager")
    assert "The customer can score the case once it is finished." in text_of(client.get(f"/instances/{story.running}"))
    response = auth.post(f"/instances/{story.running}/feedback", data={"score": "3"}, follow_redirects=True)
    assert response.status_code == 400 and "is running; a score is for a finished case" in text_of(response)
    link = auth.post(f"/instances/{story.running}/feedback-link", follow_redirects=True)
    assert link.status_code == 400 and "No link was made" in text_of(link)
    assert case_score(new_uow(), story.running).open_links == 0


def test_the_score_forms_need_their_security_token(client, auth, story, new_uow):
    auth.login(story.staff, STAFF_PASSWORD)
    assert client.post(f"/instances/{story.done}/feedback", data={"score": "3"}).status_code == 400
    assert client.post(f"/instances/{story.done}/feedback-link").status_code == 400
    assert case_score(new_uow(), story.done).score is None and case_score(new_uow(), story.done).open_links == 0


@pytest.mark.parametrize("user", ["customer-service", "credit-analyst"])
def test_staff_who_did_not_handle_the_case_record_no_score_and_make_no_link(client, auth, story, new_uow, user):
    service.add_user(new_uow(), user, [story.role("approver")])  # they see the case, but did not handle it
    auth.login(user)
    page = client.get(f"/instances/{story.done}")
    assert "Record the score" not in text_of(page) and "Whoever handled the case, or a manager" in text_of(page)
    response = auth.post(f"/instances/{story.done}/feedback", data={"score": "1"}, follow_redirects=True)
    assert response.status_code == 403
    assert f"only a manager or someone who handled case {story.done} records its satisfaction score" \
        in text_of(response)
    link = auth.post(f"/instances/{story.done}/feedback-link", follow_redirects=True)
    assert link.status_code == 403 and "No link was made" in text_of(link)
    assert case_score(new_uow(), story.done).score is None and case_score(new_uow(), story.done).open_links == 0


def test_a_manager_records_the_score_of_any_case(client, auth, story, new_uow):
    auth.login("manager")
    assert auth.post(f"/instances/{story.done}/feedback", data={"score": "4"}).status_code == 302
    assert case_score(new_uow(), story.done).score == 4
