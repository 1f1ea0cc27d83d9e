"""The ``valueflow`` command against its contract (docs/design.md, "Addresses and commands").

Commands run in-process through ``engine.cli.main`` on a SQLite file named by
VALUEFLOW_DATABASE_URL; one test runs the installed console script. The case
used throughout is a small package written here (``cli_case``):

    start → Review (Back Office, form: amount) → Approve (Approver, PT8H,
    non-interrupting boundary timer PT8H → Chase → end) → wait for the message
    "documents_received" (its payload kept as ``documents``) → end
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Union

import pytest
from sqlalchemy import create_engine, select

from engine import service
from engine.cli import deploy_shipped, main
from engine.storage.tables import ApiToken, ProcessDefinition, User
from engine.storage.uow import UnitOfWorkFactory
from engine.storage.wiring import connect
from engine.work import accounts, audit, task_list, tokens
from engine.work.passwords import check_password
from tests import samples
from tests.conftest import REPO, SHIPPED

KEY = "cli_case"
TASK_KEYS = {"id", "instance_id", "step_id", "name", "role", "assignee", "customer_value", "value_class",
             "target_seconds", "created_at", "due_at", "status"}
INSTANCE_KEYS = {"id", "process", "version", "status", "customer", "data", "open_steps", "events"}
REVIEW_FORM = {"type": "object", "properties": {"amount": {"type": "integer", "minimum": 1},
                                                 "comment": {"type": "string"}},
               "required": ["amount"]}


def case_xml(review_name: str = "Review") -> str:
    body = (
        '<bpmn:startEvent id="begin"/>'
        + samples.user_task("review", review_name, targetDuration__premium="PT1H")
        + samples.user_task("approve", "Approve", value_class="BVA", target="PT8H")
        + '<bpmn:boundaryEvent id="late" name="Approval late" attachedToRef="approve" cancelActivity="false">'
          '<bpmn:timerEventDefinition id="late_timer"><bpmn:timeDuration>PT8H</bpmn:timeDuration>'
          '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        + samples.user_task("chase", "Chase the approval", value_class="NVA", target="PT1H")
        + '<bpmn:endEvent id="chased"/>'
        + '<bpmn:intermediateCatchEvent id="wait_docs" name="Documents received">'
          '<bpmn:messageEventDefinition id="docs_def" messageRef="msg_docs"><bpmn:extensionElements>'
          '<spiffworkflow:messageVariable>documents</spiffworkflow:messageVariable></bpmn:extensionElements>'
          '</bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>'
        + '<bpmn:endEvent id="done"/>'
        + samples.chain("begin", "review", "approve", "wait_docs", "done") + samples.chain("late", "chase", "chased"))
    xml = samples.document(KEY, body, {"Back Office": ["begin", "review"],
                                       "Approver": ["approve", "late", "chase", "chased", "wait_docs", "done"]},
                           samples.props(customerValue="A quick yes", targetDuration="P1D"))
    return xml.replace("<bpmn:process ", '<bpmn:message id="msg_docs" name="documents_received"/><bpmn:process ', 1)


def write_package(folder: Path, xml: str) -> Path:
    (folder / "forms").mkdir(parents=True, exist_ok=True)
    (folder / f"{KEY}.bpmn").write_text(xml, encoding="utf-8")
    (folder / "forms" / "review.json").write_text(json.dumps(REVIEW_FORM), encoding="utf-8")
    return folder


# -- running the command ----------------------------------------------------------

@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


class Captured:
    """``capsys.readouterr()`` for module-scoped set-up, where the capsys fixture is not available."""

    def __init__(self) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()

    def readouterr(self) -> tuple[str, str]:
        result = self.out.getvalue(), self.err.getvalue()
        for stream in (self.out, self.err):
            stream.seek(0)
            stream.truncate()
        return result


Capture = Union[pytest.CaptureFixture[str], Captured]


def run(capsys: Capture, *args: object) -> Run:
    with contextlib.ExitStack() as stack:
        if isinstance(capsys, Captured):
            stack.enter_context(contextlib.redirect_stdout(capsys.out))
            stack.enter_context(contextlib.redirect_stderr(capsys.err))
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on malformed arguments
            status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Run(status, out, err)


def ok(capsys: Capture, *args: object) -> Run:
    result = run(capsys, *args)
    assert result.status == 0, result
    assert "Traceback" not in result.out + result.err
    return result


def as_json(capsys: Capture, *args: object) -> Any:
    return json.loads(ok(capsys, *args, "--json").out)


def assert_one_clear_line(result: Run) -> None:
    assert result.status != 0, result
    assert "Traceback" not in result.out + result.err
    assert len(result.err_lines) == 1 and result.err_lines[0].strip(), result.err


def start(capsys: Capture, customer: str = "c-1", segment: str = "standard",
          data: str = '{"street": "1 Harbour Rd"}') -> int:
    out = ok(capsys, "start", KEY, "--customer-id", customer, "--customer-name", "Kim Park",
             "--segment", segment, "--data", data).out
    assert re.fullmatch(r"\d+\n", out), out  # the id alone on one line
    return int(out)


def tasks(capsys: Capture, *filters: object) -> list[dict]:
    return as_json(capsys, "tasks", *filters)


def task_at(capsys: Capture, instance_id: int, step_id: str) -> int:
    [task] = [t for t in tasks(capsys, "--instance", instance_id) if t["step_id"] == step_id]
    return task["id"]


def instance(capsys: Capture, instance_id: int) -> dict:
    return as_json(capsys, "instance", instance_id)


def do(capsys: Capture, instance_id: int, step_id: str, user: str, data: str = "{}") -> None:
    task_id = task_at(capsys, instance_id, step_id)
    ok(capsys, "claim", task_id, "--user", user)
    ok(capsys, "complete", task_id, "--user", user, "--data", data)


# -- databases --------------------------------------------------------------------

@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database after ``init``, the cli_case package and two staff users; copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    package = write_package(folder / KEY, case_xml())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{path}")
        for argv in (["init"], ["deploy", str(package)], ["user", "add", "bo1", "--role", "back-office"],
                     ["user", "add", "ap1", "--role", "approver"]):
            assert main(argv) == 0
    return path


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty database file for this test."""
    path = tmp_path / "vf.db"
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{path}")
    return path


def copy_database(source_path: Path, target_path: Path) -> None:
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@pytest.fixture
def ready(db: Path, template_db: Path) -> Path:
    """This test's database, a copy of the template (init done, cli_case deployed, bo1 and ap1 added)."""
    copy_database(template_db, db)
    return db


