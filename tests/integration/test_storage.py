"""Storage on real databases: durability, rollback, and concurrent writers (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Callable

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from engine import service
from engine.definitions.packages import Package
from engine.storage import casestore
from engine.storage.db import checkout_in_transaction, commit_transaction
from engine.storage.tables import Customer, HumanTask, Job, TaskEvent, User
from engine.storage.uow import ConcurrentUpdate
from engine.storage.wiring import connect
from engine.work import case_pages, queries
from tests import samples

BOB = service.CustomerRef("c-2", "Bob Stone", "standard")


def setup_two_step(new_uow) -> None:
    service.deploy(new_uow(), Package("two_step", "two_step.bpmn", {"two_step.bpmn": samples.two_step()}))
    service.add_user(new_uow(), "bo1", ["back-office"])
    service.add_user(new_uow(), "bo2", ["back-office"])
    service.add_user(new_uow(), "ap1", ["approver"])


def test_a_new_process_on_the_same_database_continues_every_case(stored_uow, storage_url, clock, request):
    setup_two_step(stored_uow)
    ids = [service.start_instance(stored_uow(), "two_step", BOB) for _ in range(3)]
    first = queries.list_tasks(stored_uow(), instance_id=ids[0])[0]["id"]
    service.claim_task(stored_uow(), first, "bo1")
    service.complete_task(stored_uow(), first, "bo1", {"comment": "ok"})

    restarted = connect(storage_url, clock)  # a fresh engine and an empty spec cache, as after a restart
    request.addfinalizer(restarted.dispose)
    [approve] = queries.list_tasks(restarted(), instance_id=ids[0])
    assert approve["step_id"] == "approve"
    service.claim_task(restarted(), approve["id"], "ap1")
    service.complete_task(restarted(), approve["id"], "ap1", {})
    assert queries.instance_view(restarted(), ids[0])["status"] == "completed"
    assert queries.instance_view(restarted(), ids[0])["data"]["comment"] == "ok"
    for other in ids[1:]:
        assert [t["step_id"] for t in queries.list_tasks(restarted(), instance_id=other)] == ["review"]


@pytest.mark.parametrize("held_since", ["it saved the case", "it showed the task's page"])
def test_a_case_this_process_holds_is_not_worked_on_once_another_process_moved_it_on(held_since, stored_uow,
                                                                                     storage_url, clock, request):
    setup_two_step(stored_uow)
    elsewhere = connect(storage_url, clock)
    request.addfinalizer(elsewhere.dispose)
    starter = stored_uow if held_since == "it saved the case" else elsewhere
    instance_id = service.start_instance(starter(), "two_step", BOB)
    [review] = queries.list_tasks(stored_uow(), instance_id=instance_id)
    if held_since == "it showed the task's page":
        case_pages.task_page(stored_uow(), review["id"])
    service.claim_task(elsewhere(), review["id"], "bo1")
    service.complete_task(elsewhere(), review["id"], "bo1", {"comment": "done elsewhere"})

    [approve] = queries.list_tasks(stored_uow(), instance_id=instance_id)
    service.claim_task(stored_uow(), approve["id"], "ap1")
    service.complete_task(stored_uow(), approve["id"], "ap1", {})

    view = queries.instance_view(stored_uow(), instance_id)
    assert view["status"] == "completed" and view["data"]["comment"] == "done elsewhere"


def test_a_task_opened_in_a_process_is_worked_on_there_from_the_case_its_page_rebuilt(stored_uow, storage_url, clock,
                                                                                        request, monkeypatch):
    setup_two_step(stored_uow)
    elsewhere = connect(storage_url, clock)  # another process started the case: this one has not seen it
    request.addfinalizer(elsewhere.dispose)
    instance_id = service.start_instance(elsewhere(), "two_step", BOB)
    [review] = queries.list_tasks(stored_uow(), instance_id=instance_id)
    rebuilt = []
    real_restore = casestore._restore
    monkeypatch.setattr(casestore, "_restore", lambda saved, compiled: rebuilt.append(1) or real_restore(saved, compiled))

    assert case_pages.task_page(stored_uow(), review["id"])["task"]["step_id"] == "review"
    service.claim_task(stored_uow(), review["id"], "bo1")
    service.complete_task(stored_uow(), review["id"], "bo1", {"comment": "ok"})

    assert len(rebuilt) == 1  # the page's: the completion went on from it
    assert [t["step_id"] for t in queries.list_tasks(stored_uow(), instance_id=instance_id)] == ["approve"]
    assert queries.instance_view(stored_uow(), instance_id)["data"]["comment"] == "ok"


def test_leaving_a_unit_of_work_without_commit_rolls_back(stored_uow, clock):
    with stored_uow() as uow:
        uow.users.add(User(name="x", created_at=clock.now()))
    with stored_uow() as uow:
        assert uow.users.by_name("x") is None


def test_an_error_inside_a_unit_of_work_rolls_back(stored_uow, clock):
    with pytest.raises(RuntimeError):
        with stored_uow() as uow:
            uow.users.add(User(name="y", created_at=clock.now()))
            raise RuntimeError("boom")
    with stored_uow() as uow:
        assert uow.users.by_name("y") is None


def test_the_case_store_and_the_session_share_one_transaction(stored_uow):
    customer = f"c-{uuid.uuid4().hex[:8]}"  # PostgreSQL's database is shared by the session's tests
    with stored_uow() as uow:
        uow.cases.put_customer(customer, "Ann Lee", "standard")  # on the driver connection alone
        assert uow.session.get(Customer, customer).name == "Ann Lee"  # the session carries on in its transaction
    with stored_uow() as uow:  # that unit of work ended without commit: neither kept anything
        assert uow.session.get(Customer, customer) is None
        uow.cases.put_customer(customer, "Ann Lee", "standard")
        uow.commit()
    with stored_uow() as uow:
        assert uow.session.get(Customer, customer).name == "Ann Lee"


def test_no_unit_of_work_opens_a_connection_of_its_own_or_loses_one(stored_uow):
    setup_two_step(stored_uow)
    opened: list[object] = []
    event.listen(stored_uow.engine, "connect", lambda connection, _record: opened.append(connection))
    instance_id = service.start_instance(stored_uow(), "two_step", BOB)
    task = queries.list_tasks(stored_uow(), instance_id=instance_id)[0]["id"]
    with pytest.raises(service.NotAllowed):
        service.complete_task(stored_uow(), task, "bo1", {})  # refused half-way: not claimed
    service.claim_task(stored_uow(), task, "bo1")
    service.complete_task(stored_uow(), task, "bo1", {})
    assert queries.instance_view(stored_uow(), instance_id)["status"] == "running"
    # One after the other, they ran on the connection setting up left in the pool and, on SQLite, on one
    # more that steps keep between units of work (engine.storage.kept_connections): none opened per unit of work, none lost.
    assert len(opened) <= (1 if stored_uow.engine.dialect.name == "sqlite" else 0)
    assert stored_uow.engine.pool.checkedout() == len(stored_uow.kept) <= 1


def test_a_step_left_without_commit_is_rolled_back_before_its_connection_is_used_again(stored_uow):
    customer = f"c-{uuid.uuid4().hex[:8]}"  # PostgreSQL's database is shared by the session's tests
    with stored_uow() as uow:
        uow.cases.put_customer(customer, "Ann Lee", "standard")  # the case store alone, no commit
    with stored_uow() as uow:
        assert uow.cases.user_roles("nobody") is None  # runs on the kept connection, if any
        uow.cases.put_customer(customer, "Ann Lee", "premium")
        uow.commit()
    with stored_uow() as uow:
        assert uow.session.get(Customer, customer).segment == "premium"


def test_disposing_of_the_engine_closes_the_kept_connections(tmp_path, clock):
    new_uow = connect(f"sqlite:///{tmp_path / 'valueflow.db'}", clock, migrate=True)
    setup_two_step(new_uow)
    service.start_instance(new_uow(), "two_step", BOB)
    assert len(new_uow.kept) == 1
    new_uow.dispose()
    assert len(new_uow.kept) == 0 and new_uow.engine.pool.checkedout() == 0
    assert not (tmp_path / "valueflow.db-wal").exists()  # the last connection closed copied the log in


def test_a_kept_postgresql_connection_the_server_ended_is_replaced_before_a_step_uses_it(postgres_url, clock):
    name = f"kept-{uuid.uuid4().hex[:8]}"
    new_uow = connect(f"{postgres_url}?application_name={name}", clock)
    admin = connect(postgres_url)
    try:
        with new_uow() as uow:
            assert uow.cases.user_roles("nobody") is None
        assert len(new_uow.kept) == 1  # kept for the next step, without the pool's ping
        end_backends(admin, "application_name = :name", {"name": name})  # as a server restart or an admin would
        with new_uow() as uow:
            assert uow.cases.user_roles("nobody") is None  # on a new connection, not the ended one
        assert len(new_uow.kept) == 1
    finally:
        new_uow.dispose()
        admin.dispose()


def test_a_pooled_postgresql_connection_the_server_ended_is_replaced_at_checkout(postgres_url, clock):
    name = f"pooled-{uuid.uuid4().hex[:8]}"
    new_uow = connect(f"{postgres_url}?application_name={name}", clock)
    admin = connect(postgres_url)
    try:
        with new_uow() as uow:  # the session's connection comes from the pool and goes back to it
            first = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        end_backends(admin, "pid = :pid", {"pid": first})
        with new_uow() as uow:
            assert uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != first  # no error: a new one
    finally:
        new_uow.dispose()
        admin.dispose()


def end_backends(admin, where: str, values: dict) -> None:  # type: ignore[no-untyped-def]
    """End the server processes of the connections ``where`` selects in pg_stat_activity, and wait until they are
    gone."""
    with admin.engine.connect() as connection:
        connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}"), values)
        for _ in range(100):
            if not connection.execute(text(f"SELECT count(*) FROM pg_stat_activity WHERE {where}"),
                                      values).scalar_one():
                break
            time.sleep(0.05)


def test_a_failing_step_changes_nothing_and_the_case_can_still_go_on(stored_uow):
    setup_two_step(stored_uow)
    instance_id = service.start_instance(stored_uow(), "two_step", BOB)
    task = queries.list_tasks(stored_uow(), instance_id=instance_id)[0]["id"]
    service.claim_task(stored_uow(), task, "bo1")
    before = queries.instance_view(stored_uow(), instance_id)
    with pytest.raises(service.NotAllowed):
        service.complete_task(stored_uow(), task, "bo2", {})
    assert queries.instance_view(stored_uow(), instance_id) == before
    service.complete_task(stored_uow(), task, "bo1", {})
    assert [t["step_id"] for t in queries.list_tasks(stored_uow(), instance_id=instance_id)] == ["approve"]


def test_the_tasks_a_step_opens_are_named_by_their_events_and_breach_jobs_after_the_steps_own_events(stored_uow):
    key = f"split_{uuid.uuid4().hex[:8]}"  # PostgreSQL's database is shared by the session's tests
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + '<bpmn:parallelGateway id="split"/>' + samples.user_task("check_a", "Check A")
            + samples.user_task("check_b", "Check B", target="PT2H") + '<bpmn:parallelGateway id="join"/>'
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "review", "split")
            + samples.flow("to_a", "split", "check_a") + samples.flow("to_b", "split", "check_b")
            + samples.flow("from_a", "check_a", "join") + samples.flow("from_b", "check_b", "join")
            + samples.chain("join", "finish"))
    xml = samples.document(key, body, {"Back Office": ["begin", "review", "split", "check_a", "check_b", "join",
                                                       "finish"]})
    service.deploy(stored_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}))
    service.add_user(stored_uow(), "bo1", ["back-office"])
    instance_id = service.start_instance(stored_uow(), key, BOB)
    [review] = queries.list_tasks(stored_uow(), instance_id=instance_id)
    service.claim_task(stored_uow(), review["id"], "bo1")
    service.complete_task(stored_uow(), review["id"], "bo1", {})
    with stored_uow() as uow:
        opened = dict(uow.session.execute(select(HumanTask.step_id, HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")).all())
        events = uow.session.execute(select(TaskEvent.type, TaskEvent.task_id).where(
            TaskEvent.instance_id == instance_id).order_by(TaskEvent.id)).all()
        breaches = dict(uow.session.execute(select(Job.task_id, Job.due_at).where(
            Job.instance_id == instance_id, Job.kind == "breach")).all())
    assert set(opened) == {"check_a", "check_b"} and len(set(opened.values())) == 2
    assert events[-3:] == [("task_completed", review["id"]), ("task_created", opened["check_a"]),
                           ("task_created", opened["check_b"])] or events[-3:] == [
        ("task_completed", review["id"]), ("task_created", opened["check_b"]), ("task_created", opened["check_a"])]
    assert breaches[opened["check_b"]] - breaches[opened["check_a"]] == -timedelta(hours=2)
    for step, task_id in opened.items():  # the next step of each runs on the case as saved, with its task ids
        service.claim_task(stored_uow(), task_id, "bo1")
        service.complete_task(stored_uow(), task_id, "bo1", {})
    assert queries.instance_view(stored_uow(), instance_id)["status"] == "completed"


def test_a_write_to_a_row_changed_since_it_was_read_is_refused_and_saves_nothing_of_its_unit_of_work(stored_uow,
                                                                                                      clock):
    setup_two_step(stored_uow)
    instance_id = service.start_instance(stored_uow(), "two_step", BOB)
    task_id = queries.list_tasks(stored_uow(), instance_id=instance_id)[0]["id"]
    with stored_uow() as uow:
        seen, _ = uow.cases.lock_task(task_id)
    service.claim_task(stored_uow(), task_id, "bo1")  # the row changes after it was read
    with pytest.raises(ConcurrentUpdate):
        with stored_uow() as uow:
            with uow.cases.batch():  # on PostgreSQL the batch goes with the commit, checked by the server
                uow.cases.log(instance_id, "task_claimed", "bo2", clock.now(), task_id, "review")
                uow.cases.flush_events()
                uow.cases.set_assignee(seen, "bo2", clock.now())
            uow.commit()
    with stored_uow() as uow:
        actors = uow.session.scalars(select(TaskEvent.actor).where(
            TaskEvent.task_id == task_id, TaskEvent.type == "task_claimed")).all()
    assert actors == ["bo1"]
    service.complete_task(stored_uow(), task_id, "bo1", {})  # the connection goes on, its transaction rolled back
    assert [t["step_id"] for t in queries.list_tasks(stored_uow(), instance_id=instance_id)] == ["approve"]


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in real threads released together; each result is a return value or an exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # the point is to see which call lost
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_concurrent_completions_give_one_success_and_one_clear_conflict(stored_uow):
    setup_two_step(stored_uow)
    for _ in range(8):
        instance_id = service.start_instance(stored_uow(), "two_step", BOB)
        task = queries.list_tasks(stored_uow(), instance_id=instance_id)[0]["id"]
        service.claim_task(stored_uow(), task, "bo1")
        results = race(lambda: service.complete_task(stored_uow(), task, "bo1", {"comment": "a"}),
                       lambda: service.complete_task(stored_uow(), task, "bo1", {"comment": "b"}))
        wins = [r for r in results if r == instance_id]
        losses = [r for r in results if isinstance(r, (service.TaskClosed, ConcurrentUpdate))]
        assert len(wins) == 1 and len(losses) == 1, results
        assert [t["step_id"] for t in queries.list_tasks(stored_uow(), instance_id=instance_id)] == ["approve"]
        with stored_uow() as uow:
            completions = uow.session.scalar(select(func.count()).select_from(TaskEvent).where(
                TaskEvent.instance_id == instance_id, TaskEvent.type == "task_completed"))
        assert completions == 1


def test_two_concurrent_claims_give_the_task_to_exactly_one_user(stored_uow):
    setup_two_step(stored_uow)
    for _ in range(8):
        instance_id = service.start_instance(stored_uow(), "two_step", BOB)
        task = queries.list_tasks(stored_uow(), instance_id=instance_id)[0]["id"]
        results = race(lambda: service.claim_task(stored_uow(), task, "bo1"),
                       lambda: service.claim_task(stored_uow(), task, "bo2"))
        losses = [r for r in results if isinstance(r, (service.NotAllowed, ConcurrentUpdate))]
        assert results.count(None) == 1 and len(losses) == 1, results
        [row] = queries.list_tasks(stored_uow(), instance_id=instance_id)
        winner = "bo1" if results[0] is None else "bo2"
        assert row["assignee"] == winner


def test_two_concurrent_deploys_of_new_versions_store_both_or_refuse_one_clearly(stored_uow):
    key = f"deploy_{uuid.uuid4().hex[:8]}"  # PostgreSQL's database is shared by the session's tests
    first = Package(key, f"{key}.bpmn", {f"{key}.bpmn": samples.two_step(key).replace("Review", "Check")})
    second = Package(key, f"{key}.bpmn", {f"{key}.bpmn": samples.two_step(key).replace("Review", "Vet")})
    results = race(lambda: service.deploy(stored_uow(), first), lambda: service.deploy(stored_uow(), second))
    stored = [r for r in results if isinstance(r, service.Deployment)]
    assert all(isinstance(r, (service.Deployment, ConcurrentUpdate)) for r in results), results
    assert sorted(r.version for r in stored) == list(range(1, len(stored) + 1))


def test_a_commit_the_database_refuses_comes_as_sqlalchemys_error_and_keeps_nothing(tmp_path, clock):
    new_uow = connect(f"sqlite:///{tmp_path / 'valueflow.db'}", clock, migrate=True)
    try:
        pooled = checkout_in_transaction(new_uow.engine)
        try:
            pooled.driver_connection.execute("PRAGMA defer_foreign_keys=ON")  # checked at COMMIT, not at INSERT
            pooled.driver_connection.execute("INSERT INTO customer (id, name, segment) VALUES ('c-9', 'Ann', 'x')")
            pooled.driver_connection.execute(
                "INSERT INTO process_instance (definition_id, customer_id, segment, status, started_at, state,"
                " row_version) VALUES (999, 'c-9', 'x', 'running', '2026-01-01 00:00:00', '', 1)")
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):  # not the driver's own error
                commit_transaction(new_uow.engine, pooled)
        finally:
            pooled.close()
        with new_uow() as uow:
            assert uow.session.get(Customer, "c-9") is None
    finally:
        new_uow.dispose()
