"""A task's JSON Schema as HTML form fields, and the posted form back as JSON data.

The schema stays the one source of truth: the page gets HTML constraint
attributes plus the rules the browser script checks (``if``/``then`` required
fields, JSON Schema patterns, which are unanchored unlike HTML ``pattern``),
and the server validates the data against the schema again in
``engine.commands.complete_task``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

# Longer strings get a textarea; names, titles and codes an input.
TEXTAREA_FROM_LENGTH = 200
# The engine's name for an error about the form as a whole.
FORM_ERROR = "(form)"


@dataclass(frozen=True)
class Choice:
    value: str  # as posted
    label: str
    raw: Any  # as the schema has it


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    widget: str  # text | textarea | select | number | radio-boolean | checkboxes | json
    required: bool
    choices: tuple[Choice, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)  # HTML attributes for the control
    default: str = ""


def _choices(schema: Mapping[str, Any]) -> tuple[Choice, ...]:
    if "oneOf" in schema and all("const" in option for option in schema["oneOf"]):
        return tuple(
            Choice(_posted(o["const"]), str(o.get("title", o["const"])), o["const"])
            for o in schema["oneOf"]
        )
    return tuple(Choice(_posted(v), str(v), v) for v in schema.get("enum", ()))


def _posted(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _widget(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if _choices(schema):
        return "select"
    if kind == "array" and _choices(schema.get("items", {})):
        return "checkboxes"
    if kind == "boolean":
        return "radio-boolean"
    if kind in ("number", "integer"):
        return "number"
    if kind == "string":
        long = schema.get("maxLength", 0) > TEXTAREA_FROM_LENGTH
        return "textarea" if long else "text"
    return "json"


def _attrs(schema: Mapping[str, Any], widget: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if widget in ("text", "textarea"):
        attrs.update(maxlength=schema.get("maxLength"), minlength=schema.get("minLength"))
        attrs["data-pattern"] = schema.get("pattern")
    elif widget == "number":
        attrs.update(min=schema.get("minimum"), max=schema.get("maximum"))
        attrs["step"] = "1" if schema.get("type") == "integer" else "any"
    elif widget == "checkboxes":
        attrs["data-min-items"] = schema.get("minItems")
    elif widget == "json":
        attrs["data-json"] = "true"
    return {name: value for name, value in attrs.items() if value is not None}


def fields(schema: Mapping[str, Any]) -> list[Field]:
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema.get("properties", {}).items():
        widget = _widget(prop)
        choices = _choices(prop if widget == "select" else prop.get("items", {}))
        default = prop.get("default")
        found.append(
            Field(
                name=name,
                label=str(prop.get("title", name)),
                help=str(prop.get("description", "")),
                widget=widget,
                required=name in required,
                choices=choices,
                attrs=_attrs(prop, widget),
                default="" if default is None else _posted(default),
            )
        )
    return found


def client_rules(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The schema's ``if``/``then`` rules (at the root and in ``allOf``) for the browser script.

    Understood: ``if`` on one field's ``const``/``enum``; ``then`` with
    ``required`` and ``pattern``.  Anything else the server still checks.
    """
    rules = []
    for branch in [schema, *schema.get("allOf", ())]:
        condition, then = branch.get("if", {}), branch.get("then", {})
        for name, test in condition.get("properties", {}).items():
            values = test.get("enum", [test["const"]] if "const" in test else None)
            if values is None:
                continue
            patterns = {
                target: prop["pattern"]
                for target, prop in then.get("properties", {}).items()
                if "pattern" in prop
            }
            rules.append(
                {
                    "field": name,
                    "values": [_posted(v) for v in values],
                    "require": list(then.get("required", ())),
                    "patterns": patterns,
                }
            )
    return rules


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # the schema's type check reports it


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def form_data(schema: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as the data the schema describes.

    A blank field is left out rather than sent as "", so that the schema's
    ``default`` fills it or its ``required`` reports it.
    """
    data: dict[str, Any] = {}
    for item in fields(schema):
        by_value = {choice.value: choice.raw for choice in item.choices}
        if item.widget == "checkboxes":
            data[item.name] = [by_value.get(v, v) for v in form.getlist(item.name)]
            continue
        text = form.get(item.name, "")
        if not text.strip():
            continue
        if item.widget == "select":
            data[item.name] = by_value.get(text, text)
        elif item.widget == "radio-boolean":
            data[item.name] = {"true": True, "false": False}.get(text, text)
        elif item.widget == "number":
            data[item.name] = _number(text)
        elif item.widget == "json":
            data[item.name] = _json(text)
        else:
            data[item.name] = text
    return data


def error_messages(
    schema: Mapping[str, Any], errors: list[dict[str, Any]], form: MultiDict[str, str]
) -> dict[str, str]:
    """The engine's form errors (field, keyword) worded for the officer, by field."""
    messages: dict[str, str] = {}
    for error in errors:
        name = error.get("field", FORM_ERROR).split(".")[0]
        if name == FORM_ERROR:
            messages.setdefault(name, str(error.get("message", "")))
            continue
        prop = schema.get("properties", {}).get(name, {})
        blank = not form.get(name, "").strip()
        messages.setdefault(name, _message(error.get("keyword"), prop, blank))
    return messages


def _message(keyword: str | None, prop: Mapping[str, Any], blank: bool) -> str:
    if keyword in ("required", "minLength", "pattern", "minItems") and blank:
        return _("此项为必填项。")
    if keyword == "maxLength":
        return _("最多 %(n)s 个字符。", n=prop.get("maxLength"))
    if keyword == "minimum":
        return _("不能小于 %(n)s。", n=prop.get("minimum"))
    if keyword == "maximum":
        return _("不能大于 %(n)s。", n=prop.get("maximum"))
    if keyword == "minItems":
        return _("至少选择 %(n)s 项。", n=prop.get("minItems"))
    if keyword == "pattern":
        return _("格式不正确。")
    return _("此项的值无效。")
