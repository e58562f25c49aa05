"""Lift SpiffWorkflow's task-tree depth limit, which silently ends long loops.

SpiffWorkflow 3.2 walks the task tree with ``TaskIterator(max_depth=1000)``
and ignores tasks deeper than that.  Every loop iteration adds its tasks below
the previous ones, so a loop of two tasks stops being seen after about 500
iterations (three tasks: ~333): ``do_engine_steps`` finds nothing READY and
the workflow even reports itself completed.  The walk keeps an explicit list,
not the call stack, so depth costs nothing but time; the default is raised so
that every internal caller (joins, gateways, ``is_completed``) sees the whole
tree.  ``tests/unit/test_loop_depth.py`` runs a 1,000-iteration loop.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

UNBOUNDED_DEPTH = 2**62
_LIBRARY_DEFAULT = 1000


def _raise_default(init: object) -> None:
    defaults = init.__defaults__  # type: ignore[attr-defined]
    init.__defaults__ = tuple(  # type: ignore[attr-defined]
        UNBOUNDED_DEPTH if value == _LIBRARY_DEFAULT else value for value in defaults
    )


def install() -> None:
    for iterator in (TaskIterator, BpmnTaskIterator):
        _raise_default(iterator.__init__)


install()
