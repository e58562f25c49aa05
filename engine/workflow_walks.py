"""``BpmnWorkflow`` with its three whole-tree walks made cheap, same semantics.

SpiffWorkflow 3.2 walks the task tree with ``TaskIterator``, a depth-first
walk in Python that keeps depth bookkeeping, about five microseconds a task:

* ``do_engine_steps`` walks it to find READY engine tasks (gateways, scripts,
  events), at least once per call;
* every task completion calls ``update_waiting_tasks``, which walks it to
  update WAITING tasks;
* ``is_completed`` walks it for an unfinished task.

A co-review of 1,000 departments has a thousand READY user tasks, and after an
answer usually no READY engine task: these walks cost more than the answer.
``HuiqianWorkflow`` answers each from the task map first, a C-level dict walk
of a fraction of a microsecond a task, and falls back on the library's walk
wherever its order could matter:

* engine steps: while no subprocess is active and at most one engine task is
  READY, that task runs (order cannot matter); otherwise the library decides;
* waiting tasks: none WAITING means the walk would do nothing; otherwise a
  lean pre-order walk visits the tasks in ``TaskIterator``'s order (children
  taken before the task is updated, as there), without the depth bookkeeping
  that ``engine.loop_depth`` makes moot anyway;
* completion: the walk visits every task of this workflow, so "no task is
  unfinished" is a scan of the map.

``tests/unit/test_workflow_walks.py`` runs each against the library's walk.
"""

from __future__ import annotations

from collections.abc import Callable

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState


class HuiqianWorkflow(BpmnWorkflow):
    """The top workflow of every instance (subprocesses stay ``BpmnSubWorkflow``)."""

    def do_engine_steps(
        self,
        will_complete_task: Callable[[Task], None] | None = None,
        did_complete_task: Callable[[Task], None] | None = None,
    ) -> None:
        if will_complete_task is None and did_complete_task is None:
            while not self.get_active_subprocesses():
                ready = self._ready_engine_tasks()
                if len(ready) > 1:
                    break
                if not ready:
                    self.refresh_timers()
                    return
                ready[0].run()
        super().do_engine_steps(will_complete_task, did_complete_task)

    def _ready_engine_tasks(self) -> list[Task]:
        return [
            task
            for task in self.tasks.values()
            if task._state == TaskState.READY and not task.task_spec.manual
        ]

    def update_waiting_tasks(self) -> None:
        if not any(task._state == TaskState.WAITING for task in self.tasks.values()):
            return
        tasks = self.tasks
        pending = [self.task_tree]
        while pending:
            task = pending.pop()
            if task._children and task._state >= TaskState.FUTURE:
                pending.extend(tasks[child] for child in reversed(task._children))
            if task._state == TaskState.WAITING:
                task.task_spec._update(task)

    def is_completed(self) -> bool:
        completed = bool(self.completed)  # type: ignore[has-type]
        if not completed and not any(
            task._state & TaskState.NOT_FINISHED_MASK for task in self.tasks.values()
        ):
            self.completed = completed = True
        return completed
