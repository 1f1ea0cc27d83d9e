"""A package's content as a process owner means it, however its files happen to be written.

A modeler rewrites a diagram each time it saves one: attributes in another order, other indentation, comments
dropped, the shapes of the drawing listed in the order it draws them. Two packages have the same content when
their diagrams and decision tables are equal in canonical XML (C14N 2.0, whitespace around text ignored, the
children of a drawing's plane in id order) and their forms are equal as JSON (fields in their order). A moved
shape, a renamed step or a changed form is a difference; a rewrite is not. C14N 2.0 rather than 1.0: the
namespace declaration of the template Activiti, Flowable and Camunda 7 diagrams start from
(``xmlns:tns="Examples"``) is a relative URI, which libxml2's C14N 1.0 refuses.
"""

from __future__ import annotations

import json

from lxml import etree

from engine.definitions.packages import Package
from engine.definitions.validation import local, read_xml

# Elements whose children are a drawing's shapes and edges, in no meaningful order.
_DRAWINGS = ("BPMNPlane", "DMNDiagram")


def same_content(first: Package, second: Package) -> bool:
    """Whether two (already validated) packages hold the same diagram, decision tables and forms."""
    return canonical_content(first) == canonical_content(second)


def canonical_content(package: Package) -> dict[str, bytes]:
    """Each file of the package in canonical form, the diagram under ``"bpmn"`` whatever its file's name."""
    return {("bpmn" if path == package.bpmn_file else path): _canonical(path, text)
            for path, text in package.files.items()}


def _canonical(path: str, text: str) -> bytes:
    if path.endswith(".json"):
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    root = read_xml(text, path)
    for element in list(root.iter()):  # every element, though drawings are reordered on the way
        if isinstance(element.tag, str) and local(element) in _DRAWINGS:
            element[:] = sorted(element, key=lambda child: (str(child.tag), child.get("id") or ""))
    return etree.tostring(root, method="c14n2", with_comments=False, strip_text=True)
