"""The job table: workers claim disjoint batches, a job runs once even when its lease ran out, a failing job is
given back to retry later while the others run, and an upgrade gives waiting cases their jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from engine import jobs, service
from engine.metrics import REGISTRY
from engine.storage.tables import Job
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from engine.work import queries
from tests.conftest import T0
from tests.integration.test_open_task_indexes import CUSTOMER, migrate
from tests.integration.test_storage import setup_two_step
from tests.jobs_arrange import deploy_timer_process, fired_per_case, jobs_left, waiting_cases

DUE = T0 + timedelta(hours=2)  # every "wait an hour" timer is due


def test_two_workers_claiming_at_the_same_moment_get_different_jobs(stored_uow, clock):
    definition_id = waiting_cases(stored_uow, deploy_timer_process(stored_uow), 8)
    clock.set(DUE)
    first = jobs.claim_due(stored_uow, "first", batch=5)
    second = jobs.claim_due(stored_uow, "second", batch=5)
    rest = jobs.claim_due(stored_uow, "third", batch=10_000)
    claimed = [job.id for job in first + second + rest]
    assert len(claimed) == len(set(claimed))  # no job went to two workers
    assert jobs_left(stored_uow, definition_id, leased_only=True) == 8 == jobs_left(stored_uow, definition_id)


def test_a_job_taken_over_after_its_lease_ran_out_runs_once_by_the_worker_holding_it(stored_uow, clock):
    definition_id = waiting_cases(stored_uow, deploy_timer_process(stored_uow), 3)
    clock.set(DUE)
    slow = jobs.claim_due(stored_uow, "slow", lease=timedelta(seconds=30))
    clock.advance(timedelta(seconds=31))  # the slow worker's lease ran out before it ran its jobs
    quick = jobs.claim_due(stored_uow, "quick")
    assert {job.id for job in slow} <= {job.id for job in quick}
    late = jobs.run_claimed(stored_uow, slow, "slow")
    assert (late.timers_fired, late.errors) == (0, ())  # no longer its jobs: it changes nothing
    assert fired_per_case(stored_uow, definition_id) == {}
    assert jobs.run_claimed(stored_uow, quick, "quick").timers_fired >= 3
    assert list(fired_per_case(stored_uow, definition_id).values()) == [1, 1, 1]


def test_taking_over_a_job_whose_lease_ran_out_says_so_in_one_warning_and_counts_it(stored_uow, clock, caplog):
    waiting_cases(stored_uow, deploy_timer_process(stored_uow), 2)
    clock.set(DUE)
    died = jobs.claim_due(stored_uow, "host-a:4242:dead", lease=timedelta(seconds=30))  # then kill -9
    clock.advance(timedelta(seconds=75))
    before = taken_over("timer")
    with caplog.at_level(logging.WARNING, logger="engine.jobs"):
        again = jobs.claim_due(stored_uow, "host-b:77:alive")
    assert {job.id for job in died} <= {job.id for job in again}
    assert [record.getMessage() for record in caplog.records] == [
        f"took over 2 timer job(s) from worker host-a:4242:dead, whose lease ran out 45 s ago (it died or stalled "
        f"mid-job): {died[0].id} (case {died[0].instance_id}), {died[1].id} (case {died[1].instance_id})"]
    assert {record.levelno for record in caplog.records} == {logging.WARNING}
    assert taken_over("timer") - before == len(died) == 2


def test_a_worker_that_died_holding_many_jobs_is_named_in_one_warning_with_the_first_ten(stored_uow, clock, caplog):
    waiting_cases(stored_uow, deploy_timer_process(stored_uow), 12)
    clock.set(DUE)
    died = jobs.claim_due(stored_uow, "host-a:4242:dead", lease=timedelta(seconds=30))
    clock.advance(timedelta(seconds=40))
    with caplog.at_level(logging.WARNING, logger="engine.jobs"):
        again = jobs.claim_due(stored_uow, "host-b:77:alive")
    timers = [job for job in died if job.kind == "timer"]
    assert len(timers) == 12 and {job.id for job in died} <= {job.id for job in again}
    [line] = [record.getMessage() for record in caplog.records if " timer job(s) " in record.getMessage()]
    assert line.startswith("took over 12 timer job(s) from worker host-a:4242:dead, whose lease ran out 10 s ago "
                           f"(it died or stalled mid-job): {timers[0].id} (case {timers[0].instance_id}), ")
    assert line.endswith(f"{timers[9].id} (case {timers[9].instance_id}) and 2 more")


def test_a_job_given_back_after_failing_is_claimed_again_without_a_takeover(stored_uow, clock, caplog):
    instance_id = service.start_instance(stored_uow(), deploy_timer_process(stored_uow), CUSTOMER)
    uow = stored_uow()
    with uow:
        uow.cases.jobs.add("notification", instance_id, T0)  # written by a newer version of Valueflow
        uow.commit()
    clock.set(DUE)
    assert len(jobs.run_until_idle(stored_uow, "worker").errors) == 1
    clock.advance(jobs.FIRST_RETRY)
    before = taken_over("notification")
    with caplog.at_level(logging.WARNING, logger="engine.jobs"):
        [again] = jobs.claim_due(stored_uow, "worker")
    assert (again.kind, again.attempts, again.lapsed_owner) == ("notification", 2, None)
    assert caplog.records == [] and taken_over("notification") == before


def taken_over(kind: str) -> float:
    return REGISTRY.get_sample_value("valueflow_job_lease_takeovers_total", {"kind": kind}) or 0.0


def test_a_job_that_fails_is_given_back_with_its_error_and_retried_later_while_the_others_run(stored_uow, clock):
    definition_id = waiting_cases(stored_uow, deploy_timer_process(stored_uow), 2)
    uow = stored_uow()
    with uow:
        instance_id = uow.session.scalar(select(Job.instance_id).where(Job.kind == "timer").order_by(Job.id.desc()))
        uow.cases.jobs.add("notification", instance_id, T0)  # written by a newer version of Valueflow
        uow.commit()
    clock.set(DUE)
    first = jobs.run_until_idle(stored_uow, "worker")
    assert first.timers_fired >= 2 and len(first.errors) == 1
    assert "no worker of this version runs 'notification' jobs" in first.errors[0]
    uow = stored_uow()
    with uow:
        [failed] = uow.session.scalars(select(Job).where(Job.kind == "notification", Job.instance_id == instance_id))
        assert (failed.attempts, failed.locked_by, failed.locked_until) == (1, None, DUE + jobs.FIRST_RETRY)
        assert "notification" in (failed.last_error or "")
    assert jobs.run_until_idle(stored_uow, "worker").claimed == 0  # not before its pause
    clock.advance(jobs.FIRST_RETRY)
    again = jobs.run_until_idle(stored_uow, "worker")
    assert (again.claimed, len(again.errors)) == (1, 1) and "attempt 2" in again.errors[0]
    assert set(fired_per_case(stored_uow, definition_id).values()) == {1}


def test_an_upgrade_gives_the_cases_already_waiting_their_timer_and_breach_jobs(storage_url, clock):
    new_uow = connect(storage_url, clock, migrate=True)
    definition_id = waiting_cases(new_uow, deploy_timer_process(new_uow), 2)
    setup_two_step(new_uow)
    late = service.start_instance(new_uow(), "two_step", CUSTOMER)
    migrate(new_uow.engine, "0010_idempotent_requests", down=True)  # a database of the version before jobs
    migrate(new_uow.engine, "head")
    new_uow.dispose()
    upgraded = connect(storage_url, FixedClock(T0 + timedelta(days=1)))
    done = jobs.run_until_idle(upgraded, "worker")
    assert done.errors == () and done.timers_fired >= 2 and done.breaches >= 1
    assert list(fired_per_case(upgraded, definition_id).values()) == [1, 1]
    events = [e["type"] for e in queries.instance_view(upgraded(), late)["events"]]
    assert events.count("task_breached") == 1
    upgraded.dispose()
