"""Every route of the app, fed hostile values in its path, its query and its form, as each kind of user:
the answer is a page (2xx, 3xx or 4xx), never a server error."""

from __future__ import annotations

import re
from typing import Iterator, Optional
from urllib.parse import quote

import pytest
from flask import Flask
from werkzeug.routing import Rule

from engine import service
from engine.definitions.packages import read_package
from tests.conftest import REPO
from tests.web.conftest import password_of, start_loan, text_of

HOSTILE = [
    "²", "١٢", "1" + "0" * 23, "9" * 20, "-1", "0", "1e5", "", "x" * 100_000, "/inbox\r\nSet-Cookie: x=1", "\x00",
    "../../etc/passwd", "'; drop table customer; --", "2026-02-30", "9999-12-31", "🙂", "%", "//evil.example",
]
QUERY_NAMES = ("page", "view", "process", "step", "segment", "role", "q", "next", "from", "to", "version", "first",
               "second", "assignee", "customer", "find", "key", "_anchor", "_scheme", "_external", "_method",
               "no_such_parameter")
FORM_NAMES = ("username", "password", "next", "name", "roles", "role", "hourly_rate", "score", "comment", "id",
              "segment", "assignee", "process", "loan_amount", "application_notes", "no_such_field")
# What a server hands the app is at most its request header size (waitress's, 256 KB): every query parameter at once
# holds a long value cut to its share of that; the next test gives each parameter the whole value alone.
TOGETHER_AT_MOST = 256 * 1024 // len(QUERY_NAMES)
USERS = (None, "credit-analyst", "admin", "process-owner")  # anonymous, staff, manager and admin, neither
# A real value for each path argument (else 1), so that a hostile value in one argument reaches the view.
REAL = {"task_id": "1", "instance_id": "1", "customer_id": "c-1", "key": "loan_decision", "fmt": "xes",
        "token": "no-such-token", "name": "credit-analyst", "filename": "valueflow.css", "kind": "bpmn"}
SIGNED = "hostile-csrf"
ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def path_of(rule: Rule, **values: str) -> str:
    """The rule's address with each argument given (URL-quoted) or, when not given, a real value."""
    return ARGUMENT.sub(lambda found: quote(values.get(found[1], REAL.get(found[1], "1")), safe=""), rule.rule)


@pytest.fixture
def walked(app, new_uow):
    """The app with a case, and two versions of the loan process (so that versions can be compared)."""
    service.deploy(new_uow(), read_package(REPO / "bpmn_history" / "loan_decision_before"), actor="tests")
    start_loan(new_uow)
    return app


class Walker:
    """Asks the app as one user and notes every answer that is a server error."""

    def __init__(self, app: Flask, user: Optional[str]) -> None:
        self.client, self.user, self.failures = app.test_client(), user, []

    def ask(self, method: str, path: str, query: Optional[dict[str, str]] = None,
            form: Optional[dict[str, str]] = None) -> None:
        with self.client.session_transaction() as session:
            session.clear()
            session["_csrf"] = SIGNED
            if self.user is not None:
                session["user"], session["id"] = self.user, f"walker-{self.user}"
        try:
            with self.client.open(path, method=method, query_string=query or {},
                                  data={**(form or {}), "csrf_token": SIGNED} if method == "POST" else None) as answer:
                code, detail = answer.status_code, ""
        except Exception as exc:  # a view that raised: Flask's 500
            code, detail = 500, f"{type(exc).__name__}: {str(exc)[:200]}"
        if code >= 500:
            self.failures.append(f"{method} {path[:60]} query={str(query)[:60]} form={str(form)[:60]}: {code} {detail}")

    def report(self) -> str:
        return f"{len(self.failures)} server errors:\n" + "\n".join(self.failures[:40])


@pytest.mark.parametrize("user", USERS)
def test_no_route_answers_a_hostile_value_with_a_server_error(walked, user):
    walker = Walker(walked, user)
    for rule, method in routes(walked):
        walker.ask(method, path_of(rule))
        for argument in rule.arguments:
            for value in HOSTILE:
                walker.ask(method, path_of(rule, **{argument: value}))
        for value in HOSTILE:
            walker.ask(method, path_of(rule), query={name: value[:TOGETHER_AT_MOST] for name in QUERY_NAMES})
            if method == "POST":
                walker.ask(method, path_of(rule), form={name: value for name in FORM_NAMES})
    assert not walker.failures, walker.report()


def test_no_query_parameter_alone_answers_a_hostile_value_with_a_server_error(walked):
    """One parameter at a time, so that no other parameter's refusal hides what a value does further on."""
    walker = Walker(walked, "admin")
    for rule, method in routes(walked):
        if method == "GET" and not rule.arguments - {"key", "fmt"}:  # the pages that read a query
            for name in QUERY_NAMES:
                for value in ("²", "1" + "0" * 23, "9999-12-31", "x" * 100_000, "/inbox\r\nSet-Cookie: x=1"):
                    walker.ask(method, path_of(rule), query={name: value})
    assert not walker.failures, walker.report()


@pytest.mark.parametrize("path, code, says", [
    ("/inbox?page=²", 400, "The page number must be a whole number from 1 to 1,000,000, written in digits"),
    ("/inbox?page=" + "1" + "0" * 23, 400, "The page number must be a whole number"),
    ("/tasks/" + "9" * 20, 404, "Not found"),
    ("/instances/" + "9" * 20, 404, "Not found"),
    ("/instances?q=" + "x" * 100_000, 400, "A search is at most 200 characters"),
    ("/instances?q=²", 200, "No case"),
    ("/dashboard/loan_decision?version=²", 400, "Version must be a number or 'all', not '²'"),
])
def test_a_hostile_address_gets_a_plain_refusal(client, auth, path, code, says):
    auth.login("admin")
    response = client.get(path)
    assert response.status_code == code
    assert says in text_of(response)


def test_signing_in_with_a_next_address_holding_a_line_break_lands_on_the_inbox(client, auth):
    client.get("/login")
    response = client.post("/login", data={"username": "credit-analyst", "password": password_of("credit-analyst"),
                                           "next": "/inbox\r\nSet-Cookie: x=1", "csrf_token": auth.token()})
    assert response.headers["Location"] == "/inbox"


def test_setting_a_rate_from_an_address_with_odd_parameters_keeps_only_the_filters(client, auth):
    auth.login("admin")
    response = auth.post("/dashboard/loan_decision/rates?_scheme=ftp&key=x&segment=premium",
                         data={"role": "credit-analyst", "hourly_rate": "45"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/loan_decision?segment=premium#costs"
