"""The audit log read as one list across the logs that hold it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from engine import service
from engine.definitions.packages import Package
from engine.work import accounts, audit, queries, tokens
from tests import samples
from tests.histories import unique


def test_the_audit_log_lists_every_kind_newest_first_and_filters_them(stored_uow, clock):
    key, admin, staff = unique("p"), unique("ad"), unique("st")
    start = clock.now()
    service.add_user(stored_uow(), admin, ["admin"])
    service.deploy(stored_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": samples.two_step(key)}), actor=admin)
    clock.advance(timedelta(hours=1))
    steps = [
        lambda: service.add_user(stored_uow(), staff, ["back-office"], actor=admin),
        lambda: accounts.set_roles(stored_uow(), staff, ["back-office", "approver"], admin),
        lambda: tokens.create_token(stored_uow(), staff, "portal"),
        lambda: tokens.revoke_token(stored_uow(), staff, tokens.tokens_of(stored_uow(), staff)[0].id, staff),
        lambda: service.assign_task(stored_uow(), task, staff, admin),
        lambda: service.complete_task(stored_uow(), task, staff, {}),
        lambda: service.cancel_instance(stored_uow(), instance_id, admin),
    ]
    instance_id = service.start_instance(stored_uow(), key, service.CustomerRef(unique("c"), "Ann", "standard"))
    [task] = [t["id"] for t in queries.list_tasks(stored_uow(), instance_id=instance_id)]
    for step in steps:
        clock.advance(timedelta(minutes=1))
        step()
    clock.advance(timedelta(hours=1))
    audit.record_failed_sign_in(stored_uow(), staff, "203.0.113.9", "wrong user name or password")

    mine = audit.audit_log(stored_uow(), user=staff, since=start)
    assert [e.kind for e in mine["rows"]] == ["sign_in_failed", "task_completed", "token_revoked", "token_created",
                                              "roles_set", "user_added"]
    assert mine["rows"][0].address == "203.0.113.9" and mine["rows"][0].note == "wrong user name or password"
    by_admin = audit.audit_log(stored_uow(), user=admin, since=start)
    assert {e.kind for e in by_admin["rows"]} >= {"deployed", "user_added", "roles_set", "task_assigned",
                                                  "instance_cancelled"}
    [deployed] = audit.audit_log(stored_uow(), kind="deployed", user=admin)["rows"]
    assert (deployed.process, deployed.version) == (key, 1)
    first_hour = audit.audit_log(stored_uow(), user=admin, since=start, until=start + timedelta(hours=1))
    assert {e.kind for e in first_hour["rows"]} == {"deployed", "user_added"}
    paged = audit.audit_log(stored_uow(), user=staff, since=start, page=2, per_page=4)
    assert [e.kind for e in paged["rows"]] == ["roles_set", "user_added"] and not paged["has_next"]
    assert audit.audit_log(stored_uow(), user=staff, since=start, per_page=4)["has_next"]

