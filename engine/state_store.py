"""An instance's workflow state in the database: a snapshot plus patches.

Each step writes one ``state_patches`` row holding what changed (the
operations of ``engine.state_diff`` for the workflow state and for the process
variables), not the whole state again.  When the pending patches outgrow half
the snapshot (and at least ``COMPACT_FLOOR`` bytes), the step writes a new
snapshot instead and deletes them: the bytes written per step stay
proportional to the step's change, the rewrites are amortised, and reading an
instance costs at most one and a half snapshots.  A finished instance is always
compacted, so its row alone holds its final state.

``LiveWorkflows`` keeps restored workflows between steps in one process.  An
entry is taken out while a step uses it and put back only after the step
committed, tagged with the instance's version.  At another version (another
process advanced the instance) the workflow is caught up from the patches
written since when it can be (``engine.state_catch_up``), else restored; a
failed step leaves nothing behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import state_diff
from engine.models import Instance, StatePatch
from engine.runtime import WorkflowRun

COMPACT_FLOOR = 16 * 1024
ACTIVE = ("running", "error")


def load_state(session: Session, instance: Instance) -> dict[str, Any]:
    """The instance's current state: its snapshot with the pending patches applied."""
    if "state" in instance.__dict__:
        state = state_diff.copied(instance.state)  # the session's copy: patches must not change it
    else:  # deferred: decoded just now for this call alone, so no copy is needed
        state = session.scalar(select(Instance.state).where(Instance.id == instance.id))
    if instance.patch_bytes:
        query = (
            select(StatePatch.ops)
            .where(StatePatch.instance_id == instance.id)
            .order_by(StatePatch.id)
        )
        for ops in session.scalars(query):
            state_diff.apply(state, ops, shared_copies=True)  # pooled values never change
    return state


def save(session: Session, instance: Instance, run: WorkflowRun, *, snapshot: bool = False) -> None:
    """Write the step's changes (state and variables) as a patch, or a new snapshot when
    one is due.

    ``snapshot`` forces one (the instance ended).
    """
    ops = run.changes()
    variables = run.variables() if ops is None else run.variables_as_saved()
    if ops is None or snapshot or not instance.state_bytes or run.saved_variables is None:
        _snapshot(session, instance, run, variables)
        run.saved_variables = variables
        return
    variable_ops = state_diff.diff(run.saved_variables, variables)
    run.saved_variables = variables
    if not ops and not variable_ops:
        return
    size = len(json.dumps(ops)) + len(json.dumps(variable_ops))
    if instance.patch_bytes + size > max(COMPACT_FLOOR, instance.state_bytes // 2):
        _snapshot(session, instance, run, variables)
        return
    instance.append_patch(ops, variable_ops, size, variables)


def _snapshot(
    session: Session, instance: Instance, run: WorkflowRun, variables: dict[str, Any]
) -> None:
    assert run.saved is not None
    text = json.dumps(run.saved.prune())
    instance.state = json.loads(text)
    instance.state_bytes = len(text)
    instance.count_state_write()
    instance.variables_snapshot = state_diff.copied(variables)
    had_patches, instance.patch_bytes = instance.patch_bytes, 0
    if had_patches:  # after every change to the row: the DELETE flushes them as one UPDATE
        session.execute(
            delete(StatePatch)
            .where(StatePatch.instance_id == instance.id)
            .execution_options(synchronize_session=False)
        )
    set_committed_value(instance, "patches", [])


_TASK_BYTES = 3500  # a task object, its dicts and its saved form, measured with tracemalloc
_ITEM_BYTES = 14  # each item of a list or dict in a task's data (a reference and its share)


def footprint(run: WorkflowRun) -> int:
    """Roughly the memory a live workflow holds (within about a quarter, measured).

    Each task owns its copy of every collection in its data (SpiffWorkflow copies
    them from the parent), so a co-review of N departments holds about N² items.
    """
    total = 0
    for task in run.all_tasks():
        total += _TASK_BYTES
        for value in task.data.values():
            if isinstance(value, list | dict):
                total += _ITEM_BYTES * len(value)
    return total


class LiveWorkflows:
    """Restored workflows of running instances, by instance id, checked by version.

    Bounded by their estimated memory (``footprint``), least recently used first
    out, except the workflow put last, which stays even alone over the budget; and
    by idle time: with several processes, an entry another process made
    stale would otherwise wait for the budget to push it out.  A budget of 0 turns
    the cache off.  A workflow's footprint is estimated again only when its number
    of tasks has changed by a tenth.
    """

    def __init__(self, budget_bytes: int = 16 * 1024 * 1024, idle_seconds: float = 300) -> None:
        self._budget = budget_bytes
        self._idle = idle_seconds
        self._items: OrderedDict[str, tuple[int, WorkflowRun, int, float]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def take(self, instance_id: str) -> tuple[int, WorkflowRun] | None:
        """The instance's workflow and the version it was put at, removed from the cache
        while in use; the caller uses it at that version, or catches it up
        (``engine.state_catch_up``)."""
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is None:
                return None
            self._held -= entry[2]
        return entry[0], entry[1]

    def put(self, instance_id: str, version: int, run: WorkflowRun) -> None:
        """Keep ``run`` as the instance's workflow at ``version``.

        The workflow just put stays even if it alone exceeds the budget: its step
        needed that memory anyway, so keeping it raises no peak, and a process
        busy with one very large instance does not restore it at every step.
        """
        if self._budget <= 0:
            return
        size = self._size(run)
        now = time.monotonic()
        with self._lock:
            old = self._items.pop(instance_id, None)
            if old is not None:
                self._held -= old[2]
            self._items[instance_id] = (version, run, size, now)
            self._held += size
            while len(self._items) > 1:
                _version, _run, oldest, at = next(iter(self._items.values()))
                if self._held <= self._budget and at >= now - self._idle:
                    break
                self._items.popitem(last=False)
                self._held -= oldest

    @staticmethod
    def _size(run: WorkflowRun) -> int:
        tasks = run.task_count()
        known = run.footprint
        if known is None or abs(tasks - known[0]) * 10 > known[0]:
            known = run.footprint = (tasks, footprint(run))
        return known[1]

    def __len__(self) -> int:
        return len(self._items)
