"""Signing in and out, who may see what, and forged posts."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import text_of


def test_an_anonymous_request_goes_to_the_login_page_and_comes_back_after_signing_in(client, auth):
    response = client.get("/inbox?view=queues")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/inbox")
    client.get(response.headers["Location"])
    signed_in = client.post("/login", data={"username": "credit-analyst", "password": "pw-credit-analyst-1234",
                                            "next": "/inbox?view=queues", "csrf_token": auth.token()})
    assert signed_in.headers["Location"] == "/inbox?view=queues"


@pytest.mark.parametrize("path", ["/", "/inbox", "/tasks/1", "/instances", "/instances/1", "/processes",
                                  "/admin/users", "/instances/new?process=loan_decision"])
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_wrong_password_is_refused_with_a_plain_message_and_no_session(client, auth):
    response = auth.login("credit-analyst", "not-the-password")
    assert response.status_code == 401
    assert "That user name and password do not match" in text_of(response)
    assert client.get("/inbox").status_code == 302


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(auth):
    response = auth.login("nobody-at-all", "whatever-password")
    assert response.status_code == 401
    assert "That user name and password do not match" in text_of(response)


def test_signing_in_sends_staff_to_the_inbox_and_signing_out_ends_the_session(client, auth):
    response = auth.login("credit-analyst")
    assert response.headers["Location"] == "/inbox"
    assert "credit-analyst" in text_of(client.get("/inbox"))
    auth.logout()
    assert client.get("/inbox").status_code == 302


def test_signing_out_ends_a_copy_of_the_session_too(app, client, auth):
    auth.login("credit-analyst")
    copy = app.test_client()
    with client.session_transaction() as signed_in, copy.session_transaction() as copied:
        copied.update(signed_in)
    assert copy.get("/inbox").status_code == 200
    auth.logout()
    assert copy.get("/inbox").status_code == 302


def test_a_process_owner_lands_on_the_process_catalogue(auth):
    assert auth.login("process-owner").headers["Location"] == "/processes"


@pytest.mark.parametrize("target", ["//evil.example/steal", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "https://evil.example/", "/\r\nLocation: https://evil.example", " //evil.example",
                                    "javascript:alert(1)"])
def test_a_next_address_off_the_site_is_ignored(client, auth, target):
    client.get("/login")
    response = client.post("/login", data={"username": "credit-analyst", "password": "pw-credit-analyst-1234",
                                           "next": target, "csrf_token": auth.token()})
    assert response.headers["Location"] == "/inbox"


def test_a_next_address_with_an_encoded_tab_from_the_login_link_is_ignored(client, auth):
    """``/login?next=/%09/evil.example``: browsers drop the tab, which would make it ``//evil.example``."""
    auth.login("credit-analyst")
    response = client.get("/login?next=/%09/evil.example")
    assert response.headers["Location"] == "/inbox"


def test_a_page_of_another_role_answers_403_with_a_readable_page(client, auth):
    auth.login("credit-analyst")
    response = client.get("/admin/users")
    assert response.status_code == 403
    page = text_of(response)
    assert "Not allowed" in page
    assert "User administration is for admins" in page
    assert "Go to your inbox" in page


def test_the_inbox_is_refused_to_a_user_without_a_staff_or_manager_role(client, auth):
    auth.login("process-owner")
    response = client.get("/inbox")
    assert response.status_code == 403
    assert "for front-line staff and managers" in text_of(response)


def test_a_refused_page_offers_a_way_back_the_user_may_see(client, auth):
    auth.login("process-owner")
    response = client.get("/inbox")
    assert "Go to your inbox" not in text_of(response)
    way_back = re.search(r'href="([^"]+)" id="way-back">([^<]+)<', response.get_data(as_text=True))
    assert way_back is not None and way_back.groups() == ("/processes", "Go to the processes")
    assert client.get(way_back.group(1)).status_code == 200


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, auth, new_uow, token):
    auth.login("admin")
    data = {"name": "mallory", "password": "long-enough-1", "roles": ["admin"]}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/admin/users", data=data)
    assert response.status_code == 400
    assert "security token is missing or out of date" in text_of(response)
    assert "mallory" not in text_of(client.get("/admin/users"))


def test_the_login_form_itself_needs_the_csrf_token(client):
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": "pw-admin-1234"})
    assert response.status_code == 400
    assert client.get("/inbox").status_code == 302
