"""A 1,000-iteration loop runs to the end (SpiffWorkflow alone stops near 500)."""

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

from engine.loop_depth import UNBOUNDED_DEPTH
from engine.process_parser import parse_bpmn
from engine.runtime import SERIALIZATION, SpecBundle, WorkflowRun
from engine.sandbox import create_script_engine
from tests.bpmn_documents import NO_DEPENDENCIES
from tests.conftest import FIXTURES


def _loop_bundle() -> SpecBundle:
    xml = (FIXTURES / "loop.bpmn").read_bytes()
    [process] = parse_bpmn(xml, "loop.bpmn", NO_DEPENDENCIES)
    return SpecBundle(process.spec, process.subprocess_specs)


def test_library_default_depth_is_replaced():
    for iterator in (TaskIterator, BpmnTaskIterator):
        assert UNBOUNDED_DEPTH in iterator.__init__.__defaults__
        assert 1000 not in iterator.__init__.__defaults__


def test_thousand_iteration_loop_counts_to_the_end():
    run = WorkflowRun.start(_loop_bundle(), {"target": 1000}, create_script_engine())
    assert run.completed
    assert run.variables()["count"] == 1000


def test_long_loop_survives_a_save_and_restore():
    bundle = _loop_bundle()
    run = WorkflowRun.start(bundle, {"target": 600}, create_script_engine())
    restored = WorkflowRun.restore(
        SERIALIZATION.spec_from_dict(SERIALIZATION.spec_to_dict(bundle)),
        run.dump(),
        create_script_engine(),
    )
    assert restored.completed
    assert restored.variables()["count"] == 600
