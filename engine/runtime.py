"""The SpiffWorkflow adapter: build, restore, advance and dump workflows.

Two things differ from using SpiffWorkflow's serializer directly:

* A definition version's spec (and the subprocess and decision specs it was
  deployed with) is serialised once, at deployment, and deserialised once per
  process into ``SpecCache``.  An instance's saved state holds only its own
  tasks and data: ``StateOnlyWorkflowConverter`` leaves the spec out, which
  SpiffWorkflow's default converter writes on every save.
* Every expression and script runs in ``engine.sandbox``; SpiffWorkflow's
  default script engine uses plain ``eval``/``exec``.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnSubWorkflow, BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task, TaskState

from engine import (
    loop_depth,  # noqa: F401 - installs the task-tree depth fix
    state_format,
)
from engine.sandbox import HuiqianScriptEngine
from engine.state_diff import Op, same
from engine.state_format import ValuePool
from engine.state_tracking import SavedState, StateMismatch, verifying
from engine.task_specs import serializer_config
from engine.workflow_walks import HuiqianWorkflow

SPEC_FORMAT = 1
_KEY = "_huiqian_key"


def task_key(task: Task) -> str:
    """``str(task.id)``, kept on the task: formatting a thousand UUIDs a step adds up."""
    cached: tuple[UUID, str] | None = task.__dict__.get(_KEY)
    if cached is None or cached[0] is not task.id:  # a rekeyed task (撤回) has a new id
        cached = task.__dict__[_KEY] = (task.id, str(task.id))
    return cached[1]


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its specs (restored from the cache), data pooled.

    The saved form is described in ``engine.state_format``.
    """

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        pool = ValuePool(self.registry, {})
        dct = state_format.workflow_to_dict(workflow, pool)
        dct["subprocesses"] = {
            str(key): state_format.subworkflow_to_dict(sub, pool)
            for key, sub in workflow.subprocesses.items()
        }
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["values"] = pool.values
        return dct

    def restore(self, dct: dict[str, Any], bundle: SpecBundle) -> BpmnWorkflow:
        # Restoring pops keys from the workflow dicts: work on copies of those levels.
        dct = {**dct, "subprocesses": {k: dict(v) for k, v in dct["subprocesses"].items()}}
        workflow = HuiqianWorkflow(bundle.spec, bundle.subprocess_specs, deserializing=True)
        if dct.get("format") == state_format.STATE_FORMAT:
            pool = ValuePool(self.registry, dct["values"])
            self._tasks_from_dict(workflow, dct, pool)
            self.set_default_attributes(workflow, dct)
            self._subprocesses_from_dict(dct["subprocesses"], workflow, workflow, pool)
        else:  # format 1: SpiffWorkflow's own task converter, data as deltas
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow

    @staticmethod
    def _tasks_from_dict(workflow: Any, dct: dict[str, Any], pool: ValuePool) -> None:
        workflow.tasks = {}
        for task in dct["tasks"].values():
            state_format.task_from_dict(task, workflow, pool)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))

    def _subprocesses_from_dict(
        self, dct: dict[str, Any], workflow: Any, top: BpmnWorkflow, pool: ValuePool
    ) -> None:
        """Parents before children, as SpiffWorkflow's ``subprocesses_from_dict``."""
        for task in list(workflow.tasks.values()):
            if not isinstance(task.task_spec, SubWorkflowTask) or str(task.id) not in dct:
                continue
            sub_dct = dct.pop(str(task.id))
            spec = top.subprocess_specs.get(task.task_spec.spec)
            sub = BpmnSubWorkflow(spec, task.id, top, deserializing=True)
            self._tasks_from_dict(sub, sub_dct, pool)
            self.set_default_attributes(sub, sub_dct)
            top.subprocesses[task.id] = sub
            sub.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            self._subprocesses_from_dict(dct, sub, top, pool)


@dataclass(frozen=True)
class SpecBundle:
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


class _Serialization:
    """SpiffWorkflow's registry with the state-only workflow converter swapped in."""

    def __init__(self) -> None:
        self.registry = BpmnWorkflowSerializer.configure(serializer_config())
        self.workflow_converter = StateOnlyWorkflowConverter(BpmnWorkflow, self.registry)

    def spec_to_dict(self, bundle: SpecBundle) -> dict[str, Any]:
        return {
            "format": SPEC_FORMAT,
            "spec": self.registry.convert(bundle.spec),
            "subprocess_specs": {
                name: self.registry.convert(spec) for name, spec in bundle.subprocess_specs.items()
            },
        }

    def spec_from_dict(self, dct: dict[str, Any]) -> SpecBundle:
        return SpecBundle(
            spec=self.registry.restore(dct["spec"]),
            subprocess_specs={
                name: self.registry.restore(spec) for name, spec in dct["subprocess_specs"].items()
            },
        )

    def state_to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        return {"format": state_format.STATE_FORMAT, **self.workflow_converter.to_dict(workflow)}

    def state_from_dict(self, dct: dict[str, Any], bundle: SpecBundle) -> BpmnWorkflow:
        return self.workflow_converter.restore(dct, bundle)

    def data_to_json(self, data: dict[str, Any]) -> dict[str, Any]:
        """Task or workflow data as plain JSON (dates become their ISO form)."""
        return state_format.plain_json(self.registry.clean(data), self.registry)  # type: ignore[no-any-return]


SERIALIZATION = _Serialization()


