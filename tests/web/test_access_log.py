"""``valueflow serve`` writes one line a request on stdout, the same under waitress and gunicorn: when, who (the
client's address, the user), what (method, path without its query), the answer (status, bytes, milliseconds)
and the request's id."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlencode

import pytest

from tests.web.conftest import copy_database, password_of
from tests.web.live import clerks_with_tokens
from tests.web.test_serve import serve, stop

LINE = re.compile(r"(?P<time>\S+Z) (?P<client>\S+) (?P<user>\S+) (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) "
                  r"(?P<bytes>\d+|-) (?P<ms>\d+\.\d)ms (?P<id>[A-Za-z0-9._:-]{1,64})")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HOSTILE_IDS = ["<script>alert(1)</script>", "x" * 200, "two words"]


@dataclass
class Answer:
    status: int
    request_id: Optional[str]
    body: bytes


class Browser:
    """One person's connection to the server, with their session cookie once signed in."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        """``path`` with ``headers`` (``X_Request_Id`` is sent as X-Request-Id)."""
        return self.send("GET", path, None, {name.replace("_", "-"): value for name, value in headers.items()})

    def send(self, method: str, path: str, form: Optional[dict[str, str]], headers: dict[str, str]) -> Answer:
        if self.cookie:
            headers["Cookie"] = self.cookie
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, urlencode(form) if form is not None else None, headers)
        response = self.connection.getresponse()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return Answer(response.status, response.getheader("X-Request-Id"), response.read())

    def sign_in(self, name: str) -> None:
        found = CSRF.search(self.get("/login").body.decode())
        assert found is not None
        signed_in = self.send("POST", "/login", {"username": name, "password": password_of(name),
                                                 "csrf_token": found.group(1)}, {})
        assert signed_in.status == 302


def lines_by_id(output: str) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for text in output.splitlines():
        line = LINE.fullmatch(text)
        if line:
            found.setdefault(line["id"], []).append(line.groupdict())
    return found


@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["waitress", "gunicorn"])
def test_serve_logs_each_request_once_with_who_asked_what_and_the_answer(seeded_database, tmp_path, monkeypatch,
                                                                         processes):
    url = copy_database(seeded_database, tmp_path)
    [(clerk, token)] = clerks_with_tokens(url, 1)
    monkeypatch.setenv("VALUEFLOW_PROXY_HOPS", "1")
    began = datetime.now(timezone.utc)
    process, port = serve(url, tmp_path, "--no-worker", *processes)
    try:
        with Browser(port) as browser:
            browser.sign_in("customer-service")
            inbox = browser.get("/inbox?view=queues&q=Kim+Park", X_Request_Id="inbox-1")
            browser.cookie = ""
            api = browser.get("/api/v1/tasks?customer=Kim", Authorization=f"Bearer {token}", X_Request_Id="api-1")
            missing = browser.get("/no/such%20page%0A2026-01-01T00:00:00.000Z", X_Request_Id="missing-1",
                                  X_Forwarded_For="203.0.113.9")
            hostile = [browser.get("/login", X_Request_Id=sent) for sent in HOSTILE_IDS]
            probed = browser.get("/healthz", X_Request_Id="probe-1")
    finally:
        output = stop(process)
    ended = datetime.now(timezone.utc)
    assert process.returncode == 0, output
    assert [inbox.request_id, api.request_id, missing.request_id] == ["inbox-1", "api-1", "missing-1"]
    replaced = [answer.request_id or "" for answer in hostile]
    assert all(re.fullmatch(r"[0-9a-f]{32}", found) for found in replaced), replaced
    logged = lines_by_id(output)
    assert [len(logged.get(found, [])) for found in ("inbox-1", "api-1", "missing-1", *replaced)] == [1] * 6, output
    assert (probed.status, probed.request_id, logged.get("probe-1")) == (200, "probe-1", None)  # a probe that passed
    [inbox_line], [api_line], [missing_line] = logged["inbox-1"], logged["api-1"], logged["missing-1"]
    assert inbox_line | {"time": "", "ms": ""} == {
        "time": "", "client": "127.0.0.1", "user": "customer-service", "method": "GET", "path": "/inbox",
        "status": "200", "bytes": str(len(inbox.body)), "ms": "", "id": "inbox-1"}
    assert began <= datetime.fromisoformat(inbox_line["time"]) <= ended
    assert (api_line["user"], api_line["path"], api_line["status"], api_line["bytes"]) == (
        clerk, "/api/v1/tasks", "200", str(len(api.body)))
    assert (missing_line["client"], missing_line["user"], missing_line["path"], missing_line["status"]) == (
        "203.0.113.9", "-", "/no/such%20page%0A2026-01-01T00:00:00.000Z", "404")
    for text in ("Kim", "view=queues", "?", *HOSTILE_IDS):
        assert not [line for line in output.splitlines() if LINE.fullmatch(line) and text in line], text
    assert not any(sent in output for sent in HOSTILE_IDS)


def test_serve_writes_no_line_with_the_access_log_off_and_still_answers_the_id(seeded_database, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("VALUEFLOW_ACCESS_LOG", "false")
    process, port = serve(copy_database(seeded_database, tmp_path), tmp_path, "--no-worker")
    try:
        with Browser(port) as browser:
            answer = browser.get("/healthz", X_Request_Id="quiet-1")
    finally:
        output = stop(process)
    assert answer.request_id == "quiet-1"
    assert "Valueflow is running on" in output
    assert not [line for line in output.splitlines() if LINE.fullmatch(line)], output
