"""What every layer runs: one co-review (bpmn/co_review.bpmn) over N departments.

Every layer starts the instance with the variables the engine gives a
jurisdiction (``engine.starting``: roster, lead, the measure's departments) and
completes the departments' tasks in roster order with the same approval, so the
layers differ only in what they do around SpiffWorkflow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Cheap password hashing for the benchmark's users, as in the test suite (engine.identity):
# must be set before engine.identity is imported.  Hashes carry their parameters, so the
# service under test verifies them at this cost too; only logins are affected.
os.environ.setdefault("HUIQIAN_ARGON2_TIME_COST", "1")
os.environ.setdefault("HUIQIAN_ARGON2_MEMORY_KIB", "1024")

from engine import commands  # noqa: E402
from engine.context import EngineContext  # noqa: E402
from engine.identity import Principal, Role  # noqa: E402
from engine.process_parser import Dependencies, parse_bpmn  # noqa: E402
from engine.runtime import SpecBundle  # noqa: E402
from services import config as settings  # noqa: E402
from services.app import build_engine_context, jurisdiction_store  # noqa: E402
from tests.jurisdiction_factory import write_synthetic_pack  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CO_REVIEW = ROOT / "bpmn" / "co_review.bpmn"
PROCESS_KEY = "co_review"
JURISDICTION = "synthetic"
MEASURE = "(一)"  # the synthetic pack's measure that names every department
ANSWER = {"decision": "approve"}  # what an officer submits
FORM_DEFAULTS = {"opinion": ""}  # what the engine's form validation adds to it
INTEGRATOR = Principal(0, "integrator", Role.INTEGRATOR, None, None)


def departments(n: int) -> list[str]:
    """The codes ``tests.jurisdiction_factory`` gives a pack of ``n`` departments."""
    return [f"dept{number:02d}" for number in range(1, n + 1)]


def officer_name(department: str) -> str:
    return f"{JURISDICTION}.{department}"


def officer(department: str) -> Principal:
    return Principal(0, officer_name(department), Role.OFFICER, JURISDICTION, department)


def write_data_dir(directory: Path, n: int) -> Path:
    """A service data directory whose extra jurisdiction pack has ``n`` departments."""
    write_synthetic_pack(jurisdiction_store(directory), n, id=JURISDICTION)
    return directory


def engine_context(data_dir: Path, database_url: str) -> EngineContext:
    """The context the service builds (handlers, forms, packs of ``data_dir``)."""
    config = settings.load({"HUIQIAN_DATA_DIR": data_dir, "HUIQIAN_DATABASE_URL": database_url})
    return build_engine_context(config)


def start_co_review(ctx: EngineContext) -> str:
    """Start the co-review through the engine, as the integrator; returns the instance's id."""
    instance = commands.start_instance(
        ctx,
        INTEGRATOR,
        process_key=PROCESS_KEY,
        variables={"measure": MEASURE},
        jurisdiction=JURISDICTION,
    )
    return instance.id


def start_variables(n: int, instance_id: str) -> dict[str, Any]:
    """The start data ``engine.starting`` gives a co-review of measure (一) in the pack."""
    codes = departments(n)
    return {
        "measure": MEASURE,
        "jurisdiction": JURISDICTION,
        "lead_department": codes[0],
        "roster": codes,
        "measure_departments": codes,
        "instance_id": instance_id,
    }


def step_data(department: str) -> dict[str, Any]:
    """A completion's task data as ``engine.commands.complete_task`` hands it to the workflow."""
    return {**FORM_DEFAULTS, **ANSWER, "completed_by": officer_name(department)}


def parse_co_review(ctx: EngineContext) -> SpecBundle:
    """The co-review's specs, parsed as deployment parses them."""
    deps = Dependencies(lambda _key: None, lambda _key: None, ctx.handlers)
    parsed = parse_bpmn(CO_REVIEW.read_bytes(), CO_REVIEW.name, deps)
    main = next(p for p in parsed if p.key == PROCESS_KEY)
    return SpecBundle(main.spec, main.subprocess_specs)
