"""A timer's date, duration or cycle is held to its bounds (engine.time.timer_bounds) before SpiffWorkflow computes
with it: a literal out of them is refused at deploy and validate naming the step and the bound, a value computed
from case data stops the case at the timer step, and a timer within them waits as before.

Each hostile value would otherwise keep SpiffWorkflow computing for minutes, loop, overflow or open a task every
second: that these tests finish is part of what they show.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import pytest

from engine import incidents, jobs, service
from engine.definitions.packages import DeploymentRefused, Package
from engine.time.clock import FixedClock
from engine.work import queries
from tests import samples

KIM = service.CustomerRef("c-1", "Kim Park", "standard")
LEE = service.CustomerRef("c-2", "Ann Lee", "premium")
LONGER = "is longer than 100 years, the longest a timer waits"
TOO_OFTEN = "a timer repeats at most once a minute (an interval of PT1M or more)"


def timer_event(kind: str, text: str, boundary: bool = False) -> str:
    definition = (f"<bpmn:timerEventDefinition><bpmn:{kind}>{escape(text)}</bpmn:{kind}>"
                  "</bpmn:timerEventDefinition>")
    if boundary:
        return (f'<bpmn:boundaryEvent id="wait" name="Wait" attachedToRef="review" cancelActivity="false">'
                f"{definition}</bpmn:boundaryEvent>")
    return f'<bpmn:intermediateCatchEvent id="wait" name="Wait">{definition}</bpmn:intermediateCatchEvent>'


def reviewed_then_waits(key: str, kind: str, text: str, boundary: bool = False) -> Package:
    """start → Review (Back Office) → Wait (a timer) → end; or a non-interrupting boundary timer on Review,
    leading to a Reminder step."""
    body = '<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review") + '<bpmn:endEvent id="finish"/>'
    if boundary:
        body += (timer_event(kind, text, boundary=True) + samples.user_task("remind", "Reminder")
                 + '<bpmn:endEvent id="reminded"/>' + samples.chain("begin", "review", "finish")
                 + samples.chain("wait", "remind", "reminded"))
        steps = ["begin", "review", "remind", "finish", "reminded"]
    else:
        body += timer_event(kind, text) + samples.chain("begin", "review", "wait", "finish")
        steps = ["begin", "review", "wait", "finish"]
    xml = samples.document(key, body, {"Back Office": steps})
    return Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml})


@pytest.fixture
def staff(new_uow) -> None:  # type: ignore[no-untyped-def]
    service.add_user(new_uow(), "bo1", ["back-office"])
    service.add_user(new_uow(), "owner", ["process-owner"])


def complete_review(new_uow, instance_id: int) -> None:  # type: ignore[no-untyped-def]
    [task] = [t for t in queries.list_tasks(new_uow(), instance_id=instance_id) if t["step_id"] == "review"]
    service.claim_task(new_uow(), task["id"], "bo1")
    service.complete_task(new_uow(), task["id"], "bo1", {"comment": "ok"})


HOSTILE = [
    ("timeDuration", "P999999999Y", f"the duration 'P999999999Y' {LONGER}"),
    ("timeDuration", "P99999999999999999999D", f"the duration 'P99999999999999999999D' {LONGER}"),
    ("timeDuration", "-P1D", "the duration '-P1D' is not an ISO 8601 duration (for example PT4H or P2D)"),
    ("timeCycle", "R/PT0S", f"the interval of the cycle 'R/PT0S' repeats every < 1 min: {TOO_OFTEN}"),
    ("timeCycle", "R999999999/PT1S", f"the interval of the cycle 'R999999999/PT1S' repeats every < 1 min: {TOO_OFTEN}"),
    ("timeCycle", "R/P200Y", f"the interval of the cycle 'R/P200Y' {LONGER}"),
    ("timeDate", "2026-02-30T00:00:00Z", "the date '2026-02-30T00:00:00Z' is not a real date and time in ISO 8601 "
                                         "(for example 2026-12-24T09:00:00Z): day is out of range for month"),
    ("timeDate", "PT1H", "the date 'PT1H' is not a real date and time in ISO 8601"),
    ("timeDate", "9999-12-31T23:59:59-14:00", "SpiffWorkflow cannot read the date '9999-12-31T23:59:59-14:00': "
                                              "date value out of range"),
]


@pytest.mark.parametrize("quoted", [False, True], ids=["bare", "python"])
@pytest.mark.parametrize("boundary", [False, True], ids=["intermediate", "boundary"])
@pytest.mark.parametrize("kind, text, reason", HOSTILE, ids=[text for _, text, _ in HOSTILE])
def test_a_literal_timer_out_of_bounds_is_refused_at_validate_and_deploy_naming_its_step_and_the_bound(
        new_uow, kind, text, reason, boundary, quoted):
    written = f'"{text}"' if quoted else text
    package = reviewed_then_waits("hostile", kind, written, boundary)
    expected = f"wait (Wait): the timer {written!r} cannot run: {reason}"
    [problem] = [str(p) for p in service.validate_package(package).errors]
    assert problem.startswith(expected), problem
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    assert [str(p) for p in caught.value.problems if not p.warning] == [problem]


@pytest.mark.parametrize("kind, value, reason", [
    ("timeDuration", "P99999999999999999999D", f"the duration 'P99999999999999999999D' {LONGER}"),
    ("timeDuration", "P999999999Y", f"the duration 'P999999999Y' {LONGER}"),
    ("timeDuration", 42, "the duration must be ISO 8601 text, not int 42"),
    ("timeCycle", "R/PT0S", f"the interval of the cycle 'R/PT0S' repeats every < 1 min: {TOO_OFTEN}"),
    ("timeDate", "2026-02-30T00:00:00Z", "the date '2026-02-30T00:00:00Z' is not a real date"),
])
def test_a_computed_timer_out_of_bounds_errors_the_case_at_the_timer_and_the_request_answers(
        new_uow, staff, kind, value, reason):
    service.deploy(new_uow(), reviewed_then_waits("computed", kind, "reminder"))
    instance_id = service.start_instance(new_uow(), "computed", KIM, {"reminder": value})
    complete_review(new_uow, instance_id)  # returns: the error is the case's
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["error"]["step"]) == ("error", "wait"), view
    assert view["error"]["message"].startswith(f"the timer of step 'Wait' cannot run: {reason}")
    assert (view["waits"], view["next_timer_at"]) == ([], None)
    [incident] = [i for i in incidents.list_incidents(new_uow(), "owner").rows if i.instance_id == instance_id]
    assert (incident.step, incident.step_name) == ("wait", "Wait")
    other = service.start_instance(new_uow(), "computed", LEE, {"reminder": "PT2H"})
    assert queries.instance_view(new_uow(), other)["status"] == "running"


def test_a_computed_boundary_cycle_firing_every_second_errors_the_case_at_the_timer(new_uow, staff):
    service.deploy(new_uow(), reviewed_then_waits("flood", "timeCycle", "reminder", boundary=True))
    instance_id = service.start_instance(new_uow(), "flood", KIM, {"reminder": "R999999999/PT1S"})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["error"]["step"]) == ("error", "wait"), view
    assert TOO_OFTEN in view["error"]["message"]


def test_a_timer_in_error_fails_again_on_retry_and_is_cancelled_for_good(new_uow, staff):
    service.deploy(new_uow(), reviewed_then_waits("computed", "timeDuration", "reminder"))
    instance_id = service.start_instance(new_uow(), "computed", KIM, {"reminder": "P999999999Y"})
    complete_review(new_uow, instance_id)
    assert incidents.retry_incident(new_uow(), instance_id, "owner") == "error"  # the value is computed again
    [incident] = [i for i in incidents.list_incidents(new_uow(), "owner").rows if i.instance_id == instance_id]
    assert (incident.step, incident.attempts) == ("wait", 2) and LONGER in incident.message
    incidents.cancel_incident(new_uow(), instance_id, "owner")
    assert queries.instance_view(new_uow(), instance_id)["status"] == "cancelled"


@pytest.mark.parametrize("kind, value, due", [
    ("timeDuration", "PT2H", timedelta(hours=2)),
    ("timeDuration", "P100Y", None),
    ("timeCycle", "R2/PT1M", timedelta(minutes=1)),
    ("timeDate", "2026-01-05T12:00:00Z", timedelta(hours=3)),
])
def test_a_timer_within_its_bounds_waits_and_fires_as_before(new_uow, clock: FixedClock, staff, kind, value, due):
    service.deploy(new_uow(), reviewed_then_waits("bounded", kind, "reminder"))
    instance_id = service.start_instance(new_uow(), "bounded", KIM, {"reminder": value})
    complete_review(new_uow, instance_id)
    view: dict[str, Any] = queries.instance_view(new_uow(), instance_id)
    assert ([w["kind"] for w in view["waits"]], view["error"]) == (["timer"], None), view
    waited = datetime.fromisoformat(view["next_timer_at"]) - datetime.fromisoformat(view["started_at"])
    if due is None:
        assert waited > timedelta(days=365 * 99)
        return
    assert waited == due
    clock.advance(due + timedelta(seconds=1))
    jobs.run_until_idle(new_uow, "worker")
    assert queries.instance_view(new_uow(), instance_id)["status"] == ("running" if kind == "timeCycle"
                                                                      else "completed")