def definitions_stored(db: Path) -> list[tuple[str, int]]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                select(ProcessDefinition.key, ProcessDefinition.version).order_by(ProcessDefinition.id))]
    finally:
        engine.dispose()


# -- init and deploy ----------------------------------------------------------------

def users_stored(db: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(User.name, User.password_hash)).all())
    finally:
        engine.dispose()


def test_init_deploys_the_shipped_processes_and_creates_no_user_unless_asked(db, capsys):
    first = ok(capsys, "init")
    shipped = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())
    assert [line for line in first.out.splitlines() if line.startswith(("deployed", "up to date"))] == [
        f"deployed: {key} version 1" for key in shipped]
    assert users_stored(db) == {}
    assert "no user can sign in yet: create an admin with `valueflow init --admin NAME`" in first.out

    second = ok(capsys, "init")
    assert "deployed:" not in second.out
    for key in shipped:
        assert f"up to date: {key} version 1" in second.out
    assert definitions_stored(db) == [(key, 1) for key in shipped]


def test_init_admin_creates_that_one_admin_and_shows_the_password_once(db, capsys):
    first = ok(capsys, "init", "--admin", "ops")
    [password] = re.findall(r"^created the admin ops with the password (\S+) \(shown only now", first.out, re.M)
    hashes = users_stored(db)
    assert list(hashes) == ["ops"] and check_password(password, hashes["ops"])
    assert "no user can sign in yet" not in first.out

    again = ok(capsys, "init", "--admin", "ops")
    assert "the admin ops already exists; unchanged" in again.out.splitlines()
    assert password not in again.out + again.err
    assert users_stored(db) == hashes


def test_init_admin_with_a_name_outside_the_user_name_rule_is_refused_before_anything_is_done(db, capsys):
    refused = run(capsys, "init", "--admin", "ad\u202emin")
    assert_one_clear_line(refused)
    assert "--admin needs the admin's user name: a user name has letters, digits" in refused.err
    assert not db.exists()  # not even the schema was made


def test_init_admin_on_a_database_where_the_user_exists_still_does_all_its_work_and_leaves_them_unchanged(db, capsys):
    new_uow = connect(f"sqlite:///{db}", migrate=True)
    try:
        service.add_user(new_uow(), "ada", ["admin"], "Ada-s-password")
        service.add_user(new_uow(), "bo1", ["back-office"])
    finally:
        new_uow.dispose()
    hashes = users_stored(db)

    result = ok(capsys, "init", "--admin", "ada")
    shipped = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())
    assert [line for line in result.out.splitlines() if line.startswith("deployed")] == [
        f"deployed: {key} version 1" for key in shipped]
    assert "the admin ada already exists; unchanged" in result.out.splitlines()
    assert result.out.splitlines()[-1].startswith("database ready: ")

    not_admin = ok(capsys, "init", "--admin", "bo1")
    assert ("there is already a user named bo1, who is not an admin; unchanged (make them one with "
            "`valueflow user add bo1 --role admin`)") in not_admin.out.splitlines()
    assert users_stored(db) == hashes


def test_init_for_the_demo_says_which_versions_it_created_on_a_new_database(db):
    new_uow = connect(f"sqlite:///{db}", migrate=True)
    try:
        lines = deploy_shipped(new_uow, demo=True)
    finally:
        new_uow.dispose()
    shipped = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())
    assert lines == [f"deployed: {key} version 1" + (
        ", the loan decision before its redesign (the demo traffic below deploys the redesign as version 2)"
        if key == "loan_decision" else "") for key in shipped]


def test_deploy_stores_a_version_and_the_same_content_again_is_a_no_op_printing_it(ready, tmp_path, capsys):
    package = write_package(tmp_path / "pkg" / KEY, case_xml())
    assert ok(capsys, "deploy", package).out.splitlines()[0] == f"unchanged, already deployed as {KEY} version 1"
    lone = samples.write(tmp_path, samples.two_step("lone_file"), "lone_file")
    assert ok(capsys, "deploy", lone).out.splitlines() == [
        "deployed lone_file version 1", "roles: approver (lane 'Approver'), back-office (lane 'Back Office')"]
    assert ok(capsys, "deploy", lone).out.splitlines()[0] == "unchanged, already deployed as lone_file version 1"
    changed = write_package(tmp_path / "pkg2" / KEY, case_xml("Review the request"))
    assert ok(capsys, "deploy", changed).out.splitlines() == [
        f"deployed {KEY} version 2", "roles: approver (lane 'Approver'), back-office (lane 'Back Office')",
        "changes against version 1:", "  - step renamed: “Review” → “Review the request”",
        "  - step “Review the request”: customer value “Review for the customer” → “Review the request for the customer”"]
    assert definitions_stored(ready)[-2:] == [("lone_file", 1), (KEY, 2)]


def broken_xml() -> str:
    """cli_case with three problems: a user task without lane, a bad value class, a bad target."""
    xml = case_xml()
    xml = xml.replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>', "")
    xml = xml.replace('name="valueClass" value="BVA"', 'name="valueClass" value="GOLD"')
    return xml.replace('name="targetDuration" value="PT1H"', 'name="targetDuration" value="one hour"')


def test_a_refused_deploy_lists_every_problem_by_element_and_changes_nothing(ready, tmp_path, capsys):
    instance_id = start(capsys)
    before = definitions_stored(ready)
    result = run(capsys, "deploy", write_package(tmp_path / "broken" / KEY, broken_xml()))
    assert result.status != 0 and result.out == ""
    assert "Traceback" not in result.err
    problems = [line for line in result.err_lines if not line.startswith("valueflow:")]
    assert len(result.err_lines) == len(problems) + 1  # a heading, then one problem a line
    blocking = [line for line in problems if "warning:" not in line]
    assert len(blocking) == 3
    assert any("review (Review)" in line and "lane" in line for line in blocking)
    assert any("approve (Approve)" in line and "GOLD" in line for line in blocking)
    assert any("chase (Chase the approval)" in line and "one hour" in line for line in blocking)
    assert definitions_stored(ready) == before
    # the version number did not move: the same content is still version 1, the next change is version 2
    assert ok(capsys, "deploy", write_package(tmp_path / "again" / KEY, case_xml())).out.splitlines()[0] \
        == f"unchanged, already deployed as {KEY} version 1"
    assert instance(capsys, start(capsys))["version"] == 1
    assert instance(capsys, instance_id)["status"] == "running"
    assert ok(capsys, "deploy", write_package(tmp_path / "next" / KEY, case_xml("Check"))).out.splitlines()[0] \
        == f"deployed {KEY} version 2"


