"""A process package as JSON, the shape the modeler and the JSON API exchange:
``{"bpmn": "<xml>", "dmn": {"name.dmn": "<xml>"}, "forms": {"<step id>": {…schema…}}, "files": {…}}``,
where ``bpmn`` is the diagram whose process runs and ``files`` (optional) the package's other files as text, by
name: the diagrams its call activities call into, and the form files other tools link from a task (``.form``,
SpiffArena's ``.json`` schemas and ``process_model.json``); and the same read from a zip of a package folder, as a
process owner uploads it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from engine.definitions.diagrams import naming_of
from engine.definitions.packages import (DIAGRAM_SUFFIXES, DeploymentRefused, Package, is_diagram_name,
                                         main_diagram_of)
from engine.definitions.validation import BadDocument, main_process, read_bpmn

_DMN_NAME = re.compile(r"[A-Za-z0-9_.-]+\.dmn")
_STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_OTHER_FILE = re.compile(r"(forms/)?[A-Za-z0-9_. -]+")


def is_other_file(path: str) -> bool:
    """Whether a package's file goes under ``files``: another diagram, a linked form file, a top-level .json."""
    if not _OTHER_FILE.fullmatch(path) or path.startswith(".") or "/." in path:
        return False
    if path.startswith("forms/"):
        return path.endswith(".form")
    return is_diagram_name(path) or path.endswith((".form", ".json"))


class MalformedPackage(ValueError):
    """The JSON does not have the shape of a package; the message says which part."""


def package_from_json(data: Any) -> Package:
    """The package the JSON describes; MalformedPackage when its shape is wrong (the BPMN is checked later)."""
    if not isinstance(data, dict):
        raise MalformedPackage('a package is a JSON object: {"bpmn": "<xml>", "dmn": {...}, "forms": {...}}')
    unknown = sorted(set(data) - {"bpmn", "dmn", "forms", "files"})
    if unknown:
        raise MalformedPackage(f"a package holds only bpmn, dmn, forms and files, not {', '.join(unknown)}")
    bpmn, dmn, forms = data.get("bpmn"), data.get("dmn") or {}, data.get("forms") or {}
    others = data.get("files") or {}
    if not isinstance(bpmn, str) or not bpmn.strip():
        raise MalformedPackage('"bpmn" must be the BPMN document as a string')
    if not isinstance(dmn, dict) or not all(isinstance(k, str) and _DMN_NAME.fullmatch(k) and isinstance(v, str)
                                            for k, v in dmn.items()):
        raise MalformedPackage('"dmn" must map file names ending in .dmn to DMN documents as strings')
    if not isinstance(forms, dict) or not all(isinstance(k, str) and _STEP_ID.fullmatch(k) and isinstance(v, dict)
                                              for k, v in forms.items()):
        raise MalformedPackage('"forms" must map step ids to JSON Schema objects')
    if not isinstance(others, dict) or not all(isinstance(k, str) and is_other_file(k) and isinstance(v, str)
                                               for k, v in others.items()):
        raise MalformedPackage('"files" must map file names (other diagrams, .form and .json files) to their text')
    key = _process_key(bpmn, naming_of(others).process_id)
    main = f"{key}.bpmn"
    while main in others:  # another diagram of the package has that name: keep both
        main = f"main.{main}"
    files = {main: bpmn, **dmn, **others}
    files.update({f"forms/{step_id}.json": _form_text(schema) for step_id, schema in forms.items()})
    return Package(key, main, files)


def package_to_json(package: Package) -> dict[str, Any]:
    """The JSON shape of a package (the inverse of ``package_from_json``)."""
    data = {
        "bpmn": package.bpmn_xml,
        "dmn": {path: text for path, text in package.files.items() if path.endswith(".dmn")},
        "forms": {path[len("forms/"):-len(".json")]: json.loads(text) for path, text in package.files.items()
                  if path.startswith("forms/") and path.endswith(".json")},
    }
    others = {path: text for path, text in package.files.items() if path != package.bpmn_file and is_other_file(path)}
    return {**data, "files": others} if others else data


def _process_key(bpmn: str, named: str | None) -> str:
    """The id of the executable process, or ``process`` when the document cannot tell (validation will say why)."""
    try:
        return main_process(read_bpmn(bpmn, "the BPMN document"), named).get("id") or "process"
    except BadDocument:
        return "process"


def _form_text(schema: dict[str, Any]) -> str:
    """A form schema as the package folder keeps it, so that an unchanged form hashes the same."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


MAX_UNPACKED = 5 * 1024 * 1024


def package_json_from_zip(data: bytes) -> dict[str, Any]:
    """The JSON shape of a zipped package folder (its diagrams, .dmn files, forms/<step id>.json and linked form
    files, at the top or in one folder); MalformedPackage says what is wrong. Other files are left out; nothing is
    extracted to disk."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise MalformedPackage("the file is not a zip archive") from None
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        raise MalformedPackage("the package holds more than 5 MB once unpacked")
    tops = {m.filename.split("/")[0] for m in members}
    # a zipped folder: every file under one top folder (which is not the package's own forms/ folder)
    inside = len(tops) == 1 and all("/" in m.filename for m in members) and tops != {"forms"}
    prefix = f"{tops.pop()}/" if inside else ""
    package: dict[str, Any] = {"dmn": {}, "forms": {}}
    others: dict[str, str] = {}
    try:
        for member in members:
            path = member.filename[len(prefix):]
            text = archive.read(member).decode("utf-8")
            if path.endswith(".dmn") and "/" not in path:
                package["dmn"][path] = text
            elif path.startswith("forms/") and path.endswith(".json") and path.count("/") == 1:
                package["forms"][path[len("forms/"):-len(".json")]] = json.loads(text)
            elif is_other_file(path):
                others[path] = text
    except UnicodeDecodeError:
        raise MalformedPackage("a file of the package is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise MalformedPackage(f"a form of the package is not valid JSON: {exc}") from None
    if not any(is_diagram_name(path) for path in others):
        raise MalformedPackage(f"a package holds a diagram ({', '.join(DIAGRAM_SUFFIXES)}) next to its .dmn files "
                               "and forms/ folder; this one holds none")
    try:
        main = main_diagram_of(others, prefix.rstrip("/"))
    except DeploymentRefused as refused:
        raise MalformedPackage("; ".join(str(p) for p in refused.problems)) from None
    package["bpmn"] = others.pop(main)
    if others:
        package["files"] = others
    package_from_json(package)  # the same checks as a package sent as JSON
    return package
