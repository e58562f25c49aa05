"""Browser tests: the app behind a real HTTP server, driven by headless Chromium.

One server per test module (SQLite only) and one browser per test process;
each test gets a fresh browser context (cookies, viewport).  Chromium is
Debian's package (``make test`` installs it), launched by Playwright's driver.
Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from services.app import create_app
from services.demo import seed_demo_users
from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def live_server(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 (a free port), with the demo users, on a fresh SQLite file."""
    data_dir = tmp_path_factory.mktemp("live")
    database = data_dir / "huiqian.sqlite3"
    shutil.copyfile(_sqlite_template, database)
    app = create_app(
        {"HUIQIAN_DATA_DIR": data_dir, "HUIQIAN_DATABASE_URL": f"sqlite:///{database}"}
    )
    seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()
    app.extensions["huiqian.engine"].db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page of its own; fails the test on any console error (CSP included)."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    assert errors == [], errors


@pytest.fixture
def sign_in(live_server: LiveServer) -> Callable[[Page, str], None]:
    """``sign_in(page, "baoji.hrss")`` through the login form; lands on the inbox."""

    def submit(page: Page, username: str) -> None:
        page.goto(f"{live_server.url}/login")
        page.get_by_label(re.compile("用户名|Username")).fill(username)
        page.get_by_label(re.compile("密码|Password")).fill(DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/inbox"))

    return submit


def screenshot(page: Page, name: str, **options: Any) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def fits_width(page: Page) -> bool:
    """No horizontal scrollbar: the document is not wider than the viewport."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
