"""Pages that only read answer while another connection holds SQLite's write lock."""

from __future__ import annotations

import sqlite3

import pytest

from tests.integration.test_readers import in_a_thread
from tests.web.conftest import open_task, start_loan


@pytest.fixture
def write_lock(app):
    """Another connection holding the write lock of the app's database until the test ends."""
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    yield lambda: writer.execute("BEGIN IMMEDIATE")
    if writer.in_transaction:
        writer.execute("ROLLBACK")
    writer.close()


def test_the_inbox_task_and_case_pages_answer_while_a_writer_holds_the_lock(client, auth, new_uow, write_lock):
    instance_id = start_loan(new_uow, name="Ivy Lock")
    task_id = open_task(new_uow, instance_id)["id"]
    auth.login("customer-service")
    write_lock()
    for page in ("/inbox", f"/tasks/{task_id}", f"/instances/{instance_id}"):
        response = in_a_thread(lambda: client.get(page), 5.0)
        assert response is not None, f"{page} waited for the write lock"
        assert response.status_code == 200 and "Ivy Lock" in response.get_data(as_text=True), page