@pytest.mark.parametrize("content", [
    pytest.param("<not xml", id="not well-formed"),
    pytest.param('<?xml version="1.0"?><html/>', id="not BPMN"),
    pytest.param('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                 '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;'
                 '</bpmn:definitions>', id="external entity"),
])
def test_a_file_that_is_not_a_usable_bpmn_document_is_refused_in_two_lines(ready, tmp_path, capsys, content):
    path = tmp_path / "bad.bpmn"
    path.write_text(content, encoding="utf-8")
    before = definitions_stored(ready)
    result = run(capsys, "deploy", path)
    assert result.status != 0 and "Traceback" not in result.out + result.err
    assert len(result.err_lines) == 2 and "bad.bpmn" in result.err_lines[1]
    assert definitions_stored(ready) == before


# -- cases and tasks ----------------------------------------------------------------

def test_tasks_json_has_every_contract_field_with_due_times_that_carry_an_offset(ready, capsys):
    instance_id = start(capsys, segment="premium")
    [task] = tasks(capsys, "--instance", instance_id)
    assert TASK_KEYS <= set(task)
    assert (task["instance_id"], task["step_id"], task["name"], task["role"], task["assignee"], task["status"]) \
        == (instance_id, "review", "Review", "back-office", None, "open")
    assert (task["customer_value"], task["value_class"]) == ("Review for the customer", "VA")
    assert task["target_seconds"] == 3600  # the premium override of PT4H
    created, due = datetime.fromisoformat(task["created_at"]), datetime.fromisoformat(task["due_at"])
    assert created.utcoffset() is not None and due.utcoffset() is not None
    assert due - created == timedelta(hours=1)
    assert isinstance(task["id"], int)


def test_tasks_filters_by_instance_role_and_assignee(ready, capsys):
    first, second = start(capsys, "c-1"), start(capsys, "c-2")
    do(capsys, first, "review", "bo1", '{"amount": 5}')
    assert [t["step_id"] for t in tasks(capsys, "--instance", first)] == ["approve"]
    assert {t["instance_id"] for t in tasks(capsys, "--role", "back-office")} == {second}
    assert {t["instance_id"] for t in tasks(capsys, "--role", "approver")} == {first}
    assert tasks(capsys, "--user", "ap1") == []
    approve = task_at(capsys, first, "approve")
    ok(capsys, "claim", approve, "--user", "ap1")
    [mine] = tasks(capsys, "--user", "ap1")
    assert (mine["id"], mine["assignee"]) == (approve, "ap1")
    assert tasks(capsys, "--role", "approver", "--instance", second) == []
    assert "Review" in ok(capsys, "tasks", "--instance", second).out  # the plain listing too


def test_tasks_says_on_stderr_when_more_match_than_it_lists(ready, capsys):
    factory = connect(f"sqlite:///{ready}")
    for number in range(task_list.LIMIT + 1):
        service.start_instance(factory(), KEY, service.CustomerRef(f"c-{number}", "Kim Park", "standard"), {})
    factory.dispose()
    listed = ok(capsys, "tasks", "--json")
    assert len(json.loads(listed.out)) == task_list.LIMIT
    assert listed.err_lines == [f"valueflow: only the {task_list.LIMIT} most urgent tasks are listed; more match "
                                "(narrow the list with --role, --user, --instance or --status)"]
    narrowed = ok(capsys, "tasks", "--json", "--instance", "1")
    assert len(json.loads(narrowed.out)) == 1 and narrowed.err_lines == []


def test_claim_and_complete_with_form_data_move_the_case_on(ready, capsys):
    instance_id = start(capsys)
    review = task_at(capsys, instance_id, "review")
    assert ok(capsys, "claim", review, "--user", "bo1").out.strip() == f"task {review} claimed by bo1"
    assert [t["assignee"] for t in tasks(capsys, "--instance", instance_id)] == ["bo1"]
    out = ok(capsys, "complete", review, "--user", "bo1", "--data", '{"amount": 1200, "comment": "fine"}').out
    assert out.strip() == f"task {review} completed; instance {instance_id}"
    view = instance(capsys, instance_id)
    assert [s["step_id"] for s in view["open_steps"]] == ["approve"]
    assert view["data"]["amount"] == 1200 and view["data"]["comment"] == "fine"
    [done] = tasks(capsys, "--instance", instance_id, "--status", "completed")
    assert (done["step_id"], done["status"]) == ("review", "completed")


def test_instance_json_shows_the_case_its_customer_data_open_steps_and_events(ready, capsys):
    instance_id = start(capsys, "c-9", "premium")
    view = instance(capsys, instance_id)
    assert INSTANCE_KEYS <= set(view)
    assert (view["id"], view["process"], view["version"], view["status"]) == (instance_id, KEY, 1, "running")
    assert view["customer"] == {"id": "c-9", "name": "Kim Park", "segment": "premium"}
    assert view["data"]["street"] == "1 Harbour Rd"
    assert [s["step_id"] for s in view["open_steps"]] == ["review"]
    assert [e["type"] for e in view["events"]] == ["instance_started", "task_created"]
    text = ok(capsys, "instance", instance_id).out
    assert f"instance {instance_id}: {KEY} v1" in text and "running" in text and "Review" in text


def test_user_add_with_several_roles_lets_the_user_work_in_each(ready, capsys):
    out = ok(capsys, "user", "add", "sam", "--role", "back-office", "--role", "approver", "--password", "S3cret-pw")
    assert "back-office" in out.out and "approver" in out.out
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "sam", '{"amount": 3}')
    do(capsys, instance_id, "approve", "sam")
    assert instance(capsys, instance_id)["open_steps"] == []


def test_token_create_prints_a_token_once_that_acts_as_the_user_and_keeps_only_its_hash(ready, capsys):
    out = ok(capsys, "token", "create", "bo1", "--name", "loan-portal").out
    assert re.fullmatch(r"vf_[A-Za-z0-9_-]{40,}\n", out), out
    secret = out.strip()
    factory = connect(f"sqlite:///{ready}")
    try:
        assert tokens.token_account(factory(), secret).name == "bo1"
        [row] = tokens.tokens_of(factory(), "bo1")
        assert row.name == "loan-portal" and row.last_used_at is not None
        [made] = audit.audit_log(factory(), kind="token_created")["rows"]
        assert (made.user, made.actor) == ("bo1", None)  # shown as made by the valueflow command
        with factory() as uow:
            assert secret not in str(uow.session.execute(select(ApiToken.__table__)).all())
    finally:
        factory.dispose()


