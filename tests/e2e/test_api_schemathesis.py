"""Schemathesis against the running app with a token: requests generated from the OpenAPI document find no
server error and no answer that breaks the document (status, content type, body schema)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine import service
from engine.work import tokens
from tests.e2e.conftest import ARTIFACTS
from tests.web.conftest import start_loan

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_generated_requests_find_no_server_error_and_no_answer_outside_the_document(server, tmp_path):
    """As a user who may do everything the API offers, on a database with cases and open tasks."""
    new_uow = server.app.extensions["valueflow"]
    service.add_user(new_uow(), "integrator", ["customer-service", "credit-analyst", "underwriter", "manager",
                                               "process-owner"])
    for n in range(3):
        start_loan(new_uow, f"c-{n}", f"Customer {n}")
    secret = tokens.create_token(new_uow(), "integrator", "schemathesis")
    ARTIFACTS.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "run", f"{server.url}/api/v1/openapi.json",
         "--header", f"Authorization: Bearer {secret}", "--checks", CHECKS, "--max-examples", "25",
         "--phases", "examples,coverage,fuzzing", "--seed", "17", "--generation-database", "none",
         "--request-timeout", "30", "--report", "junit", "--report-junit-path",
         str(ARTIFACTS / "schemathesis.xml")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
