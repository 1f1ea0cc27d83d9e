"""Notifications reach real local peers: a task assigned to someone mails them, a webhook call arrives signed with
their secret, a task at risk and one past its target reach its queue's role, an incident reaches the admins and
the process's owner, and a mail server that is down costs the change nothing and is retried until kept as failed."""

from __future__ import annotations

import email
import email.policy
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import external_tasks, jobs, service
from engine.definitions.packages import Package
from engine.notify import deliveries, sending, settings
from engine.outbound.destinations import ALLOW_HOSTS
from engine.outbound.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from engine.storage.tables import Job, Notification, NotificationDelivery, TaskEvent
from engine.work import queries
from engine.worker import BackgroundWorker
from tests import samples
from tests.conftest import T0
from tests.integration.test_open_task_indexes import migrate
from tests.jobs_arrange import deploy_timer_process
from tests.peers import free_port, receiver, silent_peer, smtp_server  # noqa: F401 (fixtures)
from tests.unit.test_other_tools import DIALECTS

KEY = "loan_review"
ANA = service.CustomerRef("c-ana", "Ana Lima", "standard")
COMPUTED_OWNERS = DIALECTS / "camunda7_computed_owners.bpmn"  # Task_review goes to the user applicant.owner names


def loan_review() -> str:
    """start → Review (Back Office, PT4H) → Score (a script: fails on a comment that is not a number) → Approve
    (Approver, PT8H) → end; owned by the user ops-lead."""
    body = ('<bpmn:startEvent id="begin"/>' + samples.user_task("review", "Review")
            + '<bpmn:scriptTask id="score" name="Score"><bpmn:script>score = int(comment)</bpmn:script>'
              '</bpmn:scriptTask>'
            + samples.user_task("approve", "Approve", target="PT8H") + '<bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "review", "score", "approve", "finish"))
    return samples.document(KEY, body, {"Back Office": ["begin", "review", "score"], "Approver": ["approve", "finish"]},
                            samples.props(processOwner="ops-lead"))


@pytest.fixture
def bank(stored_uow, smtp_server, monkeypatch):  # type: ignore[no-untyped-def]
    """The process, its people (each with a mail address, the defaults otherwise), mail through the peer, and
    webhooks allowed to the loopback address the receiver listens at."""
    controller, _ = smtp_server
    monkeypatch.setenv(ALLOW_HOSTS, "127.0.0.1")
    monkeypatch.setenv("VALUEFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VALUEFLOW_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("VALUEFLOW_MAIL_FROM", "valueflow@bank.test")
    monkeypatch.setenv("VALUEFLOW_BASE_URL", "https://valueflow.bank.test/")
    service.deploy(stored_uow(), Package(KEY, f"{KEY}.bpmn", {f"{KEY}.bpmn": loan_review()}))
    for name, roles in (("bo1", ["back-office"]), ("bo2", ["back-office"]), ("boss", ["manager"]),
                        ("adm", ["admin"]), ("ops-lead", ["process-owner"])):
        service.add_user(stored_uow(), name, roles)
        settings.save_settings(stored_uow(), name, settings.SettingsForm(
            email=f"{name}@bank.test", choices=frozenset(
                (event, "email") for event, channels in settings.DEFAULT_CHOICES.items() for _ in channels)))
    return stored_uow


def work(new_uow) -> None:  # type: ignore[no-untyped-def]
    """Run the jobs due, then those their runs made due (the notifications a breach calls for), until none are."""
    while jobs.run_until_idle(new_uow, "worker").claimed:
        pass


def review_task(new_uow, instance_id: int) -> int:  # type: ignore[no-untyped-def]
    [task] = queries.list_tasks(new_uow(), instance_id=instance_id)
    return task["id"]


def mails(smtp_server) -> list:  # type: ignore[no-untyped-def]
    return [email.message_from_bytes(envelope.content, policy=email.policy.default) for envelope in smtp_server[1].messages]


def test_a_task_a_manager_assigns_mails_its_assignee_once_with_a_link_and_claiming_ones_own_mails_no_one(
        bank, smtp_server):
    instance_id = service.start_instance(bank(), KEY, ANA)
    task_id = review_task(bank, instance_id)
    service.claim_task(bank(), task_id, "bo2")
    service.release_task(bank(), task_id, "bo2")
    service.assign_task(bank(), task_id, "bo1", "boss")
    assert jobs.run_until_idle(bank, "worker").errors == ()
    work(bank)
    [mail] = mails(smtp_server)
    assert mail["To"] == "bo1@bank.test" and mail["From"] == "valueflow@bank.test"
    assert mail["Subject"] == f"[Valueflow] Assigned to you: Review — Ana Lima (case {instance_id})"
    text = mail.get_content()
    assert f"https://valueflow.bank.test/tasks/{task_id}" in text and "assigned to you by boss" in text
    assert "Target: 4 h 00 min left (due 2026-01-05 13:00 UTC)" in text


def test_a_mail_tells_the_due_time_in_the_zone_the_web_app_shows_times_in(bank, smtp_server, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_TIMEZONE", "Europe/Amsterdam")
    task_id = review_task(bank, service.start_instance(bank(), KEY, ANA))
    service.assign_task(bank(), task_id, "bo1", "boss")
    work(bank)
    [mail] = mails(smtp_server)
    assert "Target: 4 h 00 min left (due 2026-01-05 14:00 CET)" in mail.get_content()


def test_a_webhook_call_arrives_with_the_event_and_its_signature_verifies_with_the_users_secret(bank, receiver):
    secret = settings.save_settings(bank(), "bo1", settings.SettingsForm(
        webhook_url=receiver.url, choices=frozenset({("assigned", "webhook")})))
    assert secret and settings.settings_of(bank(), "bo1").has_secret
    instance_id = service.start_instance(bank(), KEY, ANA)
    task_id = review_task(bank, instance_id)
    service.assign_task(bank(), task_id, "bo1", "boss")
    work(bank)
    [(headers, body)] = receiver.received
    call = json.loads(body)
    assert {k: call[k] for k in ("event", "instance", "task", "url")} == {
        "event": "assigned", "instance": instance_id, "task": task_id,
        "url": f"https://valueflow.bank.test/tasks/{task_id}"}
    assert (call["step"]["id"], call["process"]["key"], call["customer"]["name"]) == ("review", KEY, "Ana Lima")
    assert call["at"] == T0.isoformat()
    assert verify(secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(secret, headers[TIMESTAMP_HEADER], body.replace(b"Ana Lima", b"Eve Lima"),
                      headers[SIGNATURE_HEADER])


def test_a_webhook_call_retried_after_a_failure_carries_the_same_delivery_id_the_notifications(
        bank, receiver, clock):
    settings.save_settings(bank(), "bo1", settings.SettingsForm(
        webhook_url=receiver.url, choices=frozenset({("assigned", "webhook")})))
    instance_id = service.start_instance(bank(), KEY, ANA)
    service.assign_task(bank(), review_task(bank, instance_id), "bo1", "boss")
    receiver.status = 503
    assert len(jobs.run_until_idle(bank, "worker").errors) == 1  # the receiver is down: retried later
    receiver.status = 204
    clock.advance(timedelta(minutes=1))
    work(bank)
    uow = bank()
    with uow:
        [notification] = uow.session.scalars(select(Notification.id).where(Notification.instance_id == instance_id))
    assert [headers[DELIVERY_HEADER] for headers, _ in receiver.received] == [str(notification)] * 2
    assert receiver.received[0][1] == receiver.received[1][1]  # the same message, to be dropped as a repeat


def test_an_unassigned_task_reaches_its_roles_webhook_when_at_risk_then_when_past_its_target(
        bank, receiver, clock):
    secret = settings.save_role_settings(bank(), "adm", "back-office", settings.SettingsForm(
        webhook_url=receiver.url, choices=frozenset({("at_risk", "webhook"), ("breached", "webhook")})))
    instance_id = service.start_instance(bank(), KEY, ANA)
    done_in_time = service.start_instance(bank(), KEY, service.CustomerRef("c-bo", "Bo Chen", "standard"))
    quick = review_task(bank, done_in_time)
    service.claim_task(bank(), quick, "bo2")
    service.complete_task(bank(), quick, "bo2", {"comment": "7"})
    clock.set(T0 + timedelta(hours=2, minutes=59))
    work(bank)
    assert receiver.received == []  # more than a quarter of the four hours is left
    clock.set(T0 + timedelta(hours=3))
    work(bank)
    clock.set(T0 + timedelta(hours=4, minutes=5))
    work(bank)
    calls = [json.loads(body) for _, body in receiver.received]
    assert [(c["event"], c["instance"], c["seconds_left"]) for c in calls] == [
        ("at_risk", instance_id, 3600.0), ("breached", instance_id, -300.0)]
    assert all(verify(secret, h[TIMESTAMP_HEADER], b, h[SIGNATURE_HEADER]) for h, b in receiver.received)


def test_an_incident_mails_the_admins_and_the_process_owner_but_not_who_caused_it(bank, smtp_server):
    instance_id = service.start_instance(bank(), KEY, ANA)
    task_id = review_task(bank, instance_id)
    service.claim_task(bank(), task_id, "bo1")
    service.complete_task(bank(), task_id, "bo1", {"comment": "not a number"})
    assert queries.instance_view(bank(), instance_id)["status"] == "error"
    work(bank)
    got = {mail["To"]: mail for mail in mails(smtp_server)}
    assert sorted(got) == ["adm@bank.test", "ops-lead@bank.test"]
    mail = got["adm@bank.test"]
    assert mail["Subject"] == f"[Valueflow] Incident: Score — Ana Lima (case {instance_id})"
    text = mail.get_content()
    assert "stopped in error at the step 'Score'" in text and "Step: Score" in text
    assert f"https://valueflow.bank.test/instances/{instance_id}" in text
    assert "invalid literal for int()" in text


def test_a_mail_server_that_is_down_fails_nothing_and_is_retried_until_kept_as_failed(bank, clock, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_SMTP_PORT", str(free_port()))  # nothing listens there
    instance_id = service.start_instance(bank(), KEY, ANA)
    task_id = review_task(bank, instance_id)
    service.assign_task(bank(), task_id, "bo1", "boss")  # the change itself succeeds
    assert queries.list_tasks(bank(), instance_id=instance_id)[0]["assignee"] == "bo1"
    seen = []
    for attempt in range(1, sending.MAX_ATTEMPTS + 1):
        round_ = jobs.run_until_idle(bank, "worker")
        uow = bank()
        with uow:
            job = uow.session.scalar(select(Job).where(Job.kind == "notify"))
            seen.append(job.attempts if job else None)
            if job is not None:
                assert "could not send mail through 127.0.0.1" in (job.last_error or "")
                assert len(round_.errors) == 1
        clock.advance(timedelta(minutes=11))
    assert seen == [*range(1, sending.MAX_ATTEMPTS), None]  # the last attempt settles it
    [failed] = [t for t in deliveries.troubles(bank(), "adm") if t.instance_id == instance_id]
    assert (failed.status, failed.recipient, failed.address, failed.event) == (
        "failed", "user bo1", "bo1@bank.test", "assigned")
    assert "could not send mail" in (failed.error or "")
    uow = bank()
    with uow:
        assert uow.session.scalars(select(NotificationDelivery.status).join(Notification).where(
            Notification.instance_id == instance_id)).all() == ["failed"]


def test_a_task_that_opens_with_an_owner_computed_from_the_case_data_mails_that_owner(bank, smtp_server):
    xml = COMPUTED_OWNERS.read_text(encoding="utf-8")
    service.deploy(bank(), Package(COMPUTED_OWNERS.stem, COMPUTED_OWNERS.name, {COMPUTED_OWNERS.name: xml}))
    service.add_user(bank(), "ada", ["accounting"])
    settings.save_settings(bank(), "ada", settings.SettingsForm(email="ada@bank.test",
                                                                choices=frozenset({("assigned", "email")})))
    instance_id = service.start_instance(bank(), COMPUTED_OWNERS.stem, ANA, {"applicant": {"owner": "ada"}},
                                         actor="bo1")
    work(bank)
    [mail] = mails(smtp_server)
    assert mail["To"] == "ada@bank.test"
    assert mail["Subject"].startswith("[Valueflow] Assigned to you: ") and f"(case {instance_id})" in mail["Subject"]
    assert "was assigned to you." in mail.get_content()  # by the diagram, not by a person


def test_an_upgrade_gives_the_tasks_already_open_their_at_risk_check(bank, receiver, clock):
    instance_id = service.start_instance(bank(), KEY, ANA)
    migrate(bank.engine, "0015_service_tasks", down=True)  # a database of the version before notifications
    migrate(bank.engine, "head")
    settings.save_role_settings(bank(), "adm", "back-office", settings.SettingsForm(
        webhook_url=receiver.url, secret="a-secret-of-our-own", choices=frozenset({("at_risk", "webhook")})))
    clock.set(T0 + timedelta(hours=2, minutes=59))
    work(bank)
    assert receiver.received == []
    clock.set(T0 + timedelta(hours=3))
    work(bank)
    [(_, body)] = receiver.received
    assert (json.loads(body)["event"], json.loads(body)["instance"]) == ("at_risk", instance_id)


def test_an_outside_workers_last_failure_is_an_incident_that_mails_the_admins_and_the_process_owner(
        bank, smtp_server):
    """An external task whose worker reports a failure with no retries left stops its case, like a failing script."""
    body = ('<bpmn:startEvent id="begin"/><bpmn:serviceTask id="bureau" name="Credit bureau check">'
            + samples.props(topic="credit-bureau") + '</bpmn:serviceTask><bpmn:endEvent id="finish"/>'
            + samples.chain("begin", "bureau", "finish"))
    bpmn = samples.document("bureau_check", body, {"Back Office": ["begin", "bureau", "finish"]},
                            samples.props(processOwner="ops-lead"))
    service.deploy(bank(), Package("bureau_check", "bureau_check.bpmn", {"bureau_check.bpmn": bpmn}))
    service.add_user(bank(), "bureau-worker", ["external-worker"])
    instance_id = service.start_instance(bank(), "bureau_check", ANA)
    [task] = external_tasks.fetch_and_lock(bank, "w1", 1, [external_tasks.Topic("credit-bureau", timedelta(minutes=5))],
                                           "bureau-worker")
    external_tasks.fail(bank(), task.id, "w1", "the bureau answered 503", 0, timedelta(0), "bureau-worker")
    assert queries.instance_view(bank(), instance_id)["status"] == "error"
    work(bank)
    got = {mail["To"]: mail for mail in mails(smtp_server)}
    assert sorted(got) == ["adm@bank.test", "ops-lead@bank.test"]
    assert got["adm@bank.test"]["Subject"] == (
        f"[Valueflow] Incident: Credit bureau check — Ana Lima (case {instance_id})")
    assert "the bureau answered 503" in got["ops-lead@bank.test"].get_content()


def test_a_webhook_whose_host_became_internal_is_kept_as_failed_at_once_and_the_mail_still_goes_out(
        bank, receiver, smtp_server, monkeypatch):
    settings.save_settings(bank(), "bo1", settings.SettingsForm(
        email="bo1@bank.test", webhook_url=receiver.url,
        choices=frozenset({("assigned", "webhook"), ("assigned", "email")})))
    monkeypatch.delenv(ALLOW_HOSTS)  # the operator no longer allows it (as when a host's DNS turns internal)
    instance_id = service.start_instance(bank(), KEY, ANA)
    service.assign_task(bank(), review_task(bank, instance_id), "bo1", "boss")
    assert jobs.run_until_idle(bank, "worker").errors == ()  # nothing to retry: the job is settled
    assert receiver.received == [] and [mail["To"] for mail in mails(smtp_server)] == ["bo1@bank.test"]
    [failed] = [t for t in deliveries.troubles(bank(), "adm") if t.instance_id == instance_id]
    assert (failed.status, failed.channel, failed.address) == ("failed", "webhook", receiver.url)
    assert "127.0.0.1 is an internal address (loopback)" in (failed.error or "")
    uow = bank()
    with uow:
        assert uow.session.scalar(select(Job.id).where(Job.kind == "notify")) is None


def test_a_webhook_that_never_answers_does_not_hold_back_a_due_timer_in_the_same_worker(bank, silent_peer, clock):
    settings.save_settings(bank(), "bo1", settings.SettingsForm(webhook_url=silent_peer,
                                                                choices=frozenset({("assigned", "webhook")})))
    waiting = service.start_instance(bank(), deploy_timer_process(bank), ANA)  # its timer is due in an hour
    loan = service.start_instance(bank(), KEY, ANA)
    service.assign_task(bank(), review_task(bank, loan), "bo1", "boss")  # a notification, due before the timer
    clock.set(T0 + timedelta(hours=1, minutes=1))
    worker = BackgroundWorker(bank, 0.05, lambda line: None, lambda line: None)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not fired(bank, waiting) and not webhook_errors(bank, loan) and time.monotonic() < deadline:
            time.sleep(0.05)
        timer_fired, why = fired(bank, waiting), webhook_errors(bank, loan)
    finally:
        assert worker.stop()
    assert timer_fired and why == []  # it fired while the call still waited on the peer (10 s before it gives up)
    assert queries.instance_view(bank(), waiting)["status"] == "completed"
    assert any("timed out" in error for error in webhook_errors(bank, loan))  # then the call gave up, to be retried


def fired(new_uow, instance_id: int) -> bool:  # type: ignore[no-untyped-def]
    uow = new_uow()
    with uow:
        return uow.session.scalar(select(TaskEvent.id).where(TaskEvent.instance_id == instance_id,
                                                             TaskEvent.type == "timer_fired")) is not None


def webhook_errors(new_uow, instance_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Why the calls of the case's notifications failed so far, as kept on their deliveries and jobs."""
    D, N = NotificationDelivery, Notification
    uow = new_uow()
    with uow:
        return [*uow.session.scalars(select(D.error).join(N).where(N.instance_id == instance_id, D.error.is_not(None))),
                *uow.session.scalars(select(Job.last_error).where(Job.instance_id == instance_id, Job.kind == "notify",
                                                                  Job.last_error.is_not(None)))]


def test_an_incident_at_a_step_the_diagram_leaves_unnamed_names_it_by_its_id_in_the_mail_and_the_webhook(
        bank, smtp_server, receiver):
    body = ('<bpmn:startEvent id="begin"/><bpmn:scriptTask id="tally"><bpmn:script>total = int("x")</bpmn:script>'
            '</bpmn:scriptTask><bpmn:endEvent id="finish"/>' + samples.chain("begin", "tally", "finish"))
    bpmn = samples.document("unnamed_tally", body, {"Back Office": ["begin", "tally", "finish"]})
    service.deploy(bank(), Package("unnamed_tally", "unnamed_tally.bpmn", {"unnamed_tally.bpmn": bpmn}))
    settings.save_role_settings(bank(), "adm", "admin", settings.SettingsForm(
        webhook_url=receiver.url, choices=frozenset({("incident", "webhook")})))
    instance_id = service.start_instance(bank(), "unnamed_tally", ANA)
    assert queries.instance_view(bank(), instance_id)["status"] == "error"
    work(bank)
    [mail] = mails(smtp_server)
    assert mail["Subject"] == f"[Valueflow] Incident: tally — Ana Lima (case {instance_id})"
    assert "at the step 'tally'" in mail.get_content()
    [(_, call)] = receiver.received
    assert json.loads(call)["step"] == {"id": "tally", "name": "tally"}
