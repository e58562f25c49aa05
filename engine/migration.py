"""Moving a running workflow onto another version of its process (instance migration).

A saved state names each task's spec by name, and the name is the BPMN id (or
derived from it: ``review [child]`` for a multi-instance's instances,
``review.BoundaryEventSplit`` for an activity with boundary events).  Migration
re-points every task of the workflow at the spec of the same name in the new
version, or at the one ``mapping`` names for its BPMN id, then re-predicts what
comes after each active task from the new version's flows.

It is refused (``MigrationRefused``, 409, listing every offending element) when
the state cannot be carried over faithfully:

* a task that has started or finished (waiting, ready, running, completed,
  cancelled) has no counterpart: the state would name a spec that does not
  exist, and the restored workflow would be broken.  Map it to the element of
  the new version that takes its place;
* an active element changes kind (a user task that became a script task), an
  active multi-instance changes its loop (collection, item, cardinality), or an
  active call activity / subprocess calls something else: its running instances
  or subworkflow cannot be mapped one to one;
* a subworkflow (call activity, subprocess) has no spec in the new version.

Tasks that are only predicted (future paths) need no counterpart: they are
dropped and predicted again from the new flows.  Unlike SpiffWorkflow's own
``bpmn.util.diff.migrate_workflow``, nothing is matched by structural guessing
(ids only, or the explicit mapping) and ready or waiting tasks are not reset,
so a waiting user task keeps its id, its data and its task row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task, TaskState

from engine.errors import Conflict, InvalidInput
from engine.runtime import SpecBundle, WorkflowRun
from engine.task_specs import mark_changed

NOT_REACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE
ACTIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
# Spec names SpiffWorkflow derives from an element's BPMN id.
DERIVED_SUFFIXES = (" [child]", ".BoundaryEventSplit", ".BoundaryEventJoin")
LOOP_ATTRIBUTES = ("data_input", "data_output", "input_item", "output_item", "cardinality")


class MigrationRefused(Conflict):
    """The instance's state cannot be carried over to the requested version."""

    type_slug = "migration-unsafe"
    title = "Migration refused"


@dataclass(frozen=True)
class Refusal:
    element_id: str
    reason: str


def element_id(spec: TaskSpec) -> str:
    return getattr(spec, "bpmn_id", None) or spec.name


def translate(name: str, mapping: Mapping[str, str]) -> str:
    """The spec name in the new version: mapped by BPMN id, derived names included."""
    if name in mapping:
        return mapping[name]
    for suffix in DERIVED_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in mapping:
            return mapping[name[: -len(suffix)]] + suffix
    return name


def _bpmn_ids(specs: Iterator[BpmnProcessSpec]) -> set[str]:
    return {
        task_spec.bpmn_id
        for spec in specs
        for task_spec in spec.task_specs.values()
        if getattr(task_spec, "bpmn_id", None)
    }


def check_mapping(old: SpecBundle, new: SpecBundle, mapping: Mapping[str, str]) -> None:
    """Every key must be an element of the current version, every value one of the new."""
    old_ids = _bpmn_ids(iter([old.spec, *old.subprocess_specs.values()]))
    new_ids = _bpmn_ids(iter([new.spec, *new.subprocess_specs.values()]))
    unknown = [f"{key!r} (current version)" for key in mapping if key not in old_ids]
    unknown += [f"{value!r} (target version)" for value in mapping.values() if value not in new_ids]
    if unknown:
        raise InvalidInput(f"the mapping names unknown elements: {', '.join(unknown)}")


def _describe(spec: TaskSpec) -> str:
    return type(spec).__name__.removeprefix("Huiqian")


def _reference(value: Any) -> Any:
    return getattr(value, "bpmn_id", value)


def _mismatch(old: TaskSpec, new: TaskSpec, mapping: Mapping[str, str], version: int) -> str | None:
    """Why an *active* task of ``old`` cannot continue as ``new``, or None."""
    if _describe(old) != _describe(new):
        return f"is a {_describe(old)} now but a {_describe(new)} in version {version}"
    if isinstance(old, LoopTask):
        for attribute in LOOP_ATTRIBUTES:
            before = _reference(getattr(old, attribute, None))
            after = _reference(getattr(new, attribute, None))
            if before != after:
                return (
                    f"its running multi-instance loop changes {attribute} ({before!r} → "
                    f"{after!r}) in version {version}"
                )
    if isinstance(old, SubWorkflowTask) and translate(old.spec, mapping) != new.spec:
        return f"calls {old.spec!r} now but {new.spec!r} in version {version}"
    return None


