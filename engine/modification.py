"""Moving tokens of a running workflow by hand (instance modification, for admins).

``modify(run, cancel=[X…], start_before=Y)`` cancels every active task of the
elements ``X`` and then starts a new path just before element ``Y``: the new
task is added to the tree as a *triggered* child, the way SpiffWorkflow starts
an event subprocess, and runs like any task that became ready.  This repairs an
instance stuck on a wrong path, skips a step, or sends it back to an earlier one.

* Cancelling an activity with boundary events cancels those events too: they
  belong to the activity.  Cancelling a multi-instance activity cancels all its
  instances.
* The new path starts from the data the first cancelled element started with
  (its parent's), so the variables are those before the cancelled step; with
  nothing cancelled it starts from the data of the last completed task.
* Only elements of the top-level process can be cancelled or started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, StartEvent
from SpiffWorkflow.task import Task, TaskState

from engine.errors import InvalidInput
from engine.migration import ACTIVE
from engine.runtime import WorkflowRun


@dataclass(frozen=True)
class Modification:
    cancelled: list[str]  # BPMN ids of the cancelled elements
    started: str | None


def active_elements(run: WorkflowRun) -> dict[str, list[Task]]:
    """Active tasks of the top-level process by BPMN id."""
    found: dict[str, list[Task]] = {}
    for task in run.workflow.tasks.values():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and task.has_state(ACTIVE):
            found.setdefault(bpmn_id, []).append(task)
    return found


def _cancel_branch(task: Task) -> None:
    """Cancel ``task`` with its boundary events (if any) and everything below them."""
    split = task.parent if isinstance(task.parent.task_spec, BoundaryEventSplit) else None
    for root in split.children if split else [task]:
        if root.id in root.workflow.tasks and not root.has_state(TaskState.FINISHED_MASK):
            root.cancel()


def _start_spec(run: WorkflowRun, bpmn_id: str):  # noqa: ANN202 - a SpiffWorkflow TaskSpec
    for spec in run.workflow.spec.task_specs.values():
        if getattr(spec, "bpmn_id", None) == bpmn_id and spec.name == bpmn_id:
            if isinstance(spec, BoundaryEvent | StartEvent):
                raise InvalidInput(
                    f"cannot start before {bpmn_id!r}: boundary and start events are not "
                    "entered from outside; start before the activity or the next element"
                )
            return spec
    raise InvalidInput(f"the process has no element {bpmn_id!r} to start before")


def modify(run: WorkflowRun, cancel: Sequence[str], start_before: str | None) -> Modification:
    """Apply the modification in place, or raise ``InvalidInput`` changing nothing."""
    if not cancel and not start_before:
        raise InvalidInput("name elements to cancel, an element to start before, or both")
    active = active_elements(run)
    missing = [bpmn_id for bpmn_id in cancel if bpmn_id not in active]
    if missing:
        raise InvalidInput(
            f"not active: {', '.join(map(repr, missing))}; active elements are "
            f"{', '.join(map(repr, sorted(active))) or 'none'}",
            active=sorted(active),
        )
    spec = _start_spec(run, start_before) if start_before else None
    # A multi-instance's instances share its BPMN id: cancelling the activity takes them along.
    roots = [
        task
        for bpmn_id in dict.fromkeys(cancel)
        for task in active[bpmn_id]
        if task.parent not in active[bpmn_id]
    ]
    anchor = roots[0].parent if roots else run.workflow.last_task or run.workflow.task_tree
    if roots and isinstance(anchor.task_spec, BoundaryEventSplit):
        anchor = anchor.parent
    for root in roots:
        if root.id in root.workflow.tasks and not root.has_state(TaskState.FINISHED_MASK):
            _cancel_branch(root)
    if spec is not None:
        token = anchor._add_child(spec, TaskState.FUTURE)
        token.triggered = True
        spec._predict(token, mask=TaskState.NOT_FINISHED_MASK)
        spec._update(token)
    run.advance()
    return Modification(cancelled=list(dict.fromkeys(cancel)), started=start_before)
