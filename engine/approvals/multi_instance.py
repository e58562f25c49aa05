"""Changing the signers of a running multi-instance user task (加签, 减签, a withdrawn answer).

SpiffWorkflow 3.2 decides a multi-instance's instances once, when it starts: a parallel
one creates a child per item of its input collection, a sequential one keeps the keys
still to come in ``internal_data["remaining"]``.  It offers no way to add or drop an
instance later, so this module does it with the library's own building blocks:

* a new signer is a new key in the input collection (co_review's ``reviewers`` maps each
  department code to itself) and a child made by the spec's ``create_child``, exactly as
  the library makes them;
* a removed signer's child is cancelled (``Task.cancel``); the parallel spec of
  ``engine.task_specs`` counts cancelled children as done, which the library does not;
* signers queued "before" or "after" wait in ``remaining`` (sequential) or in the waves
  of ``engine.task_specs.WAVES`` (parallel);
* a withdrawn answer is taken out of ``internal_data["merged"]`` and of the output
  collection, and its signer gets a new child.

The caller runs ``settle`` once it has updated the variables the completion condition
reads, then advances the workflow.  ``tests/unit/test_multi_instance_signers.py`` shows
each of these on a bare SpiffWorkflow workflow.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from SpiffWorkflow.task import Task, TaskState

from engine.errors import Conflict, InvalidInput, NotFound
from engine.task_specs import (
    WAVES,
    HuiqianParallelMultiInstanceTask,
    HuiqianSequentialMultiInstanceTask,
    mark_changed,
)

LoopSpec = HuiqianParallelMultiInstanceTask | HuiqianSequentialMultiInstanceTask


class Position(StrEnum):
    """Where new signers go: alongside the pending ones, before them, or after them."""

    PARALLEL = "parallel"
    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class Signers:
    """Who signs in a running multi-instance, by key of its input collection."""

    answered: list[str]
    active: list[str]
    queued: list[str]
    sequential: bool

    @property
    def pending(self) -> list[str]:
        return self.active + self.queued


def is_loop(task: Task) -> bool:
    return isinstance(task.task_spec, LoopSpec)


def running_loops(tasks: Iterable[Task]) -> list[Task]:
    """The multi-instance user tasks among ``tasks`` still collecting answers (co-reviews)."""
    return [
        task
        for task in tasks
        if is_loop(task)
        and task.state == TaskState.STARTED
        and task.workflow.spec.task_specs[_spec(task).task_spec].manual
    ]


def loop_of(child: Task) -> Task | None:
    """The multi-instance task ``child`` is an instance of, if it is one."""
    parent = child.parent
    if (
        parent is not None
        and is_loop(parent)
        and child.task_spec.name == parent.task_spec.task_spec
    ):
        return parent
    return None


def _spec(loop: Task) -> LoopSpec:
    spec = loop.task_spec
    assert isinstance(spec, LoopSpec)
    return spec


def _collection(loop: Task) -> MutableMapping[str, Any]:
    spec = _spec(loop)
    collection = spec.data_input.get(loop) if spec.data_input is not None else None
    if not isinstance(collection, MutableMapping):
        raise InvalidInput(
            f"the signers of {spec.bpmn_id!r} cannot change: its input collection is not a "
            "mapping of signers (like co_review's reviewers)"
        )
    return collection


def signer_count(loop: Task) -> int:
    """How many signers the loop has now: answered, asked and queued."""
    return len(_collection(loop))


def key_of(child: Task) -> str:
    return str(child.internal_data.get("key_or_index"))


def _instances(loop: Task) -> list[Task]:
    return list(_spec(loop)._instances(loop))


def active_instances(loop: Task) -> list[Task]:
    """The instances still waiting for their answer."""
    return [
        child
        for child in _instances(loop)
        if child.state not in (TaskState.COMPLETED, TaskState.CANCELLED)
    ]


def _queued(loop: Task) -> list[str]:
    if isinstance(loop.task_spec, HuiqianSequentialMultiInstanceTask):
        return list(loop.internal_data.get("remaining", []))
    return [key for wave in loop.internal_data.get(WAVES, []) for key in wave]


def signers_of(loop: Task) -> Signers:
    merged = set(loop.internal_data.get("merged", []))
    return Signers(
        answered=[key_of(child) for child in _instances(loop) if str(child.id) in merged],
        active=[key_of(child) for child in active_instances(loop)],
        queued=_queued(loop),
        sequential=isinstance(loop.task_spec, HuiqianSequentialMultiInstanceTask),
    )


def add(loop: Task, keys: list[str], position: Position) -> None:
    """Add signers ``keys`` to a running multi-instance."""
    collection = _collection(loop)
    taken = sorted(key for key in keys if key in collection)
    if taken:
        raise InvalidInput(f"already signers of this review: {', '.join(taken)}")
    sequential = isinstance(loop.task_spec, HuiqianSequentialMultiInstanceTask)
    if sequential and position is Position.PARALLEL:
        raise InvalidInput("a sequential review has one signer at a time: add before or after")
    for key in keys:
        collection[key] = key
    mark_changed(loop)  # the collection changed in place
    if sequential:
        _add_in_turn(loop, keys, position)
    else:
        _add_in_parallel(loop, keys, position)


def _add_in_parallel(loop: Task, keys: list[str], position: Position) -> None:
    waves: list[list[str]] = loop.internal_data.get(WAVES, [])
    if position is Position.AFTER:
        loop.internal_data[WAVES] = [*waves, keys]
        return
    if position is Position.BEFORE:
        held = active_instances(loop)
        for child in held:
            child.cancel()
        loop.internal_data[WAVES] = [[key_of(child) for child in held], *waves]
    for key in keys:
        _spec(loop).create_child(loop, key, key)


def _add_in_turn(loop: Task, keys: list[str], position: Position) -> None:
    remaining: list[str] = loop.internal_data.get("remaining", [])
    if position is Position.AFTER:
        loop.internal_data["remaining"] = [*remaining, *keys]
        return
    held = active_instances(loop)
    for child in held:
        child.cancel()
    loop.internal_data["remaining"] = [*keys, *(key_of(child) for child in held), *remaining]
    spec = _spec(loop)
    assert isinstance(spec, HuiqianSequentialMultiInstanceTask)
    spec.add_next_child(loop)


def remove(loop: Task, key: str) -> None:
    """Remove the pending signer ``key``: its open instance is cancelled, or it leaves the queue."""
    collection = _collection(loop)
    signers = signers_of(loop)
    if key not in collection:
        raise NotFound(f"{key} is not a signer of this review")
    if key in signers.answered:
        raise InvalidInput(f"{key} has already answered; only a pending signer can be removed")
    if signers.pending == [key]:
        raise InvalidInput(f"{key} is the last pending signer: the review needs at least one")
    for child in active_instances(loop):
        if key_of(child) == key:
            child.cancel()
    if signers.sequential:
        loop.internal_data["remaining"] = [k for k in signers.queued if k != key]
    else:
        waves = [[k for k in wave if k != key] for wave in loop.internal_data.get(WAVES, [])]
        loop.internal_data[WAVES] = [wave for wave in waves if wave]
    del collection[key]
    mark_changed(loop)


def reopen(loop: Task, child: Task) -> None:
    """Take back the answer of ``child`` and let its signer answer again (a withdrawal).

    In a sequential review the signer whose turn it is now waits again behind it.
    """
    if loop.state != TaskState.STARTED:
        raise Conflict("the review has concluded: its answers can no longer be withdrawn")
    spec = _spec(loop)
    key = key_of(child)
    loop.internal_data["merged"] = [
        merged for merged in loop.internal_data.get("merged", []) if merged != str(child.id)
    ]
    if spec.data_output is not None:
        spec.data_output.get(loop).pop(key, None)
        mark_changed(loop)
    if isinstance(spec, HuiqianSequentialMultiInstanceTask):
        _add_in_turn(loop, [key], Position.BEFORE)
    else:
        spec.create_child(loop, _collection(loop)[key], key)


def settle(loop: Task) -> None:
    """Let the loop finish, or start its next signers, after a change of its signers."""
    _spec(loop).settle(loop)
