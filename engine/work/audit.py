"""The audit log: who deployed, assigned, completed, cancelled, changed roles, made or revoked a token, and
which sign-ins failed from where, read for admins from the logs that already hold them.

Deploys are the process versions (who deployed each, when); work on cases is the case event log; what was
done to accounts is the account log; refused sign-ins are recorded here (``record_failed_sign_in``). The
page reads them as one list in SQL, newest first, narrowed by kind, user and period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (JSON, ColumnElement, Integer, Select, String, cast, false, literal, null, or_, select,
                        type_coerce, union_all)

from engine.storage.tables import AccountEvent, FailedSignIn, HumanTask, ProcessDefinition, TaskEvent, User
from engine.storage.uow import UnitOfWork

# Each kind the log holds, with its words on the page.
KINDS = {
    "deployed": "process deployed",
    "task_claimed": "task claimed", "task_released": "task released", "task_assigned": "task assigned",
    "task_completed": "task completed", "instance_cancelled": "case cancelled",
    "user_added": "user added", "roles_added": "roles added", "roles_set": "roles set",
    "disabled": "user disabled", "enabled": "user enabled",
    "password_reset": "password reset", "password_changed": "password changed",
    "token_created": "API token made", "token_revoked": "API token revoked",
    "sign_in_failed": "sign-in failed",
}
CASE_KINDS = ("task_claimed", "task_released", "task_assigned", "task_completed", "instance_cancelled")
ACCOUNT_KINDS = ("user_added", "roles_added", "roles_set", "disabled", "enabled", "password_reset",
                 "password_changed", "token_created", "token_revoked")
NAME_LENGTH = 100


@dataclass(frozen=True)
class AuditEntry:
    """One line: ``user`` is the account acted on, or the name a failed sign-in gave; ``instance_id`` and
    ``step_id`` the case and step worked on, ``step_name`` that step's name when it is a task for people;
    ``process`` and ``version`` a deployed version; ``note`` why a sign-in failed."""

    at: datetime
    kind: str
    actor: Optional[str]
    address: Optional[str]
    user: Optional[str]
    process: Optional[str]
    version: Optional[int]
    instance_id: Optional[int]
    step_id: Optional[str]
    note: Optional[str]
    detail: dict[str, Any]
    step_name: Optional[str] = None

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def record_failed_sign_in(uow: UnitOfWork, name: str, address: Optional[str], reason: str) -> None:
    """Keep a refused sign-in for the audit log: the user name given, the address it came from, and why."""
    with uow:
        uow.session.add(FailedSignIn(at=uow.clock.now(), name=name[:NAME_LENGTH], address=(address or "")[:100] or None,
                                     reason=reason[:40]))
        uow.commit()


def audit_log(uow: UnitOfWork, kind: Optional[str] = None, user: Optional[str] = None,
              since: Optional[datetime] = None, until: Optional[datetime] = None, page: int = 1,
              per_page: int = 50) -> dict[str, Any]:
    """One page of the audit log, newest first: of one kind (any of ``KINDS``) or all; done by ``user`` or to
    them (or, for failed sign-ins, giving their name); at or after ``since`` and before ``until``; and whether
    a next page follows.

    Each log gives only its newest lines up to the end of the page (read backwards along its time index), so
    that a page costs what it shows rather than the size of the logs; nothing counts them all.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"there is no kind {kind!r} in the audit log; choose one of: " + ", ".join(KINDS))
    page, per_page = max(page, 1), max(min(per_page, 200), 1)
    reach = page * per_page + 1  # every line up to this page's end, and one more to tell whether a page follows
    window = _Window(user, since, until)
    newest = [source.order_by(source.selected_columns.at.desc(), source.selected_columns.number.desc())
              .limit(reach).subquery() for source in _sources(kind, window)]
    lines = union_all(*(select(source) for source in newest)).subquery()
    with uow.reading():
        rows = uow.session.execute(select(lines).order_by(lines.c.at.desc(), lines.c.number.desc(), lines.c.kind)
                                   .offset((page - 1) * per_page).limit(per_page + 1)).all()
        names = _step_names(uow, {row.instance_id for row in rows[:per_page] if row.step_id})
    entries = [AuditEntry(row.at, row.kind, row.actor, row.address, row.user, row.process, row.version,
                          row.instance_id, row.step_id, row.note, row.detail or {},
                          names.get((row.instance_id, row.step_id))) for row in rows[:per_page]]
    return {"rows": entries, "page": page, "per_page": per_page, "has_next": len(rows) > per_page}


