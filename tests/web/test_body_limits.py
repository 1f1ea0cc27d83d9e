"""Request bodies are limited before they are read: 1 MB for the pages, 5 MB for process packages."""

from __future__ import annotations

import json

from engine.work import tokens
from tests.web.conftest import text_of


LIMIT_TOLD = ("The request is larger than the 1 MB this server accepts. An operator can raise the limit with the "
              "setting VALUEFLOW_MAX_CONTENT_LENGTH (in bytes).")


def test_a_huge_anonymous_post_is_refused_before_it_is_read_with_the_limit_and_the_setting_that_raises_it(client):
    response = client.post("/login", data={"username": "x" * (2 * 1024 * 1024), "password": "y"})
    assert response.status_code == 413
    assert LIMIT_TOLD in text_of(response)


def test_an_api_body_past_the_limit_is_told_the_limit_and_the_setting_as_json(client, new_uow):
    secret = tokens.create_token(new_uow(), "customer-service", "tests")
    response = client.post("/api/v1/instances", data=json.dumps({"data": {"note": "x" * (2 * 1024 * 1024)}}),
                           content_type="application/json", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 413
    assert response.json["error"] == {"code": "too_large", "message": LIMIT_TOLD, "fields": {}}


def test_a_limit_set_by_the_operator_is_told_in_its_own_units(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1536 * 1024
    response = client.post("/login", data={"username": "x" * (2 * 1024 * 1024), "password": "y"})
    assert response.status_code == 413
    assert "larger than the 1.5 MB this server accepts" in text_of(response)


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
    assert beyond.json["error"]["message"] == "The request is larger than the 5 MB this server accepts at this address."
