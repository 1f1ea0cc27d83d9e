"""Browser tests: the app on a live server (a free port, a SQLite file in tmp_path, the real clock)
driven by Python Playwright in Debian's Chromium (installed by the README's test command).

Screenshots go to test-artifacts/ at the top of the repository (ignored by git).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import REPO
from tests.web.conftest import copy_database, password_of, seeded_database  # noqa: F401 - fixture reuse
from web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.e2e


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_app(seeded_database: Path, tmp_path: Path) -> Iterator[Flask]:  # noqa: F811
    app = create_app({"SECRET_KEY": "e2e", "DATABASE_URL": copy_database(seeded_database, tmp_path)})
    yield app
    app.extensions["valueflow"].dispose()


@pytest.fixture
def server(live_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(live_app) as live:
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: the README's test command installs it (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A browser tab; any script error or Content-Security-Policy refusal on any page fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(f"refused: {message.text}")
            if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text)
            else None)
    yield page
    context.close()
    assert problems == []


def sign_in(page: Page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password_of(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
