"""The saved form of a workflow's tasks: SpiffWorkflow's, with task data pooled by value.

SpiffWorkflow's ``TaskConverter`` stores each task's data as a delta from its
parent's *current* data.  A multi-instance parent's data grows with every
merged answer, and with it the delta of each of its N children: a saved state
written that way changes in N places per answer, and cannot be saved
incrementally.  Here each task names its data values instead, ``{key: ref}``,
and the state carries one pool ``values: {ref: value}``, where a ref is a hash
of the value's JSON.  A task's saved form then depends on the task alone, and
the roster that every task of a co-review carries is stored once.

Everything else of a task (id, parent, children, state, spec name, internal
data) is what ``TaskConverter`` writes.  States of format 1 (deltas) are still
read; the next save writes format 2.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.task import Task, TaskState

STATE_FORMAT = 2
_REF_BYTES = 8
TEXT_KEPT_ABOVE = 512  # characters: new values this large keep their JSON (``ValuePool.texts``)


def _raise(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def plain_json(value: Any, registry: Any) -> Any:
    """``value`` as fresh plain-JSON objects (dates and the like in the registry's form).

    Plain data goes through the C encoder alone, several times faster than the
    registry's converter, which only values of other types need.
    """
    try:
        return json.loads(json.dumps(value, default=_raise))
    except (TypeError, ValueError):
        return json.loads(json.dumps(registry.convert(value)))


class ValuePool:
    """Converts task data to refs into a pool of JSON values (and back)."""

    def __init__(
        self, registry: Any, values: dict[str, Any], known: dict[str, Any] | None = None
    ) -> None:
        """New values go to ``values``; those in ``known`` (a saved pool) are not repeated."""
        self.registry = registry
        self.values = values
        self.known = known or {}
        self._plain: dict[str, bool] = {}
        self.sizes: dict[str, int] = {}  # characters of JSON of each new value
        self.texts: dict[str, str] = {}  # the JSON of each new value above TEXT_KEPT_ABOVE

    def refs(self, data: dict[str, Any]) -> dict[str, str]:
        return {key: self._ref(value) for key, value in self.registry.clean(data).items()}

    def _ref(self, value: Any) -> str:
        try:  # plain JSON needs no conversion, and the C encoder is fast
            text = json.dumps(value, ensure_ascii=False, default=_raise)
        except (TypeError, ValueError):
            value = self.registry.convert(value)
            text = json.dumps(value, ensure_ascii=False)
        ref = hashlib.blake2b(text.encode(), digest_size=_REF_BYTES).hexdigest()
        if ref not in self.values and ref not in self.known:
            self.values[ref] = json.loads(text)
            self.sizes[ref] = len(text)
            if len(text) > TEXT_KEPT_ABOVE:
                self.texts[ref] = text
        return ref

    def data(self, refs: dict[str, str]) -> dict[str, Any]:
        """Fresh objects for every task: each task owns (and may change) its data."""
        return {key: self._fresh(ref) for key, ref in refs.items()}

    def _fresh(self, ref: str) -> Any:
        plain = self._plain.get(ref)
        if plain is None:
            value = self.values[ref]
            # Values the registry converted (dates, …) carry a "typename"; others are plain.
            plain = self._plain[ref] = '"typename"' not in json.dumps(value)
        if plain:
            return _copied(self.values[ref])
        return self.registry.restore(self.values[ref])


_ATOMS = {str, int, float, bool, type(None)}


def _copied(value: Any) -> Any:
    """A deep copy of plain JSON; containers of atoms are copied in C.

    A co-review's tasks each hold the roster: restoring N tasks copies it N times,
    which element by element in Python would cost seconds at N = 1,000.
    """
    kind = type(value)
    if kind is list:
        if set(map(type, value)) <= _ATOMS:
            return value.copy()
        return [_copied(item) for item in value]
    if kind is dict:
        if set(map(type, value.values())) <= _ATOMS:
            return value.copy()
        return {key: _copied(item) for key, item in value.items()}
    return value


def referenced(state: dict[str, Any]) -> set[str]:
    """The refs the tasks of ``state`` (and of its subprocesses) use."""
    workflows = [state, *state["subprocesses"].values()]
    return {
        ref for wf in workflows for task in wf["tasks"].values() for ref in task["data"].values()
    }


def task_to_dict(task: Task, pool: ValuePool, children: list[str] | None = None) -> dict[str, Any]:
    """The task's saved form, as fresh plain JSON (``children``: its ids, when known)."""
    return {
        "id": str(task.id),
        "parent": str(task._parent) if task.parent is not None else None,
        "children": children if children is not None else [str(c) for c in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": plain_json(task.internal_data, pool.registry),
        "data": pool.refs(task.data),
    }


def task_from_dict(dct: dict[str, Any], workflow: Any, pool: ValuePool) -> Task:
    task_spec = workflow.spec.task_specs.get(dct["task_spec"])
    task = Task(workflow, task_spec, state=dct["state"], id=UUID(dct["id"]))
    task._parent = UUID(dct["parent"]) if dct["parent"] is not None else None
    task._children = [UUID(child) for child in dct["children"]]
    task.last_state_change = dct["last_state_change"]
    task.triggered = dct["triggered"]
    task.internal_data = pool.registry.restore(dct["internal_data"])
    task.data = pool.data(dct["data"])
    if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
        task.workflow.top_workflow.event_manager.add_task(task)
    return task


def workflow_attributes(workflow: Any, registry: Any) -> dict[str, Any]:
    """The workflow-level keys of ``WorkflowConverter.to_dict``, without the tasks."""
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
    }


def workflow_to_dict(workflow: Any, pool: ValuePool) -> dict[str, Any]:
    tasks = {str(key): task_to_dict(task, pool) for key, task in workflow.tasks.items()}
    return {**workflow_attributes(workflow, pool.registry), "tasks": tasks}


def subworkflow_to_dict(subworkflow: Any, pool: ValuePool) -> dict[str, Any]:
    return {
        **workflow_to_dict(subworkflow, pool),
        "parent_task_id": str(subworkflow.parent_task_id),
        "spec": subworkflow.spec.name,
    }
