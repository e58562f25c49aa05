"""Sandboxed evaluation of model expressions and scripts for SpiffWorkflow.

SpiffWorkflow's default environment runs gateway conditions, scripts, DMN cells, multi-instance
and service-task parameter expressions with plain ``eval``/``exec``. Process definitions are
uploaded by designers, so everything they contain runs here instead, in three layers:

1. Compile time: RestrictedPython plus `_Policy`. No imports, classes, generators, ``global``,
   ``with``, or names/attributes starting with ``_``. Every loop iteration, comprehension item,
   call of a script-defined function and size-amplifying operator goes through a guard.
2. Allow-lists at run time: only the callables in `_SAFE_CALLABLES` exist (every other Python
   builtin name raises `ScriptError`), and an attribute is readable only if it is listed for the
   object's exact type in `_ALLOWED_ATTRIBUTES`. ``__class__``, ``str.format``, frames and
   function internals are therefore unreachable.
3. Budgets per evaluation: a wall-clock deadline and an operation budget (one unit per loop
   iteration or function call), checked at every guard; an allocation budget charged with the
   size of every container or string the guarded operations build; and operations that would
   build a sequence over `MAX_SEQUENCE_LENGTH` items or an int over `MAX_INT_BITS` bits are
   refused before they run. Task data left by a script (and an expression's result) must stay
   within `MAX_DATA_DEPTH`/`MAX_DATA_NODES`, so a shared-reference bomb cannot reach the
   serializer.

Not covered: C-level work on data that already exists within the limits, such as comparing two
large nested structures. Run workers under an OS memory limit as a backstop.
"""

from __future__ import annotations

import ast
import builtins
import json
import operator
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from time import monotonic
from types import CodeType
from typing import Any, cast

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ScriptError

__all__ = [
    "HuiqianScriptEngine",
    "SandboxedEnvironment",
    "ServiceCaller",
    "create_script_engine",
    "days_between",
    "months_between",
]

MAX_SEQUENCE_LENGTH = 1_000_000
# A backstop, not the main guard (the operation budget stops runaway code first): generous
# enough that a busy machine never fails an honest expression on the clock.
DEFAULT_TIME_LIMIT = 3.0
MAX_INT_BITS = 8_192
MAX_FORMAT_WIDTH = 1_000
MAX_ROUND_DIGITS = 100
MAX_DATA_DEPTH = 100
MAX_DATA_NODES = 1_000_000
DEFAULT_MAX_OPERATIONS = 5_000_000
DEFAULT_MAX_ALLOCATION = 20_000_000
COMPILE_CACHE_SIZE = 4_096

ServiceCaller = Callable[[str, dict[str, Any], dict[str, Any]], Any]


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
    raise TypeError(f"expected a date or an ISO date string, got {type(value).__name__}")


