"""Keep the human-task rows in step with a workflow's READY user tasks.

After every step the command layer calls ``sync_human_tasks``: READY user
tasks without a row get one (with department, form, due date), and open rows
whose workflow task is no longer READY (cancelled by a boundary event, by
termination, by the completion rule of a multi-instance) are closed as
``cancelled``.

A step touches only the ids of the instance's rows, never the rows themselves
(an N-way co-review has N of them), and each row stays O(1) in size: its
``data`` leaves out what is as long as the roster, and its ``form`` holds the
form's key, whose JSON Schema ``task_form`` looks up when the task is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.task import Task

from engine.business_calendar import BusinessCalendar, working_days
from engine.errors import ScriptError
from engine.models import HumanTask, Instance
from engine.process_parser import EXPRESSION, department_rule
from engine.repository import TaskRepository
from engine.runtime import SERIALIZATION, WorkflowRun, task_key
from engine.state_tracking import StateMismatch, verifying

FormLookup = Callable[[str], dict[str, Any] | None]

# Start variables as long as the jurisdiction's roster (``engine.starting``), the same for
# every task of an instance: a task row leaves them out, so that each of N parallel tasks
# stays O(1) in size.  Read them from the instance's variables or the jurisdiction pack.
ROSTER_SIZED_VARIABLES = frozenset({"roster", "measure_departments"})


def _department(run: WorkflowRun, task: Task) -> str | None:
    rule = department_rule(task.task_spec.extensions or {}, task.task_spec.lane)
    if rule is None:
        return None
    match = EXPRESSION.match(rule)
    if not match:
        return rule.split(",")[0].strip()
    value = run.evaluate(task, match.group(1))
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str) or not value:
        raise ScriptError(
            f"department expression {rule!r} of task {task.task_spec.bpmn_id!r} gave {value!r}, "
            "not a department code"
        )
    return value


def _visible_data(task: Task) -> dict[str, Any]:
    """Task data shown with the task, without the collections a multi-instance fans out
    and without the roster-sized start variables.

    Leaving those out keeps each of N parallel tasks O(1) in size instead of O(N).
    """
    hidden: set[str] = set(ROSTER_SIZED_VARIABLES)
    parent_spec = task.parent.task_spec if task.parent else None
    if isinstance(parent_spec, MultiInstanceTask):
        for ref in (parent_spec.data_input, parent_spec.data_output):
            if ref is not None:
                hidden.add(ref.bpmn_id)
    data = {k: v for k, v in task.data.items() if k not in hidden}
    return json.loads(json.dumps(SERIALIZATION.data_to_json(data), default=str))


def _due_at(
    run: WorkflowRun, task: Task, now: datetime, calendar: BusinessCalendar
) -> datetime | None:
    """``huiqian:dueIn``: an ISO 8601 duration, ``<n>WD`` working days, or ``${expression}``."""
    due_in = (task.task_spec.extensions or {}).get("dueIn")
    if not due_in:
        return None
    match = EXPRESSION.match(due_in)
    if match:
        due_in = str(run.evaluate(task, match.group(1)))
    days = working_days(due_in)
    if days is not None:
        return calendar.add_working_days(now, days)
    duration = TimerEventDefinition.parse_iso_duration(due_in)
    return now + TimerEventDefinition.get_timedelta_from_start(duration, now)


def task_form(form: dict[str, Any] | None, forms: FormLookup) -> dict[str, Any] | None:
    """A task row's form as readers see it: ``{"key": ..., "schema": ...}``.

    Rows store the form's key only and the schema is looked up here; rows written
    before that keep the copy of the schema they were created with.
    """
    if not form or "schema" in form:
        return form
    key = form.get("key")
    return {**form, "schema": forms(key) if key else None}


def form_schema(form: dict[str, Any] | None, forms: FormLookup) -> dict[str, Any] | None:
    """The JSON Schema of a task row's form, or None when it has none."""
    resolved = task_form(form, forms)
    return resolved.get("schema") if resolved else None


def sync_human_tasks(
    run: WorkflowRun,
    instance: Instance,
    tasks: TaskRepository,
    forms: FormLookup,
    now: datetime,
    calendar: BusinessCalendar,
    known_open: set[str] | None = None,
) -> tuple[list[HumanTask], list[HumanTask]]:
    """Create rows for new READY user tasks and cancel stale open ones.

    Returns (created, cancelled).  Reads ids only: the instance's open ones, and
    which of the READY tasks without an open row have a row at all (usually none
    does); only the rows it cancels are loaded.  ``known_open``, the open rows as
    the live workflow's previous save left them (``run.saved_open``), saves the
    first query; rows closed since in this transaction may still be in it, and
    cancelling touches open rows only.  Afterwards ``run.saved_open`` is set.
    """
    ready = {task_key(task): task for task in run.ready_human_tasks()}
    open_ids = _open_ids(tasks, instance, known_open)
    without_open_row = [task_id for task_id in ready if task_id not in open_ids]
    existing = tasks.existing_ids(without_open_row)
    created: list[HumanTask] = []
    for task_id in without_open_row:
        if task_id in existing:
            continue
        task = ready[task_id]
        extensions = task.task_spec.extensions or {}
        form_key = extensions.get("formKey")
        if form_key:
            forms(form_key)  # an invalid schema fails the step, as it did when rows kept it
        row = HumanTask(
            id=task_id,
            instance_id=instance.id,
            process_key=instance.process_key,
            bpmn_id=task.task_spec.bpmn_id,
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            jurisdiction=instance.jurisdiction,
            department=_department(run, task),
            state="open",
            form={"key": form_key} if form_key else None,
            data=_visible_data(task),
            created_at=now,
            due_at=_due_at(run, task, now, calendar),
        )
        tasks.add(row)
        created.append(row)
    stale = tasks.still_open([task_id for task_id in open_ids if task_id not in ready])
    cancelled = tasks.cancel(stale, now)
    run.saved_open = {task_id for task_id in open_ids if task_id in ready} | {
        row.id for row in created
    }
    return created, cancelled


def _open_ids(tasks: TaskRepository, instance: Instance, known: set[str] | None) -> set[str]:
    if known is None:
        return tasks.open_ids(instance.id)
    if verifying():
        stored = tasks.open_ids(instance.id)
        if not stored <= known:
            raise StateMismatch(f"open task rows {sorted(stored - known)} unknown to the workflow")
    return known
