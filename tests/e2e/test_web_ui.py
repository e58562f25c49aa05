"""The officer's web pages through Flask's test client, on SQLite and PostgreSQL.

Sign-in and CSRF, the inbox's tabs, filters and counts, the task form's
server-side validation, claim/unclaim, and the instance page.  What needs a
browser (client-side checks, the diagram) is in tests/browser.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.models import AuditEntry, utcnow
from tests.api_helpers import ok, start, tasks
from tests.conftest import DEMO_PASSWORD

CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"
Login = Callable[[str], dict[str, str]]


def page_text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def csrf_token(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> TestResponse:
    token = csrf_token(client.get("/login"))
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form)


def data_attribute(response: TestResponse, name: str) -> Any:
    """The JSON in an element's ``data-<name>`` attribute."""
    found = re.search(rf'data-{name}="([^"]*)"', response.get_data(as_text=True))
    assert found, f"no data-{name} attribute"
    return json.loads(html.unescape(found.group(1)))


def tab_counts(client: FlaskClient) -> dict[str, int]:
    found = re.findall(
        r'data-tab="(\w+)".*?<span class="count">(\d+)</span>',
        page_text(client.get("/inbox")),
        re.S,
    )
    return {tab: int(count) for tab, count in found}


def listed(client: FlaskClient, **query: str) -> list[str]:
    """The task ids an inbox page lists."""
    page = page_text(client.get("/inbox", query_string=query))
    return re.findall(r'<li class="task[^"]*" data-task-id="([^"]+)"', page)


def post_form(client: FlaskClient, path: str, form: dict[str, str]) -> TestResponse:
    """A POST as the page at ``path`` sends it: with its CSRF token and task version.

    ``_action`` in ``form`` is where the form posts to (default: ``path``).
    """
    page = client.get(path)
    fields = dict(form)
    action = fields.pop("_action", path)
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True))
    data = {"csrf_token": csrf_token(page), **fields}
    if version:
        data.setdefault("version", version.group(1))
    return client.post(action, data=data)


@pytest.fixture
def officer(app: Flask) -> Callable[[str], FlaskClient]:
    """``officer("baoji.hrss")``: a test client of its own, signed in through the form."""

    def signed_in(username: str) -> FlaskClient:
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        return client

    return signed_in


@pytest.fixture
def co_review(client: FlaskClient, login: Login, deploy: Callable[..., Any]) -> dict[str, Any]:
    """A baoji co-review asking hrss and agri; ``tasks`` maps department → task id."""
    deploy(CO_REVIEW)
    variables = {"jurisdiction": "baoji", "subject": "品牌认定", "departments": ["hrss", "agri"]}
    instance = start(client, login("integrator"), key="co_review", variables=variables)
    found = tasks(client, login("admin"), scope="all", instance_id=instance["id"])
    instance["tasks"] = {task["department"]: task["id"] for task in found}
    return instance


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/inbox?tab=mine")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/inbox?tab%3Dmine"


def test_login_page_is_chinese_by_default_and_english_on_request(client: FlaskClient) -> None:
    chinese = page_text(client.get("/login"))
    assert '<html lang="zh-CN">' in chinese
    assert '<label for="username">用户名</label>' in chinese

    token = csrf_token(client.get("/login"))
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token})
    english = page_text(client.get("/login"))

    assert '<html lang="en">' in english
    assert '<label for="username">Username</label>' in english
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("中文", ""))


def test_sign_in_keeps_the_language_and_lands_on_the_wanted_page(client: FlaskClient) -> None:
    token = csrf_token(client.get("/login"))
    client.post("/language", data={"lang": "en", "csrf_token": token})
    token = csrf_token(client.get("/login?next=/inbox?tab=done"))
    form = {"username": "baoji.hrss", "password": DEMO_PASSWORD, "csrf_token": token}

    response = client.post("/login", data={**form, "next": "/inbox?tab=done"})

    assert response.headers["Location"] == "/inbox?tab=done"
    assert "Department tasks" in page_text(client.get("/inbox"))


@pytest.mark.parametrize(
    "target", ["//evil.example/phish", "/\\evil.example", "https://evil.example/", "inbox"]
)
def test_sign_in_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    token = csrf_token(client.get("/login"))
    form = {"username": "baoji.hrss", "password": DEMO_PASSWORD, "csrf_token": token}

    response = client.post("/login", data={**form, "next": target})

    assert response.headers["Location"] == "/inbox"


