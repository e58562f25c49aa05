"""Structural diffs: applying ``diff(old, new)`` to ``old`` gives ``new``, with small patches."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from engine import state_diff

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("equal", {"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}),
    ("set and delete keys", {"a": 1, "b": 2}, {"a": 1, "c": 3}),
    ("nested change", {"t": {"x": {"state": 16}}}, {"t": {"x": {"state": 64}}}),
    ("append", {"merged": ["a", "b"]}, {"merged": ["a", "b", "c", "d"]}),
    ("edit in place", {"l": [{"k": 1}, {"k": 2}]}, {"l": [{"k": 1}, {"k": 3}]}),
    ("shrink", {"l": [1, 2, 3]}, {"l": [1]}),
    ("type change", {"v": [1]}, {"v": {"0": 1}}),
    ("bool is not int", {"v": 1}, {"v": True}),
    ("int is not float", {"v": 1}, {"v": 1.0}),
    ("keys of any text", {"a/b": {"~0": 1}}, {"a/b": {"~0": 2, "": None}}),
]


@pytest.mark.parametrize(("old", "new"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_applying_the_diff_gives_the_new_document(old: dict[str, Any], new: dict[str, Any]) -> None:
    ops = state_diff.diff(old, new)
    # Through JSON, as the database stores the patch.
    patched = state_diff.apply(copy.deepcopy(old), json.loads(json.dumps(ops)))
    assert patched == new
    assert [type(v) for v in patched.values()] == [type(v) for v in new.values()]
    assert (ops == []) == state_diff.same(old, new)


def test_a_growing_list_costs_only_its_new_items() -> None:
    old = {"merged": [f"task-{i}" for i in range(1000)], "state": 8}
    new = {"merged": [*old["merged"], "task-1000"], "state": 8}
    assert state_diff.diff(old, new) == [["a", ["merged"], ["task-1000"]]]


def test_applied_values_are_copies() -> None:
    """A later patch editing the document must not edit an earlier patch's value."""
    value = {"opinions": ["hrss"]}
    ops = [["s", ["data"], value]]
    document = state_diff.apply({}, ops)
    state_diff.apply(document, [["a", ["data", "opinions"], ["fin"]]])
    assert value == {"opinions": ["hrss"]}
    assert document == {"data": {"opinions": ["hrss", "fin"]}}


@pytest.mark.parametrize(
    "ops", [[["x", ["a"], 1]], [["a", [], [1]]], [["d", []]]], ids=["unknown", "append", "delete"]
)
def test_malformed_operations_are_refused(ops: list[Any]) -> None:
    with pytest.raises(ValueError):
        state_diff.apply({"a": 1}, ops)


GROWN = [
    ("list gains items", [1, {"a": "b"}], [1, {"a": "b"}, 3, [4]]),
    ("empty list gains items", [], ["x"]),
    ("object gains keys", {"d1": {"decision": "同意"}}, {"d1": {"decision": "同意"}, "d2": {}}),
    ("empty object gains keys", {}, {"k": None}),
]
NOT_GROWN = [
    ("last number grows", [1], [12]),
    ("last number gains decimals", [1], [1.5]),
    ("last element grows inside", [[1]], [[1, 2]]),
    ("last string grows", ["ab"], ["ab, cd"]),
    ("an entry changes", {"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}),
    ("a key moves", {"a": 1, "b": 2}, {"b": 2, "a": 1, "c": 3}),
    ("a scalar", "abc", "abcd"),
    ("shrinks", [1, 2], [1]),
    ("list becomes object", [], {"0": 1}),
]


def _texts(old: Any, new: Any) -> tuple[str, str]:
    return (json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False))


@pytest.mark.parametrize(("old", "new"), [c[1:] for c in GROWN], ids=[c[0] for c in GROWN])
def test_a_grown_collection_is_read_from_its_texts(old: Any, new: Any) -> None:
    ops = state_diff.grown(*_texts(old, new), ["values", "r"])
    assert ops == state_diff.diff(old, new, ["values", "r"])
    assert state_diff.apply({"values": {"r": copy.deepcopy(old)}}, ops) == {"values": {"r": new}}


@pytest.mark.parametrize(("old", "new"), [c[1:] for c in NOT_GROWN], ids=[c[0] for c in NOT_GROWN])
def test_anything_but_growth_at_the_end_is_left_to_the_structural_diff(old: Any, new: Any) -> None:
    assert state_diff.grown(*_texts(old, new), ["v"]) is None


def _pool() -> dict[str, Any]:
    return {
        "values": {
            "old": [{"dept": "hrss", "tags": ["a"]}, {"dept": "fin", "tags": ["b"]}],
            "map": {"hrss": {"decision": "approve"}, "fin": {"decision": "reject"}},
        }
    }


SHARED_COPY_CASES = {
    "append to the copy": [
        ["c", ["values", "new"], ["values", "old"]],
        ["a", ["values", "new"], [{"dept": "agri", "tags": []}]],
    ],
    "edit inside an entry of the copy": [
        ["c", ["values", "new"], ["values", "old"]],
        ["s", ["values", "new", 0, "dept"], "edu"],
        ["a", ["values", "new", 1, "tags"], ["c"]],
    ],
    "edit inside an entry of the source": [
        ["c", ["values", "new"], ["values", "old"]],
        ["d", ["values", "old", 0, "tags"]],
        ["s", ["values", "old", 1, "tags", 0], "z"],
    ],
    "set and delete entries of a copied object": [
        ["c", ["values", "new"], ["values", "map"]],
        ["s", ["values", "new", "agri"], {"decision": "approve"}],
        ["d", ["values", "new", "fin"]],
        ["s", ["values", "new", "hrss", "decision"], "return"],
    ],
    "a copy of a copy": [
        ["c", ["values", "new"], ["values", "old"]],
        ["c", ["values", "newer"], ["values", "new"]],
        ["s", ["values", "newer", 0, "tags", 0], "x"],
        ["a", ["values", "new", 0, "tags"], ["y"]],
    ],
}


@pytest.mark.parametrize("ops", SHARED_COPY_CASES.values(), ids=list(SHARED_COPY_CASES))
def test_shared_copies_give_the_same_document_as_whole_copies(ops: list[Any]) -> None:
    whole = state_diff.apply(_pool(), copy.deepcopy(ops))
    assert state_diff.apply(_pool(), copy.deepcopy(ops), shared_copies=True) == whole
    # An edit inside any value, later in the same call, changes that value alone.
    for ref, value in whole["values"].items():
        key = 0 if isinstance(value, list) else next(iter(value))
        edited = [*ops, ["s", ["values", ref, key, "x"], 1]]
        expected = state_diff.apply(_pool(), copy.deepcopy(edited))
        assert state_diff.apply(_pool(), copy.deepcopy(edited), shared_copies=True) == expected


def test_a_shared_copy_copies_only_the_top_container() -> None:
    document = _pool()
    state_diff.apply(document, [["c", ["values", "new"], ["values", "old"]]], shared_copies=True)
    values = document["values"]
    assert values["new"] is not values["old"] and values["new"][0] is values["old"][0]
