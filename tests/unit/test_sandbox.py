from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import ScriptError
from engine.sandbox import (
    SandboxedEnvironment,
    _compile,
    create_script_engine,
    days_between,
    months_between,
)

DATA = {
    "decision": "approve",
    "approvals": ["finance", "legal"],
    "departments": ["finance", "legal", "planning"],
    "amount": 120,
    "applicant": {"name": "张三", "grade": 3},
}


@pytest.fixture
def env() -> SandboxedEnvironment:
    return SandboxedEnvironment()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('decision == "approve"', True),
        ("len(approvals) / len(departments) >= 0.6", True),
        ("[d for d in departments if d not in approvals]", ["planning"]),
        ("{d: len(d) for d in approvals}", {"finance": 7, "legal": 5}),
        ('applicant["grade"] > 2 and applicant.get("name") == "张三"', True),
        ("sum(a * 2 for a in [1, 2, 3])", 12),
        ('f"{amount:06d}号"', "000120号"),
        ("Decimal('1.10') + Decimal('2.20')", Decimal("3.30")),
        ("date(2024, 3, 1) - timedelta(days=1)", date(2024, 2, 29)),
        ('months_between("2022-07-01", "2023-07-01")', 12),
        ("sorted(departments, key=lambda d: -len(d))[0]", "planning"),
        ("  amount > 100", True),
    ],
)
def test_ordinary_expressions_evaluate_like_python(
    env: SandboxedEnvironment, expression: str, expected: Any
) -> None:
    assert env.evaluate(expression, dict(DATA)) == expected


def test_evaluation_does_not_change_task_data(env: SandboxedEnvironment) -> None:
    data = dict(DATA)
    env.evaluate("[a for a in approvals]", data)
    assert data == DATA


def test_external_context_is_visible_to_expressions(env: SandboxedEnvironment) -> None:
    assert env.evaluate("dmninputexpr > 3", {}, {"dmninputexpr": 5}) is True


def test_script_assignments_land_in_task_data_without_helpers(env: SandboxedEnvironment) -> None:
    data: dict[str, Any] = {"items": [{"amount": 5}, {"amount": 7}], "counts": {}}
    script = (
        "total = 0\n"
        "for item in items:\n"
        "    total += item['amount']\n"
        "counts['items'] = len(items)\n"
        "items.append({'amount': total})\n"
        "double = lambda x: x * 2\n"
        "def half(x):\n"
        "    return x / 2\n"
        "doubled = double(total)\n"
        "for key, value in counts.items():\n"
        "    last_key = key\n"
    )
    assert env.execute(script, data) is True
    assert data == {
        "items": [{"amount": 5}, {"amount": 7}, {"amount": 12}],
        "counts": {"items": 2},
        "total": 12,
        "item": {"amount": 7},
        "doubled": 24,
        "key": "items",
        "value": 2,
        "last_key": "items",
    }


def test_script_does_not_leave_external_context_in_task_data(
    env: SandboxedEnvironment,
) -> None:
    data: dict[str, Any] = {}
    env.execute("copy = shared + 1", data, {"shared": 1})
    assert data == {"copy": 2}


def test_compiled_code_is_cached_per_source(env: SandboxedEnvironment) -> None:
    _compile.cache_clear()
    for value in range(3):
        env.evaluate("amount + 1", {"amount": value})
    assert _compile.cache_info().hits == 2


ESCAPE_EXPRESSIONS = [
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 0).__globals__",
    "getattr(amount, '__class__')",
    '"{0.__class__}".format(amount)',
    '"{x.__init__.__globals__}".format_map({"x": amount})',
    "__import__('os')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x=1')",
    "type(amount)",
    "vars()",
    "globals()",
    "compile('1', 'f', 'eval')",
    "(a for a in approvals).gi_frame",
    "applicant.items().mapping",
    "amount.to_bytes(10, 'big')",
    "date.max",
    "str.format",
]


