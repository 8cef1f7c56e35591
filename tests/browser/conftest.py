"""Headless Chromium through Playwright: one browser per session, a fresh context per test.

A browser test fails when its page logged a console error, an uncaught exception or a
Content-Security-Policy violation (Chromium reports those as console errors).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "chromium missing: apt-get install -y chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"

# Playwright's sync API keeps an asyncio loop running on the main thread for as long as the
# session's browser is open, so Django's async-safety guard refuses every ORM call made there
# (creating the test database, fixtures, the flush after a live_server test) with
# SynchronousOnlyOperation; without this line the first browser test errors in setup. Nothing
# here is really async: the live server answers requests on its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

_skipped_for_missing_chromium: list[str] = []
_call_report = pytest.StashKey[pytest.TestReport]()


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if _running_in_ci():
            pytest.fail(f"{CHROMIUM_MISSING} (CI must run the browser tests)", pytrace=False)
        pytest.skip(CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_page_error(error: PlaywrightError) -> None:
        problems.append(f"uncaught exception: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield page
    report = request.node.stash.get(_call_report, None)
    if report is not None and report.failed:
        _save_screenshot(page, _artifact_dir(request.node) / "failure.png")
    context.close()
    assert not problems, "the page logged errors:\n" + "\n".join(problems)


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`screenshot("dashboard")` saves var/test-artifacts/browser/<test>/01-dashboard.png."""
    directory = _artifact_dir(request.node)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    numbers = itertools.count(1)

    def take(name: str) -> Path:
        path = directory / f"{next(numbers):02d}-{name}.png"
        _save_screenshot(page, path)
        return path

    return take


def sign_in(page: Page, user: Any, live_server_url: str) -> None:
    """Give the page a session for `user` without walking through the sign-in form (the sign-up
    journey test covers the form itself)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_id, "url": live_server_url}]
    )


def _artifact_dir(item: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.name)


def _save_screenshot(page: Page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A full-page capture keeps fixed and sticky bars where the viewport was, i.e. across the
    # middle of a long page; a viewport as tall as the page puts them where a reader expects.
    viewport = page.viewport_size
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    if viewport is None or height <= viewport["height"]:
        page.screenshot(path=path, full_page=True)
        return
    page.set_viewport_size({"width": viewport["width"], "height": height})
    try:
        page.screenshot(path=path, full_page=True)
    finally:
        page.set_viewport_size(viewport)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_call_report] = report
    if (
        report.skipped
        and item.get_closest_marker("browser") is not None
        and CHROMIUM_MISSING in str(report.longrepr)
    ):
        _skipped_for_missing_chromium.append(item.nodeid)
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _skipped_for_missing_chromium:
        return
    write = terminalreporter.write_sep
    write("!", "BROWSER TESTS DID NOT RUN", red=True, bold=True)
    terminalreporter.write_line(
        f"{len(_skipped_for_missing_chromium)} browser test(s) skipped: {CHROMIUM_MISSING}",
        red=True,
        bold=True,
    )
    terminalreporter.write_line(
        "Sign-up, sign-in and page-layout regressions are NOT covered by this run.", red=True
    )
    write("!", "install chromium and run again", red=True, bold=True)
