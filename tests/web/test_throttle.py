"""Guessing passwords is slowed to a stop: failed sign-ins are limited per user name and per address."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.web.conftest import copy_database, password_of
from web import create_app
from web.throttle import ACCOUNT_REFUSED, ADDRESS_REFUSED


def attempt(client, name: str, password: str, address: str = "10.0.0.1"):
    with client.session_transaction() as session:
        session["_csrf"] = "t"
    return client.post("/login", data={"username": name, "password": password, "csrf_token": "t"},
                       environ_base={"REMOTE_ADDR": address})


def test_after_ten_wrong_passwords_even_the_right_one_is_refused_with_a_clear_wait(client):
    for _ in range(10):
        failed = attempt(client, "manager", "guess")
        assert failed.status_code == 401 and "Retry-After" not in failed.headers  # no wait until refused
    refused = attempt(client, "manager", password_of("manager"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert ACCOUNT_REFUSED in refused.get_data(as_text=True)
    assert "/login" in client.get("/inbox").headers["Location"]  # not signed in


def test_the_limit_is_per_user_name_so_others_still_sign_in(client):
    for _ in range(10):
        attempt(client, "Manager ", "guess")  # the same account, however it is typed
    assert attempt(client, "manager", password_of("manager")).status_code == 429
    assert attempt(client, "credit-analyst", password_of("credit-analyst")).status_code == 302


def test_successful_sign_ins_do_not_count(client):
    for _ in range(15):
        signed_in = attempt(client, "manager", password_of("manager"))
        assert signed_in.status_code == 302 and "Retry-After" not in signed_in.headers


def test_one_address_trying_many_user_names_is_stopped_too(client):
    for number in range(50):
        attempt(client, f"nobody-{number}", "guess", address="10.9.9.9")
    refused = attempt(client, "manager", password_of("manager"), address="10.9.9.9")
    assert refused.status_code == 429 and ADDRESS_REFUSED in refused.get_data(as_text=True)
    assert attempt(client, "manager", password_of("manager"), address="10.1.1.1").status_code == 302


def test_several_processes_share_the_counts_through_redis(seeded_database, tmp_path):
    """Two apps, as two web processes would be, on one Redis: failures at one are refused at the other."""
    server = os.environ.get("VALUEFLOW_TEST_REDIS")
    if not server:
        pytest.skip("VALUEFLOW_TEST_REDIS is not set")
    shared = {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": copy_database(seeded_database, tmp_path),
              "RATELIMIT_STORAGE_URI": server, "RATELIMIT_KEY_PREFIX": f"valueflow-test-{uuid.uuid4().hex}"}
    first, second = create_app(shared), create_app(shared)
    try:
        for _ in range(10):
            assert attempt(first.test_client(), "manager", "guess").status_code == 401
        assert attempt(second.test_client(), "manager", password_of("manager")).status_code == 429
    finally:
        for app in (first, second):
            app.extensions["valueflow"].dispose()


@pytest.mark.parametrize("hops, limited", [(0, True), (1, False)])
def test_behind_a_trusted_proxy_each_client_address_counts_apart(seeded_database, tmp_path, hops, limited):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": copy_database(seeded_database, tmp_path),
                      "PROXY_HOPS": hops})
    client = app.test_client()
    for number in range(50):
        with client.session_transaction() as session:
            session["_csrf"] = "t"
        client.post("/login", data={"username": f"nobody-{number}", "password": "x", "csrf_token": "t"},
                    headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    with client.session_transaction() as session:
        session["_csrf"] = "t"
    other = client.post("/login", data={"username": "manager", "password": password_of("manager"), "csrf_token": "t"},
                        headers={"X-Forwarded-For": "198.51.100.4"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    app.extensions["valueflow"].dispose()
    assert (other.status_code == 429) is limited


def test_sign_ins_go_on_and_stay_limited_while_redis_cannot_be_reached(seeded_database, tmp_path, capsys):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": copy_database(seeded_database, tmp_path),
                      "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1"})  # nothing listens on port 1
    try:
        assert attempt(app.test_client(), "manager", password_of("manager")).status_code == 302
        for _ in range(10):
            assert attempt(app.test_client(), "underwriter", "guess").status_code == 401
        assert attempt(app.test_client(), "underwriter", password_of("underwriter")).status_code == 429
        assert "Rate limit storage unreachable - falling back to in-memory storage" in capsys.readouterr().err
    finally:
        app.extensions["valueflow"].dispose()
