"""Every answer names its request with ``X-Request-Id``: the one sent, when it is sane, else a new one; an error of
Valueflow's own gives the id to quote, and its log names the same id beside the traceback."""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest

from tests.web.conftest import Auth, copy_database, password_of, text_of
from web import create_app

NEW_ID = re.compile(r"[0-9a-f]{32}")


def answer_to(client, path: str, request_id: str, **options):
    response = client.open(path, headers={"X-Request-Id": request_id}, **options)
    response.close()
    return response


@pytest.mark.parametrize("path", ["/login", "/inbox", "/healthz", "/static/valueflow.css", "/no-such-page",
                                  "/api/v1/tasks", "/api/v1/no-such-endpoint"])
def test_every_answer_sends_back_the_request_id_it_was_sent(client, path):
    assert answer_to(client, path, "lb-01:2026.12.06_7f").headers["X-Request-Id"] == "lb-01:2026.12.06_7f"


def test_an_id_of_64_characters_is_kept(client):
    assert answer_to(client, "/login", "a" * 64).headers["X-Request-Id"] == "a" * 64


def test_refusals_before_any_view_send_back_the_request_id_too(client):
    too_large = answer_to(client, "/login", "big-1", method="POST", data="x" * (1024 * 1024 + 1),
                          content_type="application/x-www-form-urlencoded")
    with client.session_transaction() as session:
        session["_csrf"] = "t"
    for _ in range(10):
        client.post("/login", data={"username": "manager", "password": "guess", "csrf_token": "t"})
    too_many = answer_to(client, "/login", "limited-1", method="POST",
                         data={"username": "manager", "password": password_of("manager"), "csrf_token": "t"})
    assert (too_large.status_code, too_large.headers["X-Request-Id"]) == (413, "big-1")
    assert (too_many.status_code, too_many.headers["X-Request-Id"]) == (429, "limited-1")


def test_each_request_without_an_id_gets_a_new_one(client):
    ids = [client.get("/healthz").headers["X-Request-Id"] for _ in range(3)]
    assert all(NEW_ID.fullmatch(found) for found in ids) and len(set(ids)) == 3


@pytest.mark.parametrize("sent", ["a\nb", "x" * 200, "x" * 65, "<script>alert(1)</script>", "two words", "zoë", ""],
                         ids=["newline", "200 characters", "65 characters", "script", "space", "accent", "empty"])
def test_an_id_that_is_not_sane_is_replaced_and_never_repeated(client, caplog, sent):
    caplog.set_level(logging.INFO, logger="valueflow.access")
    response = client.get("/no/such/page", environ_overrides={"HTTP_X_REQUEST_ID": sent})
    replaced = response.headers["X-Request-Id"]
    assert NEW_ID.fullmatch(replaced)
    [line] = [record.getMessage() for record in caplog.records if record.name == "valueflow.access"]
    assert line.endswith(f" {replaced}")
    if sent:
        assert sent not in response.get_data(as_text=True) and sent not in caplog.text


def test_a_request_id_is_sent_with_the_503_of_a_database_away_and_quoted_in_it(tmp_path):
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "t",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'valueflow.db'}"})
    api = app.test_client().get("/api/v1/tasks", headers={"Authorization": "Bearer vf_any", "X-Request-Id": "r-503"})
    app.extensions["valueflow"].dispose()
    assert (api.status_code, api.headers["X-Request-Id"]) == (503, "r-503")
    assert api.get_json()["error"]["message"].endswith("Quote the request id r-503 when you report it.")


def test_a_load_balancers_probe_is_logged_only_when_it_fails(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="valueflow.access")
    app = create_app({"TESTING": True, "SECRET_KEY": "t",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'valueflow.db'}"})
    client = app.test_client()
    alive, ready = (answer_to(client, path, f"probe-{path[1:]}") for path in ("/healthz", "/readyz"))
    app.extensions["valueflow"].dispose()
    assert (alive.status_code, ready.status_code) == (200, 503)
    lines = [record.getMessage() for record in caplog.records if record.name == "valueflow.access"]
    assert [line.split()[-1] for line in lines] == ["probe-readyz"]


def test_a_file_the_browser_has_already_is_logged_with_no_bytes_sent(client, caplog):
    caplog.set_level(logging.INFO, logger="valueflow.access")
    first = client.get("/static/valueflow.css", headers={"X-Request-Id": "css-1"})
    sent = len(first.get_data())
    first.close()
    again = client.get("/static/valueflow.css",
                       headers={"X-Request-Id": "css-2", "If-None-Match": first.headers["ETag"]})
    again.close()
    assert (first.status_code, again.status_code) == (200, 304)
    lines = {record.getMessage().split()[-1]: record.getMessage().split() for record in caplog.records
             if record.name == "valueflow.access"}
    assert lines["css-1"][4:6] == ["200", str(sent)] and lines["css-2"][4:6] == ["304", "0"]


def test_an_error_of_valueflows_own_gives_the_id_that_leads_to_its_traceback(seeded_database, tmp_path, caplog):
    url = copy_database(seeded_database, tmp_path)
    app = create_app({"SECRET_KEY": "t", "DATABASE_URL": url})  # not TESTING: Flask answers errors as served
    client = app.test_client()
    Auth(client).login("customer-service")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as database:  # a table gone: every inbox query fails
        database.execute("DROP TABLE human_task")
    caplog.set_level(logging.INFO, logger="valueflow.access")
    page = client.get("/inbox?q=Kim")
    api = client.get("/api/v1/tasks", headers={"X-Request-Id": "report-me-1"})
    app.extensions["valueflow"].dispose()
    page_id = page.headers["X-Request-Id"]
    assert page.status_code == 500 and NEW_ID.fullmatch(page_id)
    assert f"Quote the request id {page_id} when you report it." in text_of(page)
    assert api.status_code == 500
    assert api.get_json()["error"]["message"].endswith("Quote the request id report-me-1 when you report it.")
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == [f"Exception on /inbox [GET], request id {page_id}",
                                                          "Exception on /api/v1/tasks [GET], request id report-me-1"]
    assert all("no such table: human_task" in str(record.exc_info[1]) for record in errors)
    lines = [record.getMessage() for record in caplog.records if record.name == "valueflow.access"]
    assert [line.split()[1:5] + line.split()[-1:] for line in lines] == [
        ["customer-service", "GET", "/inbox", "500", page_id],
        ["customer-service", "GET", "/api/v1/tasks", "500", "report-me-1"]]
