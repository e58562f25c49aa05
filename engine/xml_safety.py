"""Refuse hostile BPMN/DMN XML before any parser expands it.

Entity tricks (billion laughs, XXE, external and parameter entities) all need a DOCTYPE, and a
DOCTYPE may only appear in the prolog. So the prolog is scanned on the raw text first and any
DOCTYPE or processing instruction is refused in microseconds, before lxml sees the document.
lxml then parses with entity resolution, DTD loading and network access switched off as a second
line, and the parsed tree is checked for processing instructions, nesting depth and attribute
size.
"""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import DefinitionRejected, PayloadTooLarge

__all__ = [
    "MAX_ATTRIBUTE_BYTES",
    "MAX_DEFINITION_BYTES",
    "MAX_DEPTH",
    "check_and_parse",
    "element_line",
]

MAX_DEFINITION_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 256
MAX_ATTRIBUTE_BYTES = 64 * 1024

_XML_DECLARATION = re.compile(r"<\?xml\s[^>]*?\?>")
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_WHITESPACE = re.compile(r"\s*")
_UTF8_BOM = "\ufeff"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
    )


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DefinitionRejected(
            f"{filename} is not valid UTF-8 (byte {err.start})", filename=filename
        ) from err


def _check_prolog(text: str, filename: str) -> None:
    """Refuse a DOCTYPE, processing instruction or non-UTF-8 declaration before the root."""
    position = len(_UTF8_BOM) if text.startswith(_UTF8_BOM) else 0
    declaration = _XML_DECLARATION.match(text, position)
    if declaration:
        encoding = _DECLARED_ENCODING.search(declaration.group())
        if encoding and encoding.group(1).lower() not in ("utf-8", "utf8"):
            raise DefinitionRejected(
                f"{filename} declares encoding {encoding.group(1)!r}; only UTF-8 is accepted",
                filename=filename,
            )
        position = declaration.end()
    while True:
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith("<!--", position):
            end = text.find("-->", position + 4)
            if end < 0:
                return  # unterminated comment: the parser reports it as malformed
            position = end + 3
        elif text.startswith("<!", position):
            raise DefinitionRejected(
                f"{filename} contains a DOCTYPE or DTD declaration; entities are not allowed",
                filename=filename,
            )
        elif text.startswith("<?", position):
            raise _processing_instruction(filename)
        else:
            return


def _processing_instruction(filename: str) -> DefinitionRejected:
    return DefinitionRejected(
        f"{filename} contains a processing instruction; only the XML declaration is allowed",
        filename=filename,
    )


def _check_tree(root: etree._Element, filename: str) -> None:
    """Refuse processing instructions, excessive depth and oversized attribute values."""
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionRejected(f"{filename} contains a DOCTYPE", filename=filename)
    siblings = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if any(isinstance(node, etree._ProcessingInstruction) for node in siblings):
        raise _processing_instruction(filename)
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if isinstance(element, etree._ProcessingInstruction):
            raise _processing_instruction(filename)
        if depth > MAX_DEPTH:
            raise DefinitionRejected(
                f"{filename} is nested deeper than {MAX_DEPTH} elements",
                filename=filename,
                line=element.sourceline,
            )
        for name, value in element.attrib.items():
            if len(value.encode("utf-8")) > MAX_ATTRIBUTE_BYTES:
                raise DefinitionRejected(
                    f"{filename}: attribute {name!r} is longer than {MAX_ATTRIBUTE_BYTES} bytes",
                    filename=filename,
                    line=element.sourceline,
                )
        stack.extend((child, depth + 1) for child in element)


def check_and_parse(
    data: bytes, *, filename: str = "definition", max_bytes: int = MAX_DEFINITION_BYTES
) -> etree._Element:
    """Parse an uploaded definition, refusing anything unsafe or malformed.

    Raises PayloadTooLarge for more than ``max_bytes`` bytes and DefinitionRejected for
    DOCTYPE/DTD/entities, processing instructions, non-UTF-8 input, malformed XML (with
    ``line`` and ``column`` in ``extra``), nesting deeper than MAX_DEPTH and attribute
    values longer than MAX_ATTRIBUTE_BYTES. The root keeps ``sourceline`` information.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{filename} is {len(data)} bytes; the limit is {max_bytes}",
            filename=filename,
            limit=max_bytes,
        )
    _check_prolog(_decode(data, filename), filename)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as err:
        line, column = err.position
        message = err.msg or str(err)
        if "excessive depth" in message.lower():
            detail = f"{filename} is nested deeper than {MAX_DEPTH} elements"
        else:
            detail = f"{filename} is not well-formed XML: {message}"
        raise DefinitionRejected(detail, filename=filename, line=line, column=column) from err
    _check_tree(root, filename)
    return root


def element_line(root: etree._Element, element_id: str) -> int | None:
    """Source line of the element whose ``id`` attribute is ``element_id``, if any."""
    for element in root.iter(etree.Element):
        if element.get("id") == element_id:
            return element.sourceline
    return None
