"""Request bodies are limited before they are read: 1 MB for the pages, 5 MB for process packages."""

from __future__ import annotations

import json

from tests.web.conftest import text_of


def test_a_huge_anonymous_post_is_refused_before_it_is_read(client):
    response = client.post("/login", data={"username": "x" * (2 * 1024 * 1024), "password": "y"})
    assert response.status_code == 413
    assert "too large" in text_of(response).lower() or "Too Large" in response.get_data(as_text=True)


def test_a_signed_in_form_past_the_limit_is_refused_and_changes_nothing(client, auth, new_uow):
    auth.login("admin")
    response = auth.post("/admin/users", {"name": "big", "roles": "manager", "password": "p" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    with new_uow() as uow:
        assert uow.users.by_name("big") is None


def test_a_process_owner_sends_a_package_of_two_megabytes_but_not_of_six(client, auth):
    auth.login("process-owner")
    token = auth.token()
    padding = "<!--" + "x" * (2 * 1024 * 1024) + "-->"
    within = client.post("/api/v1/processes/validate", data=json.dumps({"bpmn": padding}),
                         content_type="application/json", headers={"X-CSRF-Token": token})
    assert within.status_code != 413
    padding = "<!--" + "x" * (6 * 1024 * 1024) + "-->"
    beyond = client.post("/api/v1/processes/validate", data=json.dumps({"bpmn": padding}),
                         content_type="application/json", headers={"X-CSRF-Token": token})
    assert beyond.status_code == 413 and "large" in beyond.json["error"]["code"]
