"""Structural diffs of JSON documents, for storing a workflow's state as a patch log.

An instance's state is saved as a snapshot plus a log of patches (see
``engine.state_store``).  A patch is a list of operations, each a JSON array:

* ``["s", path, value]`` sets the value at ``path`` (a dict key or a list index),
* ``["d", path]`` deletes a dict key,
* ``["a", path, items]`` appends items to the list at ``path``,
* ``["c", path, source]`` sets ``path`` to a copy of the value at path ``source``.

``copy`` lets a new value be written as an old one plus a few operations (see
``engine.state_tracking``: a task's grown collection is a new pooled value).

``append`` is what keeps a patch small while a collection grows: a multi-instance
parent gains one merged child and one opinion per answer, and the patch carries
just that entry rather than the whole list.  Paths are lists of keys, never
strings, so keys may contain any character.
"""

from __future__ import annotations

import json
from typing import Any

Path = list[Any]
Op = list[Any]


def diff(old: Any, new: Any, path: Path | None = None) -> list[Op]:
    """Operations that turn ``old`` into ``new`` (both plain JSON values)."""
    ops: list[Op] = []
    _diff(old, new, path or [], ops)
    return ops


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: Python's ``==`` with types, so ``1``, ``1.0`` and ``True`` differ.

    ``==`` rejects in C first; only equal containers holding more than strings are
    walked again for the types.
    """
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b) or a != b:
        return False
    if kind is dict:
        if set(map(type, a.values())) <= _STR:
            return True
        return all(same(value, b[key]) for key, value in a.items())
    if kind is list:
        if set(map(type, a)) <= _STR:
            return True
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    return True


_STR = {str}


def _diff(old: Any, new: Any, path: Path, ops: list[Op]) -> None:
    if same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            if key in old:
                _diff(old[key], value, [*path, key], ops)
            else:
                ops.append(["s", [*path, key], value])
        ops.extend(["d", [*path, key]] for key in old if key not in new)
    elif isinstance(old, list) and isinstance(new, list) and len(new) >= len(old):
        if same(new[: len(old)], old):
            ops.append(["a", path, new[len(old) :]])
        elif len(new) == len(old):
            for index, (before, after) in enumerate(zip(old, new, strict=True)):
                _diff(before, after, [*path, index], ops)
        else:
            ops.append(["s", path, new])
    else:
        ops.append(["s", path, new])


_SEPARATOR = ", "  # json.dumps's default item separator


def grown(old_text: str, new_text: str, path: Path) -> list[Op] | None:
    """The operations that turn one JSON array or object into another that only gained
    entries at its end, read from the two texts; None when that is not the case.

    Both texts must come from ``json.dumps`` with the same settings.  A text that starts
    with the old one minus its closing bracket, then a separator, holds every old entry
    unchanged, in order (a JSON tokenizer reads the same bytes the same way), followed
    by new ones: only those are parsed.  A grown collection of a thousand answers is then
    never walked in Python (``engine.state_tracking``).
    """
    if len(new_text) <= len(old_text) or old_text[:1] + old_text[-1:] not in ("[]", "{}"):
        return None
    head = old_text[:-1]
    if not new_text.startswith(head):
        return None
    rest = new_text[len(head) :]
    if len(head) > 1:  # the old one had entries: the new ones follow a separator
        if not rest.startswith(_SEPARATOR):
            return None
        rest = rest[len(_SEPARATOR) :]
    try:
        added = json.loads(old_text[0] + rest)
    except ValueError:
        return None
    if isinstance(added, list):
        return [["a", path, added]]
    return [["s", [*path, key], value] for key, value in added.items()]


def copied(value: Any) -> Any:
    """A deep copy of a JSON value, through the C encoder (``copy.deepcopy`` is Python)."""
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value))
    return value


def apply(
    document: dict[str, Any], ops: list[Op], *, shared_copies: bool = False
) -> dict[str, Any]:
    """Apply ``ops`` to ``document`` in place and return it.

    Values are copied in, so later operations never alter an earlier patch's
    values (which may still be waiting to be written).

    A ``c`` copies its source whole, unless ``shared_copies``: then it copies
    only the source's top container, and its entries stay shared with the
    source; an operation of the same call that reaches deeper into either side
    first gives that side its own copy of the entry it edits.  That is for
    replaying a log whose copied values no *later* call edits: pooled values
    (``engine.state_format``) are named by their content and never change after
    the patch that adds them, and a grown collection of a thousand answers is
    then not copied whole at every patch (``engine.state_store.load_state``).
    """
    shared: list[tuple[Any, ...]] = []  # containers whose entries another one shares
    owned: set[tuple[Any, ...]] = set()  # entries of those copied since
    for op in ops:
        kind, path = op[0], op[1]
        if not path:
            if kind != "s" or not isinstance(op[2], dict):
                raise ValueError(f"cannot {kind!r} the document root")
            document.clear()
            document.update(copied(op[2]))
            shared.clear()
            continue
        if shared:  # the container this op changes: the list itself for "a", else the parent
            _own_entry(document, path if kind == "a" else path[:-1], shared, owned)
        parent = _at(document, path[:-1])
        last = path[-1]
        if kind == "s":
            parent[last] = copied(op[2])
        elif kind == "d":
            del parent[last]
        elif kind == "a":
            parent[last].extend(copied(op[2]))
        elif kind == "c":
            source = _at(document, op[2])
            if shared_copies and isinstance(source, dict | list):
                parent[last] = source.copy()
                shared += [tuple(path), tuple(op[2])]
            else:
                parent[last] = copied(source)
        else:
            raise ValueError(f"unknown patch operation {kind!r}")
    return document


def _at(document: Any, path: Path) -> Any:
    for key in path:
        document = document[key]
    return document


def _own_entry(
    document: dict[str, Any],
    changed: Path,
    shared: list[tuple[Any, ...]],
    owned: set[tuple[Any, ...]],
) -> None:
    """Before the container at ``changed`` is edited inside an entry that a shared
    container holds, give that container its own copy of the entry."""
    for root in shared:
        depth = len(root)
        if len(changed) <= depth or tuple(changed[:depth]) != root:
            continue
        entry = (*root, changed[depth])
        if entry not in owned:
            container = _at(document, list(root))
            container[changed[depth]] = copied(container[changed[depth]])
            owned.add(entry)