def test_user_add_on_an_existing_user_says_which_roles_it_added_and_that_it_changed_the_password(ready, capsys):
    before = users_stored(ready)["bo1"]
    again = ok(capsys, "user", "add", "bo1", "--role", "back-office")
    assert again.out == "user bo1 already existed; no role added (already holds back-office); password unchanged\n"
    assert users_stored(ready)["bo1"] == before

    changed = ok(capsys, "user", "add", "bo1", "--role", "approver,back-office", "--password", "N3w-password")
    assert changed.out == ("user bo1 already existed; roles added: approver (now holds approver, back-office); "
                           "password changed (their open sessions have ended)\n")
    assert check_password("N3w-password", users_stored(ready)["bo1"])


def test_user_add_refuses_a_name_that_differs_from_a_users_only_in_capitals(ready, capsys):
    before = users_stored(ready)
    refused = run(capsys, "user", "add", "BO1", "--role", "back-office", "--password", "N3w-password")
    assert refused.status == 2
    assert_one_clear_line(refused)
    assert "there is already a user named bo1, which differs from BO1 only in capitals" in refused.err
    assert users_stored(ready) == before


@pytest.mark.parametrize("name", ["admin ", "adm\u0456n", "\uff41dmin", "nimda\u202e"])
def test_user_add_refuses_a_name_outside_the_user_name_rule(ready, capsys, name):
    before = users_stored(ready)
    refused = run(capsys, "user", "add", name, "--role", "back-office", "--password", "N3w-password")
    assert refused.status == 2
    assert_one_clear_line(refused)
    assert "a user name has letters, digits, dots, dashes, underscores or @" in refused.err
    assert users_stored(ready) == before


@pytest.mark.parametrize("name, password", [("kit", "x"), ("kit", "p" * 201), ("bo1", "")],
                         ids=["too short", "too long", "empty, for an existing user"])
def test_user_add_refuses_a_password_outside_the_lengths_the_admin_page_holds_to(ready, capsys, name, password):
    before = users_stored(ready)
    refused = run(capsys, "user", "add", name, "--role", "approver", "--password", password)
    assert refused.status == 2
    assert_one_clear_line(refused)
    assert "a password has 8 to 200 characters; nothing was changed" in refused.err
    assert users_stored(ready) == before


def test_user_add_takes_a_comma_separated_list_of_roles(ready, capsys):
    out = ok(capsys, "user", "add", "kit", "--role", "back-office, approver", "--password", "S3cret-pw")
    assert "roles back-office, approver" in out.out
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "kit", '{"amount": 3}')
    do(capsys, instance_id, "approve", "kit")
    assert instance(capsys, instance_id)["open_steps"] == []


# -- users and API tokens, for operators ------------------------------------------------

@contextlib.contextmanager
def engine_on(path: Path) -> Iterator[UnitOfWorkFactory]:
    factory = connect(f"sqlite:///{path}")
    try:
        yield factory
    finally:
        factory.dispose()


def account_log(path: Path, kind: str) -> list[audit.AuditEntry]:
    with engine_on(path) as factory:
        return audit.audit_log(factory(), kind=kind)["rows"]


def test_user_list_shows_every_user_with_their_roles_and_whether_they_may_sign_in(ready, capsys):
    ok(capsys, "user", "add", "kit", "--role", "approver,back-office", "--password", "S3cret-pw")
    ok(capsys, "user", "disable", "kit")
    lines = ok(capsys, "user", "list").out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ap1", "approver"], ["bo1", "back-office"],
                                                     ["kit", "approver,"]]
    assert lines[0].endswith("enabled, no password (API tokens only)")
    assert re.search(r"approver, back-office +disabled since \d{4}-\d\d-\d\dT[\d:]{8}\+00:00$", lines[2]), lines[2]
    listed = as_json(capsys, "user", "list")
    assert [(u["name"], u["roles"], u["disabled"], u["has_password"]) for u in listed] == [
        ("ap1", ["approver"], False, False), ("bo1", ["back-office"], False, False),
        ("kit", ["approver", "back-office"], True, True)]
    assert datetime.fromisoformat(listed[2]["disabled_at"]).tzinfo is not None


def test_a_user_disabled_from_the_command_line_cannot_sign_in_until_enabled_again(ready, capsys):
    ok(capsys, "user", "add", "kit", "--role", "back-office", "--password", "S3cret-pw")
    instance_id = start(capsys)
    ok(capsys, "claim", task_at(capsys, instance_id, "review"), "--user", "kit")
    disabled = ok(capsys, "user", "disable", "kit").out
    assert disabled == ("user kit disabled: they cannot sign in, their open sessions have ended and their API tokens "
                        "are refused\nthey still hold 1 open task: a manager can release or reassign it "
                        "(valueflow tasks --user kit)\n")
    with engine_on(ready) as factory:
        with pytest.raises(accounts.AccountDisabled):
            accounts.authenticate(factory(), "kit", "S3cret-pw")
    assert ok(capsys, "user", "disable", "kit").out == "user kit was already disabled; unchanged\n"
    assert ok(capsys, "user", "enable", "kit").out == "user kit enabled: they can sign in again\n"
    with engine_on(ready) as factory:
        assert accounts.authenticate(factory(), "kit", "S3cret-pw").name == "kit"
    assert [(e.kind, e.user, e.actor) for e in account_log(ready, "disabled") + account_log(ready, "enabled")] == [
        ("disabled", "kit", None), ("enabled", "kit", None)]  # shown as done by the valueflow command


def test_reset_password_prints_a_new_password_once_that_replaces_the_old_one(ready, capsys):
    ok(capsys, "user", "add", "kit", "--role", "back-office", "--password", "S3cret-pw")
    out = ok(capsys, "user", "reset-password", "kit").out
    found = re.fullmatch(r"the new password of kit is (\S+) \(shown only now; it is stored as a hash\); their open "
                         r"sessions have ended\n", out)
    assert found, out
    stored = users_stored(ready)["kit"]
    assert check_password(found.group(1), stored) and not check_password("S3cret-pw", stored)
    assert found.group(1) not in stored
    [reset] = account_log(ready, "password_reset")
    assert (reset.user, reset.actor) == ("kit", None)