class SpecCache:
    """Deserialised specs by definition id: specs are immutable once deployed."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition_id: str, load: Callable[[], dict[str, Any]]) -> SpecBundle:
        with self._lock:
            bundle = self._items.get(definition_id)
            if bundle is not None:
                self._items.move_to_end(definition_id)
                return bundle
        bundle = SERIALIZATION.spec_from_dict(load())
        with self._lock:
            self._items[definition_id] = bundle
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return bundle


def is_human(task: Task) -> bool:
    return bool(task.task_spec.manual)


class WorkflowRun:
    """One loaded workflow and the operations the command layer performs on it."""

    def __init__(self, workflow: BpmnWorkflow, script_engine: HuiqianScriptEngine) -> None:
        self.workflow = workflow
        self.workflow.script_engine = script_engine
        self.saved: SavedState | None = None
        self.saved_variables: dict[str, Any] | None = None
        self.saved_waits: Any = None  # engine.scheduler.Waits as of the last save
        self.saved_open: set[str] | None = None  # open task rows as of the last save
        self.footprint: tuple[int, int] | None = None  # (tasks, bytes): engine.state_store
        # The instance's definition and state_seq the saved state is at (engine.state_catch_up).
        self.definition_id: str | None = None
        self.state_seq: int | None = None

    @classmethod
    def start(
        cls, bundle: SpecBundle, variables: dict[str, Any], script_engine: HuiqianScriptEngine
    ) -> WorkflowRun:
        workflow = HuiqianWorkflow(bundle.spec, bundle.subprocess_specs)
        workflow.task_tree.data.update(variables)
        run = cls(workflow, script_engine)
        run.advance()
        return run

    @classmethod
    def restore(
        cls, bundle: SpecBundle, state: dict[str, Any], script_engine: HuiqianScriptEngine
    ) -> WorkflowRun:
        """Rebuild a workflow from ``state``, which the run keeps as its saved state."""
        run = cls(SERIALIZATION.state_from_dict(state, bundle), script_engine)
        if state.get("format") == state_format.STATE_FORMAT:  # else the next save is whole
            run.saved = SavedState(state, run.workflow, SERIALIZATION.registry)
        return run

    def advance(self) -> None:
        self.workflow.do_engine_steps()

    def dump(self) -> dict[str, Any]:
        return SERIALIZATION.state_to_dict(self.workflow)

    def changes(self) -> list[Op] | None:
        """The patch from the last save, which ``saved`` now records; None: never saved.

        ``saved.state`` is then the state as saved; callers copy it before handing it
        to the database.
        """
        if self.saved is None:
            self.saved = SavedState(
                json.loads(json.dumps(self.dump())), self.workflow, SERIALIZATION.registry
            )
            return None
        return self.saved.changes(self.workflow, self.dump)

    def all_tasks(self) -> Iterator[Task]:
        """Every task of the workflow and its subprocesses, in creation order.

        A plain walk over the task maps: ``get_tasks`` climbs the tree through
        an iterator, several times slower with a thousand tasks.
        """
        yield from self.workflow.tasks.values()
        for sub in self.workflow.subprocesses.values():
            yield from sub.tasks.values()

    def task_count(self) -> int:
        return len(self.workflow.tasks) + sum(
            len(sub.tasks) for sub in self.workflow.subprocesses.values()
        )

    def ready_human_tasks(self) -> Iterator[Task]:
        return (t for t in self.all_tasks() if t._state == TaskState.READY and t.task_spec.manual)

    def task(self, task_id: str) -> Task | None:
        """The task, or None once it left the workflow (BpmnWorkflow raises for unknown ids)."""
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            return None

    def complete(self, task_id: str, data: dict[str, Any]) -> None:
        task = self.task(task_id)
        if task is None or task.state != TaskState.READY:
            raise LookupError(task_id)
        task.data.update(data)
        task.run()
        self.advance()

    def cancel(self) -> None:
        self.workflow.cancel()

    @property
    def completed(self) -> bool:
        return self.workflow.is_completed()

    def variables(self) -> dict[str, Any]:
        """The process variables an API client sees: the data of the latest finished task."""
        if self.workflow.is_completed():
            return SERIALIZATION.data_to_json(self.workflow.data or self._last_data())
        return SERIALIZATION.data_to_json(self._last_data())

    def variables_as_saved(self) -> dict[str, Any]:
        """``variables()`` read from the saved state, right after ``changes()``.

        The saved state holds every task's data as plain JSON already (pooled by
        ``engine.state_format``), so the latest task's values are looked up instead
        of converted again: at N = 1,000 each task carries the roster.  The values
        are shared with the saved state, which never changes a pooled value in place.
        Verify mode checks the result against ``variables()``.
        """
        assert self.saved is not None, "changes() first"
        workflow = self.workflow
        if workflow.is_completed() and workflow.data:
            return self.variables()
        saved = self.saved.state
        last = workflow.last_task or workflow.task_tree
        owner = saved
        if last.workflow is not workflow:
            owner = saved["subprocesses"][str(last.workflow.parent_task_id)]
        refs = owner["tasks"][task_key(last)]["data"]
        found = {key: saved["values"][ref] for key, ref in refs.items()}
        if verifying() and not same(found, expected := self.variables()):
            raise StateMismatch(f"variables differ from the saved state: {found} != {expected}")
        return found

    def _last_data(self) -> dict[str, Any]:
        last = self.workflow.last_task or self.workflow.task_tree
        return last.data

    def evaluate(self, task: Task, expression: str) -> Any:
        return self.workflow.script_engine.evaluate(task, expression)