@pytest.mark.parametrize("expression", ESCAPE_EXPRESSIONS)
def test_escape_attempts_are_refused(env: SandboxedEnvironment, expression: str) -> None:
    with pytest.raises(ScriptError):
        env.evaluate(expression, dict(DATA))


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ("getattr(amount, 'real')", "'getattr' is not available"),
        ('"{0}".format(1)', "attribute 'format' of str"),
        ("open('/etc/passwd')", "'open' is not available"),
        ("().__class__", '"__class__" is an invalid attribute name'),
    ],
)
def test_refusal_names_the_refused_name(
    env: SandboxedEnvironment, expression: str, refused: str
) -> None:
    with pytest.raises(ScriptError, match=refused):
        env.evaluate(expression, dict(DATA))


def test_task_data_can_use_names_of_refused_builtins(env: SandboxedEnvironment) -> None:
    assert env.evaluate('type == "leave"', {"type": "leave"}) is True


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "from os import path",
        "class A:\n    pass",
        "def g():\n    yield 1",
        "print('x')",
        "x = [*approvals, *approvals]",
        "amount.real = 1",
    ],
)
def test_forbidden_statements_are_refused(env: SandboxedEnvironment, script: str) -> None:
    with pytest.raises(ScriptError):
        env.execute(script, dict(DATA))


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("[0] * 10**9", "sequence length"),
        ("'a' * 10**9", "sequence length"),
        ("2 ** 10**8", "integer size"),
        ("10 ** 10**10", "integer size"),
        ("1 << 10**9", "integer size"),
        ("f'{amount:1000000000}'", "format width"),
        ("'%1000000000d' % amount", "format width"),
        ("'ab'.ljust(10**9)", "string length"),
        ("round(5, -10**9)", "rounding digits"),
        ("range(10**9)", "range length"),
        ("sum([[1]] * 10, [])", "only adds numbers"),
        ("(lambda f: f(f))(lambda f: f(f))", "recursion"),
    ],
)
def test_oversized_operations_fail_fast(env: SandboxedEnvironment, source: str, limit: str) -> None:
    with pytest.raises(ScriptError, match=limit):
        env.evaluate(source, dict(DATA))


# Whichever budget runs out first: operations on an idle machine, time on a loaded one.
RUNAWAY = "operation limit|time limit"


@pytest.mark.parametrize(
    ("script", "limit"),
    [
        ("while True:\n    pass", RUNAWAY),
        ("s = 'ab'\nwhile True:\n    s += s", "sequence length"),
        ("x = [1]\nfor i in range(40):\n    x.extend(x)", "list length"),
        ("def f(n):\n    return f(n + 1)\nf(0)", "recursion"),
        ("x = 0\nfor i in range(10**6):\n    for j in range(10**6):\n        x = j", RUNAWAY),
        ("x = []\nfor i in range(40):\n    x = [x, x]", "more than"),
        ("keep = []\nfor i in range(10**5):\n    keep.append('a' * 10**5)", "allocation limit"),
        (
            "n = 0\nwhile True:\n    try:\n        while True:\n            n = n\n"
            "    except:\n        pass",
            RUNAWAY,
        ),
    ],
)
def test_runaway_scripts_are_stopped(env: SandboxedEnvironment, script: str, limit: str) -> None:
    with pytest.raises(ScriptError, match=limit):
        env.execute(script, {})


def test_time_limit_stops_a_loop_before_the_operation_limit() -> None:
    env = SandboxedEnvironment(time_limit=0.05, max_operations=10**12)
    with pytest.raises(ScriptError, match="time limit of 0.05 s exceeded") as caught:
        env.execute("while True:\n    pass", {})
    assert caught.value.extra["limit"] == "time"


def test_limits_are_per_run(env: SandboxedEnvironment) -> None:
    small = SandboxedEnvironment(max_operations=1_000)
    for _ in range(5):
        assert small.evaluate("len([i for i in range(900)])", {}) == 900


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2022-07-01", "2023-07-01", 12),
        ("2022-07-01", "2023-06-30", 11),
        ("2024-01-31", "2024-02-29", 1),
        ("2024-01-31", "2024-02-28", 0),
        ("2023-01-31", "2023-02-28", 1),
        (date(2024, 5, 15), date(2024, 5, 14), 0),
        ("2023-07-01", "2022-07-01", -12),
        ("2024-03-01T09:00:00", date(2024, 4, 1), 1),
    ],
)
def test_months_between_counts_a_month_when_the_day_is_reached(
    start: Any, end: Any, months: int
) -> None:
    assert months_between(start, end) == months


