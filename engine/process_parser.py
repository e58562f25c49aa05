"""Parse and validate BPMN files into SpiffWorkflow specs.

The XML has already passed ``engine.xml_safety`` when it gets here.  On top of
SpiffWorkflow's own parser this module adds what Huiqian needs and Spiff does
not read:

* the department of a user task: the name of its lane (a department code) or
  an explicit ``huiqian:candidateDepartments`` attribute (``camunda:candidateGroups``
  is read too, since SpiffWorkflow ignores it and designers coming from Camunda
  Modeler use it).  The value is a comma-separated list of codes or one
  ``${expression}`` evaluated in the task's data at run time (e.g.
  ``${department}`` inside a multi-instance co-review);
* ``huiqian:formKey`` / ``camunda:formKey``, ``huiqian:dueIn`` (ISO 8601
  duration) and ``huiqian:timeoutAction`` (what happens at the due date,
  ``engine/approvals/timeouts.py``) on user tasks;
* deploy-time checks: every user task has a department, every service task
  names a registered handler, every call activity and business rule task
  resolves.

All of it is stored in the task spec's ``extensions`` mapping, which
SpiffWorkflow already serialises, so no custom spec class is needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.errors import DefinitionRejected
from engine.task_specs import (
    HuiqianParallelMultiInstanceTask,
    HuiqianSequentialMultiInstanceTask,
    HuiqianServiceTask,
)
from engine.xml_safety import check_and_parse, element_line

HUIQIAN_NS = "http://huiqian.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
EXPRESSION = re.compile(r"^\$\{(.+)\}$", re.S)

_USER_TASK_ATTRIBUTES = {
    "candidateDepartments": [(HUIQIAN_NS, "candidateDepartments"), (CAMUNDA_NS, "candidateGroups")],
    "formKey": [(HUIQIAN_NS, "formKey"), (CAMUNDA_NS, "formKey")],
    "dueIn": [(HUIQIAN_NS, "dueIn")],
    "timeoutAction": [(HUIQIAN_NS, "timeoutAction")],
}
TIMEOUT_ACTIONS = ("remind", "auto_approve", "auto_reject", "escalate")
_SERVICE_TASK_ATTRIBUTES = {
    "async": [(HUIQIAN_NS, "async"), (CAMUNDA_NS, "asyncBefore")],
    "retries": [(HUIQIAN_NS, "retries")],
}


class _HuiqianAttributes:
    """Reads Huiqian's attributes of a task element into its spec's extensions."""

    ATTRIBUTES: dict[str, list[tuple[str, str]]] = {}
    node: Any

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        node = self.node if node is None else node
        extensions = super().parse_extensions(node)  # type: ignore[misc]
        for key, candidates in self.ATTRIBUTES.items():
            for namespace, name in candidates:
                value = node.get(f"{{{namespace}}}{name}")
                if value:
                    extensions[key] = value.strip()
                    break
        return extensions


class HuiqianUserTaskParser(_HuiqianAttributes, UserTaskParser):
    ATTRIBUTES = _USER_TASK_ATTRIBUTES


class HuiqianServiceTaskParser(_HuiqianAttributes, ServiceTaskParser):
    ATTRIBUTES = _SERVICE_TASK_ATTRIBUTES


class _HuiqianLoops:
    """Multi-instance loops built from Huiqian's specs (``engine.task_specs``).

    SpiffWorkflow reads these attributes on each *task* parser class, not on the
    BpmnParser, so every task parser gets them.
    """

    PARALLEL_MI_CLASS = HuiqianParallelMultiInstanceTask
    SEQUENTIAL_MI_CLASS = HuiqianSequentialMultiInstanceTask


def _with_huiqian_loops(parser_class: type) -> type:
    return type(parser_class.__name__, (_HuiqianLoops, parser_class), {})


class HuiqianBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_huiqian_loops(parser_class), spec_class)
        for tag, (parser_class, spec_class) in {
            **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
            full_tag("userTask"): (HuiqianUserTaskParser, UserTask),
            full_tag("serviceTask"): (HuiqianServiceTaskParser, HuiqianServiceTask),
        }.items()
    }


@dataclass(frozen=True)
class ParsedProcess:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


@dataclass(frozen=True)
class Dependencies:
    """Where the parser finds called processes and decisions not in the file itself.

    Each callable returns the XML of the latest deployed version, or None.
    """

    process_xml: Callable[[str], bytes | None]
    decision_xml: Callable[[str], bytes | None]
    handlers: Collection[str]


def department_rule(extensions: dict[str, Any], lane: str | None) -> str | None:
    """The raw department rule of a user task: attribute first, then lane."""
    return extensions.get("candidateDepartments") or lane


def _reject(message: str, root: Any, element_id: str | None, filename: str) -> DefinitionRejected:
    line = element_line(root, element_id) if element_id else None
    where = f" (element {element_id!r}, line {line})" if element_id else ""
    return DefinitionRejected(
        f"{filename}: {message}{where}", element_id=element_id, line=line, filename=filename
    )


def _check_department_rule(rule: str | None, root: Any, task_id: str, filename: str) -> None:
    if not rule:
        raise _reject(
            f"user task {task_id!r} has no department: put it in a lane named by a department "
            "code or set huiqian:candidateDepartments",
            root,
            task_id,
            filename,
        )
    if EXPRESSION.match(rule):
        return
    for code in (part.strip() for part in rule.split(",")):
        if not DEPARTMENT_CODE.match(code):
            raise _reject(
                f"user task {task_id!r}: {code!r} is not a department code "
                "(lowercase letters, digits and _, e.g. hrss)",
                root,
                task_id,
                filename,
            )


def _check_timeout_action(
    extensions: dict[str, Any], root: Any, task_id: str, filename: str
) -> None:
    action = extensions.get("timeoutAction")
    if action is None:
        return
    if action not in TIMEOUT_ACTIONS:
        raise _reject(
            f"user task {task_id!r}: huiqian:timeoutAction {action!r} is not one of "
            + ", ".join(TIMEOUT_ACTIONS),
            root,
            task_id,
            filename,
        )
    if not extensions.get("dueIn"):
        raise _reject(
            f"user task {task_id!r}: huiqian:timeoutAction needs huiqian:dueIn to apply",
            root,
            task_id,
            filename,
        )


def _validate_specs(
    parsed: list[ParsedProcess], root: Any, filename: str, handlers: Collection[str]
) -> None:
    own_ids = {element.get("id") for element in root.iter() if element.get("id")}
    for process in parsed:
        for spec in (process.spec, *process.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                bpmn_id = getattr(task_spec, "bpmn_id", None)
                if bpmn_id is None or bpmn_id not in own_ids:
                    continue  # a called process, validated when it was deployed
                extensions = getattr(task_spec, "extensions", {}) or {}
                if isinstance(task_spec, UserTask):
                    rule = department_rule(extensions, task_spec.lane)
                    _check_department_rule(rule, root, bpmn_id, filename)
                    _check_timeout_action(extensions, root, bpmn_id, filename)
                operator = getattr(task_spec, "operation_name", None)
                if operator is not None and operator not in handlers:
                    raise _reject(
                        f"service task {bpmn_id!r} names handler {operator!r}, which is not "
                        "registered (known: " + ", ".join(sorted(handlers)) + ")",
                        root,
                        bpmn_id,
                        filename,
                    )


def _add_dependencies(
    parser: HuiqianBpmnParser, root: Any, filename: str, deps: Dependencies
) -> None:
    """Add deployed processes and decisions the file refers to, transitively."""
    seen_processes = set(parser.get_process_ids())
    seen_decisions = set(parser.dmn_parsers)
    while True:
        missing_processes = parser.process_dependencies - seen_processes
        missing_decisions = parser.get_dmn_dependencies() - seen_decisions
        if not missing_processes and not missing_decisions:
            return
        for key in missing_processes:
            seen_processes.add(key)
            xml = deps.process_xml(key)
            if xml is None:
                caller = root.xpath(f"//*[@calledElement='{key}']")
                caller_id = caller[0].get("id") if caller else None
                raise _reject(f"called process {key!r} is not deployed", root, caller_id, filename)
            parser.add_bpmn_xml(check_and_parse(xml, filename=f"{key}.bpmn"), f"{key}.bpmn")
        for key in missing_decisions:
            seen_decisions.add(key)
            xml = deps.decision_xml(key)
            if xml is None:
                raise _reject(f"decision {key!r} is not deployed", root, None, filename)
            parser.add_dmn_xml(check_and_parse(xml, filename=f"{key}.dmn"), f"{key}.dmn")


def parse_bpmn(xml: bytes, filename: str, deps: Dependencies) -> list[ParsedProcess]:
    """Parse one BPMN file into its executable processes, or raise DefinitionRejected."""
    root = check_and_parse(xml, filename=filename)
    if root.tag != full_tag("definitions"):
        raise DefinitionRejected(f"{filename}: the root element is not bpmn:definitions")
    parser = HuiqianBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root, filename)
        own_keys = parser.get_process_ids()
        if not own_keys:
            raise DefinitionRejected(f'{filename}: no executable process (isExecutable="true")')
        _add_dependencies(parser, root, filename, deps)
        parsed = [
            ParsedProcess(
                key=key,
                name=parser.get_process_parser(key).get_name() or key,
                spec=parser.get_spec(key),
                subprocess_specs=parser.get_subprocess_specs(key),
            )
            for key in own_keys
        ]
    except ValidationException as exc:
        message = str(exc).splitlines()[0]
        if exc.id:
            raise _reject(message, root, exc.id, filename) from exc
        line = exc.line_number if isinstance(exc.line_number, int) else None
        raise DefinitionRejected(f"{filename}: line {line}: {message}", line=line) from exc
    except SpiffWorkflowException as exc:
        raise DefinitionRejected(f"{filename}: {exc}", filename=filename) from exc
    _validate_specs(parsed, root, filename, deps.handlers)
    return parsed


def main_process(parsed: list[ParsedProcess]) -> ParsedProcess:
    """The process a file is 'about': the first one no other process of the file calls."""
    called = {
        getattr(task_spec, "spec", None)
        for process in parsed
        for task_spec in process.spec.task_specs.values()
    }
    return next((p for p in parsed if p.key not in called), parsed[0])
