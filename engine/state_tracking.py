"""What changed in a live workflow since it was last saved, as a patch.

Dumping a whole workflow at every step costs time and bytes in proportion to
its size: a co-review of N departments has N + 16 tasks, of which one answer
changes about three.  ``SavedState`` keeps the state as last saved (the
snapshot with every patch applied, plain JSON) together with a fingerprint of
each live task, and turns the next save into the operations of
``engine.state_diff`` for the tasks whose fingerprint moved.

A fingerprint covers what ``task_to_dict`` writes: state, spec, last state
change, triggered flag, parent, children, and the keys and value identities of
``data`` and ``internal_data``.  Replacing a value is seen; changing a container
*in place* is not, and is reported explicitly instead: multi-instance merges,
the signer changes of 加签/减签 and migration's new specs call
``engine.task_specs.mark_changed``; a task given a new id (撤回) is ``forget``-ed.

Most tasks of a large workflow are *quiet*: finished, or a human task waiting
for its officer.  SpiffWorkflow changes such a task only together with its state
(every ``_set_state`` stamps ``last_state_change``), so a quiet task whose state
and stamp are as saved is skipped without a fingerprint; that turns a save at
N = 1,000 from a thousand fingerprints into a few.  Tasks that wait for events,
joins, loops and predicted tasks are fingerprinted at every save, because the
library updates their internal data in place.  A task's fingerprint is kept on
the task itself, so the skip costs no lookup.

With ``HUIQIAN_VERIFY_STATE=1`` (the test suite sets it) every save is also
dumped in full and compared with the patched state, so a change the
fingerprints miss fails loudly instead of being lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnSubWorkflow, BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

from engine import state_diff, state_format
from engine.state_format import TEXT_KEPT_ABOVE, ValuePool
from engine.task_specs import CHANGED

VERIFY_ENV = "HUIQIAN_VERIFY_STATE"
_WORKFLOW_KEYS = ("data", "correlations", "last_task", "success", "completed", "root")


def verifying() -> bool:
    """Whether ``HUIQIAN_VERIFY_STATE=1`` asks for every save to be checked."""
    return os.environ.get(VERIFY_ENV) == "1"


class StateMismatch(AssertionError):
    """The patched state differs from a full dump: a change escaped the fingerprints."""


def check_against_dump(state: dict[str, Any], dump: dict[str, Any], what: str) -> None:
    """Verify mode: ``state`` must equal the full ``dump`` of its workflow.

    The saved pool may still hold values no task uses (until ``prune``); only the
    ones the dump uses are compared.
    """
    expected = _json(dump)
    values = state["values"]
    pooled = {ref: values.get(ref) for ref in expected["values"]}
    wrong = state_diff.diff(expected, {**state, "values": pooled})
    if wrong:
        raise StateMismatch(f"{what} differs from a full dump: {wrong[:5]}")


def _json(value: Any) -> Any:
    """An independent plain-JSON copy (tuples become lists, as in the database)."""
    return json.loads(json.dumps(value))


_CHILDREN = 5  # the position of the children in a fingerprint
_PRINT = "_huiqian_print"  # the task's fingerprint as last saved, kept on the task
_FINISHED = (TaskState.COMPLETED, TaskState.CANCELLED)


def forget(task: Task) -> None:
    """Make the next save write ``task`` whole, as a new task (it was given a new id)."""
    task.__dict__.pop(_PRINT, None)


def _quiet(task: Task, saved: tuple[Any, ...] | None) -> bool:
    """Whether ``task`` is as saved without looking further (see the module docstring)."""
    if saved is None or saved[0] != task._state or saved[2] != task.last_state_change:
        return False
    state = task._state
    return state in _FINISHED or (state == TaskState.READY and bool(task.task_spec.manual))


def fingerprint(task: Task) -> tuple[Any, ...]:
    """What ``task_to_dict`` reads, compared by identity: a new value is a new object.

    Built from C-level calls (``map(id, …)``), so that a thousand unchanged tasks
    cost about a millisecond.
    """
    data, internal = task.data, task.internal_data
    return (
        task._state,
        id(task.task_spec),
        task.last_state_change,
        task.triggered,
        task._parent,
        tuple(task._children),
        id(data),
        tuple(data),
        tuple(map(id, data.values())),
        id(internal),
        tuple(internal),
        tuple(map(id, internal.values())),
    )


def _workflows(workflow: BpmnWorkflow) -> list[tuple[list[Any], BpmnWorkflow | BpmnSubWorkflow]]:
    """The top workflow and each subprocess, with its path in the saved state."""
    found: list[tuple[list[Any], BpmnWorkflow | BpmnSubWorkflow]] = [([], workflow)]
    found += [(["subprocesses", str(key)], sub) for key, sub in workflow.subprocesses.items()]
    return found


class SavedState:
    """The state as saved, and how to describe the live workflow's changes against it."""

    def __init__(self, state: dict[str, Any], workflow: BpmnWorkflow, registry: Any) -> None:
        self.state = state
        self._registry = registry
        self._verify = verifying()
        self._text = json.dumps(state) if self._verify else ""
        # The JSON of the last save's new large values: a value that grew from one of them
        # is derived from the texts (``state_diff.grown``).
        self._texts: dict[str, str] = {}
        for _path, sub in _workflows(workflow):
            self._remember(sub)
        workflow.__dict__.pop(CHANGED, None)

    def changes(
        self, workflow: BpmnWorkflow, full_dump: Callable[[], dict[str, Any]]
    ) -> list[state_diff.Op]:
        """Operations from the saved state to ``workflow``'s; the saved state moves along.

        ``full_dump`` is only called in verify mode.
        """
        touched: set[UUID] = workflow.__dict__.pop(CHANGED, set())
        pool = ValuePool(self._registry, {}, known=self.state["values"])
        derived: dict[str, str] = {}
        ops: list[state_diff.Op] = []
        saved_subs = self.state["subprocesses"]
        live = _workflows(workflow)
        for path, sub in live:
            saved = self.state if not path else saved_subs.get(path[1])
            if saved is None:
                ops.append(["s", path, _json(state_format.subworkflow_to_dict(sub, pool))])
                self._remember(sub)
            else:
                self._workflow_changes(sub, saved, path, touched, pool, derived, ops)
        live_keys = {path[1] for path, _sub in live if path}
        ops += [["d", ["subprocesses", key]] for key in saved_subs if key not in live_keys]
        events = _json(self._registry.convert(workflow.bpmn_events))
        ops += state_diff.diff(self.state.get("bpmn_events"), events, ["bpmn_events"])
        state_diff.apply(self.state, ops)
        # The pool's new values are fresh objects; no later operation changes a pooled value.
        self.state["values"].update(pool.values)
        ops[:0] = self._new_values(pool, derived)
        self._texts = pool.texts
        if self._verify:
            self._check(ops, full_dump)
        return ops

    @staticmethod
    def _remember(sub: BpmnWorkflow | BpmnSubWorkflow) -> None:
        for task in sub.tasks.values():
            task.__dict__[_PRINT] = fingerprint(task)

    def _workflow_changes(
        self,
        sub: BpmnWorkflow | BpmnSubWorkflow,
        saved: dict[str, Any],
        path: list[Any],
        touched: set[UUID],
        pool: ValuePool,
        derived: dict[str, str],
        ops: list[state_diff.Op],
    ) -> None:
        """Add ``sub``'s changes to ``ops``; ``derived`` maps new values to the values
        their keys held before."""
        attributes = _json(state_format.workflow_attributes(sub, self._registry))
        for key in _WORKFLOW_KEYS:
            ops += state_diff.diff(saved.get(key), attributes[key], [*path, key])
        saved_tasks = saved["tasks"]
        tasks = sub.tasks
        forced = {id(tasks[task_id]) for task_id in touched if task_id in tasks}
        changed = [
            task
            for task in tasks.values()
            if id(task) in forced or not _quiet(task, task.__dict__.get(_PRINT))
        ]
        # A task that came or went changes its parent's children, whatever the parent's state.
        new = [task for task in changed if str(task.id) not in saved_tasks]
        parents = {task._parent for task in new}
        if len(tasks) - len(new) != len(saved_tasks):
            live = {str(task_id) for task_id in tasks}
            gone = [key for key in saved_tasks if key not in live]
            ops += [["d", [*path, "tasks", key]] for key in gone]
            parents |= {
                UUID(saved_tasks[key]["parent"]) for key in gone if saved_tasks[key]["parent"]
            }
        listed = set(map(id, changed))
        changed += [
            tasks[parent]
            for parent in parents
            if parent in tasks and id(tasks[parent]) not in listed
        ]
        for task in changed:
            key = str(task.id)
            previous = task.__dict__.get(_PRINT) if key in saved_tasks else None
            mark = task.__dict__[_PRINT] = fingerprint(task)
            if previous == mark and id(task) not in forced:
                continue
            # A multi-instance parent has N children: reuse their ids when they did not change.
            same_children = previous is not None and previous[_CHILDREN] == mark[_CHILDREN]
            children = saved_tasks[key]["children"] if same_children else None
            dumped = state_format.task_to_dict(task, pool, children)
            if previous is None:
                ops.append(["s", [*path, "tasks", key], dumped])
                continue
            before = saved_tasks[key]["data"]
            for name, ref in dumped["data"].items():
                if ref in pool.values and before.get(name) not in (None, ref):
                    derived.setdefault(ref, before[name])
            ops += state_diff.diff(saved_tasks[key], dumped, [*path, "tasks", key])

    def _new_values(self, pool: ValuePool, derived: dict[str, str]) -> list[state_diff.Op]:
        """Operations adding the step's new pooled values: a grown collection as its old
        value plus the difference, when that is shorter than the whole."""
        ops: list[state_diff.Op] = []
        for ref, value in pool.values.items():
            source = derived.get(ref)
            size = pool.sizes.get(ref, 0)
            if source is not None and size > TEXT_KEPT_ABOVE:
                target = ["values", ref]
                old_text, new_text = self._texts.get(source), pool.texts[ref]
                edits = old_text and state_diff.grown(old_text, new_text, target)
                if not edits:
                    edits = state_diff.diff(self.state["values"][source], value, target)
                if len(json.dumps(edits)) < size // 2:
                    ops += [["c", target, ["values", source]], *edits]
                    continue
            ops.append(["s", ["values", ref], value])
        return ops

    def prune(self) -> dict[str, Any]:
        """Drop pooled values no task refers to any more (before a snapshot); the state."""
        used = state_format.referenced(self.state)
        values = self.state["values"]
        for ref in [ref for ref in values if ref not in used]:
            del values[ref]
        if self._verify:
            self._text = json.dumps(self.state)
        return self.state

    def _check(self, ops: list[state_diff.Op], full_dump: Callable[[], dict[str, Any]]) -> None:
        """Verify mode: the previous save plus this patch must equal a full dump."""
        rebuilt = state_diff.apply(json.loads(self._text), _json(ops))
        expected = full_dump()
        for state in (rebuilt, self.state):
            check_against_dump(state, expected, "incremental state")
        self._text = json.dumps(self.state)
