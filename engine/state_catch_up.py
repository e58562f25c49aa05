"""Bringing a process's stale live workflow up to date from the patches written since.

With several processes (gunicorn workers), the steps of one instance land on
any of them, and a process whose live workflow is older than the instance used
to rebuild it from the database: at N = 1,000 departments that is 0.1–0.3 s,
against a few milliseconds for a step.  The patches the other processes wrote
since say exactly which tasks changed, so ``catch_up`` applies them to the
workflow's saved state and rebuilds only those tasks.

It gives up (and the caller restores in full) whenever the shortcut is not
plainly safe: a snapshot was written in between (the patches are gone), the
patches touch a subprocess or a call activity (their tasks hold references a
rebuild would leave dangling), the instance moved to another definition
(migration), or the workflow was never saved in this process.
In verify mode (``HUIQIAN_VERIFY_STATE=1``) the caught-up workflow is dumped
and compared with the patched state, so a difference fails loudly.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import state_diff, state_format
from engine.models import Instance, StatePatch
from engine.runtime import SERIALIZATION, WorkflowRun
from engine.state_format import ValuePool
from engine.state_tracking import SavedState, StateMismatch, check_against_dump, verifying

log = logging.getLogger(__name__)
# Top-level keys of a saved state that a patch may change for the shortcut to apply.
_WORKFLOW_KEYS = {
    "tasks",
    "values",
    "data",
    "correlations",
    "last_task",
    "success",
    "completed",
    "bpmn_events",
}


def catch_up(session: Session, instance: Instance, run: WorkflowRun) -> bool:
    """Bring ``run`` to ``instance``'s current state; False when it must be restored.

    A patch that does not fit the copy (it should always fit) is logged and answered
    with False, so the step restores from the database instead of failing; verify
    mode raises instead.  ``run`` is unusable after False.
    """
    try:
        return _catch_up(session, instance, run)
    except (LookupError, ValueError, TypeError):
        if verifying():
            raise
        log.warning("catching up instance %s failed; restoring it", instance.id, exc_info=True)
        return False


def _catch_up(session: Session, instance: Instance, run: WorkflowRun) -> bool:
    if run.saved is None or run.state_seq is None or run.state_seq > instance.state_seq:
        return False
    if run.definition_id != instance.definition_id:
        return False  # migrated meanwhile: the live workflow has the old specs
    missing = instance.state_seq - run.state_seq
    patches: list[list[Any]] = []
    variable_patches: list[list[Any]] = []
    if missing:
        rows = session.execute(
            select(StatePatch.seq, StatePatch.ops, StatePatch.variable_ops)
            .where(StatePatch.instance_id == instance.id, StatePatch.seq > run.state_seq)
            .order_by(StatePatch.seq)
        ).all()
        if [row.seq for row in rows] != list(range(run.state_seq + 1, instance.state_seq + 1)):
            return False  # a snapshot came in between: its patches were folded and deleted
        patches = [row.ops for row in rows]
        variable_patches = [row.variable_ops for row in rows]
    touched = _touched_tasks(patches)
    if touched is None or not _plain(run, touched):
        return False
    state = run.saved.state
    for ops in patches:
        state_diff.apply(state, ops, shared_copies=True)
    _rebuild(run, state, touched)
    run.saved = SavedState(state, run.workflow, SERIALIZATION.registry)
    if verifying():
        check_against_dump(state, run.dump(), "caught-up workflow")
    run.saved_variables = _variables_after(run, variable_patches, instance)
    run.state_seq = instance.state_seq
    run.saved_open = None  # read from the rows again
    run.saved_waits = None
    return True


def _variables_after(
    run: WorkflowRun, variable_patches: list[list[Any]], instance: Instance
) -> dict[str, Any]:
    """The variables as saved, from the run's and the patches' variable operations.

    The run's may share values with its saved state, so they are copied before the
    operations change them; reading ``instance.variables`` instead would load every
    pending patch again.  Verify mode compares the two.
    """
    if run.saved_variables is None:
        return instance.variables
    variables = run.saved_variables
    if variable_patches:
        variables = state_diff.copied(variables)
        for ops in variable_patches:
            state_diff.apply(variables, ops)
    if verifying() and variables != instance.variables:
        raise StateMismatch("caught-up variables differ from the instance's")
    return variables


def _touched_tasks(patches: list[list[Any]]) -> set[str] | None:
    """The ids of the top workflow's tasks the patches change; None: not a plain case."""
    touched: set[str] = set()
    for ops in patches:
        for op in ops:
            path = op[1]
            if not path or path[0] not in _WORKFLOW_KEYS:
                return None
            if path[0] == "tasks":
                if len(path) < 2:
                    return None
                touched.add(path[1])
    return touched


def _plain(run: WorkflowRun, touched: set[str]) -> bool:
    """No subprocesses, and none of the live tasks to rebuild starts one."""
    workflow = run.workflow
    if workflow.subprocesses:
        return False
    for key in touched:
        task = workflow.tasks.get(UUID(key))
        if task is not None and isinstance(task.task_spec, SubWorkflowTask):
            return False
    return True


def _rebuild(run: WorkflowRun, state: dict[str, Any], touched: set[str]) -> None:
    """Replace the touched tasks with ones built from ``state``; set the workflow's keys."""
    workflow = run.workflow
    events = workflow.event_manager
    pool = ValuePool(SERIALIZATION.registry, state["values"])
    for key in touched:
        old = workflow.tasks.pop(UUID(key), None)
        if old is not None:
            events.remove_task(old)
        if key in state["tasks"]:
            state_format.task_from_dict(state["tasks"][key], workflow, pool)
    workflow.task_tree = workflow.tasks[UUID(state["root"])]
    SERIALIZATION.workflow_converter.set_default_attributes(workflow, dict(state))
    workflow.bpmn_events = SERIALIZATION.registry.restore(state.get("bpmn_events", []))