def test_failed_sign_in_is_told_and_audited(app: Flask, client: FlaskClient) -> None:
    response = sign_in(client, "baoji.hrss", "wrong-password")

    assert response.status_code == 401
    assert "用户名或密码错误。" in page_text(response)
    with app.extensions["huiqian.engine"].db.read_session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).one()
    assert entry.actor == "baoji.hrss"


def test_sign_in_is_throttled_like_the_token_endpoint(client: FlaskClient) -> None:
    for _ in range(10):
        assert sign_in(client, "baoji.hrss", "wrong-password").status_code == 401

    throttled = sign_in(client, "baoji.hrss")

    assert throttled.status_code == 429
    assert "登录失败次数过多" in page_text(throttled)


def test_a_form_post_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    form = {"username": "baoji.hrss", "password": DEMO_PASSWORD}

    response = client.post("/login", data=form)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert client.get("/inbox").status_code == 302  # still signed out


def test_an_api_post_relying_on_the_session_cookie_needs_the_csrf_token(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    browser = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]

    forged = browser.post(f"/api/v1/tasks/{task_id}/claim", json={})
    token = csrf_token(browser.get("/inbox"))
    allowed = browser.post(
        f"/api/v1/tasks/{task_id}/claim", json={}, headers={"X-CSRFToken": token}
    )

    assert forged.status_code == 400
    assert forged.mimetype == "application/problem+json"
    assert ok(allowed)["assignee"] == "baoji.hrss"


def test_logout_ends_the_session(officer: Callable[[str], FlaskClient]) -> None:
    browser = officer("baoji.hrss")

    post_form(browser, "/inbox", {"_action": "/logout"})

    assert browser.get("/inbox").status_code == 302


