"""Live servers on PostgreSQL for the multi-process tests and bench/races.py: the shipped processes, clerks
with API tokens, a small JSON API client that keeps its connection, and races of two clients completing one
task."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from sqlalchemy import select

from engine import service
from engine.definitions.packages import read_package
from engine.storage.tables import HumanTask, ProcessInstance, TaskEvent
from engine.storage.wiring import connect
from engine.work import queries, tokens
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


def claimed_capture_tasks(url: str, clerk: str, count: int) -> list[tuple[int, int]]:
    """``count`` new loans with their capture task claimed by ``clerk``: [(case id, task id)]."""
    factory = connect(url)
    try:
        found = []
        for number in range(count):
            case_id = service.start_instance(factory(), "loan_decision",
                                             service.CustomerRef(f"race-{number}", "Ada Moss", "standard"), {})
            [task] = queries.list_tasks(factory(), instance_id=case_id)
            service.claim_task(factory(), task["id"], clerk)
            found.append((case_id, task["id"]))
        return found
    finally:
        factory.dispose()


def race_completions(port: int, token: str, task_ids: list[int], pairs: int = 4) -> dict[int, list[Union[int, str]]]:
    """Two clients complete each task at the same moment, ``pairs`` pairs side by side, each pair on its share of
    the tasks: each task's two answers, a status, or the name of the error when no answer came. Any other error of
    a client is raised once every client has stopped."""
    answers: dict[int, list[Union[int, str]]] = {task_id: [] for task_id in task_ids}
    failures: list[BaseException] = []

    def racer(pair: int, barrier: threading.Barrier) -> None:
        try:
            with Api(port, token) as api:
                for task_id in task_ids[pair::pairs]:
                    barrier.wait(timeout=60)  # both clients send at the same moment
                    try:
                        status, _ = api.complete_capture(task_id)
                    except (OSError, http.client.HTTPException) as exc:
                        status = type(exc).__name__
                    answers[task_id].append(status)
        except BaseException as exc:  # noqa: BLE001 - raised once the others have stopped
            failures.append(exc)
            barrier.abort()

    barriers = [threading.Barrier(2) for _ in range(pairs)]
    threads = [threading.Thread(target=racer, args=(pair, barriers[pair])) for pair in range(pairs) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return answers


def race_outcomes(answers: dict[int, list[Union[int, str]]]) -> Counter[tuple[Union[int, str], ...]]:
    """How many races ended each way: (200, 409) is one winner and one told it lost."""
    return Counter(tuple(sorted(statuses, key=str)) for statuses in answers.values())


def metrics_folder_files(folder: Path) -> set[int]:
    """The process ids that wrote request or step latencies into prometheus-client's folder."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("histogram_*.db")}


def disagreements(url: str, instance_ids: Iterable[int]) -> list[str]:
    """Each case whose stored state and rows disagree, in words: its open task rows are not the human tasks
    its state has ready, it is running with no task and no timer (the loans of these tests never wait for a
    message), or a completed task has not exactly one
    task_completed event."""
    factory = connect(url)
    problems = []
    try:
        for instance_id in instance_ids:
            with factory() as uow:
                definition_id, status = uow.session.execute(select(
                    ProcessInstance.definition_id, ProcessInstance.status).where(
                    ProcessInstance.id == instance_id)).one()
                with uow.cases.read(instance_id, uow.compiled(definition_id)) as case:
                    ready = {str(task.id) for task in case.ready_human_tasks()}
                    next_timer = case.next_timer_at()
                rows = uow.session.execute(select(HumanTask.spiff_task_id, HumanTask.status, HumanTask.id).where(
                    HumanTask.instance_id == instance_id)).all()
                completions = Counter(uow.session.scalars(select(TaskEvent.task_id).where(
                    TaskEvent.instance_id == instance_id, TaskEvent.type == "task_completed")))
            open_rows = {spiff_id for spiff_id, row_status, _ in rows if row_status == "open"}
            if open_rows != ready:
                problems.append(f"case {instance_id}: open task rows {open_rows}, ready in its state {ready}")
            if status == "running" and not ready and next_timer is None:
                problems.append(f"case {instance_id} is running with no task open and no timer")
            completed = {task_id for _, row_status, task_id in rows if row_status == "completed"}
            if set(completions) != completed or any(count != 1 for count in completions.values()):
                problems.append(f"case {instance_id}: completed tasks {completed}, completion events {completions}")
    finally:
        factory.dispose()
    return problems
