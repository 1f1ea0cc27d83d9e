"""Personal API tokens: made and revoked on the account page, sent as ``Authorization: Bearer``, acting with
exactly the user's roles, refused at once when revoked."""

from __future__ import annotations

import re

from engine import cli
from engine.work import accounts, tokens
from tests.web.conftest import open_task, start_loan, text_of


def make_token(auth, user: str, name: str = "loan-portal") -> str:
    auth.login(user)
    response = auth.post("/account/tokens", {"name": name})
    assert response.status_code == 201
    secret = re.search(r'id="token-secret">([^<]+)<', response.get_data(as_text=True)).group(1)
    auth.logout()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_made_on_the_account_page_is_shown_once_then_listed_by_name_only(auth, client):
    auth.login("credit-analyst")
    made = auth.post("/account/tokens", {"name": "loan-portal"})
    secret = re.search(r'id="token-secret">([^<]+)<', made.get_data(as_text=True)).group(1)
    assert "Copy it now: it is shown only this once" in text_of(made)
    page = client.get("/account/tokens")
    assert "loan-portal" in text_of(page) and "never" in text_of(page)
    assert secret not in page.get_data(as_text=True)


def test_a_token_without_a_name_is_refused_and_none_is_made(auth, client, new_uow):
    auth.login("credit-analyst")
    response = auth.post("/account/tokens", {"name": "  "})
    assert response.status_code == 400
    assert "No token was made: a token needs a name" in text_of(response)
    assert tokens.tokens_of(new_uow(), "credit-analyst") == []


def test_a_bearer_token_acts_as_its_user_with_that_users_roles_and_needs_no_csrf_token(auth, client, new_uow):
    clerk = make_token(auth, "customer-service")
    owner = make_token(auth, "process-owner")
    task = open_task(new_uow, start_loan(new_uow))
    assert client.get("/inbox", headers=bearer(clerk)).status_code == 200
    assert client.get("/inbox", headers=bearer(owner)).status_code == 403
    refused = client.post(f"/tasks/{task['id']}/claim", headers=bearer(owner))
    assert refused.status_code == 403 and open_task(new_uow, task["instance_id"])["assignee"] is None
    claimed = client.post(f"/tasks/{task['id']}/claim", headers=bearer(clerk))
    assert claimed.status_code == 302
    assert open_task(new_uow, task["instance_id"])["assignee"] == "customer-service"
    [row] = tokens.tokens_of(new_uow(), "customer-service")
    assert row.last_used_at is not None


def test_a_cookie_session_still_needs_its_csrf_token(auth, client, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    auth.login("customer-service")
    assert client.post(f"/tasks/{task['id']}/claim").status_code == 400
    assert open_task(new_uow, task["instance_id"])["assignee"] is None


def test_a_revoked_token_answers_401_as_json_at_once(auth, client, new_uow):
    secret = make_token(auth, "credit-analyst")
    assert client.get("/inbox", headers=bearer(secret)).status_code == 200
    auth.login("credit-analyst")
    [row] = tokens.tokens_of(new_uow(), "credit-analyst")
    assert auth.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert "revoked" in text_of(client.get("/account/tokens"))
    auth.logout()
    response = client.get("/inbox", headers=bearer(secret))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Valueflow"'


def test_a_token_revoked_with_the_valueflow_command_is_refused_by_the_api_at_its_next_request(
        auth, client, app, new_uow, monkeypatch):
    secret = make_token(auth, "credit-analyst")
    kept = make_token(auth, "credit-analyst", "nightly-script")
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200  # the app now knows the token
    revoked = next(t.id for t in tokens.tokens_of(new_uow(), "credit-analyst") if t.name == "loan-portal")
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    assert cli.main(["token", "revoke", "credit-analyst", str(revoked)]) == 0
    response = client.get("/api/v1/tasks", headers=bearer(secret))
    assert response.status_code == 401 and "unknown, revoked" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/tasks", headers=bearer(kept)).status_code == 200


def test_an_api_call_without_a_token_names_the_bearer_scheme_in_www_authenticate(client):
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Valueflow"'


def test_an_unknown_or_empty_token_answers_401_even_beside_a_signed_in_session(auth, client, new_uow):
    task = open_task(new_uow, start_loan(new_uow))
    auth.login("customer-service")
    for header in ({"Authorization": "Bearer vf_not-a-token"}, {"Authorization": "Bearer"}):
        response = auth.post(f"/tasks/{task['id']}/claim", headers=header)
        assert response.status_code == 401 and "unknown, revoked" in response.get_json()["error"]["message"]
    assert open_task(new_uow, task["instance_id"])["assignee"] is None


def test_a_disabled_users_token_is_refused(auth, client, new_uow):
    secret = make_token(auth, "credit-analyst")
    accounts.set_disabled(new_uow(), "credit-analyst", True, "admin")
    assert client.get("/inbox", headers=bearer(secret)).status_code == 401


def test_nobody_revokes_another_users_token(auth, client, new_uow):
    secret = make_token(auth, "credit-analyst")
    [row] = tokens.tokens_of(new_uow(), "credit-analyst")
    auth.login("admin")
    assert auth.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert client.get("/inbox", headers=bearer(secret)).status_code == 200
