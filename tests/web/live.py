"""Live servers on PostgreSQL for the multi-process tests: the shipped processes, clerks with API tokens,
and a small JSON API client that keeps its connection."""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path
from typing import Any, Optional

from engine import service
from engine.definitions.packages import read_package
from engine.storage.wiring import connect
from engine.work import tokens
from tests.conftest import SHIPPED
from tests.web.conftest import MEDIUM_RISK


def clerks_with_tokens(url: str, count: int) -> list[tuple[str, str]]:
    """The shipped processes deployed (a no-op when they are) and ``count`` new customer-service clerks,
    each with an API token: [(name, token)]."""
    factory = connect(url)
    try:
        for folder in sorted(p for p in SHIPPED.iterdir() if p.is_dir()):
            service.deploy(factory(), read_package(folder), actor="tests")
        clerks = []
        for _ in range(count):
            name = f"clerk-{uuid.uuid4().hex[:8]}"
            service.add_user(factory(), name, ["customer-service"])
            clerks.append((name, tokens.create_token(factory(), name, "live test")))
        return clerks
    finally:
        factory.dispose()


class Api:
    """One client of the JSON API with a token, on a kept-alive connection (a new one after a failure)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection: Optional[http.client.HTTPConnection] = None

    def call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> tuple[int, Any]:
        """(status, decoded JSON); an answer that never came raises OSError or http.client's errors."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.connection.request(method, "/api/v1" + path, json.dumps(body) if body is not None else None,
                                    self.headers)
            response = self.connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start_loan(self) -> dict[str, Any]:
        customer = {"id": f"c-{uuid.uuid4().hex[:8]}", "name": "Ada Moss", "segment": "standard"}
        status, case = self.call("POST", "/instances", {"process": "loan_decision", "customer": customer,
                                                        "data": {}})
        assert status == 201, case
        return case

    def capture_task(self, case: dict[str, Any]) -> int:
        """The case's open capture task, claimed by this client."""
        [step] = case["open_steps"]
        status, body = self.call("POST", f"/tasks/{step['id']}/claim")
        assert status == 200, body
        return int(step["id"])

    def complete_capture(self, task_id: int) -> tuple[int, Any]:
        return self.call("POST", f"/tasks/{task_id}/complete", {"data": MEDIUM_RISK})


def metrics_folder_files(folder: Path) -> set[int]:
    """The process ids that wrote request or step latencies into prometheus-client's folder."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("histogram_*.db")}
