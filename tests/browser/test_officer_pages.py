"""An officer's day in the browser: sign in, inbox, task form, instance diagram."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine import commands
from engine.identity import SYSTEM
from engine.models import Instance
from tests.browser.conftest import DESKTOP, PHONE, LiveServer, fits_width, screenshot

CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"
SignIn = Callable[[Page, str], None]


@pytest.fixture(scope="module")
def start_co_review(live_server: LiveServer) -> Callable[[str], Instance]:
    """``start_co_review(subject)``: a baoji co-review asking hrss and agri."""
    ctx = live_server.app.extensions["huiqian.engine"]
    commands.deploy(ctx, SYSTEM, CO_REVIEW.read_bytes(), CO_REVIEW.name)

    def start(subject: str) -> Instance:
        variables = {"subject": subject, "departments": ["hrss", "agri"]}
        return commands.start_instance(
            ctx,
            SYSTEM,
            process_key="co_review",
            variables=variables,
            jurisdiction="baoji",
            business_key=subject,
        )

    return start


def open_task(page: Page, live_server: LiveServer, instance: Instance, department: str) -> str:
    ctx = live_server.app.extensions["huiqian.engine"]
    task = next(t for t in commands.list_open_tasks(ctx, instance.id) if t.department == department)
    page.goto(f"{live_server.url}/tasks/{task.id}")
    return task.id


def department_tab(page: Page) -> None:
    page.locator("nav.tabs a[data-tab=department]").click()
    page.wait_for_url(re.compile(r"tab=department"))


def test_officer_completes_a_co_review_task_from_the_department_inbox(
    page: Page, live_server: LiveServer, sign_in: SignIn, start_co_review: Callable[[str], Instance]
) -> None:
    instance = start_co_review("BJ-2026-001")
    sign_in(page, "baoji.hrss")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    department_tab(page)
    row = page.locator("li.task", has=page.locator("a[href*='/tasks/']")).filter(
        has_text="部门会签"
    )
    expect(row.first).to_be_visible()
    count_before = int(page.locator("a[data-tab=department] .count").inner_text())
    screenshot(page, "inbox-desktop")

    task_id = open_task(page, live_server, instance, "hrss")
    expect(page.get_by_label("审核结论")).to_be_visible()
    page.get_by_label("审核结论").select_option(label="同意")
    page.get_by_label("审核意见").fill("符合认定条件，同意。")
    screenshot(page, "task-desktop", full_page=True)
    page.get_by_role("button", name="提交").click()

    page.wait_for_url(re.compile(r"/inbox"))
    expect(page.locator(".flash-success")).to_contain_text("已提交")
    department_tab(page)
    expect(page.locator(f"li.task[data-task-id='{task_id}']")).to_have_count(0)
    expect(page.locator("a[data-tab=department] .count")).to_have_text(str(count_before - 1))
    page.locator("nav.tabs a[data-tab=done]").click()
    expect(page.locator(f"li.task[data-task-id='{task_id}']")).to_be_visible()


def test_reject_without_opinion_is_refused_on_the_field_before_sending(
    page: Page, live_server: LiveServer, sign_in: SignIn, start_co_review: Callable[[str], Instance]
) -> None:
    instance = start_co_review("BJ-2026-002")
    sign_in(page, "baoji.agri")
    open_task(page, live_server, instance, "agri")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.get_by_label("审核结论").select_option(label="不同意")
    expect(page.locator("[data-field=opinion] .req")).to_be_visible()
    page.get_by_role("button", name="提交").click()

    expect(page.locator("#err-opinion")).to_have_text("此项为必填项。")
    expect(page.get_by_label("审核意见")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("审核意见")).to_be_focused()
    assert posts == []


def test_english_switch_changes_the_labels(
    page: Page, live_server: LiveServer, sign_in: SignIn, start_co_review: Callable[[str], Instance]
) -> None:
    instance = start_co_review("BJ-2026-003")
    sign_in(page, "baoji.hrss")
    expect(page.locator("a[data-tab=department]")).to_contain_text("部门待办")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("a[data-tab=department]")).to_contain_text("Department tasks")
    expect(page.get_by_label("Process")).to_be_visible()
    open_task(page, live_server, instance, "hrss")
    expect(page.get_by_role("button", name="Claim")).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()


def test_instance_diagram_marks_done_active_elements(
    page: Page, live_server: LiveServer, sign_in: SignIn, start_co_review: Callable[[str], Instance]
) -> None:
    instance = start_co_review("BJ-2026-004")
    sign_in(page, "baoji.hrss")
    page.goto(f"{live_server.url}/instances/{instance.id}")

    expect(page.locator("#diagram[data-ready=true]")).to_be_attached()
    expect(page.locator("g.djs-element[data-element-id=review]")).to_have_class(
        re.compile(r"\bhq-active\b")
    )
    for done in ("start", "prepare"):
        expect(page.locator(f"g.djs-element[data-element-id={done}]")).to_have_class(
            re.compile(r"\bhq-done\b")
        )
    expect(page.locator("g.djs-element[data-element-id=consolidate]")).not_to_have_class(
        re.compile(r"\bhq-(done|active|failed)\b")
    )
    expect(page.locator("ol.timeline li[data-action=start]")).to_contain_text("发起")
    screenshot(page, "instance-desktop", full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_pages_fit_the_viewport_without_horizontal_scrolling(
    page: Page,
    live_server: LiveServer,
    sign_in: SignIn,
    start_co_review: Callable[[str], Instance],
    viewport: dict[str, int],
) -> None:
    instance = start_co_review(f"BJ-2026-W{viewport['width']}")
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/login")
    assert fits_width(page)
    sign_in(page, "baoji.hrss")
    department_tab(page)
    assert fits_width(page)
    open_task(page, live_server, instance, "hrss")
    assert fits_width(page)
    page.goto(f"{live_server.url}/instances/{instance.id}")
    expect(page.locator("#diagram[data-ready=true]")).to_be_attached()
    assert fits_width(page)
    if viewport == PHONE:
        open_task(page, live_server, instance, "hrss")
        screenshot(page, "task-phone", full_page=True)


def test_a_post_without_the_csrf_token_is_refused(
    page: Page, live_server: LiveServer, sign_in: SignIn, start_co_review: Callable[[str], Instance]
) -> None:
    instance = start_co_review("BJ-2026-005")
    sign_in(page, "baoji.hrss")
    task_id = open_task(page, live_server, instance, "hrss")

    refused = page.request.post(f"{live_server.url}/tasks/{task_id}/claim", form={"version": "1"})

    assert refused.status == 400
    page.reload()
    expect(page.get_by_role("button", name="认领")).to_be_visible()