def test_days_between_accepts_dates_and_iso_strings() -> None:
    assert days_between("2024-02-28", date(2024, 3, 1)) == 2
    assert days_between(date(2024, 3, 1), "2024-02-28") == -2


SCRIPT_AND_GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://huiqian.dev/test">
  <bpmn:process id="approval" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="tally">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>ratio = len(approvals) / len(departments)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:serviceTask id="notify">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify_department" resultVariable="receipt">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="count" type="int" value="len(approvals) * 10"/>
            <spiffworkflow:parameter id="first" type="str" value="departments[0]"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:exclusiveGateway id="gate" default="to_rejected">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>to_approved</bpmn:outgoing><bpmn:outgoing>to_rejected</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tally"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tally" targetRef="notify"/>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="gate"/>
    <bpmn:sequenceFlow id="to_approved" sourceRef="gate" targetRef="approved">
      <bpmn:conditionExpression>ratio &gt;= 0.6</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_rejected" sourceRef="gate" targetRef="rejected"/>
    <bpmn:endEvent id="approved"><bpmn:incoming>to_approved</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="rejected"><bpmn:incoming>to_rejected</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _run_workflow(approvals: list[str], service_caller: Any) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(SCRIPT_AND_GATEWAY.encode(), "approval.bpmn")
    workflow = BpmnWorkflow(
        parser.get_spec("approval"), script_engine=create_script_engine(service_caller)
    )
    workflow.task_tree.data.update(
        approvals=approvals, departments=["finance", "legal", "planning"]
    )
    workflow.do_engine_steps()
    return workflow


def _finished_end_events(workflow: BpmnWorkflow) -> set[str]:
    return {
        task.task_spec.name
        for task in workflow.get_tasks()
        if task.task_spec.name in ("approved", "rejected") and task.has_state(TaskState.COMPLETED)
    }


def test_workflow_runs_script_task_and_gateway_on_the_sandbox() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def caller(operation: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
        calls.append((operation, params))
        return {"sent": True, "ratio_seen": data["ratio"]}

    approved = _run_workflow(["finance", "legal"], caller)
    rejected = _run_workflow(["finance"], caller)

    assert approved.is_completed() and rejected.is_completed()
    assert _finished_end_events(approved) == {"approved"}
    assert _finished_end_events(rejected) == {"rejected"}
    assert approved.data["receipt"] == {"sent": True, "ratio_seen": pytest.approx(2 / 3)}
    assert calls[0] == ("notify_department", {"count": 20, "first": "finance"})


def test_service_task_without_a_caller_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match="no service handler registry configured"):
        _run_workflow(["finance"], None)


def test_sandbox_violation_in_a_workflow_keeps_the_script_error_as_cause() -> None:
    parser = SpiffBpmnParser()
    hostile = SCRIPT_AND_GATEWAY.replace(
        "ratio = len(approvals) / len(departments)", "ratio = ().__class__"
    )
    parser.add_bpmn_str(hostile.encode(), "approval.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("approval"), script_engine=create_script_engine())
    workflow.task_tree.data.update(approvals=[], departments=["finance"])
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__cause__, ScriptError)
    assert "__class__" in caught.value.__cause__.detail


def test_variable_reads_optional_task_data_with_a_default():
    environment = SandboxedEnvironment()
    assert environment.evaluate('variable("rule", "all")', {}) == "all"
    assert environment.evaluate('variable("rule", "all")', {"rule": "any"}) == "any"
    data: dict = {"departments": None, "roster": ["hrss", "fin"]}
    environment.execute('reviewers = variable("departments") or roster', data)
    assert data["reviewers"] == ["hrss", "fin"]
