"""SpiffWorkflow task specs that Huiqian replaces, each fixing or adding one behaviour.

Multi-instance completion conditions: SpiffWorkflow 3.2 evaluates a
``completionCondition`` in the data of the *last* finished instance only, so a
rule like "60 % of the departments approved" cannot see the other
departments' answers.  Here the condition sees the parent's data, where the
output collection holds every merged answer, on top of the last instance's own
data.  ``tests/unit/test_task_specs.py`` shows the library behaviour and the fix.
"""

from __future__ import annotations

from typing import Any

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
from SpiffWorkflow.task import Task

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
        last = next(child for child in my_task.children if str(child.id) == merged[-1])
        context = _MergedDataTask(last, {**last.data, **my_task.data})
        return my_task.workflow.script_engine.evaluate(context, self.condition)


class HuiqianParallelMultiInstanceTask(_CompletionOnMergedData, ParallelMultiInstanceTask):
    pass


class HuiqianSequentialMultiInstanceTask(_CompletionOnMergedData, SequentialMultiInstanceTask):
    pass


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
