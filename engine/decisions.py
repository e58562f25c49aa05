"""Parse, validate and evaluate DMN decision tables (奖补 rules and user-authored ones).

SpiffWorkflow's DMN support is narrower than DMN 1.3, and this module turns every gap
into a clear ``DefinitionRejected`` at deployment instead of a surprise at run time:

* one decision per file (``DMNParser`` reads only the first ``dmn:decision``, and
  deployments key a DMN file by its decision id);
* the decision logic is a ``decisionTable`` (no literal expressions, no DRG chains);
* hit policies UNIQUE, FIRST and COLLECT only, without ``aggregation``: the engine
  ignores aggregations and treats PRIORITY/ANY/… like FIRST.  UNIQUE is not checked
  for overlapping rules; the first matching rule wins, as in a BPMN business rule task;
* cells are Python expressions run by the sandboxed script engine, not FEEL.  An input
  entry is either a whole condition with ``?`` standing for the input value
  (``2 <= ? < 6``, ``? in ("a", "b")``), an operator and right-hand side (``>= 500``,
  ``!= "qinghai"``) or a value compared with ``==`` (``"qinghai"``, ``True``, ``None``);
  ``-`` or an empty cell matches anything.  Cells are used as written, whitespace
  included, because that is how SpiffWorkflow runs them;
* annotations go in each rule's ``<description>``, which dmn-js shows as the
  annotation column (Spiff 3.2 rejects ``<annotation>`` columns).

Evaluation returns the output dict of the matched rule (``{}`` when no rule of a
UNIQUE/FIRST table matches) or, for COLLECT, one dict per matched rule in table
order (``[]`` when none matches).  Parsed tables are cached by the SHA-256 of the file.
"""

from __future__ import annotations

import ast
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS, BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import DefinitionRejected, HuiqianError, NotFound, ScriptError
from engine.sandbox import create_script_engine

__all__ = ["DecisionInfo", "evaluate_decision", "parse_decisions", "sum_amounts"]

SUPPORTED_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "COLLECT"})
CACHE_SIZE = 128
# DMNEngine's own pattern: a "?" outside quotes stands for the input value.
_PLACEHOLDER = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")
_PLACEHOLDER_NAME = "dmninputexpr"
_TABLE_PARTS = frozenset({"input", "output", "rule"})
_NEEDS_ID = frozenset({"decisionTable", "input", "output", "rule", "inputEntry", "outputEntry"})
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
DMN13_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
# Only DMN 1.3: the DMN 1.2 schema bundled with SpiffWorkflow 3.2 does not load.
_VALIDATOR = BpmnValidator(SCHEMAS[DMN13_NS])


@dataclass(frozen=True)
class DecisionInfo:
    """What an integration needs to call a decision.

    ``inputs`` are the variable names the table reads (input columns first, then any
    other name used in entries), ``outputs`` the output column names, both in order.
    """

    key: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class _CompiledDecision:
    info: DecisionInfo
    engine: DMNEngine
    filename: str


class _Cache:
    """A small thread-safe LRU of compiled decisions, keyed by the file's SHA-256."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, dict[str, _CompiledDecision]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> dict[str, _CompiledDecision] | None:
        with self._lock:
            found = self._items.get(digest)
            if found is not None:
                self._items.move_to_end(digest)
            return found

    def put(self, digest: str, decisions: dict[str, _CompiledDecision]) -> None:
        with self._lock:
            self._items[digest] = decisions
            self._items.move_to_end(digest)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_cache = _Cache(CACHE_SIZE)


def parse_decisions(xml: bytes, filename: str = "decisions.dmn") -> dict[str, DecisionInfo]:
    """Validate a DMN file and describe its decision, keyed by decision id.

    Raises ``DefinitionRejected`` (with ``element_id``, ``line`` and ``filename`` in
    ``extra`` where known) for malformed XML, schema errors, unsupported constructs
    and cells that are not valid sandbox expressions.
    """
    return {key: compiled.info for key, compiled in _compiled(xml, filename).items()}


def evaluate_decision(
    xml: bytes,
    key: str,
    variables: Mapping[str, Any],
    script_engine: Any = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Evaluate decision ``key`` of a DMN file on ``variables``.

    Returns the matched rule's outputs, ``{}`` when no rule of a UNIQUE/FIRST table
    matches, or a list of output dicts for COLLECT.  Raises ``NotFound`` for an
    unknown key, ``DefinitionRejected`` for an invalid file and ``ScriptError`` when
    an expression fails (missing variable, type error, sandbox violation, time limit).
    """
    decisions = _compiled(xml, f"{key}.dmn")
    compiled = decisions.get(key)
    if compiled is None:
        known = ", ".join(sorted(decisions))
        raise NotFound(f"no decision {key!r} in this file (it has: {known})", key=key)
    task = _task_stand_in(compiled, dict(variables), script_engine or create_script_engine())
    try:
        if compiled.engine.decision_table.hit_policy == "COLLECT":
            return [dict(rule.output_as_dict(task)) for rule in compiled.engine.decide(task)]
        return dict(compiled.engine.result(task))
    except Exception as exc:
        raise _script_error(key, exc) from exc


