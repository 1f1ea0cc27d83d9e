"""One permission table: every route of the app and the API, called as anonymous, as each role and as a user of
another role, answers as the table says; a route missing from the table fails.

Each caller works on a copy of one arranged database (so that what one caller changes does not change what the
next one meets), with the real objects the routes name: cases, tasks, a customer, a process, users, tokens.
Web pages are called with the session of a signed-in user (following the answer's redirects, as a browser
would: a refused form comes back to its page with the refusal's status); the API with the caller's token.

To add a route: add its row to TABLE (one letter per caller, in the order of CALLERS) and, when its path names
an object or it needs a body, to PATHS and BODIES.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from werkzeug.routing import Rule

from engine import service
from engine.definitions.packages import Package
from engine.storage.uow import UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.work import feedback, tokens
from tests import samples
from tests.web.conftest import MEDIUM_RISK, open_task, password_of, start_loan
from web import create_app

# Who calls: nobody signed in, each role (external-worker: an outside worker's system account), and a user of a role
# no process or page knows (a warehouse clerk).
CALLERS = ("anonymous", "customer-service", "credit-analyst", "underwriter", "manager", "process-owner", "admin",
           "external-worker", "clerk")
# What they get: L sent to sign in, U 401, F 403, N 404, + let through (the view itself answered: a page, a JSON
# answer, or its own refusal of the values, 400, 409 or 422).
OUTCOMES = {"L": "sent to sign in", "U": "401", "F": "403", "N": "404", "+": "let through"}

TABLE = {
    #                                                           an cs ca uw ma po ad ew cl
    "GET /":                                                   "L  +  +  +  +  +  +  +  +",
    "GET /login":                                              "+  +  +  +  +  +  +  +  +",
    "POST /login":                                             "U  U  U  U  U  U  U  U  U",  # a wrong password
    "POST /logout":                                            "L  L  L  L  L  L  L  L  L",  # signed out: to sign in
    "GET /healthz":                                            "+  +  +  +  +  +  +  +  +",
    "GET /readyz":                                             "+  +  +  +  +  +  +  +  +",
    "GET /metrics":                                            "+  +  +  +  +  +  +  +  +",
    "GET /static/<path:filename>":                             "+  +  +  +  +  +  +  +  +",
    "GET /vendor/bpmn-js/<path:filename>":                     "+  +  +  +  +  +  +  +  +",
    "GET /vendor/dmn-js/<path:filename>":                      "+  +  +  +  +  +  +  +  +",
    "GET /vendor/chart.js/<path:filename>":                    "+  +  +  +  +  +  +  +  +",
    "GET /vendor/swagger-ui/<path:filename>":                  "+  +  +  +  +  +  +  +  +",
    "GET /vendor/modules/<name>/<path:filename>":              "+  +  +  +  +  +  +  +  +",
    "GET /feedback/<token>":                                   "+  +  +  +  +  +  +  +  +",  # the customer's link
    "POST /feedback/<token>":                                  "+  +  +  +  +  +  +  +  +",
    "GET /inbox":                                              "L  +  +  +  +  F  +  F  +",
    "GET /tasks/<int:task_id>":                                "L  +  F  F  +  F  +  F  F",
    "POST /tasks/<int:task_id>/claim":                         "L  +  F  F  F  F  F  F  F",
    "POST /tasks/<int:task_id>/release":                       "L  +  F  F  +  F  +  F  F",
    "POST /tasks/<int:task_id>/assign":                        "L  F  F  F  +  F  +  F  F",
    "POST /tasks/<int:task_id>/complete":                      "L  +  F  F  F  F  F  F  F",
    "GET /instances":                                          "L  +  +  +  +  F  +  F  +",
    "GET /instances/<int:instance_id>":                        "L  +  F  F  +  F  +  F  F",
    "GET /instances/new":                                      "L  +  F  F  F  F  F  F  F",
    "POST /instances/new":                                     "L  +  F  F  F  F  F  F  F",
    "POST /instances/<int:instance_id>/messages/<name>":       "L  +  F  F  +  F  +  F  F",
    "POST /instances/<int:instance_id>/feedback":              "L  +  F  F  +  F  +  F  F",
    "POST /instances/<int:instance_id>/feedback-link":         "L  +  F  F  +  F  +  F  F",
    "GET /customers/<customer_id>":                            "L  +  F  F  +  F  +  F  F",
    "GET /processes":                                          "L  +  +  +  +  +  +  +  +",
    "GET /processes/<key>":                                    "L  +  +  +  +  +  +  +  +",
    "GET /processes/<key>/versions/<int:version>.<any(bpmn, zip):kind>": "L  +  +  +  +  +  +  +  +",
    "GET /modeler/new":                                        "L  F  F  F  F  +  +  F  F",
    "GET /modeler/<key>":                                      "L  F  F  F  F  +  +  F  F",
    "GET /dashboard":                                          "L  F  F  F  +  +  +  F  F",
    "GET /dashboard/<key>":                                    "L  F  F  F  +  +  +  F  F",
    "GET /dashboard/<key>/compare":                            "L  F  F  F  +  +  +  F  F",
    "GET /dashboard/<key>/steps.csv":                          "L  F  F  F  +  +  +  F  F",
    "GET /dashboard/<key>/events.<fmt>":                       "L  F  F  F  +  +  +  F  F",
    "POST /dashboard/<key>/rates":                             "L  F  F  F  F  F  +  F  F",
    "GET /admin/users":                                        "L  F  F  F  F  F  +  F  F",
    "POST /admin/users":                                       "L  F  F  F  F  F  +  F  F",
    "GET /admin/users/<name>":                                 "L  F  F  F  F  F  +  F  F",
    "GET /admin/audit":                                        "L  F  F  F  F  F  +  F  F",
    "GET /incidents":                                          "L  F  F  F  F  +  +  F  F",
    "POST /incidents/retry":                                   "L  F  F  F  F  +  +  F  F",
    "POST /incidents/<int:instance_id>/cancel":                "L  F  F  F  F  +  +  F  F",
    "POST /admin/users/<name>/roles":                          "L  F  F  F  F  F  +  F  F",
    "POST /admin/users/<name>/disable":                        "L  F  F  F  F  F  +  F  F",
    "POST /admin/users/<name>/enable":                         "L  F  F  F  F  F  +  F  F",
    "POST /admin/users/<name>/password":                       "L  F  F  F  F  F  +  F  F",
    "GET /account/password":                                   "L  +  +  +  +  +  +  +  +",
    "POST /account/password":                                  "L  +  +  +  +  +  +  +  +",
    "GET /account/tokens":                                     "L  +  +  +  +  +  +  +  +",
    "POST /account/tokens":                                    "L  +  +  +  +  +  +  +  +",
    "POST /account/tokens/<int:token_id>/revoke":              "L  +  +  +  +  +  +  +  +",
    "GET /account/notifications":                              "L  +  +  +  +  +  +  +  +",
    "POST /account/notifications":                             "L  +  +  +  +  +  +  +  +",
    "GET /admin/notifications":                                "L  F  F  F  F  F  +  F  F",
    "GET /admin/notifications/roles/<role>":                   "L  F  F  F  F  F  +  F  F",
    "POST /admin/notifications/roles/<role>":                  "L  F  F  F  F  F  +  F  F",
    # the API: a token names the caller
    "GET /api/v1/openapi.json":                                "+  +  +  +  +  +  +  +  +",
    "GET /api/v1/docs":                                        "+  +  +  +  +  +  +  +  +",
    "GET /api/v1/instances":                                   "U  +  +  +  +  F  +  F  +",
    "POST /api/v1/instances":                                  "U  +  F  F  F  F  F  F  F",
    "GET /api/v1/instances/<int:instance_id>":                 "U  +  F  F  +  F  +  F  F",
    "POST /api/v1/instances/<int:instance_id>/cancel":         "U  F  F  F  +  F  +  F  F",
    "POST /api/v1/messages":                                   "U  +  F  F  +  F  +  F  F",
    "GET /api/v1/tasks":                                       "U  +  +  +  +  F  +  F  +",
    "GET /api/v1/tasks/<int:task_id>":                         "U  +  F  F  +  F  +  F  F",
    "POST /api/v1/tasks/<int:task_id>/claim":                  "U  +  F  F  F  F  F  F  F",
    "POST /api/v1/tasks/<int:task_id>/release":                "U  +  F  F  +  F  +  F  F",
    "POST /api/v1/tasks/<int:task_id>/assign":                 "U  F  F  F  +  F  +  F  F",
    "POST /api/v1/tasks/<int:task_id>/complete":               "U  +  F  F  F  F  F  F  F",
    "POST /api/v1/processes/validate":                         "U  F  F  F  F  +  +  F  F",
    "POST /api/v1/processes/unpack":                           "U  F  F  F  F  +  +  F  F",
    "POST /api/v1/processes/deploy":                           "U  F  F  F  F  +  +  F  F",
    "GET /api/v1/processes/<key>/draft":                       "U  F  F  F  F  +  +  F  F",
    "PUT /api/v1/processes/<key>/draft":                       "U  F  F  F  F  +  +  F  F",
    "GET /api/v1/incidents":                                   "U  F  F  F  F  +  +  F  F",
    "POST /api/v1/incidents/retry":                            "U  F  F  F  F  +  +  F  F",
    "POST /api/v1/incidents/<int:instance_id>/retry":          "U  F  F  F  F  +  +  F  F",
    "POST /api/v1/incidents/<int:instance_id>/cancel":         "U  F  F  F  F  +  +  F  F",
    # outside workers (role external-worker) and admins, who get past the check to the body's (no workerId: 422)
    "POST /api/v1/external-tasks/fetch-and-lock":              "U  F  F  F  F  F  +  +  F",
    "POST /api/v1/external-tasks/<int:task_id>/complete":      "U  F  F  F  F  F  +  +  F",
    "POST /api/v1/external-tasks/<int:task_id>/failure":       "U  F  F  F  F  F  +  +  F",
    "GET /api/v1/processes":                                   "U  +  +  +  +  +  +  +  +",
    "GET /api/v1/processes/<key>":                             "U  +  +  +  +  +  +  +  +",
    "GET /api/v1/processes/<key>/versions/<int:version>.bpmn": "U  +  +  +  +  +  +  +  +",
    "GET /api/v1/processes/<key>/versions/<int:version>.zip":  "U  +  +  +  +  +  +  +  +",
    "GET /api/v1/customers/<customer_id>":                     "U  +  F  F  +  F  +  F  F",
    "GET /api/v1/customers/<customer_id>/cases":               "U  +  F  F  +  F  +  F  F",
    "GET /api/v1/dashboards/<key>/summary":                    "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/steps":                      "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/segments":                   "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/risk":                       "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/costs":                      "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/events.csv":                 "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/dashboards/<key>/events.xes":                 "U  F  F  F  +  +  +  F  F",
    "GET /api/v1/me/notifications":                            "U  +  +  +  +  +  +  +  +",
    "PUT /api/v1/me/notifications":                            "U  +  +  +  +  +  +  +  +",
}


@dataclass
class World:
    """The arranged database and the real objects the routes name."""

    database: Path
    cases: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, tuple[str, int]] = field(default_factory=dict)  # caller → (API secret, a spare token's id)
    feedback_link: str = ""


# The value of each argument of a route's path; a callable is given the world and the caller.
PATHS: dict[str, dict[str, Any]] = {
    "GET /static/<path:filename>": {"filename": "valueflow.css"},
    "GET /vendor/bpmn-js/<path:filename>": {"filename": "bpmn-navigated-viewer.production.min.js"},
    "GET /vendor/dmn-js/<path:filename>": {"filename": "dmn-navigated-viewer.production.min.js"},
    "GET /vendor/chart.js/<path:filename>": {"filename": "chart.umd.min.js"},
    "GET /vendor/swagger-ui/<path:filename>": {"filename": "swagger-ui-bundle.js"},
    "GET /vendor/modules/<name>/<path:filename>": {"name": "bpmn-auto-layout", "filename": "index.js"},
    "GET /processes/<key>/versions/<int:version>.<any(bpmn, zip):kind>": {"version": "1", "kind": "bpmn"},
    "GET /dashboard/<key>/events.<fmt>": {"fmt": "csv"},
    "GET /api/v1/processes/<key>/versions/<int:version>.bpmn": {"version": "1"},
    "GET /api/v1/processes/<key>/versions/<int:version>.zip": {"version": "1"},
    "POST /instances/<int:instance_id>/messages/<name>": {"name": "documents_received"},
    "POST /account/tokens/<int:token_id>/revoke": {"token_id": lambda world, caller: world.tokens.get(caller, ("", 1))[1]},
    "POST /tasks/<int:task_id>/release": {"task_id": lambda world, _: world.tasks["claimed for release"]},
    "POST /tasks/<int:task_id>/assign": {"task_id": lambda world, _: world.tasks["to assign"]},
    "POST /tasks/<int:task_id>/complete": {"task_id": lambda world, _: world.tasks["claimed to complete"]},
    "POST /api/v1/instances/<int:instance_id>/cancel": {"instance_id": lambda world, _: world.cases["to cancel"]},
    "POST /api/v1/tasks/<int:task_id>/claim": {"task_id": lambda world, _: world.tasks["api to claim"]},
    "POST /api/v1/tasks/<int:task_id>/release": {"task_id": lambda world, _: world.tasks["api claimed for release"]},
    "POST /api/v1/tasks/<int:task_id>/assign": {"task_id": lambda world, _: world.tasks["api to assign"]},
    "POST /api/v1/tasks/<int:task_id>/complete": {"task_id": lambda world, _: world.tasks["api claimed to complete"]},
}
# Any other argument: the one loan case, its open task, its customer, the loan process, a user admins act on.
DEFAULT_PATH = {"instance_id": lambda world, _: world.cases["loan"], "task_id": lambda world, _: world.tasks["loan"],
                "customer_id": "c-perm", "key": "loan_decision", "name": "target-user", "role": "underwriter",
                "token": lambda world, _: world.feedback_link}
ARGUMENT = re.compile(r"<(?:[^<>:]+(?:\([^)]*\))?:)?([^<>]+)>")

# What a form or a JSON body holds, so that who may act gets past the checks of the values.
FORM = {"password": "wrong", "username": "nobody", "score": "3", "documents": "payslips", "assignee": "customer-service",
        "name": "perm-made", "roles": "credit-analyst", "role": "credit-analyst", "hourly_rate": "40",
        "segment": "standard", **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in MEDIUM_RISK.items()}}
QUERIES = {"/instances/new": {"process": "loan_decision"}}
BODIES: dict[str, Callable[[World], Any]] = {
    "POST /api/v1/instances": lambda _: {"process": "loan_decision", "data": {},
                                         "customer": {"id": "c-api", "name": "Api Person", "segment": "standard"}},
    "POST /api/v1/messages": lambda world: {"name": "documents_received", "instance_id": world.cases["loan"]},
    "POST /api/v1/tasks/<int:task_id>/assign": lambda _: {"assignee": "customer-service"},
    "POST /api/v1/tasks/<int:task_id>/complete": lambda _: {"data": MEDIUM_RISK},
    "PUT /api/v1/me/notifications": lambda _: {"email": "me@bank.test", "choices": {"incident": ["email"]}},
}
LAST = ("POST /logout",)  # signs the caller out: called after every other route


def route_key(rule: Rule, method: str) -> str:
    return f"{method} {rule.rule}"


def app_routes(app: Flask) -> set[str]:
    """Every route of the app as "METHOD /path" (HEAD and OPTIONS, which Flask answers itself, aside)."""
    return {route_key(rule, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def unlisted(app: Flask) -> set[str]:
    """The app's routes that the table has no row for."""
    return app_routes(app) - set(TABLE)


