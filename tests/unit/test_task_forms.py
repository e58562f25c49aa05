"""A task row's form: rows store the key, readers get ``{key, schema}`` (engine.human_tasks)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.human_tasks import form_schema, task_form

SCHEMA = {"type": "object", "properties": {"decision": {"type": "string"}}}
KEPT = {"type": "object", "required": ["opinion"]}
FORMS = {"review": SCHEMA}


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        (None, None),
        ({"key": "review"}, {"key": "review", "schema": SCHEMA}),
        ({"key": "gone"}, {"key": "gone", "schema": None}),
        ({"key": "review", "schema": KEPT}, {"key": "review", "schema": KEPT}),
        ({"key": "gone", "schema": None}, {"key": "gone", "schema": None}),
    ],
    ids=["no-form", "by-key", "unknown-key", "row-kept-its-copy", "row-kept-no-schema"],
)
def test_a_row_reads_with_the_schema_of_its_key_unless_it_kept_a_copy(
    stored: dict[str, Any] | None, read: dict[str, Any] | None
) -> None:
    assert task_form(stored, FORMS.get) == read
    assert form_schema(stored, FORMS.get) == (read or {}).get("schema")
