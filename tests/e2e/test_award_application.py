"""The award_application (奖补) process over HTTP: amount by rule, three reviews, payment."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api_helpers import complete, get_instance, ok, open_tasks, problem, start, the_open_task

LIBRARY = Path(__file__).resolve().parents[2] / "bpmn"
KEY = "award_application"
REVIEWS = (("hr_check", "hrss"), ("fin_review", "fin"), ("decide", "hrss"))

Login = Callable[[str], dict[str, str]]

# DOMAIN §5, BJ-N8 case 1: exactly 500 workers with signed agreements, county amount 300,000.
BJ_N8_CASE_1 = {
    "rule": "bj_absorption_award",
    "applicant": "陈仓区西岐名吃培育创建中心",
    "inputs": {"signed_workers": 500, "county_rule_amount": 300_000},
    "requested_amount": 300_000,
}
# DOMAIN §5, QH-N6 case 2: 监测帮扶对象, 5 months out of province, claims 1,500.
QH_N6_CASE_2 = {
    "rule": "qh_transport_subsidy",
    "applicant": "化隆县务工人员马某",
    "inputs": {
        "groups": ["monitored"],
        "work_province": "jiangsu",
        "work_start": "2023-01-10",
        "work_end": "2023-06-10",
        "claimed_amount": 1_500,
    },
    "requested_amount": 1_500,
}


@pytest.fixture
def login(login: Login) -> Login:
    return functools.cache(login)


@pytest.fixture(autouse=True)
def deployed(deploy: Callable[..., dict[str, Any]]) -> None:
    for path in sorted((LIBRARY / "decisions").glob("*.dmn")):
        deploy(path)
    deploy(LIBRARY / "award_application.bpmn")


def apply(client: FlaskClient, login: Login, jurisdiction: str, application: dict[str, Any]) -> str:
    """Start an application as the jurisdiction's hrss officer and submit the form."""
    applicant = login(f"{jurisdiction}.hrss")
    instance = start(client, applicant, KEY)
    task = the_open_task(client, applicant, instance["id"], "apply")
    assert task["form"]["key"] == "award_application"
    ok(complete(client, applicant, task["id"], application))
    return instance["id"]


def review(
    client: FlaskClient,
    login: Login,
    jurisdiction: str,
    instance_id: str,
    bpmn_id: str,
    department: str,
    approved: bool = True,
) -> dict[str, Any]:
    officer = login(f"{jurisdiction}.{department}")
    task = the_open_task(client, officer, instance_id, bpmn_id)
    assert task["department"] == department
    opinion = "同意" if approved else "材料不全，不同意"
    return ok(complete(client, officer, task["id"], {"approved": approved, "opinion": opinion}))


def approve_all(client: FlaskClient, login: Login, jurisdiction: str, instance_id: str) -> None:
    for bpmn_id, department in REVIEWS:
        review(client, login, jurisdiction, instance_id, bpmn_id, department)


def test_bj_absorption_award_of_500_signed_workers_is_paid_300000(
    client: FlaskClient, login: Login
) -> None:
    instance_id = apply(client, login, "baoji", BJ_N8_CASE_1)
    approve_all(client, login, "baoji", instance_id)

    instance = get_instance(client, login("admin"), instance_id)
    variables = instance["variables"]
    assert instance["status"] == "completed"
    assert variables["result"] == "approved"
    assert variables["award"]["rule"] == "bj_absorption_award"
    assert variables["award"]["decision_version"] == 1
    assert (variables["award"]["eligible"], variables["award"]["amount"]) == (True, 300_000)
    assert variables["payment"]["reserved"] == 300_000
    assert variables["payment"]["fund"] == "就业补助资金"
    assert variables["payment"]["reference"].startswith("FIN-")
    assert [variables[step]["by"] for step in ("hr_review", "fin_review", "decision")] == [
        "baoji.hrss",
        "baoji.fin",
        "baoji.hrss",
    ]


def test_qh_transport_subsidy_claim_of_1500_is_capped_at_1000(
    client: FlaskClient, login: Login
) -> None:
    instance_id = apply(client, login, "qinghai", QH_N6_CASE_2)
    approve_all(client, login, "qinghai", instance_id)

    variables = get_instance(client, login("admin"), instance_id)["variables"]
    assert variables["result"] == "approved"
    assert variables["award"]["rule_amount"] == 1_000
    assert variables["award"]["amount"] == 1_000
    assert variables["payment"]["reserved"] == 1_000


def test_amount_is_the_lower_of_the_request_and_the_rule(client: FlaskClient, login: Login) -> None:
    instance_id = apply(client, login, "baoji", {**BJ_N8_CASE_1, "requested_amount": 250_000})

    award = get_instance(client, login("admin"), instance_id)["variables"]["award"]
    assert (award["rule_amount"], award["amount"]) == (300_000, 250_000)


def test_rejection_by_finance_ends_rejected_without_decision_or_payment(
    client: FlaskClient, login: Login
) -> None:
    instance_id = apply(client, login, "baoji", BJ_N8_CASE_1)
    review(client, login, "baoji", instance_id, "hr_check", "hrss")
    review(client, login, "baoji", instance_id, "fin_review", "fin", approved=False)

    instance = get_instance(client, login("admin"), instance_id)
    assert instance["status"] == "completed"
    assert instance["variables"]["result"] == "rejected"
    assert instance["variables"]["fin_review"]["opinion"] == "材料不全，不同意"
    assert "payment" not in instance["variables"]
    assert open_tasks(client, login("admin"), instance_id=instance_id) == []
    decide_tasks = [
        t for t in open_tasks(client, login("baoji.hrss")) if t["instance_id"] == instance_id
    ]
    assert decide_tasks == []


def test_rejection_by_county_hr_skips_finance(client: FlaskClient, login: Login) -> None:
    instance_id = apply(client, login, "baoji", BJ_N8_CASE_1)
    review(client, login, "baoji", instance_id, "hr_check", "hrss", approved=False)

    instance = get_instance(client, login("admin"), instance_id)
    assert instance["variables"]["result"] == "rejected"
    assert open_tasks(client, login("baoji.fin"), instance_id=instance_id) == []


def test_application_failing_the_rule_ends_ineligible_without_review(
    client: FlaskClient, login: Login
) -> None:
    """BJ-N8 case 2: 499 signed workers is below the 500 threshold."""
    inputs = {"signed_workers": 499, "county_rule_amount": 300_000}
    instance_id = apply(client, login, "baoji", {**BJ_N8_CASE_1, "inputs": inputs})

    instance = get_instance(client, login("admin"), instance_id)
    assert instance["status"] == "completed"
    assert instance["variables"]["result"] == "ineligible"
    assert instance["variables"]["award"]["amount"] == 0
    assert open_tasks(client, login("admin"), instance_id=instance_id) == []


def test_rule_outside_the_award_list_is_refused_by_the_form(
    client: FlaskClient, login: Login
) -> None:
    applicant = login("qinghai.hrss")
    instance = start(client, applicant, KEY)
    task = the_open_task(client, applicant, instance["id"], "apply")
    loan = {**QH_N6_CASE_2, "rule": "qh_guaranteed_loan_ceiling"}

    body = problem(complete(client, applicant, task["id"], loan), 422, "invalid-input")

    assert body["errors"][0]["field"] == "rule"
    assert the_open_task(client, applicant, instance["id"], "apply")["state"] == "open"
