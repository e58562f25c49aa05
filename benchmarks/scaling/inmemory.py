"""The co-review on bare SpiffWorkflow: raw (in memory, the floor) and naive (round trip per step).

Both run SpiffWorkflow as shipped (``task.run()``, ``do_engine_steps()``) on
the spec parsed as deployment parses it, with the sandboxed script engine: none
of the engine's own shortcuts (``engine.workflow_walks``) take part.  *Naive*
adds what a straightforward service does to survive a restart:
SpiffWorkflow's ``BpmnWorkflowSerializer`` turns the whole workflow, spec
included, into JSON after every step and back before the next one.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import TaskState

from benchmarks.scaling import meters, workload
from engine.runtime import SpecBundle
from engine.sandbox import HuiqianScriptEngine
from engine.task_specs import serializer_config


def _start(
    bundle: SpecBundle, variables: dict[str, Any], script_engine: HuiqianScriptEngine
) -> BpmnWorkflow:
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update(variables)
    workflow.do_engine_steps()
    return workflow


def _complete(workflow: BpmnWorkflow, task_id: uuid.UUID, data: dict[str, Any]) -> None:
    task = workflow.get_task_from_id(task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def _tasks_by_department(workflow: BpmnWorkflow) -> dict[str, uuid.UUID]:
    return {
        task.data["department"]: task.id
        for task in workflow.get_tasks(state=TaskState.READY, manual=True)
    }


def run(mode: str, n: int, budget_s: float, rounds: int) -> dict[str, Any]:
    """Co-reviews of ``n`` departments (``meters.StepLog`` rounds); ``mode``: raw or naive."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = workload.write_data_dir(Path(tmp), n)
        ctx = workload.engine_context(data_dir, f"sqlite:///{tmp}/unused.sqlite3")
        bundle = workload.parse_co_review(ctx)
        script_engine = ctx.script_engine
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(serializer_config()))
    rss_before = meters.reset_peak_rss()
    log = meters.StepLog(n, budget_s, rounds)
    start_bytes = 0
    while log.next_round():
        variables = workload.start_variables(n, str(uuid.uuid4()))
        with meters.Stopwatch() as watch:
            current = _start(bundle, variables, script_engine)
            saved = serializer.serialize_json(current) if mode == "naive" else ""
        log.started(watch.wall)
        start_bytes = len(saved.encode())
        tasks = _tasks_by_department(current)
        assert len(tasks) == n, f"{len(tasks)} review tasks for {n} departments"
        answered = 0
        for department in workload.departments(n):
            if not log.more():
                break
            data = workload.step_data(department)
            with meters.Stopwatch() as watch:
                if mode == "naive":
                    current = serializer.deserialize_json(saved)
                    current.script_engine = script_engine
                _complete(current, tasks[department], data)
                if mode == "naive":
                    saved = serializer.serialize_json(current)
            log.add(watch.wall, watch.cpu, len(saved.encode()))
            answered += 1
        if answered == n:
            assert current.is_completed() and current.data["result"] == "approved"
    return {
        "mode": mode,
        "backend": "memory",
        "n": n,
        "fill": 0,
        "start_bytes": start_bytes,
        "rss_before_mb": rss_before,
        "peak_rss_mb": meters.peak_rss_mb(),
        **log.summary(),
    }
