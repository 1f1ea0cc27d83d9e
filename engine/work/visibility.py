"""Who may see which case: the rule every page, search and API call about cases and customers goes through.

Managers, admins and process owners see every case. Other staff see a case only when one of its steps
belongs to one of their roles, or they handled it: started it, held or completed one of its steps. A
customer is seen through the cases of theirs one may see. A satisfaction score is recorded by someone who
handled the case, or by a manager.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import ColumnElement, select, true

from engine.errors import NotAllowed, NotFound
from engine.storage.tables import HumanTask, ProcessInstance, TaskEvent
from engine.storage.uow import UnitOfWork
from engine.work.accounts import MANAGING_ROLES, Account


def sees_every_case(viewer: Account) -> bool:
    """Managers, admins and process owners see every case."""
    return viewer.is_manager or "process-owner" in viewer.roles


def visible_cases(viewer: Account) -> ColumnElement[bool]:
    """A condition on ``ProcessInstance``: the cases ``viewer`` may see."""
    if sees_every_case(viewer):
        return true()
    return _has_step(HumanTask.role.in_(sorted(viewer.staff_roles)) | _held_by(viewer.name)) | _started_by(viewer.name)


def handled_by(user: str) -> ColumnElement[bool]:
    """A condition on ``ProcessInstance``: the cases ``user`` started, or one of whose steps they held or completed."""
    return _has_step(_held_by(user)) | _started_by(user)


def _has_step(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """One probe of the case's steps (by the instance index) for a step meeting ``condition``."""
    return select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id, condition).exists()


def _held_by(user: str) -> ColumnElement[bool]:
    return (HumanTask.assignee == user) | (HumanTask.completed_by == user)


def _started_by(user: str) -> ColumnElement[bool]:
    """Who started the case, as its ``instance_started`` event names them: the case's first event, so the
    instance index finds it at once instead of reading the whole history."""
    return select(TaskEvent.actor).where(TaskEvent.instance_id == ProcessInstance.id,
                                         TaskEvent.type == "instance_started").order_by(TaskEvent.id).limit(1) \
        .scalar_subquery() == user


def require_case_visible(uow: UnitOfWork, instance_id: int, viewer: Account) -> None:
    """Nothing when ``viewer`` may see the case; NotFound for an unknown case, NotAllowed for one not theirs."""
    with uow.reading():
        seen = _first(uow, instance_id, visible_cases(viewer))
    if seen is None:
        raise NotFound(f"no instance {instance_id}")
    if not seen:
        raise NotAllowed(f"case {instance_id} has no step of your roles ({_roles(viewer)}) and you did not "
                         "handle it; ask a manager if you need it")


def require_may_score(uow: UnitOfWork, instance_id: int, user: str) -> None:
    """Nothing when ``user`` may record the case's satisfaction score (a manager, or someone who handled it);
    NotFound for an unknown case or user, NotAllowed otherwise. Runs in the caller's open unit of work."""
    found = uow.users.by_name(user)
    if found is None:
        raise NotFound(f"no user named {user!r}")
    handled = _first(uow, instance_id, _scorers(user, bool(uow.users.roles(found) & MANAGING_ROLES)))
    if handled is None:
        raise NotFound(f"no instance {instance_id}")
    if not handled:
        raise NotAllowed(f"only a manager or someone who handled case {instance_id} records its satisfaction "
                         f"score, and {user} did not handle it")


def may_score(uow: UnitOfWork, instance_id: int, viewer: Account) -> bool:
    """Whether ``viewer`` may record the case's satisfaction score (see ``require_may_score``)."""
    with uow.reading():
        return bool(_first(uow, instance_id, _scorers(viewer.name, viewer.is_manager)))


def _scorers(user: str, manages: bool) -> ColumnElement[bool]:
    return true() if manages else handled_by(user)


def _first(uow: UnitOfWork, instance_id: int, condition: ColumnElement[bool]) -> Optional[bool]:
    """Whether the case meets ``condition``; None when there is no such case."""
    found = uow.session.execute(select(condition.label("met")).where(ProcessInstance.id == instance_id)).first()
    return None if found is None else bool(found.met)


def _roles(viewer: Account) -> str:
    return ", ".join(sorted(viewer.roles)) or "none"
