"""The audit log: every deploy, assignment, completion, cancellation, role change, token made or revoked and
failed sign-in is recorded with who did it (or the address), and admins read it on /admin/audit with filters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import service
from engine.definitions.packages import read_package
from engine.work import audit
from tests.conftest import REPO
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan, text_of
from web import create_app


def entries(new_uow, **filters):
    return audit.audit_log(new_uow(), **filters)["rows"]


def only(new_uow, kind):
    """The entries of one kind, as (actor, user or address, case) tuples."""
    return [(e.actor, e.user or e.address, e.instance_id) for e in entries(new_uow, kind=kind)]


def test_a_deploy_is_recorded_with_who_deployed_which_version(new_uow):
    service.deploy(new_uow(), read_package(REPO / "bpmn_history" / "loan_decision_before"), actor="process-owner")
    [deployed] = entries(new_uow, kind="deployed", user="process-owner")
    assert (deployed.actor, deployed.process, deployed.version) == ("process-owner", "loan_decision", 2)
    assert len(entries(new_uow, kind="deployed")) == 4  # and the three shipped processes, deployed by the tests


def test_claims_assignments_completions_and_cancellations_are_recorded_with_who_did_them(auth, new_uow):
    loan = start_loan(new_uow)
    task = open_task(new_uow, loan)["id"]
    auth.login("manager")
    auth.post(f"/tasks/{task}/assign", data={"assignee": "customer-service"})
    auth.logout()
    auth.login("customer-service")
    auth.post(f"/tasks/{task}/complete", data={k: str(v).lower() if isinstance(v, bool) else str(v)
                                               for k, v in MEDIUM_RISK.items()})
    service.claim_task(new_uow(), open_task(new_uow, loan)["id"], "credit-analyst")
    service.cancel_instance(new_uow(), loan, "manager")
    assert only(new_uow, "task_assigned") == [("manager", None, loan)]
    assert entries(new_uow, kind="task_assigned")[0].detail == {"assignee": "customer-service"}
    assert only(new_uow, "task_completed") == [("customer-service", None, loan)]
    assert only(new_uow, "task_claimed") == [("credit-analyst", None, loan)]
    assert only(new_uow, "instance_cancelled") == [("manager", None, loan)]
    [completed] = entries(new_uow, kind="task_completed")
    assert (completed.step_id, completed.step_name) == ("capture_application", "Capture application")
    auth.logout()
    auth.login("admin")
    assert f"case {loan} · Capture application" in text_of(auth.client.get("/admin/audit?kind=task_completed"))


def test_role_changes_and_tokens_are_recorded_with_who_did_them(client, auth, new_uow):
    auth.login("admin")
    auth.post("/admin/users/credit-analyst/roles", data={"roles": ["credit-analyst", "underwriter"]})
    auth.post("/account/tokens", data={"name": "loan-portal"})
    [token] = re.findall(r"/account/tokens/(\d+)/revoke", client.get("/account/tokens").get_data(as_text=True))
    auth.post(f"/account/tokens/{token}/revoke")
    assert only(new_uow, "roles_set") == [("admin", "credit-analyst", None)]
    assert entries(new_uow, kind="roles_set")[0].detail == {"roles": ["credit-analyst", "underwriter"]}
    assert only(new_uow, "token_created") == [("admin", "admin", None)]
    assert only(new_uow, "token_revoked") == [("admin", "admin", None)]
    page = text_of(client.get("/admin/audit"))
    assert "API token made" in page and "API token revoked" in page and "Api token" not in page


def test_a_failed_sign_in_is_recorded_with_the_name_given_and_the_address(client, auth, new_uow):
    client.get("/login")
    client.post("/login", data={"username": "credit-analyst", "password": "guess", "csrf_token": auth.token()},
                environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"X-Forwarded-For": "198.51.100.1"})
    client.post("/login", data={"username": "nobody", "password": "guess", "csrf_token": auth.token()})
    [unknown, wrong] = entries(new_uow, kind="sign_in_failed")
    assert (wrong.user, wrong.address, wrong.note) == ("credit-analyst", "203.0.113.9",
                                                       "wrong user name or password")
    assert (unknown.user, unknown.address) == ("nobody", "127.0.0.1")  # the forwarded address is not trusted
    auth.login("credit-analyst")
    assert len(entries(new_uow, kind="sign_in_failed")) == 2  # a good sign-in is not a failure


def test_behind_a_trusted_proxy_a_failed_sign_in_keeps_the_forwarded_address(app, new_uow):
    proxied = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": app.config["DATABASE_URL"],
                          "CLOCK": app.config["CLOCK"], "PROXY_HOPS": 1})
    try:
        client = proxied.test_client()
        client.get("/login")
        with client.session_transaction() as session:
            session["_csrf"] = "token"
        client.post("/login", data={"username": "admin", "password": "guess", "csrf_token": "token"},
                    environ_base={"REMOTE_ADDR": "10.0.0.2"}, headers={"X-Forwarded-For": "198.51.100.1"})
    finally:
        proxied.extensions["valueflow"].dispose()
    [failed] = entries(new_uow, kind="sign_in_failed")
    assert (failed.user, failed.address) == ("admin", "198.51.100.1")


def test_a_disabled_user_signing_in_is_recorded(auth, new_uow):
    auth.login("admin")
    auth.post("/admin/users/underwriter/disable")
    auth.logout()
    auth.login("underwriter")
    [failed] = entries(new_uow, kind="sign_in_failed")
    assert (failed.user, failed.note) == ("underwriter", "account disabled")
    assert only(new_uow, "disabled") == [("admin", "underwriter", None)]


def rows_of(client, **query) -> list[str]:
    html = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    return re.findall(r'<tr class="audit-(\w+)">', html)


def test_admins_filter_the_audit_log_by_kind_user_and_period_a_page_at_a_time(client, auth, new_uow, clock):
    clock.set(entries(new_uow)[0].at + timedelta(days=1))  # after the seeded users and deploys
    for number in range(30):
        service.add_user(new_uow(), f"temp-{number:02d}", ["credit-analyst"], actor="admin")
    clock.advance(timedelta(days=3))
    loan = start_loan(new_uow)
    service.assign_task(new_uow(), open_task(new_uow, loan)["id"], "customer-service", "manager")
    clock.advance(timedelta(minutes=1))
    client.get("/login")
    client.post("/login", data={"username": "admin", "password": "guess", "csrf_token": auth.token()})
    auth.login("admin")

    page = text_of(client.get("/admin/audit"))
    assert "Page 1" in page and "Next" in page and "Sign-in failed" in page and "from 127.0.0.1" in page
    assert rows_of(client)[:2] == ["sign_in_failed", "task_assigned"]  # newest first
    assert len(rows_of(client)) == 25 and len(rows_of(client, page=2)) > 0
    assert "Next" not in text_of(client.get("/admin/audit", query_string={"page": 2}))
    assert set(rows_of(client, kind="user_added")) == {"user_added"}
    assert rows_of(client, kind="task_assigned", user="manager") == ["task_assigned"]
    assert rows_of(client, kind="task_assigned", user="admin") == []
    assert set(rows_of(client, user="temp-07")) == {"user_added"}
    today = clock.now().date()
    assert "user_added" not in rows_of(client, **{"from": today.isoformat()})
    before = (today - timedelta(days=1)).isoformat()
    assert "task_assigned" not in rows_of(client, to=before) and "user_added" in rows_of(client, to=before)
    filtered = client.get("/admin/audit", query_string={"kind": "user_added", "user": "admin"})
    assert 'href="/admin/audit?kind=user_added&amp;user=admin&amp;page=2"' in filtered.get_data(as_text=True)


@pytest.mark.parametrize("query, message", [
    ({"kind": "everything"}, "There is no kind 'everything' in the audit log"),
    ({"from": "2026-02-30"}, "The “from” date must be written YYYY-MM-DD"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "The period ends before it starts"),
    ({"page": "0"}, "The page must be a whole number from 1"),
])
def test_a_bad_filter_is_explained(client, auth, query, message):
    auth.login("admin")
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 400 and message in text_of(response)


def test_a_period_that_ends_before_it_starts_comes_back_in_the_filters_to_be_mended(client, auth):
    auth.login("admin")
    response = client.get("/admin/audit", query_string={"kind": "user_added", "from": "2026-03-02", "to": "2026-03-01"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "The period ends before it starts" in text_of(response)
    assert 'value="2026-03-02"' in page and 'value="2026-03-01"' in page and 'value="user_added" selected' in page


def test_a_period_to_the_last_day_of_the_calendar_is_every_line_from_its_start(client, auth):
    auth.login("admin")
    assert client.get("/admin/audit", query_string={"to": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize("user", ["manager", "process-owner", "credit-analyst"])
def test_only_admins_read_the_audit_log(client, auth, user):
    auth.login(user)
    assert client.get("/admin/audit").status_code == 403
