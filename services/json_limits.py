"""A stricter JSON profile for request bodies, checked before any view parses them.

Python's ``json`` accepts things that break later layers: ``NaN`` and
``Infinity`` (PostgreSQL's JSON type refuses them when the data is saved),
``1e400`` (becomes ``inf``), integers of thousands of digits, and nesting deep
enough to exhaust the recursion limit of the parser or of anything that walks
the data afterwards.  Such a body is answered 400 here, never 500 later.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 64
# Integers are kept to what PostgreSQL's bigint and most JSON readers hold exactly.
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)


class UnacceptableJson(BadRequest):
    def __init__(self, why: str) -> None:
        super().__init__(f"the JSON body is not acceptable: {why}")


def _refuse_constant(name: str) -> Any:
    raise UnacceptableJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnacceptableJson(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 20:
        raise UnacceptableJson(f"the integer {text[:40]}… is out of range")
    value = int(text)
    if not MIN_INT <= value <= MAX_INT:
        raise UnacceptableJson(f"the integer {text} is out of range")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_tree(value: Any) -> None:
    """Depth and strings, without recursion (the value may be as deep as the parser allowed).

    A lone surrogate (``"\\ud800"``) is valid JSON but no Unicode text: it cannot be
    written as UTF-8 to a log, a webhook or an export later, so it is refused here.
    """
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise UnacceptableJson("a string holds a lone UTF-16 surrogate")
            continue
        if isinstance(item, dict):
            children: Any = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level + 1 > MAX_DEPTH:
            raise UnacceptableJson(f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, level + 1) for child in children)


def loads(data: bytes | str) -> Any:
    """Parse with the strict profile; UnacceptableJson (400) for anything outside it."""
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise UnacceptableJson(f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UnacceptableJson(str(error).splitlines()[0][:200]) from None
    _check_tree(value)
    return value


def check_json_body() -> None:
    """``before_request``: vet a JSON body once; the views' parsers then read the same bytes."""
    if request.is_json and request.content_length != 0:
        data = request.get_data(cache=True)
        if data.strip():
            loads(data)


def register(app: Flask) -> None:
    app.before_request(check_json_body)
