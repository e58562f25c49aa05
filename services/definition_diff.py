"""What changed between two versions of a BPMN or DMN definition, element by element.

Designers compare versions by meaning, not by text: a task renamed, a department
changed, a flow added.  Every model element carries an ``id``, so two versions are
matched by id and each element is reported as added, removed or changed (with the
attributes and the id-less content that differ).  Diagram interchange (shapes,
edges, bounds) is left out: moving a box changes the picture, not the process.

The module knows nothing of the engine; it gets two XML documents that were
already accepted at deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

# Layout namespaces of BPMN and DMN (DI, DC, DMNDI): not part of the model.
LAYOUT_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DC",
        "http://www.omg.org/spec/DD/20100524/DI",
        "https://www.omg.org/spec/DMN/20191111/DMNDI/",
        "http://www.omg.org/spec/DMN/20180521/DMNDI/",
        "http://www.omg.org/spec/DMN/20180521/DC/",
        "http://www.omg.org/spec/DMN/20180521/DI/",
    }
)
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class FieldChange:
    """An attribute (``name``, ``huiqian:candidateDepartments``) or id-less child content."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ElementChange:
    """One element that differs; ``fields`` names what differs on a changed one."""

    element_id: str
    kind: str
    name: str
    change: Change
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class _Element:
    kind: str
    name: str
    fields: dict[str, str]


def _qualified(node: etree._Element, qname: str) -> str:
    """``{ns}local`` as the document's own ``prefix:local`` (bare local for the main model)."""
    tag = etree.QName(qname)
    if tag.namespace is None or tag.namespace == etree.QName(node).namespace:
        return tag.localname
    prefix = next((p for p, uri in node.nsmap.items() if uri == tag.namespace and p), tag.namespace)
    return f"{prefix}:{tag.localname}"


def _in_layout(node: etree._Element) -> bool:
    return etree.QName(node).namespace in LAYOUT_NAMESPACES


def _own_content(node: etree._Element) -> Iterator[etree._Element]:
    """Children that belong to this element: not layout, not elements of their own (with id)."""
    for child in node:
        if isinstance(child.tag, str) and not _in_layout(child) and child.get("id") is None:
            yield child


def _text_of(node: etree._Element) -> str:
    """A child's content as it reads: its attributes, text and nested id-less content."""
    parts = [f"{_qualified(node, key)}={value}" for key, value in sorted(node.attrib.items())]
    text = (node.text or "").strip()
    if text:
        parts.append(text)
    parts.extend(_text_of(child) for child in _own_content(node))
    return " ".join(parts)


def _fields(node: etree._Element) -> dict[str, str]:
    fields = {_qualified(node, key): value for key, value in node.attrib.items() if key != "id"}
    children: dict[str, list[str]] = {}
    for child in _own_content(node):
        children.setdefault(_qualified(node, child.tag), []).append(_text_of(child))
    for field, values in children.items():
        # Order of references (incoming, flowNodeRef) carries no meaning.
        fields[field] = "\n".join(sorted(values))
    text = (node.text or "").strip()
    if text:
        fields["text"] = text
    return fields


def _elements(xml: bytes) -> dict[str, _Element]:
    root = etree.fromstring(xml, _PARSER)
    found: dict[str, _Element] = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or _in_layout(node) or node is root:
            continue
        element_id = node.get("id")
        if element_id:
            kind = etree.QName(node).localname
            found[element_id] = _Element(kind, node.get("name") or "", _fields(node))
    return found


def _changed_fields(old: _Element, new: _Element) -> tuple[FieldChange, ...]:
    """The differing fields; a changed element type (task → user task) comes first."""
    before = {"type": old.kind, **old.fields}
    after = {"type": new.kind, **new.fields}
    return tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    )


def diff(old_xml: bytes, new_xml: bytes) -> list[ElementChange]:
    """Element-level changes from ``old_xml`` to ``new_xml``: removed, added, changed, by id."""
    old, new = _elements(old_xml), _elements(new_xml)
    changes = [
        ElementChange(element_id, e.kind, e.name, Change.REMOVED)
        for element_id, e in old.items()
        if element_id not in new
    ]
    changes += [
        ElementChange(element_id, e.kind, e.name, Change.ADDED)
        for element_id, e in new.items()
        if element_id not in old
    ]
    for element_id, after in new.items():
        before = old.get(element_id)
        if before is None:
            continue
        fields = _changed_fields(before, after)
        if fields:
            changes.append(
                ElementChange(element_id, after.kind, after.name, Change.CHANGED, fields)
            )
    return changes