@pytest.fixture(scope="module")
def world(seeded_database: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The seeded database with a clerk, a user for admins to act on, tokens, a draft and loan cases in the
    states the task and case routes need."""
    path = tmp_path_factory.mktemp("permissions") / "valueflow.db"
    shutil.copy(seeded_database, path)
    new_uow = connect(f"sqlite:///{path}")
    built = World(path)
    service.add_user(new_uow(), "clerk", ["warehouse"], password_of("clerk"))
    service.add_user(new_uow(), "external-worker", ["external-worker"], password_of("external-worker"))
    service.add_user(new_uow(), "target-user", ["credit-analyst"], password_of("target-user"))
    for caller in CALLERS[1:]:
        secret = tokens.create_token(new_uow(), caller, "api")
        tokens.create_token(new_uow(), caller, "spare")
        built.tokens[caller] = (secret, tokens.tokens_of(new_uow(), caller)[0].id)
    built.feedback_link = _feedback_link(new_uow)
    draft = service.open_for_editing(new_uow(), "loan_decision", "process-owner").package
    service.save_draft(new_uow(), "loan_decision", draft, 0, "process-owner")
    for name in ("loan", "to cancel", "claimed for release", "to assign", "claimed to complete", "api to claim",
                 "api claimed for release", "api to assign", "api claimed to complete"):
        built.cases[name] = start_loan(new_uow, "c-perm", "Perm Customer")
        built.tasks[name] = open_task(new_uow, built.cases[name])["id"]
        if "claimed" in name:
            service.claim_task(new_uow(), built.tasks[name], "customer-service")
    new_uow.dispose()
    return built


def _feedback_link(new_uow: UnitOfWorkFactory) -> str:
    """The token of a customer's one-time link to score a finished case (of a small two-step process)."""
    xml = samples.two_step("perm_two_step")
    service.deploy(new_uow(), Package("perm_two_step", "perm_two_step.bpmn", {"perm_two_step.bpmn": xml}))
    service.add_user(new_uow(), "two-step-worker", ["back-office", "approver"])
    finished = service.start_instance(new_uow(), "perm_two_step", service.CustomerRef("c-perm", "Perm Customer",
                                                                                     "standard"))
    for _ in range(2):
        task = open_task(new_uow, finished)["id"]
        service.claim_task(new_uow(), task, "two-step-worker")
        service.complete_task(new_uow(), task, "two-step-worker", {})
    return feedback.issue_feedback_token(new_uow(), finished, "two-step-worker")


def app_for(world: World, folder: Path) -> Iterator[Flask]:
    database = folder / "valueflow.db"
    shutil.copy(world.database, database)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{database}"})
    yield app
    app.extensions["valueflow"].dispose()


def outcome(response: Any) -> str:
    """The letter of OUTCOMES an answer is; a server error fails the test at once."""
    with response:
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if any(r.status_code in (302, 303) and r.headers["Location"].startswith("/login") for r in response.history):
            return "L"
        return {401: "U", 403: "F", 404: "N"}.get(response.status_code, "+")


def call(client: Any, world: World, key: str, caller: str) -> str:
    method, rule = key.split(" ", 1)
    values = {**DEFAULT_PATH, **PATHS.get(key, {})}
    path = ARGUMENT.sub(lambda found: _value(values[found[1]], world, caller), rule)
    headers = {}
    if rule.startswith("/api/") and caller != "anonymous":
        headers["Authorization"] = f"Bearer {world.tokens[caller][0]}"
    if rule.startswith("/api/"):
        body = BODIES.get(key, lambda _: {})(world) if method in ("POST", "PUT") else None
        return outcome(client.open(path, method=method, json=body, headers=headers))
    with client.session_transaction() as session:
        session.setdefault("_csrf", "permissions")  # signing in starts a new session
    form = {**FORM, "csrf_token": "permissions"} if method == "POST" else None
    return outcome(client.open(path, method=method, query_string=QUERIES.get(rule, {}), data=form,
                               follow_redirects=True))


def _value(value: Any, world: World, caller: str) -> str:
    return str(value(world, caller) if callable(value) else value)


def sign_in(client: Any, caller: str) -> None:
    with client.session_transaction() as session:
        session["_csrf"] = "permissions"
    if caller != "anonymous":
        answer = client.post("/login", data={"username": caller, "password": password_of(caller),
                                             "csrf_token": "permissions"})
        assert answer.status_code == 302, answer.get_data(as_text=True)


def test_every_route_is_in_the_permission_table(app):
    assert unlisted(app) == set(), "add a row to TABLE for each new route"
    assert set(TABLE) - app_routes(app) == set(), "a row of TABLE names a route the app no longer has"


def test_a_route_missing_from_the_table_is_reported(app):
    app.add_url_rule("/reports/new-page", "new_page", lambda: "a page nobody listed")
    assert unlisted(app) == {"GET /reports/new-page"}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_route_answers_each_caller_as_the_table_says(world, tmp_path, caller):
    column = CALLERS.index(caller)
    expected = {key: row.split()[column] for key, row in TABLE.items()}
    for app in app_for(world, tmp_path):
        client = app.test_client()
        sign_in(client, caller)
        order = sorted(TABLE, key=lambda key: (key in LAST, key.startswith(("POST", "PUT")), key))
        got = {key: call(client, world, key, caller) for key in order}
    wrong = {key: f"expected {OUTCOMES[expected[key]]}, got {OUTCOMES[got[key]]}"
             for key in TABLE if got[key] != expected[key]}
    assert wrong == {}