@dataclass
class _Move:
    workflow: Any  # BpmnWorkflow or BpmnSubWorkflow
    task: Task
    target: TaskSpec | None


def _plan_tasks(
    workflow: Any,
    new_spec: BpmnProcessSpec,
    mapping: Mapping[str, str],
    version: int,
    refusals: list[Refusal],
) -> list[_Move]:
    moves = []
    for task in workflow.tasks.values():
        target = new_spec.task_specs.get(translate(task.task_spec.name, mapping))
        if task.has_state(NOT_REACHED):
            moves.append(_Move(workflow, task, target))
            continue
        element = element_id(task.task_spec)
        state = TaskState.get_name(task.state).lower()
        if target is None:
            where = "active" if task.has_state(ACTIVE) else state
            refusals.append(
                Refusal(
                    element,
                    f"{where} element {element!r} ({_describe(task.task_spec)}, {state}) has no "
                    f"counterpart in version {version}: map it to an element of that version",
                )
            )
            continue
        why = (
            _mismatch(task.task_spec, target, mapping, version) if task.has_state(ACTIVE) else None
        )
        if why:
            refusals.append(Refusal(element, f"active element {element!r} {why}"))
            continue
        moves.append(_Move(workflow, task, target))
    return moves


def _plan(
    run: WorkflowRun, new: SpecBundle, mapping: Mapping[str, str], version: int
) -> list[_Move]:
    refusals: list[Refusal] = []
    moves = _plan_tasks(run.workflow, new.spec, mapping, version, refusals)
    for subworkflow in run.workflow.subprocesses.values():
        name = subworkflow.spec.name
        new_spec = new.subprocess_specs.get(translate(name, mapping))
        if new_spec is None:
            refusals.append(
                Refusal(name, f"subprocess {name!r} has no counterpart in version {version}")
            )
            continue
        moves += _plan_tasks(subworkflow, new_spec, mapping, version, refusals)
    if refusals:
        raise MigrationRefused(
            f"cannot migrate to version {version}: "
            + "; ".join(refusal.reason for refusal in refusals),
            problems=[{"element_id": r.element_id, "reason": r.reason} for r in refusals],
        )
    return moves


def _repredict(task: Task) -> None:
    """Rebuild the predicted paths after an active task from its (new) spec's flows."""
    workflow = task.workflow
    for child in list(task.children):
        # Multi-instance instances are "triggered" children: they are real work, not predictions.
        if child.has_state(NOT_REACHED) and not child.triggered and child.id in workflow.tasks:
            workflow._remove_task(child.id)
    task.task_spec._predict(task, mask=task.state | NOT_REACHED)


def migrate(
    run: WorkflowRun, new: SpecBundle, mapping: Mapping[str, str], version: int
) -> list[str]:
    """Move ``run`` onto ``new`` in place, or raise ``MigrationRefused`` changing nothing.

    Returns the BPMN ids of the active elements that were renamed by ``mapping``.
    """
    moves = _plan(run, new, mapping, version)
    renamed = sorted(
        {
            element_id(move.task.task_spec)
            for move in moves
            if move.target is not None
            and move.task.has_state(ACTIVE)
            and element_id(move.task.task_spec) != element_id(move.target)
        }
    )
    for move in moves:
        if move.target is not None:
            move.task.task_spec = move.target
            mark_changed(move.task)  # a new spec, whatever the task's state
    for move in moves:
        if move.target is None and move.task.id in move.workflow.tasks:
            move.workflow._remove_task(move.task.id)
    run.workflow.spec = new.spec
    run.workflow.subprocess_specs = new.subprocess_specs
    for subworkflow in run.workflow.subprocesses.values():
        subworkflow.spec = new.subprocess_specs[translate(subworkflow.spec.name, mapping)]
    for workflow in (run.workflow, *run.workflow.subprocesses.values()):
        for task in [t for t in workflow.tasks.values() if t.has_state(ACTIVE)]:
            _repredict(task)
    return renamed
