"""SpiffWorkflow task specs that Huiqian replaces, each fixing or adding one behaviour.

Multi-instance completion conditions: SpiffWorkflow 3.2 evaluates a
``completionCondition`` in the data of the *last* finished instance only, so a
rule like "60 % of the departments approved" cannot see the other
departments' answers.  Here the condition sees the parent's data, where the
output collection holds every merged answer, on top of the last instance's own
data.  ``tests/unit/test_task_specs.py`` shows the library behaviour and the fix.

Signers changed at run time (加签/减签, ``engine/approvals/multi_instance.py``): a
parallel multi-instance holds its loop open until *every* instance is COMPLETED,
so an instance cancelled by 减签 would keep it open for ever.  Here cancelled
instances count as done, and waves of signers queued before or after the
current ones start when those are done (``settle``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import (
    ServiceTaskConverter,
    SpiffMultiInstanceConverter,
)
from SpiffWorkflow.spiff.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
)
from SpiffWorkflow.task import Task, TaskState

from engine.ambient import running_service_task


class _MergedDataTask:
    """The attributes of a Task that the script engine reads, with merged data."""

    def __init__(self, task: Task, data: dict[str, Any]) -> None:
        self.task = task
        self.data = data
        self.task_spec = task.task_spec
        self.workflow = task.workflow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


class _CompletionOnMergedData:
    condition: str | None

    def check_completion_condition(self, my_task: Task) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        last = my_task.workflow.tasks[UUID(merged[-1])]  # a child: same workflow
        context = _MergedDataTask(last, {**last.data, **my_task.data})
        return my_task.workflow.script_engine.evaluate(context, self.condition)


WAVES = "huiqian_waves"
CHANGED = "huiqian_changed"


def mark_changed(task: Task) -> None:
    """Tell incremental persistence (``engine.runtime``) that ``task`` changed in place.

    Merging a child's answer alters the parent's data and internal data without
    changing its state, the signal the runtime otherwise watches.
    """
    task.workflow.top_workflow.__dict__.setdefault(CHANGED, set()).add(task.id)


def _finished(task: Task) -> bool:
    return task.state in (TaskState.COMPLETED, TaskState.CANCELLED)


class HuiqianParallelMultiInstanceTask(_CompletionOnMergedData, ParallelMultiInstanceTask):
    """Parallel instances whose set may change while they run (see the module docstring).

    ``internal_data[WAVES]`` lists the keys of the input collection still to start, wave
    by wave; a wave starts when every instance before it has finished.
    """

    def merge_child(self, workflow: Any, child: Task) -> None:
        # The library's parallel merge decides READY itself; only the plain merge is wanted.
        MultiInstanceTask.merge_child(self, workflow, child)
        mark_changed(child.parent)
        self.settle(child.parent)

    def children_complete(self, my_task: Task) -> bool:
        return all(_finished(child) for child in self._instances(my_task))

    def settle(self, my_task: Task) -> None:
        """Decide what the loop does now that its answers or its signers changed."""
        if self.check_completion_condition(my_task):
            for child in self._instances(my_task):
                child.cancel()
            my_task.internal_data.pop(WAVES, None)
            my_task._set_state(TaskState.READY)
        elif self.children_complete(my_task):
            waves = my_task.internal_data.pop(WAVES, [])
            if not waves:
                my_task._set_state(TaskState.READY)
                return
            if waves[1:]:
                my_task.internal_data[WAVES] = waves[1:]
            collection = self.data_input.get(my_task)
            for key in waves[0]:
                self.create_child(my_task, collection[key], key)


class HuiqianSequentialMultiInstanceTask(_CompletionOnMergedData, SequentialMultiInstanceTask):
    """Sequential instances in the order of ``internal_data["remaining"]``, which may change."""

    def merge_child(self, workflow: Any, child: Task) -> None:
        super().merge_child(workflow, child)
        mark_changed(child.parent)

    def settle(self, my_task: Task) -> None:
        """Decide what the loop does now that its signers changed (not on each answer)."""
        active = [child for child in self._instances(my_task) if not _finished(child)]
        if self.check_completion_condition(my_task):
            for child in active:
                child.cancel()
            my_task.internal_data["remaining"] = []
            my_task._set_state(TaskState.READY)
        elif not active:
            if self.children_complete(my_task):
                my_task._set_state(TaskState.READY)
            else:
                self.add_next_child(my_task)


class HuiqianServiceTask(ServiceTask):
    """A service task that can run later, in a job, instead of inside the request.

    With ``huiqian:async="true"`` (or ``camunda:asyncBefore``) the task only
    starts (state STARTED) when the workflow reaches it; the job worker runs the
    handler afterwards, retrying with backoff and opening an incident when the
    attempts run out (``huiqian:retries``, default ``DEFAULT_RETRIES``).  Without
    the attribute it runs inline, and a failure rolls the whole step back.
    """

    DEFAULT_RETRIES = 5

    @property
    def is_async(self) -> bool:
        value = str((self.extensions or {}).get("async", "")).lower()
        return value in ("true", "1", "yes")

    @property
    def attempts(self) -> int:
        value = (self.extensions or {}).get("retries") or self.retries
        return int(value) if value else self.DEFAULT_RETRIES

    def _run_hook(self, my_task: Task) -> Any:
        if self.is_async and running_service_task() != my_task.id:
            return None  # STARTED: the job worker will run it
        return super()._run_hook(my_task)


def serializer_config() -> dict[type, type]:
    """SpiffWorkflow's spiff serializer configuration, knowing Huiqian's specs."""
    config = dict(SPIFF_CONFIG)
    config[HuiqianServiceTask] = ServiceTaskConverter
    config[HuiqianParallelMultiInstanceTask] = SpiffMultiInstanceConverter
    config[HuiqianSequentialMultiInstanceTask] = SpiffMultiInstanceConverter
    return config
