"""退回 return and 撤回 withdraw: undo the path after an earlier task, consistently.

**Return** is done from an open task: the matter goes back to an earlier completed user
task on that task's path, with a reason.  Everything after the earlier task is undone
(``engine.approvals.rewinding``): open task rows of undone tasks become ``cancelled``,
completed ones stay as history, and the earlier task gets a new row.  Returning to a
department's answer in a co-review re-runs the whole co-review round; a department
inside a running co-review returns the matter to a step before the co-review, not to
another department's answer.

**Withdraw** is done by the officer who completed a task, as long as the next step is
untouched: its tasks are open, unclaimed and never passed on (version 1).  Inside a
running co-review a department may withdraw its own answer; once the co-review has
concluded, its answers stand (409).

Neither undoes what service tasks did outside the workflow (records, payments): running
them again is the model's business.
"""

from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.task import Task, TaskState

from engine import commands, steps
from engine.approvals import multi_instance, opinions, rewinding
from engine.approvals.acting import Acting, Outcome, lock_instance, on_open_task
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.identity import Principal
from engine.models import HumanTask
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork

RETURN = "return"


def _earlier_row(
    uow: SqlUnitOfWork, instance_id: str, task_id: str | None, element: str | None
) -> HumanTask:
    if task_id is not None:
        row = uow.tasks.get(task_id)
        if row is None or row.instance_id != instance_id or row.state != "completed":
            raise InvalidInput(f"task {task_id} never ran to completion in this instance")
        return row
    done = [
        row
        for row in uow.tasks.for_instance(instance_id, state="completed")
        if row.bpmn_id == element
    ]
    if not done:
        raise InvalidInput(f"{element} never ran to completion in this instance")
    return max(done, key=lambda row: (row.completed_at, row.id))


def _reset_point(run: WorkflowRun, current: Task, earlier_row: HumanTask) -> Task:
    earlier = run.task(earlier_row.id)
    if earlier is None or earlier.state != TaskState.COMPLETED:
        raise InvalidInput(
            f"{earlier_row.bpmn_id} ({earlier_row.id}) is no longer on the instance's path: "
            "it was returned or withdrawn since"
        )
    point = rewinding.reset_point(earlier)
    if multi_instance.loop_of(current) is point or not rewinding.precedes(point, current):
        raise InvalidInput(f"{earlier_row.bpmn_id} is not an earlier step of this task's path")
    return point


def return_task(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    opinion: str,
    to_task_id: str | None = None,
    to_element: str | None = None,
    expected_version: int | None = None,
) -> Outcome:
    reason = opinions.require(opinion, "to return a task")
    if (to_task_id is None) == (to_element is None):
        raise InvalidInput("return to exactly one of to_task_id and to_element")
    with SqlUnitOfWork(ctx.db) as uow:
        acting = on_open_task(ctx, uow, principal, task_id, expected_version)
        earlier = _earlier_row(uow, acting.instance.id, to_task_id, to_element)
        run = steps.restore(ctx, uow, acting.instance)
        current = run.task(acting.task.id)
        assert current is not None
        point = _reset_point(run, current, earlier)

        def go_back() -> None:
            rewinding.rewind(run, point)
            run.advance()

        steps.step(ctx, uow, f"returning to {earlier.bpmn_id}", go_back)
        created, cancelled = steps.save(ctx, uow, run, acting.instance)
        details = {
            "to_task_id": earlier.id,
            "to_element": earlier.bpmn_id,
            "reopened": [row.id for row in created],
            "undone": [row.id for row in cancelled],
        }
        acting.leave_trace("task.returned", RETURN, details, opinion=reason, decision=RETURN)
        uow.commit()
        return Outcome(acting.task, acting.instance, created)


def _touched(uow: SqlUnitOfWork, following: Iterable[Task]) -> list[str]:
    """The tasks of the next step that someone has acted on (claimed, passed on, done)."""
    touched = []
    for task in following:
        row = uow.tasks.get(str(task.id))
        acted = task.state == TaskState.COMPLETED or (
            row is not None
            and (row.state != "open" or row.assignee or row.delegation or row.version != 1)
        )
        if acted:
            touched.append(str(task.id))
    return touched


def _next_step(done: Task, loop: Task | None) -> list[Task]:
    if loop is None:
        return [task for task in rewinding.following(done) if task.task_spec.manual]
    if loop.state != TaskState.STARTED:
        raise Conflict("the co-review has concluded: its answers can no longer be withdrawn")
    if multi_instance.signers_of(loop).sequential:
        return multi_instance.active_instances(loop)
    return []


def withdraw_task(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> Outcome:
    with SqlUnitOfWork(ctx.db) as uow:
        task, reach = commands.task_for_action(ctx, uow, principal, task_id)
        instance = lock_instance(uow, task)
        if task.state != "completed":
            raise Conflict(f"only a completed task can be withdrawn; this one is {task.state}")
        if not reach.acts_as(task.completed_by):
            raise Forbidden("only the officer who completed a task withdraws it")
        if expected_version is not None and expected_version != task.version:
            raise Conflict(f"task version is {task.version}, not {expected_version}")
        acting = Acting.start(ctx, uow, principal, reach, task, instance)
        run = steps.restore(ctx, uow, instance)
        done = run.task(task.id)
        if done is None or done.state != TaskState.COMPLETED:
            raise Conflict("the task is no longer on the instance's path: it was returned since")
        loop = multi_instance.loop_of(done)
        touched = _touched(uow, _next_step(done, loop))
        if touched:
            raise Conflict(
                "the next step has already been acted on: ask it to return the task instead",
                touched=touched,
            )

        def take_back() -> None:
            if loop is not None:
                multi_instance.reopen(loop, done)
            else:
                rewinding.rewind(run, done)
            run.advance()

        steps.step(ctx, uow, f"withdrawing {task.bpmn_id}", take_back)
        created, cancelled = steps.save(ctx, uow, run, instance)
        details = {
            "reopened": [row.id for row in created],
            "undone": [row.id for row in cancelled],
        }
        acting.leave_trace("task.withdrawn", "withdraw", details, opinion=reason.strip())
        uow.commit()
        return Outcome(task, instance, created)
