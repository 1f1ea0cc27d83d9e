"""An operator manages users and API tokens with the ``valueflow`` command, on SQLite and PostgreSQL: what
the command prints, and what the accounts then allow."""

from __future__ import annotations

import json
import re

import pytest

from engine.cli import main
from engine.work import accounts, audit, tokens
from tests.histories import unique


@pytest.fixture
def command(stored_uow, storage_url, monkeypatch, capsys):
    """Runs ``valueflow`` on the stored database; its exit status, standard output and standard error."""
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", storage_url)

    def run(*argv: object) -> tuple[int, str, str]:
        status = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return status, captured.out, captured.err
    return run


def test_an_operator_disables_a_user_resets_their_password_and_sets_their_roles(command, stored_uow):
    kit = unique("kit")
    assert command("user", "add", kit, "--role", "back-office", "--password", "S3cret-pw")[0] == 0
    status, out, _ = command("user", "list", "--json")
    assert status == 0
    [listed] = [u for u in json.loads(out) if u["name"] == kit]
    assert (listed["roles"], listed["disabled"], listed["has_password"]) == (["back-office"], False, True)

    assert command("user", "disable", kit)[:2] == (0, f"user {kit} disabled: they cannot sign in, their open "
                                                      "sessions have ended and their API tokens are refused\n")
    with pytest.raises(accounts.AccountDisabled):
        accounts.authenticate(stored_uow(), kit, "S3cret-pw")
    assert command("user", "enable", kit)[0] == 0

    status, out, _ = command("user", "reset-password", kit)
    password = re.fullmatch(rf"the new password of {kit} is (\S+) \(shown only now.*\n", out).group(1)
    assert accounts.authenticate(stored_uow(), kit, password).name == kit
    assert accounts.authenticate(stored_uow(), kit, "S3cret-pw") is None

    assert command("user", "roles", kit, "--role", "approver")[0] == 0
    assert accounts.account(stored_uow(), kit).roles == {"approver"}
    logged = audit.audit_log(stored_uow(), user=kit)["rows"]
    assert [(e.kind, e.actor) for e in logged] == [
        ("roles_set", None), ("password_reset", None), ("enabled", None), ("disabled", None), ("user_added", None)]


def test_an_operator_revokes_a_leaked_token_and_only_that_one(command, stored_uow):
    bot = unique("bot")
    command("user", "add", bot, "--role", "external-worker")
    leaked = command("token", "create", bot, "--name", "leaked")[1].strip()
    kept = command("token", "create", bot, "--name", "kept")[1].strip()
    status, out, _ = command("token", "list", bot, "--json")
    assert status == 0
    leaked_id = next(t["id"] for t in json.loads(out) if t["name"] == "leaked")

    assert command("token", "revoke", bot, leaked_id)[0] == 0
    assert tokens.token_account(stored_uow(), leaked) is None
    assert tokens.token_account(stored_uow(), kept).name == bot
    assert command("token", "revoke", bot, leaked_id) == (
        2, "", f"valueflow: API token {leaked_id} of {bot} was already revoked; nothing changed\n")
    assert command("token", "revoke", bot, leaked_id + 1000) == (
        2, "", f"valueflow: {bot} has no API token {leaked_id + 1000}\n")
    assert [t["revoked"] for t in json.loads(command("token", "list", bot, "--json")[1])] == [False, True]
