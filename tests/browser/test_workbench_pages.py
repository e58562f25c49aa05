"""The designer, dashboard, brand library and admin pages in the browser.

The designer edits a deployed diagram in the bpmn-js modeler, deploys it from the
page and compares the versions; a broken diagram gets its error on the element;
the dashboard draws its charts; an admin sees a new webhook secret exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine import commands, definition_versions
from engine.identity import SYSTEM
from engine.models import utcnow
from tests.api_helpers import TWO_LANES
from tests.browser.conftest import DESKTOP, PHONE, LiveServer, fits_width, screenshot
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
CO_REVIEW = ROOT / "bpmn" / "co_review.bpmn"
NO_DEPARTMENT = FIXTURES / "no_department.bpmn"
DMN = ROOT / "bpmn" / "decisions" / "bj_absorption_award.dmn"
SignIn = Callable[[Page, str], None]


# Completed co-reviews: (days ago started, days taken) — a spread for the lead-time chart.
FINISHED = ((40, 0.4), (35, 1.5), (30, 2), (28, 2.5), (25, 4), (21, 6), (18, 9), (16, 16))
# Open co-reviews: (days ago started, departments); tasks are due in 5 working days.
RUNNING = ((12, ["fin", "samr"]), (0, ["hrss", "fin", "agri"]), (0, ["hrss", "fin"]), (0, ["hrss"]))


def frozen(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture(scope="module", autouse=True)
def deployed(live_server: LiveServer) -> None:
    """Three definitions, finished and open co-reviews (some overdue) for the dashboard."""
    ctx = live_server.app.extensions["huiqian.engine"]
    for path in (TWO_LANES, CO_REVIEW, DMN):
        commands.deploy(ctx, SYSTEM, path.read_bytes(), path.name)
    now = utcnow()

    def co_review(days_ago: float, departments: list[str]) -> str:
        ctx.clock = frozen(now - timedelta(days=days_ago))
        variables = {"departments": departments}
        instance = commands.start_instance(
            ctx, SYSTEM, process_key="co_review", variables=variables, jurisdiction="baoji"
        )
        return instance.id

    for days_ago, taken in FINISHED:
        instance_id = co_review(days_ago, ["hrss"])
        ctx.clock = frozen(now - timedelta(days=days_ago - taken))
        [task] = commands.list_open_tasks(ctx, instance_id)
        commands.complete_task(ctx, SYSTEM, task.id, {"decision": "approve"})
    for days_ago, departments in RUNNING:
        co_review(days_ago, departments)
    ctx.clock = utcnow


@contextmanager
def page_expecting(browser: Browser, *known: str) -> Iterator[Page]:
    """Like the ``page`` fixture, but console errors containing one of ``known`` are expected."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert [e for e in errors if not any(text in e for text in known)] == []


