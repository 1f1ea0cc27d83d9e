"""A case whose script fails is an incident: listed with its step, message, time and attempts, retried after the
fix (here a helper the process calls, broken in one release and corrected in the next), or cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import incidents, service
from engine.definitions.packages import read_package
from engine.errors import NotAllowed
from engine.storage.wiring import connect
from engine.time.clock import FixedClock
from engine.work import queries
from tests.conftest import SHIPPED, T0
from workflows import service_request

TRIAGE = {"category": "billing", "severity": "high", "description": "Charged twice"}


def broken_release(*_args):  # type: ignore[no-untyped-def]
    raise LookupError("the team directory is being migrated")


@pytest.fixture
def release(storage_url, monkeypatch):  # type: ignore[no-untyped-def]
    """Start a server process on ``release("broken")`` or ``release("fixed")``: the helper as then deployed."""
    started = []

    def start(which: str):  # type: ignore[no-untyped-def]
        if which == "broken":
            monkeypatch.setitem(service_request.HELPERS, "specialist_team_for", broken_release)
        else:
            monkeypatch.undo()
        factory = connect(storage_url, FixedClock(T0 + timedelta(hours=len(started))), migrate=True)
        started.append(factory)
        return factory

    yield start
    for factory in started:
        factory.dispose()


def triaged(new_uow, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Service requests whose triage is done, so that their routing script has run."""
    ids = []
    for n in range(count):
        instance_id = service.start_instance(new_uow(), "service_request",
                                             service.CustomerRef(f"inc-{n}", f"Customer {n}", "standard"))
        [triage] = queries.list_tasks(new_uow(), instance_id=instance_id)
        service.claim_task(new_uow(), triage["id"], "inc-clerk")
        service.complete_task(new_uow(), triage["id"], "inc-clerk", TRIAGE)
        ids.append(instance_id)
    return ids


@pytest.fixture
def broken_cases(release):  # type: ignore[no-untyped-def]
    new_uow = release("broken")
    service.deploy(new_uow(), read_package(SHIPPED / "service_request"))
    service.add_user(new_uow(), "inc-clerk", ["service-desk"])
    service.add_user(new_uow(), "inc-owner", ["process-owner"])
    service.add_user(new_uow(), "inc-manager", ["manager"])
    return new_uow, triaged(new_uow, 3)


def test_a_failing_script_is_an_incident_with_its_step_message_time_and_attempts_and_other_cases_go_on(
        broken_cases):
    new_uow, failed = broken_cases
    other = service.start_instance(new_uow(), "service_request", service.CustomerRef("fine", "Fine", "standard"))
    found = incidents.list_incidents(new_uow(), "inc-owner", process="service_request")
    mine = [row for row in found.rows if row.instance_id in failed]
    assert len(mine) == 3 and other not in [row.instance_id for row in found.rows]
    first = mine[-1]
    assert (first.step, first.attempts, first.errored_at) == ("assign_specialist", 1, T0)
    assert first.step_name == "Assign specialist team"  # as the diagram names it
    assert "the team directory is being migrated" in first.message
    assert queries.instance_view(new_uow(), other)["status"] == "running"


def test_incidents_are_filtered_by_step_and_message_and_come_a_page_at_a_time(broken_cases):
    new_uow, failed = broken_cases
    assert incidents.list_incidents(new_uow(), "inc-owner", step="close_request").total == 0
    assert incidents.list_incidents(new_uow(), "inc-owner", message="no such words").total == 0
    by_message = incidents.list_incidents(new_uow(), "inc-owner", process="service_request",
                                          message="DIRECTORY is being", per_page=2)
    assert by_message.total >= 3 and len(by_message.rows) == 2 and by_message.pages >= 2
    second = incidents.list_incidents(new_uow(), "inc-owner", process="service_request",
                                      message="directory is being", page=2, per_page=2)
    assert not {row.instance_id for row in by_message.rows} & {row.instance_id for row in second.rows}


def test_a_retry_before_the_fix_fails_again_and_counts_one_attempt_more(broken_cases):
    new_uow, [first, *_] = broken_cases
    assert incidents.retry_incident(new_uow(), first, "inc-owner") == "error"
    [row] = [r for r in incidents.list_incidents(new_uow(), "inc-owner").rows if r.instance_id == first]
    assert row.attempts == 2
    assert [e["type"] for e in queries.instance_view(new_uow(), first)["events"]][-2:] == \
        ["incident_retried", "instance_errored"]


def test_after_the_fix_a_retry_of_many_runs_the_failed_step_and_the_cases_go_on(broken_cases, release):
    _, failed = broken_cases
    fixed = release("fixed")
    outcomes = incidents.retry_incidents(fixed, failed, "inc-owner")
    assert outcomes == {instance_id: incidents.Retried("running") for instance_id in failed}
    for instance_id in failed:
        case = queries.instance_view(fixed(), instance_id)
        assert case["status"] == "running" and case["data"]["specialist_team"] == "Billing specialists"
        assert [t["step_id"] for t in queries.list_tasks(fixed(), instance_id=instance_id)] == ["resolve_request"]
        retried = [e for e in case["events"] if e["type"] == "incident_retried"]
        assert [e["actor"] for e in retried] == ["inc-owner"]
    assert not {r.instance_id for r in incidents.list_incidents(fixed(), "inc-owner").rows} & set(failed)


def test_cancelling_an_incident_cancels_the_case_as_the_user_and_a_running_case_is_no_incident(broken_cases):
    new_uow, [first, second, _] = broken_cases
    incidents.cancel_incident(new_uow(), first, "inc-owner")
    case = queries.instance_view(new_uow(), first)
    assert case["status"] == "cancelled"
    assert [(e["type"], e["actor"]) for e in case["events"]][-1] == ("instance_cancelled", "inc-owner")
    with pytest.raises(incidents.NotAnIncident, match="cancelled, not in error"):
        incidents.retry_incident(new_uow(), first, "inc-owner")
    outcome = incidents.retry_incidents(new_uow, [first], "inc-owner")
    assert outcome[first].status is None and "not in error" in (outcome[first].refusal or "")


@pytest.mark.parametrize("user", ["inc-clerk", "inc-manager"])
def test_only_admins_and_process_owners_see_retry_and_cancel_incidents(broken_cases, user):
    new_uow, [first, *_] = broken_cases
    for action in (lambda: incidents.list_incidents(new_uow(), user),
                   lambda: incidents.retry_incident(new_uow(), first, user),
                   lambda: incidents.cancel_incident(new_uow(), first, user)):
        with pytest.raises(NotAllowed, match="admin or process owner"):
            action()
    assert queries.instance_view(new_uow(), first)["status"] == "error"
