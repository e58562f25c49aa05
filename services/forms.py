"""Task forms: JSON Schemas in ``bpmn/forms/<key>.json``, looked up by a task's form key."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from engine.errors import InvalidInput


class FormLibrary:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @lru_cache(maxsize=256)  # noqa: B019 - one library per app, forms are read-only files
    def get(self, key: str) -> dict[str, Any] | None:
        if not key.replace("_", "").replace("-", "").isalnum():
            return None
        path = self.directory / f"{key}.json"
        if not path.is_file():
            return None
        schema = json.loads(path.read_text(encoding="utf-8"))
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise InvalidInput(f"form {key}: invalid JSON Schema: {exc.message}") from exc
        return schema