def open_designer(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#designer[data-ready=true]")).to_be_attached()


def test_designer_renames_a_task_deploys_it_and_compares_the_versions(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "designer")
    open_designer(page, f"{live_server.url}/designer/bpmn/two_lane_review")
    page.locator("g.djs-element[data-element-id=hrss_review]").click()
    expect(page.get_by_label("元素标识")).to_have_value("hrss_review")
    page.get_by_label("名称", exact=True).fill("人社资格初审")
    page.get_by_label("办理时限").fill("5WD")
    page.get_by_label("办理时限").press("Tab")
    expect(page.locator("g.djs-element[data-element-id=hrss_review]")).to_contain_text(
        "人社资格初审"
    )
    screenshot(page, "designer-desktop")

    page.get_by_role("button", name="部署").click()

    page.wait_for_url(re.compile(r"version=2&deployed=created"))
    expect(page.locator(".flash-success")).to_contain_text("v2")
    expect(page.locator(".version-list li[data-version='2']")).to_have_attribute(
        "aria-current", "true"
    )
    deployed = definition_versions.version(
        live_server.app.extensions["huiqian.engine"], "bpmn", "two_lane_review"
    )
    assert deployed.version == 2
    assert (
        'huiqian:dueIn="5WD"' in deployed.xml.decode() and "人社资格初审" in deployed.xml.decode()
    )

    page.locator(".version-list li[data-version='2'] a.diff-link").click()
    row = page.locator("tr[data-element-id=hrss_review]")
    expect(row).to_contain_text("人社资格初审")
    expect(row).to_contain_text("huiqian:dueIn")
    screenshot(page, "designer-diff-desktop", full_page=True)


def test_user_task_without_department_is_marked_on_the_element(
    browser: Browser, live_server: LiveServer, sign_in: SignIn
) -> None:
    # Chromium logs the validation's 422 answer as a failed resource load.
    with page_expecting(browser, "422 (UNPROCESSABLE ENTITY)") as page:
        sign_in(page, "designer")
        open_designer(page, f"{live_server.url}/designer/new")
        page.locator("#open-file").set_input_files(NO_DEPARTMENT)
        task = page.locator("g.djs-element[data-element-id=review]")
        expect(task).to_be_attached()

        page.get_by_role("button", name="校验").click()

        expect(task).to_have_class(re.compile(r"\bhq-problem\b"))
        badge = page.locator(".djs-overlays[data-container-id=review] .hq-problem-badge")
        expect(badge).to_be_visible()
        expect(page.locator("#designer-problems")).to_contain_text("review")
        expect(page.locator("#designer-status")).to_have_class(re.compile("flash-error"))
        screenshot(page, "designer-error-desktop")


def test_decision_table_is_shown_in_the_dmn_viewer(
    browser: Browser, live_server: LiveServer, sign_in: SignIn
) -> None:
    # dmn-js' production bundle logs Inferno's development-build notice (bpmn-io/dmn-js#965).
    with page_expecting(browser, "development build of Inferno") as page:
        sign_in(page, "designer")
        page.goto(f"{live_server.url}/designer/dmn/bj_absorption_award")
        expect(page.locator("#decision[data-ready=true]")).to_be_attached()
        expect(page.locator("#decision .tjs-table")).to_be_visible()
        expect(page.locator("#decision")).to_contain_text("宝鸡劳务品牌吸纳就业一次性奖补")


def test_dashboard_draws_its_charts_with_the_numbers(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "admin")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#chart-load[data-ready='2']")).to_be_attached()
    expect(page.locator("#chart-lead-times[data-ready='1']")).to_be_attached()
    drawn = page.evaluate(
        "Chart.getChart(document.getElementById('chart-load')).data.datasets.map(d => d.data)"
    )
    # fin: 2 on time, 1 overdue; samr: 1 overdue; hrss: 3 and agri: 1 on time.
    assert sorted(zip(*drawn, strict=True)) == [(0, 1), (1, 0), (2, 1), (3, 0)]
    lead_times = page.evaluate(
        "Chart.getChart(document.getElementById('chart-lead-times')).data.datasets[0].data"
    )
    assert lead_times == [1, 3, 2, 1, 1, 0]
    screenshot(page, "dashboard-desktop", full_page=True)


def test_new_webhook_secret_is_shown_once(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "admin")
    page.goto(f"{live_server.url}/admin/webhooks")
    page.get_by_label("接收地址（HTTPS）").fill("https://8.8.8.8/huiqian-hook")
    page.get_by_label("task.completed").check()
    page.get_by_role("button", name="创建订阅").click()

    secret = page.locator("#new-secret")
    expect(secret).to_contain_text("whsec_")
    screenshot(page, "admin-webhook-secret-desktop")
    value = secret.inner_text()
    page.goto(f"{live_server.url}/admin/webhooks")
    expect(page.locator("table")).to_contain_text("https://8.8.8.8/huiqian-hook")
    assert value not in page.content()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_pages_fit_the_viewport_without_horizontal_scrolling(
    page: Page, live_server: LiveServer, sign_in: SignIn, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    sign_in(page, "admin")
    for path in ("/designer/", "/brands/", "/admin/users", "/admin/webhooks", "/admin/incidents"):
        page.goto(f"{live_server.url}{path}")
        assert fits_width(page), path
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#chart-load[data-ready='2']")).to_be_attached()
    assert fits_width(page)
    if viewport is PHONE:
        screenshot(page, "dashboard-phone", full_page=True)
    open_designer(page, f"{live_server.url}/designer/bpmn/co_review")
    assert fits_width(page)
    if viewport is PHONE:
        screenshot(page, "designer-phone", full_page=True)