def sum_amounts(
    results: Iterable[Mapping[str, Any]], field: str = "amount"
) -> int | float | Decimal:
    """Total of one output over per-person results (e.g. a broker's 10 pickers).

    Per-person tables keep the rule readable row by row; the group total of QH-N3 and
    QH-N4/N5 is this sum.  A result without the field (no rule matched) counts as 0.
    """
    return sum((result.get(field, 0) for result in results), 0)


def _script_error(key: str, exc: Exception) -> ScriptError:
    """A ScriptError naming the expression and row (from Spiff) and the root cause.

    SpiffWorkflow wraps the sandbox's ScriptError (or a NameError, TypeError, …) in a
    WorkflowTaskException whose message keeps only the expression, so the cause is
    recovered from the exception chain.
    """
    root: BaseException = exc
    while isinstance(root, SpiffWorkflowException) and (root.__cause__ or root.__context__):
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    extra: dict[str, Any] = {"decision": key}
    if isinstance(root, HuiqianError):
        cause = root.detail
        extra = {**root.extra, **extra}
    else:
        cause = f"{type(root).__name__}: {root}"
    message = f"decision {key!r}: {exc}"
    if root is not exc:
        message += f" ({cause})"
    return ScriptError(message, **extra)


def _task_stand_in(compiled: _CompiledDecision, data: dict[str, Any], script_engine: Any) -> Any:
    """The parts of a SpiffWorkflow task that ``DMNEngine`` and its exceptions read.

    A decision evaluated through the API has no workflow; building a real
    ``BpmnWorkflow`` per call would cost more than the table itself.
    """
    spec = SimpleNamespace(file=compiled.filename)
    workflow = SimpleNamespace(script_engine=script_engine, spec=spec)
    workflow.top_workflow = workflow
    task_spec = SimpleNamespace(name=compiled.info.key, bpmn_name=compiled.info.name)
    return SimpleNamespace(data=data, workflow=workflow, task_spec=task_spec)


def _compiled(xml: bytes, filename: str) -> dict[str, _CompiledDecision]:
    digest = hashlib.sha256(xml).hexdigest()
    found = _cache.get(digest)
    if found is None:
        found = _compile(xml, filename)
        _cache.put(digest, found)
    return found


class _Rejection(Exception):
    """A validation failure located at an element; turned into DefinitionRejected."""

    def __init__(self, message: str, element: Any = None) -> None:
        super().__init__(message)
        self.element = element