@dataclass(frozen=True)
class _Window:
    """The filters, written as conditions on each log's own columns, so that its indexes serve them."""

    user: Optional[str]
    since: Optional[datetime]
    until: Optional[datetime]

    def on(self, at: Any, *names: Any) -> list[ColumnElement[bool]]:
        conditions = []
        if self.user:
            conditions.append(or_(*(name == self.user for name in names)) if names else false())
        if self.since is not None:
            conditions.append(at >= self.since)
        if self.until is not None:
            conditions.append(at < self.until)
        return conditions


def _step_names(uow: UnitOfWork, cases: set[int]) -> dict[tuple[int, str], str]:
    """The names of the steps for people of these cases, by (case, step id): one read for a page's lines."""
    if not cases:
        return {}
    rows = uow.session.execute(select(HumanTask.instance_id, HumanTask.step_id, HumanTask.name)
                               .where(HumanTask.instance_id.in_(cases)).distinct()).all()
    return {(instance_id, step_id): name for instance_id, step_id, name in rows}


def _sources(kind: Optional[str], window: _Window) -> list[Select[Any]]:
    """One SELECT per log that holds lines of ``kind`` (every log when None), all with the same columns."""
    wanted = (kind,) if kind else tuple(KINDS)
    sources = []
    if "deployed" in wanted:
        sources.append(_line(ProcessDefinition.deployed_at, literal("deployed"), ProcessDefinition.deployed_by,
                             number=ProcessDefinition.id, process=ProcessDefinition.key,
                             version=ProcessDefinition.version)
                       .where(*window.on(ProcessDefinition.deployed_at, ProcessDefinition.deployed_by)))
    case_kinds = [k for k in CASE_KINDS if k in wanted]
    if case_kinds:
        sources.append(_line(TaskEvent.at, TaskEvent.type, TaskEvent.actor, number=TaskEvent.id,
                             instance_id=TaskEvent.instance_id, step_id=TaskEvent.step_id, detail=TaskEvent.detail)
                       .where(TaskEvent.type.in_(case_kinds), *window.on(TaskEvent.at, TaskEvent.actor)))
    account_kinds = [k for k in ACCOUNT_KINDS if k in wanted]
    if account_kinds:
        sources.append(_line(AccountEvent.at, AccountEvent.type, AccountEvent.actor, number=AccountEvent.id,
                             user=User.name, detail=AccountEvent.detail)
                       .join(User, User.id == AccountEvent.user_id)
                       .where(AccountEvent.type.in_(account_kinds),
                              *window.on(AccountEvent.at, AccountEvent.actor, User.name)))
    if "sign_in_failed" in wanted:
        sources.append(_line(FailedSignIn.at, literal("sign_in_failed"), None, number=FailedSignIn.id,
                             address=FailedSignIn.address, user=FailedSignIn.name, note=FailedSignIn.reason)
                       .where(*window.on(FailedSignIn.at, FailedSignIn.name)))
    return sources


def _line(at: Any, kind: Any, actor: Any, *, number: Any, address: Any = None, user: Any = None, process: Any = None,
          version: Any = None, instance_id: Any = None, step_id: Any = None, note: Any = None,
          detail: Any = None) -> Select[Any]:
    """A log's lines as the audit log's columns (what a log does not hold is NULL)."""
    def text(value: Any) -> Any:  # a typed NULL: PostgreSQL types a bare one as text before the union meets it
        return cast(null(), String) if value is None else value

    def whole(value: Any) -> Any:
        return cast(null(), Integer) if value is None else value

    return select(at.label("at"), type_coerce(kind, String).label("kind"), text(actor).label("actor"),
                  whole(number).label("number"), text(address).label("address"), text(user).label("user"),
                  text(process).label("process"), whole(version).label("version"),
                  whole(instance_id).label("instance_id"), text(step_id).label("step_id"), text(note).label("note"),
                  (cast(null(), JSON) if detail is None else detail).label("detail"))