def test_user_roles_sets_exactly_the_roles_given_and_says_what_they_were(ready, capsys):
    ok(capsys, "user", "add", "kit", "--role", "back-office,approver", "--password", "S3cret-pw")
    out = ok(capsys, "user", "roles", "kit", "--role", "credit-analyst", "--role", "back-office").out
    assert out == "user kit now holds back-office, credit-analyst (before: approver, back-office)\n"
    [kit] = [u for u in as_json(capsys, "user", "list") if u["name"] == "kit"]
    assert kit["roles"] == ["back-office", "credit-analyst"]
    [changed] = account_log(ready, "roles_set")
    assert (changed.user, changed.actor, changed.detail) == ("kit", None, {"roles": ["back-office", "credit-analyst"]})


@pytest.mark.parametrize("argv, fragment", [
    pytest.param(["user", "disable", "ada"], "before you disable them", id="disable"),
    pytest.param(["user", "roles", "ada", "--role", "manager"], "before you take the admin role from them",
                 id="take the admin role"),
])
def test_the_only_enabled_admin_keeps_their_access_and_the_refusal_says_how_to_go_on(ready, capsys, argv, fragment):
    ok(capsys, "user", "add", "ada", "--role", "admin", "--password", "S3cret-pw")
    ok(capsys, "user", "add", "root", "--role", "admin", "--password", "S3cret-pw")
    ok(capsys, "user", "disable", "root")
    before = as_json(capsys, "user", "list")
    refused = run(capsys, *argv)
    assert_one_clear_line(refused)
    assert refused.err == f"valueflow: ada is the only enabled admin; make another user an admin {fragment}\n"
    assert as_json(capsys, "user", "list") == before
    ok(capsys, "user", "enable", "root")
    ok(capsys, *argv)  # with a second admin enabled, it is done


def test_token_list_shows_a_users_tokens_newest_first_and_revoke_stops_one_at_once(ready, capsys):
    portal = ok(capsys, "token", "create", "bo1", "--name", "loan-portal").out.strip()
    script = ok(capsys, "token", "create", "bo1", "--name", "nightly-script").out.strip()
    assert ok(capsys, "token", "list", "ap1").out == "ap1 has no API tokens\n"
    with engine_on(ready) as factory:
        tokens.token_account(factory(), portal)  # used once
    listed = as_json(capsys, "token", "list", "bo1")
    assert [(t["name"], t["revoked"], t["revoked_at"]) for t in listed] == [
        ("nightly-script", False, None), ("loan-portal", False, None)]
    assert listed[0]["last_used_at"] is None and listed[1]["last_used_at"] is not None
    portal_id = listed[1]["id"]
    lines = ok(capsys, "token", "list", "bo1").out.splitlines()
    assert re.fullmatch(rf" +{portal_id}  loan-portal +created \S+  last used \S+  active", lines[1]), lines[1]
    assert "last used never  active" in lines[0]

    out = ok(capsys, "token", "revoke", "bo1", portal_id).out
    assert out == f"API token {portal_id} of bo1 revoked: requests with it are refused from now on\n"
    with engine_on(ready) as factory:
        assert tokens.token_account(factory(), portal) is None
        assert tokens.token_account(factory(), script).name == "bo1"
    assert re.search(r"revoked \d{4}-\S+$", ok(capsys, "token", "list", "bo1").out.splitlines()[1])
    [revoked] = account_log(ready, "token_revoked")
    assert (revoked.user, revoked.actor, revoked.detail) == ("bo1", None, {"token": portal_id, "name": "loan-portal"})

    again = run(capsys, "token", "revoke", "bo1", portal_id)
    assert_one_clear_line(again)
    assert again.err == f"valueflow: API token {portal_id} of bo1 was already revoked; nothing changed\n"
    assert len(account_log(ready, "token_revoked")) == 1


def test_a_token_is_revoked_only_under_the_user_it_acts_as(ready, capsys):
    secret = ok(capsys, "token", "create", "bo1").out.strip()
    [made] = as_json(capsys, "token", "list", "bo1")
    refused = run(capsys, "token", "revoke", "ap1", made["id"])
    assert_one_clear_line(refused)
    assert refused.err == f"valueflow: ap1 has no API token {made['id']}\n"
    with engine_on(ready) as factory:
        assert tokens.token_account(factory(), secret).name == "bo1"


def test_the_worker_fires_a_due_boundary_timer_at_the_given_moment_and_records_the_breach(ready, capsys):
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "bo1", '{"amount": 5}')
    now = datetime.now(timezone.utc)
    early = ok(capsys, "worker", "--once", "--at", (now + timedelta(hours=1)).isoformat()).out
    assert "timers fired in 0 case(s); 0 new breach(es)" in early
    assert [t["step_id"] for t in tasks(capsys, "--instance", instance_id)] == ["approve"]
    late = ok(capsys, "worker", "--once", "--at", (now + timedelta(hours=9)).isoformat()).out
    assert "timers fired in 1 case(s); 1 new breach(es)" in late
    # non-interrupting: the approval stays open beside the chase
    assert sorted(t["step_id"] for t in tasks(capsys, "--instance", instance_id)) == ["approve", "chase"]
    types = [e["type"] for e in instance(capsys, instance_id)["events"]]
    assert "timer_fired" in types and types.count("task_breached") == 1
    again = ok(capsys, "worker", "--once", "--at", (now + timedelta(hours=9)).isoformat()).out
    assert "timers fired in 0 case(s); 0 new breach(es)" in again


def test_a_message_is_delivered_to_the_case_waiting_for_it(ready, capsys):
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "bo1", '{"amount": 5}')
    do(capsys, instance_id, "approve", "ap1")
    assert instance(capsys, instance_id)["status"] == "running"
    out = ok(capsys, "message", instance_id, "documents_received", "--data", '{"pages": 3}').out
    assert out.strip() == f"message documents_received delivered to instance {instance_id}"
    view = instance(capsys, instance_id)
    assert view["status"] == "completed"
    assert "message_received" in [e["type"] for e in view["events"]]
    assert view["data"]["documents"] == {"pages": 3}


# -- user mistakes ------------------------------------------------------------------

@dataclass
class Scene:
    instance: int      # a running case whose review is open and unclaimed
    review: int        # that review task
    done_instance: int  # a completed case
    done_task: int     # its completed review


