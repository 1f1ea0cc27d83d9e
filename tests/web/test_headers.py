"""Every answer carries the security headers; the session cookie is Secure when the app says it is served over HTTPS."""

from __future__ import annotations

import pytest

from tests.web.conftest import copy_database, password_of
from web import create_app


@pytest.mark.parametrize("path", ["/login", "/inbox", "/no-such-page", "/healthz", "/static/valueflow.css"])
def test_every_answer_allows_only_the_apps_own_scripts_and_is_never_framed(client, path):
    response = client.get(path)
    response.close()
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def sign_in_cookie(app) -> str:
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["_csrf"] = "t"
    response = client.post("/login", data={"username": "manager", "password": password_of("manager"),
                                           "csrf_token": "t"})
    return response.headers["Set-Cookie"]


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_secure_when_the_app_is_served_over_https(seeded_database, tmp_path, secure):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": copy_database(seeded_database, tmp_path),
                      "SESSION_COOKIE_SECURE": secure})
    cookie = sign_in_cookie(app)
    app.extensions["valueflow"].dispose()
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
