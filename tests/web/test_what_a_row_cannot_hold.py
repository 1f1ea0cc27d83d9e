"""Text with the NUL character and ids past a row's largest are refused in words on both databases, before any
work (PostgreSQL cannot store the one nor compare the other), and an error of Valueflow's own is answered in
words too: JSON under /api/, a page elsewhere."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import service
from engine.work import tokens
from tests.web.conftest import copy_database, text_of
from tests.web.live import clerks_with_tokens
from web import create_app
from web.errors import OWN_FAULT

PAST_LARGEST_ID = 2**31


class People:
    """A clerk and an admin with API tokens, and the admin's password for the browser."""

    def __init__(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        [(self.clerk, clerk_token)] = clerks_with_tokens(url, 1)
        self.admin, self.password = f"admin-{uuid.uuid4().hex[:8]}", "pw-admin-of-this-test"
        factory = app.extensions["valueflow"]
        service.add_user(factory(), self.admin, ["admin"], self.password)
        self.clerk_headers = {"Authorization": f"Bearer {clerk_token}"}
        self.admin_headers = {"Authorization": f"Bearer {tokens.create_token(factory(), self.admin, 'test')}"}


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, seeded_database: Path, tmp_path: Path, clock) -> Iterator[Flask]:
    url = (copy_database(seeded_database, tmp_path) if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "CLOCK": clock})
    yield app
    app.extensions["valueflow"].dispose()


@pytest.fixture
def people(app: Flask) -> People:
    return People(app)


def signed_in(client: FlaskClient, name: str, password: str) -> None:
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/login", data={"username": name, "password": password, "csrf_token": token}).status_code == 302


@pytest.mark.parametrize("path, place, field", [
    ("/api/v1/instances?customer=a%00b", "query parameter 'customer'", "customer"),
    ("/api/v1/tasks?view=all&process=a%00", "query parameter 'process'", "process"),
    ("/api/v1/customers/a%00b", "address", None),
    ("/api/v1/incidents?message=a%00", "query parameter 'message'", "message"),
])
def test_text_with_nul_in_an_api_address_is_refused_saying_where(app, people, path, place, field):
    headers = people.admin_headers if "incidents" in path else people.clerk_headers
    answer = app.test_client().get(path, headers=headers)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith(f"The {place} holds the NUL character (U+0000)")
    assert error["fields"] == ({field: "holds the NUL character (U+0000)"} if field else {})


@pytest.mark.parametrize("body", [
    {"process": "loan_decision", "customer": {"id": "c-nul", "name": "N\u0000ul"}},
    {"process": "loan_decision", "customer": {"id": "c-nul", "name": "Nul"}, "business_key": "N\u0000UL"},
    {"process": "loan_decision", "customer": {"id": "c-nul", "name": "Nul"}, "data": {"note\u0000": 1}},
])
def test_a_case_whose_json_holds_nul_is_not_started(app, people, body):
    client = app.test_client()
    answer = client.post("/api/v1/instances", json=body, headers=people.clerk_headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"].startswith("The JSON body holds the NUL character")
    assert client.get("/api/v1/instances?customer=c-nul", headers=people.clerk_headers).get_json()["total"] == 0


def test_an_escaped_backslash_before_u0000_is_text_not_nul(app, people):
    body = {"process": "loan_decision", "customer": {"id": "c-slash", "name": "Back\\u0000slash"}}
    answer = app.test_client().post("/api/v1/instances", json=body, headers=people.clerk_headers)
    assert answer.status_code == 201, answer.get_json()


def test_signing_in_with_nul_in_the_name_gets_a_page_saying_where(app, people):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    answer = client.post("/login", data={"username": f"{people.admin}\x00", "password": people.password,
                                         "csrf_token": token})
    assert answer.status_code == 400
    assert "The form field 'username' holds the NUL character (U+0000)" in text_of(answer)
    assert client.get("/inbox").status_code == 302  # not signed in: sent to the sign-in page


def test_a_search_with_nul_gets_a_page_saying_where(app, people):
    client = app.test_client()
    signed_in(client, people.admin, people.password)
    answer = client.get("/instances?q=%00")
    assert answer.status_code == 400
    assert "The query parameter 'q' holds the NUL character" in text_of(answer)
    assert people.admin in text_of(answer) and "Sign in" not in text_of(answer)  # still signed in, and told so


@pytest.mark.parametrize("method, path", [
    ("GET", f"/api/v1/instances/{PAST_LARGEST_ID}"), ("GET", f"/api/v1/tasks/{PAST_LARGEST_ID}"),
    ("POST", f"/api/v1/tasks/{PAST_LARGEST_ID}/claim"), ("POST", f"/api/v1/incidents/{PAST_LARGEST_ID}/retry"),
    ("POST", f"/api/v1/external-tasks/{PAST_LARGEST_ID}/complete"),
    ("GET", "/api/v1/processes/loan_decision/versions/99999999999.bpmn"),
    ("GET", f"/api/v1/tasks/{PAST_LARGEST_ID - 1}"),
])
def test_an_id_no_row_can_have_is_not_found(app, people, method, path):
    answer = app.test_client().open(path, method=method, json={} if method == "POST" else None,
                                    headers=people.admin_headers)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_a_page_for_an_id_no_row_can_have_is_not_found(app, people):
    client = app.test_client()
    signed_in(client, people.admin, people.password)
    for path in (f"/tasks/{PAST_LARGEST_ID}", f"/instances/{PAST_LARGEST_ID}"):
        assert client.get(path).status_code == 404


def test_retrying_incidents_of_an_id_no_row_can_have_names_the_field(app, people):
    answer = app.test_client().post("/api/v1/incidents/retry", json={"instances": [1, PAST_LARGEST_ID]},
                                    headers=people.admin_headers)
    assert answer.status_code == 422
    assert "instances" in answer.get_json()["error"]["fields"]


@pytest.fixture
def failing_app(seeded_database: Path, tmp_path: Path, clock) -> Iterator[Flask]:
    """The app with two routes that fail as a bug would (Flask's own test mode re-raises errors; not here)."""
    app = create_app({"SECRET_KEY": "test", "DATABASE_URL": copy_database(seeded_database, tmp_path), "CLOCK": clock})

    def fail() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/failing", "api_failing", fail)
    app.add_url_rule("/failing", "failing", fail)
    yield app
    app.extensions["valueflow"].dispose()


def test_an_error_of_valueflows_own_is_answered_in_words(failing_app):
    client = failing_app.test_client()
    answer = client.get("/api/v1/failing")
    assert answer.status_code == 500
    quote = f"Quote the request id {answer.headers['X-Request-Id']} when you report it."
    assert answer.get_json() == {"error": {"code": "internal_error", "message": f"{OWN_FAULT} {quote}",
                                           "fields": {}}}
    page = client.get("/failing")
    assert page.status_code == 500
    assert "Something went wrong on our side" in text_of(page)
    assert OWN_FAULT in text_of(page)
    assert "RuntimeError" not in page.get_data(as_text=True)
