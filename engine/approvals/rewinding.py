"""Rewinding a workflow to an earlier task (退回, 撤回) with SpiffWorkflow's ``reset_from_task_id``.

The library resets a task and drops everything after it, across called subprocesses.
Three things it leaves for the caller, each handled here:

* **The reset task keeps its id.**  A human-task row is keyed by the SpiffWorkflow task
  id, and the earlier run's row must stay as history, so the reset task gets a fresh id
  (``_rekey``) and with it a new row.
* **Dropped waiting events stay in the event manager.**  ``Workflow._remove_task`` does
  not tell ``BpmnWorkflow.event_manager``, so a timer of a dropped branch would still
  be refreshed and scheduled; ``_forget_dropped_waits`` removes them.
* **A called process that had finished stays marked completed** when a task inside it
  is reset, so its call activity would end again at once, with stale data;
  ``_reopen_called_processes`` clears the mark.
* **Instances of a multi-instance cannot be reset one by one** (the loop keeps their
  merged answers); returning to one re-runs the whole loop (``reset_point``).

Ancestors and descendants cross called subprocesses (``lineage``, ``following``), which
``Task.is_descendant_of`` does not.  ``tests/unit/test_rewinding.py`` shows each point.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from engine.approvals.multi_instance import loop_of
from engine.runtime import WorkflowRun
from engine.state_tracking import forget


def _caller(workflow: BpmnWorkflow) -> Task | None:
    """The call activity (or subprocess task) that runs ``workflow``; None for the top one."""
    parent_id = workflow.parent_task_id
    if parent_id is None:
        return None
    found: Task | None = workflow.top_workflow.get_task_from_id(parent_id)
    return found


def lineage(task: Task) -> Iterator[Task]:
    """``task``'s ancestors, nearest first, through the call activities above it."""
    current: Task | None = task
    while current is not None:
        parent = current.parent
        current = parent if parent is not None else _caller(current.workflow)
        if current is not None:
            yield current


def callers(task: Task) -> Iterator[Task]:
    """The call activities whose (nested) subprocess ``task`` runs in, innermost first."""
    caller = _caller(task.workflow)
    while caller is not None:
        yield caller
        caller = _caller(caller.workflow)


def precedes(earlier: Task, task: Task) -> bool:
    """``earlier`` ran before ``task`` on ``task``'s path.

    Either it is an ancestor, or it ran inside a called process whose call activity is an
    ancestor of ``task`` while ``task`` itself runs outside that called process.
    """
    ancestors = list(lineage(task))
    if any(ancestor is earlier for ancestor in ancestors):
        return True
    own_callers = list(callers(task))
    return any(
        any(ancestor is caller for ancestor in ancestors)
        and not any(own is caller for own in own_callers)
        for caller in callers(earlier)
    )


def following(task: Task) -> Iterator[Task]:
    """Every task after ``task`` in its branch, including those of subprocesses it started."""
    top = task.workflow.top_workflow
    pending = list(task.children)
    while pending:
        current = pending.pop()
        yield current
        pending.extend(current.children)
        subprocess = top.subprocesses.get(current.id)
        if subprocess is not None:
            pending.append(subprocess.task_tree)


def reset_point(task: Task) -> Task:
    """Where a rewind to ``task`` starts: the whole loop for an instance of a multi-instance."""
    return loop_of(task) or task


def rewind(run: WorkflowRun, target: Task) -> Task:
    """Reset the workflow to ``target`` (already a ``reset_point``); returns the reset task.

    The caller advances the workflow afterwards.
    """
    workflow = run.workflow
    workflow.reset_from_task_id(target.id)
    _forget_dropped_waits(workflow)
    _reopen_called_processes(target)
    if target.task_spec.manual:
        _rekey(target)
    return target


def _forget_dropped_waits(workflow: BpmnWorkflow) -> None:
    live = [workflow, *workflow.subprocesses.values()]

    def in_tree(task: Task) -> bool:
        return task.workflow in live and task.workflow.tasks.get(task.id) is task

    manager = workflow.event_manager
    manager.tasks = {task_id: task for task_id, task in manager.tasks.items() if in_tree(task)}


def _reopen_called_processes(task: Task) -> None:
    """Every called process from ``task``'s own up to the top runs again."""
    workflow = task.workflow
    while (caller := _caller(workflow)) is not None:
        workflow.completed = False
        workflow = caller.workflow


def _rekey(task: Task) -> None:
    """Give ``task`` a fresh id, as if the library had made it anew."""
    workflow = task.workflow
    old, new = task.id, uuid4()
    workflow.tasks[new] = workflow.tasks.pop(old)
    task.id = new
    forget(task)
    parent = task.parent
    if parent is not None:
        parent._children = [new if child == old else child for child in parent._children]
    for child in task.children:
        child._parent = new
