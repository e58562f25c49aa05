"""Property-based fuzzing of every documented operation (schemathesis, OpenAPI-driven).

Each operation gets a bounded, deterministic set of generated requests through the
WSGI app as the admin (who may call everything), with a deployed process, a running
instance and an open task in the database.  No answer may be a 5xx, and every answer
with a documented status must match its documented schema.  SQLite only: the
hostile-JSON and matrix tests cover PostgreSQL's stricter JSON, and this keeps the
run short.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api_helpers import TWO_LANES, start

MAX_EXAMPLES = 20


@pytest.fixture
def database_url(tmp_path: Path, _sqlite_template: Path) -> str:
    path = tmp_path / "fuzz.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def admin(login, deploy, client) -> dict[str, str]:
    deploy(TWO_LANES)
    headers = login("admin")
    start(client, headers, jurisdiction="baoji")
    return headers


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _fuzz(operation, headers: dict[str, str]) -> int:
    """Run the operation's examples; the number sent, so the test can see it fuzzed at all."""
    sent = 0

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def run(case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    run()
    return sent


def test_no_operation_answers_5xx_or_breaks_its_schema(app: Flask, admin: dict[str, str]) -> None:
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 20
    sent = 0
    for operation in operations:
        try:
            sent += _fuzz(operation, admin)
        except Exception as failure:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {str(failure)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert sent >= len(operations) * MAX_EXAMPLES // 2, sent