@pytest.fixture(scope="module")
def scene_template(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scene]:
    path = tmp_path_factory.mktemp("scene") / "scene.db"
    copy_database(template_db, path)
    capture = Captured()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VALUEFLOW_DATABASE_URL", f"sqlite:///{path}")
        done_instance = start(capture, "c-done")
        done_task = task_at(capture, done_instance, "review")
        do(capture, done_instance, "review", "bo1", '{"amount": 5}')
        do(capture, done_instance, "approve", "ap1")
        ok(capture, "message", done_instance, "documents_received")
        instance_id = start(capture, "c-open")
        scene = Scene(instance_id, task_at(capture, instance_id, "review"), done_instance, done_task)
        assert instance(capture, done_instance)["status"] == "completed"
    return path, scene


@pytest.fixture
def scene(db: Path, scene_template: tuple[Path, Scene]) -> Scene:
    """This test's database: the template plus a completed case and a case waiting at its review."""
    copy_database(scene_template[0], db)
    return scene_template[1]


def snapshot(capsys: Capture, scene: Scene) -> tuple:
    return (as_json(capsys, "tasks", "--status", "all"), instance(capsys, scene.instance),
            instance(capsys, scene.done_instance))


MISTAKES = [
    # (id, setup commands, the mistaken command, a fragment of the one line it prints)
    ("unknown task", [], ["claim", "999999", "--user", "bo1"], "no task 999999"),
    ("unknown task to complete", [], ["complete", "999999", "--user", "bo1", "--data", "{}"], "no task 999999"),
    ("unknown instance", [], ["instance", "999999"], "no instance 999999"),
    ("unknown instance as json", [], ["instance", "999999", "--json"], "no instance 999999"),
    ("unknown instance for a message", [], ["message", "999999", "documents_received"], "no instance 999999"),
    ("unknown instance to cancel", [], ["cancel", "999999", "--user", "bo1"], "no instance 999999"),
    ("unknown process", [], ["start", "no_such_process", "--customer-id", "c-1"], "no process 'no_such_process'"),
    ("unknown user claims", [], ["claim", "{review}", "--user", "ghost"], "no user named 'ghost'"),
    ("unknown user completes", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "ghost", "--data", "{}"], "no user named 'ghost'"),
    ("user without the role", [], ["claim", "{review}", "--user", "ap1"], "does not hold the role 'back-office'"),
    ("complete before claiming", [], ["complete", "{review}", "--user", "bo1", "--data", '{"amount": 5}'],
     "claim it first"),
    ("complete a task someone else holds", [["user", "add", "bo2", "--role", "back-office"],
                                            ["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo2", "--data", '{"amount": 5}'], "assigned to bo1"),
    ("claim a task someone else claimed first", [["user", "add", "bo2", "--role", "back-office"],
                                                 ["claim", "{review}", "--user", "bo1"]],
     ["claim", "{review}", "--user", "bo2"], "already claimed by bo1"),
    ("release a task someone else holds", [["user", "add", "bo2", "--role", "back-office"],
                                           ["claim", "{review}", "--user", "bo1"]],
     ["release", "{review}", "--user", "bo2"], "claimed by bo1"),
    ("assign without being a manager", [], ["assign", "{review}", "--to", "bo1", "--user", "ap1"],
     "not a manager"),
    ("complete twice", [], ["complete", "{done_task}", "--user", "bo1", "--data", '{"amount": 5}'],
     "already completed"),
    ("claim a completed task", [], ["claim", "{done_task}", "--user", "bo1"], "already completed"),
    ("wrong form value", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo1", "--data", '{"amount": "many"}'], "amount must be a whole number"),
    ("missing form value", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo1", "--data", '{"comment": "x"}'], "amount is required"),
    ("unknown form field", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo1", "--data", '{"amount": 5, "risk": "LOW"}'], "risk"),
    ("bad JSON in complete --data", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo1", "--data", '{"amount": '], "--data is not valid JSON"),
    ("JSON that is not an object", [["claim", "{review}", "--user", "bo1"]],
     ["complete", "{review}", "--user", "bo1", "--data", "[1, 2]"], "must be a JSON object"),
    ("bad JSON in start --data", [], ["start", KEY, "--customer-id", "c-1", "--data", "{amount: 5}"],
     "--data is not valid JSON"),
    ("start for an empty customer id", [], ["start", KEY, "--customer-id", ""], "a customer id has 1 to 100"),
    ("start for a customer id with a space", [], ["start", KEY, "--customer-id", "c 1"], "'c 1' is not one"),
    ("start for a customer name too long", [], ["start", KEY, "--customer-id", "c-1", "--customer-name", "x" * 301],
     "1 to 300 characters"),
    ("start for a segment in capitals", [], ["start", KEY, "--customer-id", "c-1", "--segment", "Premium"],
     "'Premium' is not one"),
    ("NaN in start --data", [], ["start", KEY, "--customer-id", "c-1", "--data", '{"amount": NaN}'],
     "--data cannot be kept in a case's data: it holds a number that is not finite"),
    ("a number past a float's range in start --data", [], ["start", KEY, "--customer-id", "c-1", "--data",
                                                           '{"amount": 1e400}'], "not finite"),
    ("bad JSON in message --data", [], ["message", "{instance}", "documents_received", "--data", "{'a': 1}"],
     "--data is not valid JSON"),
    ("message the case is not waiting for", [], ["message", "{instance}", "documents_received"],
     "not waiting for the message 'documents_received'"),
    ("message to a finished case", [], ["message", "{done_instance}", "documents_received"], "completed"),
    ("cancel a finished case", [], ["cancel", "{done_instance}", "--user", "ap1"], "already completed"),
    ("bad --at for the worker", [], ["worker", "--once", "--at", "tomorrow morning"], "not an ISO 8601"),
    ("deploy a path that does not exist", [], ["deploy", "/nonexistent/thing.bpmn"],
     "is neither a diagram file (.bpmn, .bpmn20.xml, .bpmn2, .xml)"),
    ("deploy a folder without a .bpmn file", [], ["deploy", str(REPO / "workflows")], "holds no diagram file"),
    ("user add without a name", [], ["user", "add", " ", "--role", "admin"],
     "a user name has letters, digits, dots, dashes, underscores or @"),
    ("user add with a role spelled as a lane name", [], ["user", "add", "kit", "--role", "Back Office"],
     "write it back-office"),
    ("user add with only commas for roles", [], ["user", "add", "kit", "--role", ","], "--role needs a role"),
    ("token create for an unknown user", [], ["token", "create", "nobody"], "no user named 'nobody'"),
    ("user disable for an unknown user", [], ["user", "disable", "nobody"], "no user named 'nobody'"),
    ("user enable for an unknown user", [], ["user", "enable", "nobody"], "no user named 'nobody'"),
    ("user reset-password for an unknown user", [], ["user", "reset-password", "nobody"], "no user named 'nobody'"),
    ("user roles for an unknown user", [], ["user", "roles", "nobody", "--role", "approver"],
     "no user named 'nobody'"),
    ("user roles with a role spelled as a lane name", [], ["user", "roles", "bo1", "--role", "Back Office"],
     "write it back-office"),
    ("token list for an unknown user", [], ["token", "list", "nobody"], "no user named 'nobody'"),
    ("token revoke for an unknown user", [], ["token", "revoke", "nobody", "1"], "no user named 'nobody'"),
    ("token revoke of an unknown token", [], ["token", "revoke", "bo1", "999999"], "bo1 has no API token 999999"),
]


@pytest.mark.parametrize("setup, argv, fragment", [pytest.param(*m[1:], id=m[0]) for m in MISTAKES])
def test_a_user_mistake_prints_one_clear_line_exits_non_zero_and_changes_nothing(scene, capsys, setup, argv,
                                                                                   fragment):
    ids = {f"{{{name}}}": str(value) for name, value in vars(scene).items()}

    def fill(args: list[str]) -> list[str]:
        return [ids.get(a, a) for a in args]

    for command in setup:
        ok(capsys, *fill(command))
    before = snapshot(capsys, scene)
    result = run(capsys, *fill(argv))
    assert_one_clear_line(result)
    assert result.out == ""
    assert fragment in result.err, result.err
    assert snapshot(capsys, scene) == before


@pytest.mark.parametrize("argv", [
    pytest.param(["claim", "abc", "--user", "bo1"], id="task id that is not a number"),
    pytest.param(["instance", "twelve"], id="instance id that is not a number"),
    pytest.param(["token", "revoke", "bo1", "latest"], id="token id that is not a number"),
    pytest.param(["worker", "--once", "--batch", "0"], id="a worker batch of none"),
    pytest.param(["worker", "--once", "--batch", "10001"], id="a worker batch over the most"),
    pytest.param(["worker", "--once", "--interval", "0"], id="a worker that would never pause between rounds"),
    pytest.param(["worker", "--once", "--interval", "-5"], id="a negative pause between rounds"),
])
def test_a_malformed_argument_prints_one_clear_line(ready, capsys, argv):
    result = run(capsys, *argv)
    assert_one_clear_line(result)
    assert len(result.err) < 300, result.err[:300]  # short enough to read


@pytest.mark.parametrize("url", [
    pytest.param("sqlite:///{tmp}/empty.db", id="before init"),
    pytest.param("sqlite:///{tmp}/no/such/folder/vf.db", id="a folder that does not exist"),
    pytest.param("nosuchdb://somewhere/vf", id="an unknown kind of database"),
])
@pytest.mark.parametrize("argv", [
    pytest.param(["tasks"], id="a listing"),
    pytest.param(["claim", "1", "--user", "bo1"], id="a step of a case"),
])
def test_a_database_that_is_missing_or_not_initialised_gives_one_clear_line(tmp_path, monkeypatch, capsys, url,
                                                                            argv):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", url.format(tmp=tmp_path))
    assert_one_clear_line(run(capsys, *argv))


@pytest.mark.parametrize("argv", [["init"], ["tasks"], ["worker", "--once"]], ids=["init", "tasks", "worker"])
def test_a_database_url_set_but_empty_is_refused_and_no_database_file_is_made(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", " ")
    result = run(capsys, *argv)
    assert_one_clear_line(result)
    assert result.err.startswith("valueflow: VALUEFLOW_DATABASE_URL is set but empty: name the database"), result.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("revision, remedy", [
    ("0018_ids_never_reused", "run `valueflow init` to upgrade it"),
    ("9999_from_a_newer_valueflow", "upgrade Valueflow here to the version that wrote it"),
], ids=["older", "newer"])
def test_a_worker_on_a_schema_this_version_does_not_run_refuses_to_start_and_fires_nothing(ready, capsys, revision,
                                                                                        remedy):
    with sqlite3.connect(ready) as connection:
        due = connection.execute("SELECT count(*) FROM job").fetchone()
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    result = run(capsys, "worker", "--once")
    assert_one_clear_line(result)
    assert result.err.startswith(f"valueflow: the worker cannot start: the database schema is at {revision}, this "
                                 "version needs "), result.err
    assert result.err.strip().endswith(remedy), result.err
    with sqlite3.connect(ready) as connection:
        assert connection.execute("SELECT count(*) FROM job").fetchone() == due


@pytest.mark.parametrize("argv", [["init"], ["worker", "--once"]], ids=["init", "worker"])
def test_the_database_password_is_never_printed(monkeypatch, capsys, argv):
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", "postgresql://ada:s3cret-pw@127.0.0.1:1/vf")  # nothing on port 1
    result = run(capsys, *argv)
    assert result.status != 0
    assert "cannot use the database postgresql://ada:***@127.0.0.1:1/vf (" in result.err
    assert "s3cret-pw" not in result.out + result.err


# Settings read where the engine sends (mail, connectors, webhooks, links), malformed: each stops serve and worker
# at start with this line.
SENDING_SETTINGS = [
    pytest.param("VALUEFLOW_SMTP_PORT", "twenty-five", "VALUEFLOW_SMTP_PORT is 'twenty-five'; it must be a port: a "
                 "whole number from 1 to 65535", id="mail port"),
    pytest.param("VALUEFLOW_SMTP_TIMEOUT", "10s", "VALUEFLOW_SMTP_TIMEOUT is '10s'; it must be a number of seconds "
                 "above 0", id="mail timeout"),
    pytest.param("VALUEFLOW_SMTP_TLS", "yes", "VALUEFLOW_SMTP_TLS is 'yes'; it must be one of none, starttls, ssl",
                 id="mail tls"),
    pytest.param("VALUEFLOW_MAIL_FROM", "valueflow", "VALUEFLOW_MAIL_FROM is 'valueflow'; it must be a mail address "
                 "(valueflow@example.com or Valueflow <valueflow@example.com>)", id="mail sender"),
    pytest.param("VALUEFLOW_CONNECTOR_CRM_URL", "crm.internal/api", "connector crm: VALUEFLOW_CONNECTOR_CRM_URL is "
                 "'crm.internal/api'; it must be an http:// or https:// address with a host "
                 "(https://crm.internal/api)", id="connector url without scheme"),
    pytest.param("VALUEFLOW_CONNECTOR_CRM_TOKEN", "t0ken", "connector crm: set VALUEFLOW_CONNECTOR_CRM_URL (the "
                 "service's address)", id="connector token without url"),
    pytest.param("VALUEFLOW_CONNECTOR_LEGACY_ERP_TIMEOUT", "soon", "connector legacy_erp: set "
                 "VALUEFLOW_CONNECTOR_LEGACY_ERP_URL (the service's address)", id="connector timeout without url"),
    pytest.param("VALUEFLOW_BASE_URL", "valueflow.example.com", "VALUEFLOW_BASE_URL is 'valueflow.example.com'; it "
                 "must be the http:// or https:// address people open Valueflow at (https://valueflow.example.com)",
                 id="base url without scheme"),
    pytest.param("VALUEFLOW_WEBHOOK_ALLOW_HOSTS", "chat.internal,10.0.0.0/33", "VALUEFLOW_WEBHOOK_ALLOW_HOSTS holds "
                 "'10.0.0.0/33', which is neither a host name nor an address or network (like 10.20.0.0/16)",
                 id="webhook allowlist"),
    pytest.param("VALUEFLOW_TIMEZONE", "Mars/Olympus", "VALUEFLOW_TIMEZONE 'Mars/Olympus' is not a time zone (e.g. "
                 "UTC or Europe/Amsterdam)", id="time zone of mails"),
]


@pytest.mark.parametrize(("name", "value", "problem"), SENDING_SETTINGS)
def test_a_worker_refuses_a_malformed_setting_of_what_it_sends_and_runs_no_job(ready, capsys, monkeypatch, name,
                                                                               value, problem):
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "bo1", '{"amount": 5}')  # the approval's timer and breach, due in 8 hours
    monkeypatch.setenv(name, value)
    result = run(capsys, "worker", "--once", "--at", (datetime.now(timezone.utc) + timedelta(hours=9)).isoformat())
    assert (result.status, result.out, result.err) == (2, "", f"valueflow: {problem}\n")
    assert [t["step_id"] for t in tasks(capsys, "--instance", instance_id)] == ["approve"]
    assert "timer_fired" not in [e["type"] for e in instance(capsys, instance_id)["events"]]


def test_a_worker_run_apart_refuses_a_malformed_setting_before_its_first_round(ready, capsys):
    instance_id = start(capsys)
    do(capsys, instance_id, "review", "bo1", '{"amount": 5}')
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{ready}", "VALUEFLOW_SMTP_PORT": "smtp"}
    worker = subprocess.run([str(Path(sys.executable).parent / "valueflow"), "worker", "--interval", "0.2", "--at",
                             (datetime.now(timezone.utc) + timedelta(hours=9)).isoformat()],
                            env=env, capture_output=True, text=True, timeout=60)
    assert (worker.returncode, worker.stdout) == (2, "")
    assert worker.stderr == ("valueflow: VALUEFLOW_SMTP_PORT is 'smtp'; it must be a port: a whole number from 1 to "
                             "65535\n")
    assert [t["step_id"] for t in tasks(capsys, "--instance", instance_id)] == ["approve"]


def test_a_worker_refuses_a_metrics_port_from_the_environment_that_is_not_a_port(ready, capsys, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_WORKER_METRICS_PORT", "9o9o")
    result = run(capsys, "worker")
    assert (result.status, result.out) == (2, "")
    assert result.err == ("valueflow: VALUEFLOW_WORKER_METRICS_PORT '9o9o' is not a port: a whole number from 1 to "
                          "65535\n")


def test_init_on_a_schema_a_newer_valueflow_wrote_says_so_in_one_line_and_changes_nothing(ready, capsys):
    with sqlite3.connect(ready) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_valueflow'")
    result = run(capsys, "init")
    assert (result.status, result.out) == (2, "")
    assert result.err == ("valueflow: the database schema is at 9999_from_a_newer_valueflow, which a newer version "
                          "of Valueflow wrote; run that version (this one cannot use the database)\n")


def test_worker_help_gives_the_defaults_an_operator_tunes(capsys):
    shown = " ".join(run(capsys, "worker", "--help").out.split())
    assert all(part in shown for part in ("between rounds (default 5)", "take it over (default 60)",
                                          "claimed at once (default 200)")), shown


def test_a_worker_says_when_it_starts_and_how_it_stops_on_sigterm(ready, tmp_path):
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{ready}"}
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen([str(Path(sys.executable).parent / "valueflow"), "worker", "--interval", "0.2"],
                                  env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while "rounds every" not in log.read_text() and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.terminate()
    worker.wait(timeout=30)
    assert log.read_text().splitlines() == [
        f"valueflow worker (pid {worker.pid}) on sqlite:///{ready}: rounds every 0.2 s, 200 jobs at a time, each "
        "leased for 60 s",
        f"valueflow worker (pid {worker.pid}): SIGTERM, stopping after the rounds in progress",
        f"valueflow worker (pid {worker.pid}): stopped"]
    assert worker.returncode == 0


# -- the installed console script ---------------------------------------------------

def test_the_installed_valueflow_command_runs_the_same_contract(ready, tmp_path):
    command = Path(sys.executable).parent / "valueflow"
    assert command.exists(), "pip install -e . installs the valueflow console script"
    env = {**os.environ, "VALUEFLOW_DATABASE_URL": f"sqlite:///{ready}"}

    def valueflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(command), *args], env=env, capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)

    started = valueflow("start", KEY, "--customer-id", "c-1", "--segment", "premium")
    assert started.returncode == 0, started.stderr
    assert re.fullmatch(r"\d+\n", started.stdout)
    listed = valueflow("tasks", "--json", "--instance", started.stdout.strip())
    assert listed.returncode == 0 and [t["step_id"] for t in json.loads(listed.stdout)] == ["review"]
    mistake = valueflow("claim", "999999", "--user", "bo1")
    assert mistake.returncode != 0 and mistake.stdout == ""
    assert mistake.stderr.splitlines() == ["valueflow: no task 999999"]


def test_deploy_reads_a_diagram_file_named_as_flowable_names_it_and_shows_its_roles(ready, capsys):
    lines = ok(capsys, "deploy", Path(__file__).parent.parent / "dialects" / "flowable_vacation.bpmn20.xml").out
    assert lines.splitlines() == ["deployed flowable_vacation version 1",
                                  "roles: hr (candidate group 'hr'), management (candidate group 'management')"]