def _compile(xml: bytes, filename: str) -> dict[str, _CompiledDecision]:
    try:
        root = etree.fromstring(xml, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DefinitionRejected(
            f"{filename}: line {exc.lineno}: {exc.msg}", line=exc.lineno, filename=filename
        ) from exc
    try:
        return _compile_tree(root, filename)
    except _Rejection as exc:
        element = exc.element
        element_id = element.get("id") if element is not None else None
        line = element.sourceline if element is not None else None
        where = f" (element {element_id!r}, line {line})" if element_id else f" (line {line})"
        raise DefinitionRejected(
            f"{filename}: {exc}{where}", element_id=element_id, line=line, filename=filename
        ) from exc
    except ValidationException as exc:
        line = exc.line_number or None
        where = f" (element {exc.id!r})" if exc.id else (f" (line {line})" if line else "")
        message = str(exc).splitlines()[0].rstrip(". ")
        raise DefinitionRejected(
            f"{filename}: {message}{where}", element_id=exc.id or None, line=line, filename=filename
        ) from exc


def _compile_tree(root: Any, filename: str) -> dict[str, _CompiledDecision]:
    if root.tag != f"{{{DMN13_NS}}}definitions":
        raise _Rejection(
            f"the root element is not a DMN 1.3 definitions element ({DMN13_NS})", root
        )
    _VALIDATOR.validate(root, filename)
    ns = {"dmn": DMN13_NS}
    decisions = root.findall("dmn:decision", ns)
    if len(decisions) != 1:
        raise _Rejection(
            f"a DMN file must hold exactly one decision, found {len(decisions)}; "
            "put each decision in its own file",
            root,
        )
    table = decisions[0].find("dmn:decisionTable", ns)
    if not decisions[0].get("id") or table is None:
        raise _Rejection("the decision needs an id and a decision table", decisions[0])
    script_engine = create_script_engine()
    expressions, outputs = _check_table(table, ns, script_engine.validate)
    parser = BpmnDmnParser()
    parser.add_dmn_xml(root, filename)
    dmn_parser = parser.dmn_parsers[decisions[0].get("id")]
    dmn_parser.parse()
    decision = dmn_parser.decision
    info = DecisionInfo(
        key=decision.id,
        name=decision.name or decision.id,
        inputs=_free_names(expressions, script_engine.environment),
        outputs=outputs,
    )
    engine = DMNEngine(decision.decisionTables[0])
    return {decision.id: _CompiledDecision(info=info, engine=engine, filename=filename)}


def _check_table(
    table: Any, ns: dict[str, str], validate: Callable[[str], Any]
) -> tuple[list[str], tuple[str, ...]]:
    """Check what the schema allows but SpiffWorkflow cannot run.

    Cell texts are checked raw, exactly as ``DMNParser`` and ``DMNEngine`` use them
    (they do not strip whitespace).  Returns every expression the engine will
    evaluate, input columns first, and the output names.
    """
    hit_policy = table.get("hitPolicy", "UNIQUE")
    if hit_policy not in SUPPORTED_HIT_POLICIES:
        raise _Rejection(
            f"hit policy {hit_policy} is not supported (use UNIQUE, FIRST or COLLECT)", table
        )
    if table.get("aggregation"):
        raise _Rejection(
            "COLLECT aggregations are not supported: return the rows and total them in the caller",
            table,
        )
    for element in table.iter():
        if not isinstance(element.tag, str):
            raise _Rejection(
                "comments are not supported inside a decision table", element.getparent()
            )
        part = etree.QName(element).localname
        if element.getparent() is table and part not in _TABLE_PARTS:
            raise _Rejection(
                f"a decision table may hold only input, output and rule elements, not {part} "
                "(annotations go in rule descriptions)",
                element,
            )
        if part in _NEEDS_ID and not element.get("id"):
            raise _Rejection(f"every {part} needs an id", element)
    input_texts: list[str] = []
    for column in table.findall("dmn:input", ns):
        text = column.findtext("dmn:inputExpression/dmn:text", None, ns)
        if not text:
            raise _Rejection("input column has no input expression", column)
        _validate(validate, text, column, "input expression")
        input_texts.append(text)
    expressions = list(input_texts)
    output_columns = table.findall("dmn:output", ns)
    outputs = tuple(column.get("name", "") for column in output_columns)
    for column, name in zip(output_columns, outputs, strict=True):
        if not name.isidentifier():
            raise _Rejection(f"output column needs an identifier as name, not {name!r}", column)
    if len(set(outputs)) != len(outputs):
        raise _Rejection("output column names must be unique", table)
    for rule in table.findall("dmn:rule", ns):
        entries = rule.findall("dmn:inputEntry", ns)
        results = rule.findall("dmn:outputEntry", ns)
        if len(entries) != len(input_texts) or len(results) != len(outputs):
            raise _Rejection(
                f"rule has {len(entries)} input and {len(results)} output entries, the table "
                f"has {len(input_texts)} input and {len(outputs)} output columns",
                rule,
            )
        for entry, input_text in zip(entries, input_texts, strict=True):
            text = entry.findtext("dmn:text", None, ns)
            if text is not None and text != "-":
                expressions.append(_entry_expression(validate, input_text, text, entry))
        for entry in results:
            text = entry.findtext("dmn:text", None, ns)
            if text:
                _validate(validate, text, entry, "output entry")
                expressions.append(text)
    return expressions, outputs


def _entry_expression(
    validate: Callable[[str], Any], input_text: str, entry_text: str, entry: Any
) -> str:
    """The expression ``DMNEngine.evaluate`` builds for an input entry, validated."""
    if _PLACEHOLDER.search(entry_text):
        expression = _PLACEHOLDER.sub(_PLACEHOLDER_NAME, entry_text)
    else:
        try:
            validate(entry_text)
            expression = f"({input_text}) == ({entry_text})"
        except SyntaxError:
            if entry_text[:1].isalnum() or entry_text[:1] == "_":
                # DMNEngine glues input and entry without a space: "x" + "in (1, 2)".
                raise _Rejection(
                    f"input entry {entry_text!r} would be glued to the input expression; "
                    f"write it with the input placeholder, e.g. '? {entry_text}'",
                    entry,
                ) from None
            expression = input_text + entry_text
    _validate(validate, expression, entry, "input entry")
    return expression


def _validate(validate: Callable[[str], Any], text: str, element: Any, what: str) -> None:
    """Check with the engine's validator and as a single expression (no statements)."""
    try:
        validate(text)
        ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise _Rejection(f"{what} {text!r} is not a valid expression: {exc.msg}", element) from exc
    except HuiqianError as exc:
        raise _Rejection(f"{what} {text!r} is not allowed: {exc.detail}", element) from exc


def _free_names(expressions: Iterable[str], environment: Any) -> tuple[str, ...]:
    """Variables the expressions read, in order of first use.

    A name the sandbox resolves on its own (``min``, ``months_between``, a refused
    builtin) is not an input.
    """
    names: dict[str, None] = {}
    for expression in expressions:
        tree = ast.parse(expression, mode="eval")
        nodes = [node for node in ast.walk(tree) if isinstance(node, ast.Name)]
        bound = {node.id for node in nodes if isinstance(node.ctx, ast.Store)}
        for node in sorted(nodes, key=lambda node: (node.lineno, node.col_offset)):
            if node.id not in bound and node.id != _PLACEHOLDER_NAME:
                names.setdefault(node.id)
    return tuple(name for name in names if not _sandbox_provides(environment, name))


def _sandbox_provides(environment: Any, name: str) -> bool:
    try:
        environment.evaluate(name, {})
    except (NameError, HuiqianError):
        return False
    return True
