"""The process page: a process's versions with their cases, and one version's steps with why each exists.

Readable by every signed-in user (docs/design.md, "Roles and permissions"); the files of a version
(its BPMN, its package as a zip) come from here too.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Optional

from sqlalchemy import case, func, select

from engine.definitions.annotations import ProcessAnnotations, StepAnnotation
from engine.definitions.errors import DeploymentRefused
from engine.errors import NotFound
from engine.storage.repository import package_of
from engine.storage.tables import ProcessDefinition, ProcessInstance
from engine.storage.uow import UnitOfWork


def version_rows(uow: UnitOfWork, key: Optional[str] = None) -> list[Any]:
    """Every version of ``key`` (default: of every process), by key and newest first: its id, key, version,
    who deployed it and when, its running and finished cases, and its annotations. Inside a unit of work."""
    counts = select(
        ProcessInstance.definition_id,
        func.sum(case((ProcessInstance.status == "running", 1), else_=0)).label("running"),
        func.sum(case((ProcessInstance.status == "completed", 1), else_=0)).label("finished"),
    ).group_by(ProcessInstance.definition_id).subquery()
    query = select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version,
                   ProcessDefinition.deployed_at, ProcessDefinition.deployed_by, ProcessDefinition.annotations,
                   counts.c.running, counts.c.finished) \
        .outerjoin(counts, counts.c.definition_id == ProcessDefinition.id) \
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    return list(uow.session.execute(query if key is None else query.where(ProcessDefinition.key == key)))


def version_summary(row: Any) -> dict[str, Any]:
    """One of ``version_rows`` as a page lists it, with the version's end-to-end target."""
    return {"version": row.version, "deployed_at": row.deployed_at, "deployed_by": row.deployed_by,
            "running": int(row.running or 0), "finished": int(row.finished or 0),
            "target_seconds": StepAnnotation.from_dict(row.annotations["process"]).target_seconds}


def process_page(uow: UnitOfWork, key: str, version: Optional[int] = None) -> dict[str, Any]:
    """Every version of ``key`` (newest first) with who deployed it, when, and its running and finished cases;
    and the chosen version (default: the newest) with its diagram and its steps."""
    with uow:
        rows = version_rows(uow, key)
        if not rows:
            raise NotFound(f"no process {key!r} is deployed")
        chosen = next((r for r in rows if r.version == version), None) if version is not None else rows[0]
        if chosen is None:
            raise NotFound(f"process {key!r} has no version {version}")
        definition = uow.definitions.get(chosen.id)
        assert definition is not None
        notes = ProcessAnnotations.from_dict(definition.annotations)
        forms = _forms(uow, definition)
        return {
            "key": key, "name": definition.name, "version": definition.version, "newest": rows[0].version,
            "xml": definition.bpmn_xml, "process": notes.process.to_dict(),
            "versions": [version_summary(r) for r in rows],
            "steps": [{**step.to_dict(), "role": step.role, "fields": _fields(forms.get(step_id))}
                      for step_id, step in notes.steps.items()],
        }


def _forms(uow: UnitOfWork, definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """The steps' forms as the engine compiles them; for a version stored under rules it no longer passes, the
    form files it was stored with, so that its page still shows."""
    try:
        return uow.compiled(definition.id).forms
    except DeploymentRefused:
        return {path[len("forms/"):-len(".json")]: json.loads(text) for path, text in definition.files.items()
                if path.startswith("forms/") and path.endswith(".json")}


def _fields(schema: Optional[dict[str, Any]]) -> list[dict[str, Any]]:
    if not schema:
        return []
    required = set(schema.get("required") or ())
    # a yes/no field always has a value (its box ticked or not), so the form never marks it required either
    return [{"name": name, "label": spec.get("title") or name,
             "required": name in required and not (isinstance(spec, dict) and spec.get("type") == "boolean")}
            for name, spec in (schema.get("properties") or {}).items()]


def version_files(uow: UnitOfWork, key: str, version: int) -> tuple[str, bytes]:
    """A version's BPMN document and its whole package as a zip (the package folder's layout)."""
    with uow:
        definition = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version)).first()
        if definition is None:
            raise NotFound(f"process {key!r} has no version {version}")
        package = package_of(definition)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.files):
            archive.writestr(f"{key}/{path}", package.files[path])
    return package.bpmn_xml, buffer.getvalue()
