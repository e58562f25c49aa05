"""Task forms: JSON Schema → HTML fields, and the posted form back to JSON data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict

from services.ui import form_fields

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def schema_of(name: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def _request_context() -> Any:
    """Messages are translated, which needs a request (zh-CN, no session language)."""
    app = Flask(__name__)
    Babel(app, default_locale="zh_CN")
    with app.test_request_context():
        yield


def widgets(name: str) -> dict[str, str]:
    return {f.name: f.widget for f in form_fields.fields(schema_of(name))}


def test_every_field_of_the_library_forms_gets_a_control() -> None:
    assert widgets("co_review_opinion") == {"decision": "select", "opinion": "textarea"}
    assert widgets("brand_nomination")["workers"] == "number"
    assert widgets("brand_nomination")["name"] == "text"
    assert widgets("award_review")["approved"] == "radio-boolean"
    assert widgets("brand_exit_evaluation")["reasons"] == "checkboxes"
    assert widgets("award_application")["inputs"] == "json"


def test_titles_descriptions_required_and_limits_reach_the_control() -> None:
    decision, opinion = form_fields.fields(schema_of("co_review_opinion"))

    assert (decision.label, decision.required) == ("审核结论", True)
    assert [(c.value, c.label) for c in decision.choices] == [
        ("approve", "同意"),
        ("reject", "不同意"),
        ("need_info", "需补充材料"),
    ]
    assert decision.help.startswith("同意、不同意")
    assert (opinion.required, opinion.attrs) == (False, {"maxlength": 2000})


def test_number_fields_carry_their_range_and_step() -> None:
    score = next(
        f for f in form_fields.fields(schema_of("brand_check")) if f.name == "training_quality"
    )
    workers = next(
        f for f in form_fields.fields(schema_of("brand_nomination")) if f.name == "workers"
    )

    assert score.attrs == {"min": 0, "max": 100, "step": "any"}
    assert workers.attrs["step"] == "1"


def test_posted_values_become_the_types_the_schema_wants() -> None:
    schema = {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "score": {"type": "number"},
            "ok": {"type": "boolean"},
            "level": {
                "type": "integer",
                "oneOf": [{"const": 1, "title": "一"}, {"const": 2, "title": "二"}],
            },
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "extra": {"type": "object"},
            "note": {"type": "string"},
        },
    }
    form = MultiDict(
        [
            ("count", "12"),
            ("score", "7.5"),
            ("ok", "false"),
            ("level", "2"),
            ("tags", "a"),
            ("tags", "b"),
            ("extra", '{"k": 1}'),
            ("note", "  "),
        ]
    )

    assert form_fields.form_data(schema, form) == {
        "count": 12,
        "score": 7.5,
        "ok": False,
        "level": 2,
        "tags": ["a", "b"],
        "extra": {"k": 1},
    }


def test_unreadable_input_is_passed_on_for_the_schema_to_refuse() -> None:
    schema = {
        "type": "object",
        "properties": {"count": {"type": "integer"}, "extra": {"type": "object"}},
    }

    data = form_fields.form_data(schema, MultiDict({"count": "twelve", "extra": "{not json"}))

    assert data == {"count": "twelve", "extra": "{not json"}
    assert not jsonschema.Draft202012Validator(schema).is_valid(data)


def test_a_blank_opinion_is_left_out_so_the_conditional_rule_reports_it() -> None:
    schema = schema_of("co_review_opinion")
    data = form_fields.form_data(schema, MultiDict({"decision": "reject", "opinion": " "}))

    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))

    assert data == {"decision": "reject"}
    assert [e.validator for e in errors] == ["required"]


def test_if_then_rules_are_handed_to_the_browser() -> None:
    assert form_fields.client_rules(schema_of("co_review_opinion")) == [
        {
            "field": "decision",
            "values": ["reject", "need_info"],
            "require": ["opinion"],
            "patterns": {"opinion": "\\S"},
        }
    ]
    assert form_fields.client_rules(schema_of("brand_nomination")) == []


def test_engine_errors_are_worded_for_the_officer() -> None:
    schema = schema_of("brand_check")
    errors = [
        {
            "field": "training_quality",
            "message": "101 is greater than the maximum of 100",
            "keyword": "maximum",
        },
        {"field": "notes", "message": "'notes' is a required property", "keyword": "required"},
        {"field": "(form)", "message": "the script failed"},
    ]

    messages = form_fields.error_messages(schema, errors, MultiDict({"training_quality": "101"}))

    assert messages == {
        "training_quality": "不能大于 100。",
        "notes": "此项为必填项。",
        "(form)": "the script failed",
    }