def test_inbox_tabs_count_and_list_what_each_holds(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss, agri = officer("baoji.hrss"), officer("baoji.agri")
    task_id = co_review["tasks"]["hrss"]
    assert tab_counts(hrss) == {"mine": 0, "department": 1, "done": 0, "cc": 0}
    assert listed(hrss, tab="department") == [task_id]

    post_form(hrss, f"/tasks/{task_id}", {"_action": f"/tasks/{task_id}/claim"})
    assert tab_counts(hrss) == {"mine": 1, "department": 1, "done": 0, "cc": 0}
    assert listed(hrss, tab="mine") == [task_id]

    post_form(
        hrss, f"/tasks/{task_id}", {"_action": f"/tasks/{task_id}/complete", "decision": "approve"}
    )
    assert tab_counts(hrss) == {"mine": 0, "department": 0, "done": 1, "cc": 0}
    assert listed(hrss, tab="done") == [task_id]
    assert listed(agri, tab="department") == [co_review["tasks"]["agri"]]


def test_copies_tab_lists_tasks_copied_to_my_department_for_reading_only(
    client: FlaskClient,
    login: Login,
    officer: Callable[[str], FlaskClient],
    co_review: dict[str, Any],
) -> None:
    fin = officer("baoji.fin")
    task_id = co_review["tasks"]["hrss"]
    assert "还没有抄送给您或本部门的事项" in page_text(fin.get("/inbox?tab=cc"))
    copy = {"departments": ["fin"], "note": "请财政局知悉"}
    ok(client.post(f"/api/v1/tasks/{task_id}/cc", headers=login("baoji.hrss"), json=copy), 201)

    assert tab_counts(fin) == {"mine": 0, "department": 0, "done": 0, "cc": 1}
    assert listed(fin, tab="cc") == [task_id]
    page = page_text(fin.get(f"/tasks/{task_id}"))
    assert "此事项抄送给您，仅供阅知。" in page
    assert 'class="stack taskform"' not in page


def test_inbox_filters_by_process_and_state(
    app: Flask, officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]

    assert listed(hrss, tab="department", process="co_review") == [task_id]
    assert listed(hrss, tab="department", process="brand_exit") == []
    assert listed(hrss, tab="department", state="unclaimed") == [task_id]
    assert listed(hrss, tab="department", state="claimed") == []
    assert listed(hrss, tab="department", state="overdue") == []

    app.extensions["huiqian.engine"].clock = lambda: utcnow() + timedelta(days=30)
    page = page_text(hrss.get("/inbox", query_string={"tab": "department", "state": "overdue"}))

    assert re.findall(r'data-task-id="([^"]+)"', page) == [task_id]
    assert '<li class="task overdue"' in page
    assert "已逾期" in page


def test_task_page_renders_the_form_from_its_schema(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    response = officer("baoji.hrss").get(f"/tasks/{co_review['tasks']['hrss']}")
    page = page_text(response)

    assert '<label for="f-decision">审核结论<span class="req" aria-hidden="true" >*</span>' in page
    assert re.search(r'<select id="f-decision" name="decision"[^>]*required', page)
    assert '<option value="need_info" >需补充材料</option>' in page
    assert re.search(r'<textarea id="f-opinion" name="opinion"[^>]*maxlength="2000"', page)
    assert "本部门的审核意见" in page
    assert data_attribute(response, "rules") == [
        {
            "field": "decision",
            "values": ["reject", "need_info"],
            "require": ["opinion"],
            "patterns": {"opinion": "\\S"},
        }
    ]


def test_reject_without_opinion_is_refused_next_to_the_field(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]

    response = post_form(
        hrss,
        f"/tasks/{task_id}",
        {"_action": f"/tasks/{task_id}/complete", "decision": "reject", "opinion": "  "},
    )

    assert response.status_code == 422
    page = page_text(response)
    assert '<p class="error" id="err-opinion" aria-live="polite">此项为必填项。</p>' in page
    assert '<option value="reject" selected>不同意</option>' in page
    assert listed(hrss, tab="department") == [task_id]


def test_completing_shows_the_opinion_on_the_instance_page(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]
    form = {
        "_action": f"/tasks/{task_id}/complete",
        "decision": "reject",
        "opinion": "吸纳就业人数不足",
    }

    response = post_form(hrss, f"/tasks/{task_id}", form)

    assert response.status_code == 302
    page = page_text(hrss.get(f"/instances/{co_review['id']}"))
    assert "宝鸡市人力资源和社会保障局" in page
    assert '<span class="decision decision-reject">不同意</span>' in page
    assert "<p>吸纳就业人数不足</p>" in page
    assert re.search(
        r'<li data-action="complete">.*?<span class="actor">baoji.hrss</span>', page, re.S
    )


def test_a_stale_form_is_told_on_the_task_page(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]
    stale = {"_action": f"/tasks/{task_id}/complete", "decision": "approve", "version": "1"}
    post_form(hrss, f"/tasks/{task_id}", {"_action": f"/tasks/{task_id}/claim"})

    response = post_form(hrss, f"/tasks/{task_id}", stale)

    assert response.headers["Location"] == f"/tasks/{task_id}"
    assert "提交未成功" in page_text(hrss.get(f"/tasks/{task_id}"))


def test_unclaim_gives_the_task_back_to_the_department(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")
    task_id = co_review["tasks"]["hrss"]
    post_form(hrss, f"/tasks/{task_id}", {"_action": f"/tasks/{task_id}/claim"})

    post_form(hrss, f"/tasks/{task_id}", {"_action": f"/tasks/{task_id}/unclaim"})

    assert "已取消认领。" in page_text(hrss.get(f"/tasks/{task_id}"))
    assert tab_counts(hrss)["mine"] == 0


def test_another_departments_task_is_not_found(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    response = officer("baoji.fin").get(f"/tasks/{co_review['tasks']['hrss']}")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_instance_page_marks_where_the_instance_stands(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    hrss = officer("baoji.hrss")

    page = hrss.get(f"/instances/{co_review['id']}")
    diagram = hrss.get(f"/instances/{co_review['id']}/diagram.bpmn")

    markers = data_attribute(page, "markers")
    assert "review" in markers["active"]
    assert {"start", "prepare"} <= set(markers["done"])
    assert markers["failed"] == []
    assert diagram.mimetype == "application/xml"
    assert b'<bpmn:process id="co_review"' in diagram.data


def test_another_jurisdictions_instance_is_not_found(
    officer: Callable[[str], FlaskClient], co_review: dict[str, Any]
) -> None:
    qinghai = officer("qinghai.hrss")

    assert qinghai.get(f"/instances/{co_review['id']}").status_code == 404
    assert qinghai.get(f"/instances/{co_review['id']}/diagram.bpmn").status_code == 404