def _last_day(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def months_between(start: date | str, end: date | str) -> int:
    """Whole calendar months from ``start`` to ``end`` (negative if ``end`` is earlier).

    A month is complete once ``end`` reaches the start's day of month, clamped to the last day
    of the end month: 2024-01-31 -> 2024-02-29 is 1 month, 2024-01-31 -> 2024-02-28 is 0, and
    2022-07-01 -> 2023-06-30 is 11.
    """
    first, last = _as_date(start), _as_date(end)
    if last < first:
        return -months_between(last, first)
    months = (last.year - first.year) * 12 + last.month - first.month
    if last.day < min(first.day, _last_day(last.year, last.month)):
        months -= 1
    return months


def days_between(start: date | str, end: date | str) -> int:
    """Calendar days from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    return (_as_date(end) - _as_date(start)).days


def _refused_callable(name: str) -> Callable[..., Any]:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise ScriptError(f"'{name}' is not available in scripts", refused=name)

    return refused


_C_LEVEL_IMPORTS = frozenset({"time", "_strptime"})


def _internal_import(name: str, *args: Any, **kwargs: Any) -> Any:
    """``__import__`` for C code such as ``date.today()``, which imports through the builtins.

    Scripts cannot name it (names starting with ``_`` do not compile).
    """
    if name not in _C_LEVEL_IMPORTS:
        raise ScriptError(f"import of '{name}' is not available in scripts", refused=name)
    return builtins.__import__(name, *args, **kwargs)


_SAFE_CALLABLES: dict[str, Any] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "enumerate": enumerate,
    "float": float,
    "len": len,
    "max": max,
    "min": min,
    "zip": zip,
    "Decimal": Decimal,
    "date": date,
    "datetime": datetime,
    "timedelta": timedelta,
    "months_between": months_between,
    "days_between": days_between,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "__import__": _internal_import,
}
"""Callables that need no budget; `_Run.namespace` adds the guarded ones."""

_GUARDED_NAMES = ("dict", "int", "list", "range", "round", "set", "sorted", "str", "sum", "tuple")

_REFUSED_BUILTINS: dict[str, Any] = {
    name: _refused_callable(name)
    for name in dir(builtins)
    if name not in _SAFE_CALLABLES
    and name not in _GUARDED_NAMES
    and name not in ("None", "True", "False")
}

_NUMBER_ATTRIBUTES = frozenset(
    {"real", "imag", "conjugate", "is_integer", "as_integer_ratio", "numerator", "denominator"}
)
_DATE_ATTRIBUTES = frozenset(
    {
        "year",
        "month",
        "day",
        "weekday",
        "isoweekday",
        "isoformat",
        "isocalendar",
        "replace",
        "strftime",
        "toordinal",
    }
)
_ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "capitalize",
            "casefold",
            "count",
            "endswith",
            "find",
            "index",
            "isalnum",
            "isalpha",
            "isdecimal",
            "isdigit",
            "islower",
            "isnumeric",
            "isspace",
            "istitle",
            "isupper",
            "lower",
            "lstrip",
            "partition",
            "removeprefix",
            "removesuffix",
            "rfind",
            "rindex",
            "rpartition",
            "rsplit",
            "rstrip",
            "split",
            "splitlines",
            "startswith",
            "strip",
            "swapcase",
            "title",
            "upper",
            "center",
            "join",
            "ljust",
            "replace",
            "rjust",
            "zfill",
        }
    ),
    int: _NUMBER_ATTRIBUTES | {"bit_length"},
    bool: _NUMBER_ATTRIBUTES,
    float: _NUMBER_ATTRIBUTES,
    Decimal: frozenset(
        {
            "quantize",
            "normalize",
            "to_integral_value",
            "is_signed",
            "is_zero",
            "copy_abs",
            "as_integer_ratio",
            "real",
            "imag",
        }
    ),
    list: frozenset(
        {
            "append",
            "clear",
            "count",
            "extend",
            "index",
            "insert",
            "pop",
            "remove",
            "reverse",
            "sort",
        }
    ),
    tuple: frozenset({"count", "index"}),
    dict: frozenset(
        {"clear", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"}
    ),
    set: frozenset(
        {"add", "clear", "discard", "isdisjoint", "issubset", "issuperset", "pop", "remove"}
    ),
    frozenset: frozenset({"isdisjoint", "issubset", "issuperset"}),
    date: _DATE_ATTRIBUTES,
    datetime: _DATE_ATTRIBUTES | {"hour", "minute", "second", "microsecond", "date", "timestamp"},
    timedelta: frozenset({"days", "seconds", "microseconds", "total_seconds"}),
}
"""Readable attributes by exact type of the object; all others are refused."""

_CLASS_ATTRIBUTES: dict[type, frozenset[str]] = {
    date: frozenset({"today", "fromisoformat"}),
    datetime: frozenset({"now", "today", "fromisoformat", "strptime", "combine"}),
}

_SEQUENCE_TYPES = (str, bytes, list, tuple)
_CONTAINER_TYPES = (str, bytes, list, tuple, dict, set, frozenset)

_BINARY_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<<": operator.lshift,
    ">>": operator.rshift,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "@": operator.matmul,
}
_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}
_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
    ast.BitOr: "|",
}
_PRINTF_DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")
_DIGITS = re.compile(r"\d+")


def _is_int(value: Any) -> bool:
    return type(value) is int or type(value) is bool


def _refuse_size(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise ScriptError(f"{what} of {size} exceeds the limit of {limit}", limit="size")


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, before it is computed."""
    if op == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _refuse_size("integer size in bits", left.bit_length() * right, MAX_INT_BITS)
    elif op == "<<" and _is_int(left) and _is_int(right) and left and right > 0:
        _refuse_size("integer size in bits", left.bit_length() + right, MAX_INT_BITS)
    elif op == "*":
        if _is_int(left) and _is_int(right):
            _refuse_size(
                "integer size in bits", left.bit_length() + right.bit_length(), MAX_INT_BITS
            )
        elif _is_int(right) and isinstance(left, _SEQUENCE_TYPES):
            _refuse_size("sequence length", len(left) * right, MAX_SEQUENCE_LENGTH)
        elif _is_int(left) and isinstance(right, _SEQUENCE_TYPES):
            _refuse_size("sequence length", len(right) * left, MAX_SEQUENCE_LENGTH)
    elif op == "+" and isinstance(left, _SEQUENCE_TYPES) and isinstance(right, _SEQUENCE_TYPES):
        _refuse_size("sequence length", len(left) + len(right), MAX_SEQUENCE_LENGTH)
    elif op == "%" and isinstance(left, str):
        for width, precision in _PRINTF_DIRECTIVE.findall(left):
            for number in (width, precision):
                if number == "*":
                    raise ScriptError("'*' widths in %-formatting are not allowed")
                if number:
                    _refuse_size("format width", int(number), MAX_FORMAT_WIDTH)


def _check_format_spec(spec: str) -> None:
    for number in _DIGITS.findall(spec):
        _refuse_size("format width", int(number), MAX_FORMAT_WIDTH)


_CONTAINERS = (dict, list, tuple, set, frozenset)
_ATOMS = {str, int, float, bool, type(None)}


def _check_data_shape(value: Any, what: str = "task data") -> None:
    """Refuse data nested deeper than MAX_DATA_DEPTH or with more than MAX_DATA_NODES items.

    Items are counted each time they are reached, so a small structure that references the
    same list many times counts at the size it would have once serialized.
    """
    if not isinstance(value, _CONTAINERS):
        return
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise ScriptError(f"{what} is nested deeper than {MAX_DATA_DEPTH}", limit="size")
        children: Collection[Any] = item.values() if isinstance(item, dict) else item
        nodes += len(children)
        if nodes > MAX_DATA_NODES:
            raise ScriptError(f"{what} has more than {MAX_DATA_NODES} items", limit="size")
        if set(map(type, children)) <= _ATOMS:  # in C: a roster's thousand records of text
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus budget hooks and a smaller language."""

    _REFUSED_NODES = (
        ast.Import,
        ast.ImportFrom,
        ast.ClassDef,
        ast.Global,
        ast.Yield,
        ast.YieldFrom,
        ast.With,
        ast.AsyncWith,
        ast.AsyncFor,
        ast.AsyncFunctionDef,
        ast.Await,
    )

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, self._REFUSED_NODES):
            self.error(node, f"{type(node).__name__} statements are not allowed.")
            return node
        return super().visit(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("print", "printed"):
            self.error(node, f"'{node.id}' is not available in scripts.")
            return node
        return super().visit_Name(node)

    def _refuse_starred(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        # Unpacking into a display copies without passing a guard: [*x, *x] doubles x.
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(
            isinstance(element, ast.Starred) for element in node.elts
        ):
            self.error(node, "Unpacking with '*' inside a list, tuple or set is not allowed.")

    def visit_List(self, node: ast.List) -> Any:
        self._refuse_starred(node)
        return super().visit_List(node)

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        self._refuse_starred(node)
        return super().visit_Tuple(node)

    def visit_Set(self, node: ast.Set) -> Any:
        self._refuse_starred(node)
        return super().visit_Set(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = cast(ast.BinOp, super().visit_BinOp(node))
        symbol = _GUARDED_BINOPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", ast.Constant(symbol), node.left, node.right, located_at=node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = cast(ast.FormattedValue, super().visit_FormattedValue(node))
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        conversion = ast.Constant(node.conversion)
        node.value = _call("_format_", node.value, conversion, spec, located_at=node.value)
        node.conversion = -1
        node.format_spec = None
        return node

    def visit_While(self, node: ast.While) -> Any:
        node = cast(ast.While, super().visit_While(node))
        node.test = _ticked(node.test)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = cast(ast.FunctionDef, super().visit_FunctionDef(node))
        first = node.body[0]
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", located_at=first)), first))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = cast(ast.Lambda, super().visit_Lambda(node))
        node.body = _ticked(node.body)
        return node


def _call(name: str, *args: ast.expr, located_at: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, located_at))


def _ticked(expression: ast.expr) -> ast.expr:
    """``_tick_() and expression``: `_Run.tick` returns True, so the value is unchanged."""
    tick = _call("_tick_", located_at=expression)
    return ast.copy_location(ast.BoolOp(ast.And(), [tick, expression]), expression)


@lru_cache(maxsize=COMPILE_CACHE_SIZE)
def _compile(source: str, mode: str) -> CodeType:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source.strip() if mode == "eval" else source, policy=_Policy)
    if result.errors or result.code is None:
        raise ScriptError("; ".join(result.errors) or "could not compile", source=source)
    return result.code


class _Run:
    """Budgets and guards for one evaluation or execution."""

    def __init__(self, time_limit: float, max_operations: int, max_allocation: int) -> None:
        self.time_limit = time_limit
        self.deadline = monotonic() + time_limit
        self.max_operations = max_operations
        self.operations = 0
        self.max_allocation = max_allocation
        self.allocation = 0

    def namespace(self, static: Mapping[str, Any]) -> dict[str, Any]:
        """The builtins of the sandboxed code: ``static`` plus this run's guards."""
        return {
            **static,
            "dict": self._counted(dict),
            "int": self.to_int,
            "list": self._counted(list),
            "range": self.bounded_range,
            "round": self.rounded,
            "set": self._counted(set),
            "sorted": self._counted(sorted),
            "str": self.to_str,
            "sum": self.numeric_sum,
            "tuple": self._counted(tuple),
            "_getattr_": self.get_attribute,
            "_getitem_": self.getitem,
            "_getiter_": self.getiter,
            "_write_": _write,
            "_apply_": _apply,
            "_binop_": self.binop,
            "_inplacevar_": self.inplacevar,
            "_format_": self.format_value,
            "_tick_": self.tick,
        }

    def tick(self) -> bool:
        self.operations += 1
        if self.operations > self.max_operations:
            raise ScriptError(
                f"operation limit of {self.max_operations} exceeded", limit="operations"
            )
        if monotonic() > self.deadline:
            raise ScriptError(f"time limit of {self.time_limit} s exceeded", limit="time")
        return True

    def allocate(self, result: Any) -> Any:
        if isinstance(result, _CONTAINER_TYPES):
            self.allocation += len(result)
            if self.allocation > self.max_allocation:
                raise ScriptError(
                    f"allocation limit of {self.max_allocation} items exceeded",
                    limit="allocation",
                )
        return result

    def getiter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.tick()
            yield item

    def getitem(self, container: Any, key: Any) -> Any:
        if type(key) is slice:
            return self.allocate(container[key])
        return container[key]

    def get_attribute(self, obj: Any, name: str) -> Any:
        kind = type(obj)
        if isinstance(obj, type):
            allowed = _CLASS_ATTRIBUTES.get(obj, frozenset())  # type: ignore[call-overload]
        else:
            allowed = _ALLOWED_ATTRIBUTES.get(kind, frozenset())
        if name not in allowed:
            owner = obj.__name__ if isinstance(obj, type) else kind.__name__
            raise ScriptError(
                f"attribute '{name}' of {owner} is not available in scripts", refused=name
            )
        if kind is str and name in ("center", "join", "ljust", "replace", "rjust", "zfill"):
            return partial(getattr(self, f"str_{name}"), obj)
        if kind is list and name == "extend":
            return partial(self.list_extend, obj)
        return getattr(obj, name)

    def binop(self, op: str, left: Any, right: Any) -> Any:
        _check_binop(op, left, right)
        return self.allocate(_BINARY_OPERATORS[op](left, right))

    def inplacevar(self, op: str, left: Any, right: Any) -> Any:
        _check_binop(op[:-1], left, right)
        return self.allocate(_INPLACE_OPERATORS[op](left, right))

    def format_value(self, value: Any, conversion: int, spec: str) -> str:
        _check_format_spec(spec)
        if conversion != -1:
            _check_data_shape(value, "formatted value")
            converters: dict[int, Callable[[Any], str]] = {
                ord("s"): str,
                ord("r"): repr,
                ord("a"): ascii,
            }
            value = converters[conversion](value)
        elif isinstance(value, _CONTAINER_TYPES):
            _check_data_shape(value, "formatted value")
        return self.allocate(builtins.format(value, spec))

    def bounded_range(self, *args: int) -> range:
        result = range(*args)
        _refuse_size("range length", len(result), MAX_SEQUENCE_LENGTH)
        return result

    def to_int(self, value: Any = 0, *args: Any) -> int:
        if isinstance(value, Decimal) and value.is_finite():
            _refuse_size("integer size in digits", value.adjusted(), MAX_INT_BITS // 3)
        return int(value, *args)

    def rounded(self, number: Any, ndigits: int | None = None) -> Any:
        if ndigits is not None:
            _refuse_size("rounding digits", abs(ndigits), MAX_ROUND_DIGITS)
        return round(number, ndigits)

    def to_str(self, *args: Any) -> str:
        if args:
            _check_data_shape(args[0], "converted value")
        return self.allocate(str(*args))

    def numeric_sum(self, iterable: Iterable[Any], start: Any = 0) -> Any:
        # sum(lists, []) concatenates quadratically inside C, out of reach of the guards.
        if not isinstance(start, (int, float, Decimal)):
            raise ScriptError("sum() only adds numbers")
        return sum(iterable, start)

    def _counted(self, constructor: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            return self.allocate(constructor(*args, **kwargs))

        return counted

    def str_join(self, separator: str, parts: Iterable[Any]) -> str:
        items = list(parts)
        _refuse_size(
            "string length",
            sum(len(part) for part in items if isinstance(part, str))
            + len(separator) * max(len(items) - 1, 0),
            MAX_SEQUENCE_LENGTH,
        )
        return self.allocate(separator.join(items))

    def str_replace(self, text: str, old: str, new: str, count: int = -1) -> str:
        occurrences = text.count(old) if count < 0 else min(count, text.count(old))
        _refuse_size(
            "string length", len(text) + occurrences * (len(new) - len(old)), MAX_SEQUENCE_LENGTH
        )
        return self.allocate(text.replace(old, new, count))

    def _padded(self, method: Callable[..., str], width: int, *args: str) -> str:
        _refuse_size("string length", width, MAX_SEQUENCE_LENGTH)
        return self.allocate(method(width, *args))

    def str_center(self, text: str, width: int, *fill: str) -> str:
        return self._padded(text.center, width, *fill)

    def str_ljust(self, text: str, width: int, *fill: str) -> str:
        return self._padded(text.ljust, width, *fill)

    def str_rjust(self, text: str, width: int, *fill: str) -> str:
        return self._padded(text.rjust, width, *fill)

    def str_zfill(self, text: str, width: int) -> str:
        return self._padded(text.zfill, width)

    def list_extend(self, target: list[Any], items: Iterable[Any]) -> None:
        extra = items if isinstance(items, (list, tuple, str)) else list(items)
        _refuse_size("list length", len(target) + len(extra), MAX_SEQUENCE_LENGTH)
        self.allocate(extra)
        target.extend(extra)


def _write(obj: Any) -> Any:
    if type(obj) in (dict, list):
        return obj
    raise ScriptError(f"cannot assign into {type(obj).__name__}; only dict and list items")


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


def _guarded(action: Callable[[], Any]) -> Any:
    """Run sandboxed code; turn resource exhaustion inside it into ScriptError."""
    try:
        return action()
    except RecursionError as err:
        raise ScriptError("recursion too deep", limit="recursion") from err
    except MemoryError as err:
        raise ScriptError("out of memory", limit="memory") from err


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Drop-in replacement for SpiffWorkflow's TaskDataEnvironment that runs RestrictedPython.

    ``helpers`` are extra trusted callables exposed to scripts next to the safe builtins.
    """

    def __init__(
        self,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        max_operations: int = DEFAULT_MAX_OPERATIONS,
        max_allocation: int = DEFAULT_MAX_ALLOCATION,
    ) -> None:
        super().__init__(dict(helpers or {}))
        self._static_builtins = {**_REFUSED_BUILTINS, **_SAFE_CALLABLES, **self.globals}
        self.time_limit = time_limit
        self.max_operations = max_operations
        self.max_allocation = max_allocation

    def _builtins(self, data: Mapping[str, Any]) -> dict[str, Any]:
        run = _Run(self.time_limit, self.max_operations, self.max_allocation)
        namespace = run.namespace(self._static_builtins)
        # Optional process inputs: ``variable("departments", None)`` instead of a NameError.
        namespace["variable"] = lambda name, default=None: data.get(name, default)
        return namespace

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = _compile(expression, "eval")
        scope = {**(external_context or {}), **context}
        scope["__builtins__"] = self._builtins(scope)
        result = _guarded(lambda: eval(code, scope))  # sandboxed: RestrictedPython-compiled
        _check_data_shape(result, "expression result")
        return result

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run ``script`` with the task data as its globals, as TaskDataEnvironment does.

        Assignments land in ``context``; afterwards the builtins, any callable the script
        defined and the external context (data objects) are removed from it again.
        """
        code = _compile(script, "exec")
        external = dict(external_context or {})
        context.update(external)
        context["__builtins__"] = self._builtins(context)
        try:
            _guarded(lambda: exec(code, context))  # sandboxed: RestrictedPython-compiled
        finally:
            for key in list(context):
                if key == "__builtins__" or key in external or callable(context[key]):
                    del context[key]
        _check_data_shape(context)
        return True


def _attach_script_error_cause(error: WorkflowTaskException) -> None:
    """Make a sandbox ScriptError the explicit ``__cause__`` of Spiff's wrapping exception.

    Spiff wraps errors raised in evaluate/execute without keeping the original, which is then
    only reachable as the implicit ``__context__``.
    """
    if error.__cause__ is None and isinstance(error.__context__, ScriptError):
        error.__cause__ = error.__context__


class HuiqianScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine running on the sandbox, with injected service calls."""

    def __init__(
        self,
        environment: BasePythonScriptEngineEnvironment | None = None,
        service_caller: ServiceCaller | None = None,
    ) -> None:
        super().__init__(environment=environment or SandboxedEnvironment())
        self.service_caller = service_caller

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as err:
            _attach_script_error_cause(err)
            raise

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as err:
            _attach_script_error_cause(err)
            raise

    def call_service(  # type: ignore[override]
        self, task: Any, operation_name: str, operation_params: dict[str, dict[str, Any]]
    ) -> str:
        """Call the injected service caller with evaluated parameter values.

        Replaces the base method, whose error branch refers to an undefined ``script``.
        Spiff's ServiceTask ``json.loads`` the answer, so the result is returned as JSON.
        Exceptions raised by the caller propagate unchanged.
        """
        if self.service_caller is None:
            raise ScriptError("no service handler registry configured")
        params = {name: param["value"] for name, param in operation_params.items()}
        return json.dumps(self.service_caller(operation_name, params, task.data))


def create_script_engine(
    service_caller: ServiceCaller | None = None,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    helpers: Mapping[str, Callable[..., Any]] | None = None,
) -> HuiqianScriptEngine:
    """The engine's script engine; ``helpers`` are trusted callables the models may call."""
    environment = SandboxedEnvironment(helpers, time_limit=time_limit)
    return HuiqianScriptEngine(environment, service_caller)
