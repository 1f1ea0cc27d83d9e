"""Web fixtures (flaskr's tests/conftest.py): an app on a file SQLite database with the shipped processes
deployed and one user per role, a test client and an ``auth`` helper that signs in and sends CSRF tokens.

The database is built once per test session and copied for each test.
"""

from __future__ import annotations

import re
from html import unescape
import shutil
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import service
from engine.definitions.packages import read_package
from engine.storage.uow import UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from engine.work import queries
from tests.conftest import SHIPPED
from web import create_app

ROLES = ("customer-service", "credit-analyst", "underwriter", "manager", "admin", "process-owner")
MEDIUM_RISK = {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000, "existing_debts": 15000,
               "years_employed": 3, "property_value": 300000, "documents_complete": True}


def password_of(name: str) -> str:
    return f"pw-{name}-1234"


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Schema, the shipped processes, one user per role and a second credit analyst."""
    path = tmp_path_factory.mktemp("seed") / "valueflow.db"
    factory = connect(f"sqlite:///{path}", migrate=True)
    for folder in sorted(p for p in SHIPPED.iterdir() if p.is_dir()):
        service.deploy(factory(), read_package(folder), actor="tests")
    for role in ROLES:
        service.add_user(factory(), role, [role], password_of(role))
    service.add_user(factory(), "analyst-2", ["credit-analyst"], password_of("analyst-2"))
    factory.dispose()
    return path


def copy_database(seeded: Path, folder: Path) -> str:
    target = folder / "valueflow.db"
    shutil.copy(seeded, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app(seeded_database: Path, tmp_path: Path, clock: FixedClock) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": copy_database(seeded_database, tmp_path),
                      "CLOCK": clock})
    yield app
    app.extensions["valueflow"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def new_uow(app: Flask) -> UnitOfWorkFactory:
    """The app's own units of work, for arranging cases and checking what the engine holds."""
    return app.extensions["valueflow"]


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self) -> str:
        with self.client.session_transaction() as session:
            if "_csrf" not in session:
                session["_csrf"] = "test-token"
            return str(session["_csrf"])

    def login(self, name: str, password: Optional[str] = None) -> Any:
        self.client.get("/login")
        return self.client.post("/login", data={"username": name, "password": password or password_of(name),
                                                "csrf_token": self.token()})

    def logout(self) -> Any:
        return self.client.post("/logout", data={"csrf_token": self.token()})

    def post(self, url: str, data: Optional[dict[str, Any]] = None, **kwargs: Any) -> Any:
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token()}, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def start_loan(new_uow: UnitOfWorkFactory, customer_id: str = "c-1", name: str = "Ada Moss",
               segment: str = "standard") -> int:
    return service.start_instance(new_uow(), "loan_decision", service.CustomerRef(customer_id, name, segment), {},
                                  actor="customer-service")


def open_task(new_uow: UnitOfWorkFactory, instance_id: int) -> dict[str, Any]:
    tasks = queries.list_tasks(new_uow(), instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def text_of(response: Any) -> str:
    """The page's visible text, tags removed and spaces collapsed, for asserting what a user reads."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
