"""Schemathesis against the running app: requests generated from the OpenAPI document find no server error and no
answer that breaks the document (status, content type, body schema), from a caller who may do everything, one
without a token, callers without the roles an operation needs, bodies sent as another type than JSON, and
requests about a task, a case or a business key that conflict with what happened to them.

Each operation must list every status it answers: the document schemathesis reads keeps no catch-all
``default`` response, which would let any status pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest

from engine import service
from engine.work import tokens
from tests.e2e.conftest import ARTIFACTS
from tests.web.conftest import MEDIUM_RISK, open_task, start_loan

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EVERY_ROLE = ["customer-service", "credit-analyst", "underwriter", "manager", "process-owner"]


def run_schemathesis(server: Any, folder: Path, report: str, *options: str, token: Optional[str] = None,
                     config: str = "") -> None:
    """``st run`` against the server with ``options``, reading the document with each operation's listed
    statuses only; fails with schemathesis's report of every answer outside it."""
    with urllib.request.urlopen(f"{server.url}/api/v1/openapi.json") as answer:
        document = json.load(answer)
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    (folder / "openapi.json").write_text(json.dumps(document))
    (folder / "schemathesis.toml").write_text(config)
    ARTIFACTS.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file", "schemathesis.toml", "run", "openapi.json",
         "--url", server.url, *(["--header", f"Authorization: Bearer {token}"] if token else []),
         "--checks", CHECKS, "--seed", "17", "--generation-database", "none", "--request-timeout", "30",
         *options, "--report", "junit", "--report-junit-path", str(ARTIFACTS / f"schemathesis-{report}.xml")],
        capture_output=True, text=True, timeout=900, cwd=folder, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


@pytest.fixture
def cases(server: Any) -> Any:
    """A database with three running cases, for the users the tests call as."""
    new_uow = server.app.extensions["valueflow"]
    for n in range(3):
        start_loan(new_uow, f"c-{n}", f"Customer {n}")
    return new_uow


def token_of(new_uow: Any, user: str, roles: list[str]) -> str:
    service.add_user(new_uow(), user, roles)
    return tokens.create_token(new_uow(), user, "schemathesis")


def test_generated_requests_find_no_server_error_and_no_answer_outside_the_document(server, cases, tmp_path):
    """As a user who may do everything the API offers, on a database with cases and open tasks."""
    run_schemathesis(server, tmp_path, "everything", "--max-examples", "25", "--phases", "examples,coverage,fuzzing",
                     token=token_of(cases, "integrator", EVERY_ROLE))


@pytest.mark.parametrize("user, roles", [(None, []), ("robot", ["external-worker"]), ("clerk", ["customer-service"])])
def test_a_caller_without_a_token_or_the_role_gets_only_documented_answers(server, cases, tmp_path, user, roles):
    token = token_of(cases, user, roles) if user else None
    run_schemathesis(server, tmp_path, user or "anonymous", "--max-examples", "5", "--phases", "examples,fuzzing",
                     token=token)


def test_a_body_sent_as_another_type_than_json_gets_only_documented_answers(server, cases, tmp_path):
    run_schemathesis(server, tmp_path, "text-bodies", "--header", "Content-Type: text/plain", "--include-method",
                     "POST", "--include-method", "PUT", "--max-examples", "5", "--phases", "examples,fuzzing",
                     token=token_of(cases, "integrator", EVERY_ROLE))


def test_requests_about_a_done_task_a_cancelled_case_or_a_taken_business_key_get_only_documented_answers(
        server, cases, tmp_path):
    token = token_of(cases, "integrator", EVERY_ROLE)
    done = open_task(cases, start_loan(cases, "c-done", "Dee Done"))
    service.claim_task(cases(), done["id"], "integrator")
    service.complete_task(cases(), done["id"], "integrator", MEDIUM_RISK)
    cancelled = start_loan(cases, "c-gone", "Gus Gone")
    service.cancel_instance(cases(), cancelled, "integrator")
    service.start_instance(cases(), "loan_decision", service.CustomerRef("c-key", "Kay Key", "standard"), {},
                           actor="integrator", business_key="APP-1")
    run_schemathesis(server, tmp_path, "conflicts", "--include-method", "POST", "--max-examples", "5",
                     "--phases", "examples,fuzzing", token=token,
                     config=f'[parameters]\n"path.task_id" = {done["id"]}\n"path.instance_id" = {cancelled}\n'
                            '"body.business_key" = "APP-1"\n')
