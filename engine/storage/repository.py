"""Loading and saving the engine's rows through the ORM; repositories never commit.

Each class is handed the unit of work's session. A case's own state and the
rows a step writes go through engine.storage.casestore instead, the hot path.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Sequence

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from engine.definitions.annotations import ProcessAnnotations
from engine.storage.tables import (AccountEvent, Customer, HumanTask, ProcessDefinition, ProcessDraft, ProcessInstance,
                                   TaskEvent, User, UserRole)

if TYPE_CHECKING:  # compiling packages needs SpiffWorkflow; reading rows does not
    from engine.definitions.packages import Package


class Definitions:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, definition_id: int) -> Optional[ProcessDefinition]:
        return self.session.get(ProcessDefinition, definition_id)

    def annotations(self, definition_id: int) -> ProcessAnnotations:
        """The stored annotations of a definition, decoded."""
        return ProcessAnnotations.from_dict(self.session.scalar(
            select(ProcessDefinition.annotations).where(ProcessDefinition.id == definition_id)))

    def latest(self, key: str) -> Optional[ProcessDefinition]:
        return self.session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc()).limit(1)).first()

    def version(self, key: str, version: int) -> Optional[ProcessDefinition]:
        return self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version)).first()

    def by_hash(self, key: str, content_hash: str) -> Optional[ProcessDefinition]:
        return self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.content_hash == content_hash)).first()

    def next_version(self, key: str) -> int:
        current = self.session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
        return (current or 0) + 1

    def add(self, definition: ProcessDefinition) -> None:
        self.session.add(definition)

    def versions(self) -> Sequence[tuple[str, int]]:
        """The key and version number of every deployed version."""
        return [(key, version) for key, version in self.session.execute(
            select(ProcessDefinition.key, ProcessDefinition.version))]

    def lane_roles(self) -> set[str]:
        """Every role that owns a lane of some deployed version."""
        roles: set[str] = set()
        for stored in self.session.scalars(select(ProcessDefinition.annotations)):
            roles |= {step.role for step in ProcessAnnotations.from_dict(stored).steps.values() if step.role}
        return roles

    def package(self, definition_id: int) -> Package:
        """The stored package of a definition, as it was deployed."""
        return package_of(self._stored(definition_id))

    def _stored(self, definition_id: int) -> ProcessDefinition:
        definition = self.get(definition_id)
        if definition is None:
            raise LookupError(f"no process definition {definition_id}")
        return definition


def package_of(definition: ProcessDefinition) -> Package:
    """The stored package of a definition, as it was deployed."""
    from engine.definitions.packages import Package

    files = dict(definition.files)
    bpmn_file = f"{definition.key}.bpmn"
    while bpmn_file in files:  # another diagram of the package has that name: keep both
        bpmn_file = f"main.{bpmn_file}"
    files[bpmn_file] = definition.bpmn_xml
    return Package(definition.key, bpmn_file, files)


class Drafts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> Optional[ProcessDraft]:
        return self.session.get(ProcessDraft, key)

    def replace(self, key: str, base_revision: int, package: dict[str, Any], saved_by: str, saved_at: datetime) -> bool:
        """Store the draft as revision ``base_revision + 1`` if it is still at ``base_revision`` (0: none yet);
        False when someone else saved meanwhile."""
        if base_revision == 0:
            if self.get(key) is not None:
                return False
            self.session.add(ProcessDraft(key=key, package=package, revision=1, saved_by=saved_by, saved_at=saved_at))
            return True
        result = self.session.execute(
            update(ProcessDraft).where(ProcessDraft.key == key, ProcessDraft.revision == base_revision)
            .values(package=package, revision=base_revision + 1, saved_by=saved_by, saved_at=saved_at)
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]


class Instances:
    def __init__(self, session: Session) -> None:
        self.session = session

    def running_definition_ids(self) -> Sequence[int]:
        return self.session.scalars(select(ProcessInstance.definition_id).where(
            ProcessInstance.status == "running").distinct()).all()


class Tasks:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_of(self, instance_id: int) -> Sequence[HumanTask]:
        return self.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open").order_by(HumanTask.id)).all()

    def log(self, event: TaskEvent) -> None:
        self.session.add(event)


class Users:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_name(self, name: str) -> Optional[User]:
        return self.session.scalars(select(User).where(User.name == name)).first()

    def by_name_in_any_case(self, name: str) -> Optional[User]:
        """The user whose name is ``name`` but for upper and lower case (ASCII), if any."""
        return self.session.scalars(select(User).where(func.lower(User.name) == name.lower()).order_by(User.id)).first()

    def roles(self, user: User) -> set[str]:
        return set(self.session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))

    def add(self, user: User) -> None:
        self.session.add(user)
        self.session.flush()

    def set_roles(self, user: User, roles: set[str]) -> None:
        for row in self.session.scalars(select(UserRole).where(UserRole.user_id == user.id)):
            if row.role not in roles:
                self.session.delete(row)
        for role in roles - self.roles(user):
            self.session.add(UserRole(user_id=user.id, role=role))

    def is_disabled(self, name: str) -> bool:
        return self.session.scalar(select(User.disabled_at.is_not(None)).where(User.name == name)) is True

    def holding(self, role: str) -> Sequence[User]:
        """The users holding ``role`` who may sign in (not disabled)."""
        return self.session.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.disabled_at.is_(None))).all()

    def log(self, user: User, kind: str, actor: Optional[str], at: datetime,
            detail: Optional[dict[str, Any]] = None) -> None:
        """Append to the account log of ``user``."""
        self.session.add(AccountEvent(user_id=user.id, type=kind, actor=actor, at=at, detail=detail))


def _known_segments() -> Select[tuple[str]]:
    first = select(func.min(Customer.segment).label("segment")).cte("found", recursive=True)
    after = select(func.min(Customer.segment)).where(Customer.segment > first.c.segment).scalar_subquery()
    found = first.union_all(select(after).where(first.c.segment.is_not(None)))
    return select(found.c.segment).where(found.c.segment.is_not(None))


# The segments customers are in: one step down ``ix_customer_segment`` per segment, not a scan of every
# customer (a recursive query that asks each time for the next segment after the one found).
KNOWN_SEGMENTS = _known_segments()


def known_segments(session: Session) -> set[str]:
    """The segments customers are in (``KNOWN_SEGMENTS``)."""
    return set(session.scalars(KNOWN_SEGMENTS))
