"""Who a request comes from, kept per process: answered without reading the user while no account changes,
and every change made by another process (another factory on the same database) seen at the next lookup."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event

from engine import service
from engine.storage.wiring import connect
from engine.work import accounts, tokens
from engine.work.signed_in import SignedIn

SESSION = "a-signed-in-session"


@pytest.fixture
def two_processes(storage_url, clock):
    """(the serving process's factory, another process's factory) on one migrated database."""
    connect(storage_url, clock, migrate=True).dispose()
    serving, other = connect(storage_url, clock), connect(storage_url, clock)
    yield serving, other
    serving.dispose()
    other.dispose()


@pytest.fixture
def names():
    """A clerk and an admin, named for this test alone (PostgreSQL's database is shared by the session)."""
    suffix = uuid.uuid4().hex[:8]
    return f"clerk-{suffix}", f"admin-{suffix}"


@pytest.fixture
def people(two_processes, names):
    _, other = two_processes
    clerk, admin = names
    service.add_user(other(), clerk, ["back-office"], "first password")
    service.add_user(other(), admin, ["admin"], "admin password")
    return clerk, admin


def test_a_kept_session_is_answered_without_reading_the_user(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'own.db'}"
    connect(url, clock, migrate=True).dispose()
    other = connect(url, clock)
    service.add_user(other(), "clerk", ["back-office"], "first password")
    serving = connect(url, clock)
    statements: list[str] = []
    event.listen(serving.engine, "connect", lambda connection, _record: connection.set_trace_callback(statements.append))
    signed_in = SignedIn()

    assert signed_in.session(serving(), "clerk", 0, SESSION).roles == {"back-office"}
    assert any("app_user" in sql for sql in statements)
    statements.clear()
    for _ in range(3):
        assert signed_in.session(serving(), "clerk", 0, SESSION).roles == {"back-office"}
    assert statements and not any("app_user" in sql or "user_role" in sql for sql in statements)
    serving.dispose()
    other.dispose()


def test_a_role_change_in_another_process_is_seen_at_the_next_lookup(two_processes, people):
    serving, other = two_processes
    clerk, admin = people
    signed_in = SignedIn()
    assert signed_in.session(serving(), clerk, 0, SESSION).roles == {"back-office"}
    accounts.set_roles(other(), clerk, ["back-office", "credit-analyst"], admin)
    assert signed_in.session(serving(), clerk, 0, SESSION).roles == {"back-office", "credit-analyst"}


def test_disabling_a_user_in_another_process_ends_their_session(two_processes, people):
    serving, other = two_processes
    clerk, admin = people
    signed_in = SignedIn()
    assert signed_in.session(serving(), clerk, 0, SESSION) is not None
    accounts.set_disabled(other(), clerk, True, admin)
    assert signed_in.session(serving(), clerk, 0, SESSION) is None
    accounts.set_disabled(other(), clerk, False, admin)
    assert signed_in.session(serving(), clerk, 0, SESSION) is not None


def test_a_password_reset_in_another_process_ends_the_session(two_processes, people):
    serving, other = two_processes
    clerk, admin = people
    signed_in = SignedIn()
    assert signed_in.session(serving(), clerk, 0, SESSION) is not None
    accounts.reset_password(other(), clerk, admin)
    assert signed_in.session(serving(), clerk, 0, SESSION) is None
    assert signed_in.session(serving(), clerk, 1, SESSION) is not None


def test_a_password_change_ends_the_other_sessions_and_keeps_the_one_that_made_it(two_processes, people):
    serving, other = two_processes
    clerk, _ = people
    signed_in = SignedIn()
    assert signed_in.session(serving(), clerk, 0, SESSION) is not None
    carried_on = accounts.change_password(other(), clerk, "first password", "second password")
    assert signed_in.session(serving(), clerk, 0, SESSION) is None
    assert signed_in.session(serving(), clerk, carried_on, SESSION) is not None


def test_signing_out_in_another_process_ends_that_session_and_no_other(two_processes, people):
    serving, other = two_processes
    clerk, _ = people
    signed_in = SignedIn()
    assert signed_in.session(serving(), clerk, 0, SESSION) is not None
    assert signed_in.session(serving(), clerk, 0, "another-device") is not None
    accounts.end_session(other(), SESSION, timedelta(days=1))
    assert signed_in.session(serving(), clerk, 0, SESSION) is None
    assert signed_in.session(serving(), clerk, 0, "another-device") is not None


def test_a_kept_token_follows_revocation_role_changes_and_disabling(two_processes, people):
    serving, other = two_processes
    clerk, admin = people
    signed_in = SignedIn()
    first = tokens.create_token(other(), clerk, "portal")
    second = tokens.create_token(other(), clerk, "script")
    assert signed_in.token(serving(), first).roles == {"back-office"}
    accounts.set_roles(other(), clerk, ["credit-analyst"], admin)
    assert signed_in.token(serving(), first).roles == {"credit-analyst"}
    revoked = next(t.id for t in tokens.tokens_of(other(), clerk) if t.name == "portal")
    tokens.revoke_token(other(), clerk, revoked, clerk)
    assert signed_in.token(serving(), first) is None
    assert signed_in.token(serving(), second) is not None
    accounts.set_disabled(other(), clerk, True, admin)
    assert signed_in.token(serving(), second) is None


def test_a_kept_token_still_records_its_last_use_each_minute(two_processes, people, clock):
    serving, other = two_processes
    clerk, _ = people
    signed_in = SignedIn()
    secret = tokens.create_token(other(), clerk, "portal")
    signed_in.token(serving(), secret)
    first_use = clock.now()
    clock.advance(timedelta(seconds=30))
    signed_in.token(serving(), secret)
    assert tokens.tokens_of(other(), clerk)[0].last_used_at == first_use
    clock.advance(timedelta(seconds=31))
    assert signed_in.token(serving(), secret).roles == {"back-office"}
    assert tokens.tokens_of(other(), clerk)[0].last_used_at == clock.now()


def test_recording_a_tokens_use_does_not_count_as_an_account_change(two_processes, people, clock):
    serving, other = two_processes
    clerk, _ = people
    secret = tokens.create_token(other(), clerk, "portal")
    uow = serving()
    with uow.reading():
        before = uow.cases.account_generation()
    tokens.token_account(serving(), secret)
    with uow.reading():
        assert uow.cases.account_generation() == before
