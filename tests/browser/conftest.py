"""Headless Chromium through Playwright: one browser per session, a fresh context per test.

A browser test fails when its page logged a console error, an uncaught exception or a
Content-Security-Policy violation (Chromium reports those as console errors).

Accessibility: `axe_page` is a page whose context lets the test inject axe-core (installed from
package-lock.json by `make test-tools`) and `axe_violations(page)` runs it.
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
from django.test import override_settings
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import instagram_settings

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
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_MISSING = "axe-core missing: run `make test-tools` (npm ci, from package-lock.json)"
# The bar is zero violations of WCAG 2.1 A and AA and of axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

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
    yield from _checked_page(browser, request, bypass_csp=False)


@pytest.fixture
def axe_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a context that ignores the Content-Security-Policy, so that axe-core can be
    injected as a script tag. Only for accessibility runs: every other browser test uses `page`,
    whose context keeps the policy and fails on its violations."""
    if not AXE.exists():
        pytest.fail(AXE_MISSING, pytrace=False)
    yield from _checked_page(browser, request, bypass_csp=True)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Inject axe-core into the page as it is now and return its violations (rule id, impact,
    help and the CSS targets of the failing nodes)."""
    page.add_script_tag(path=AXE)
    result = page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ")),
            summary: v.nodes.length ? v.nodes[0].failureSummary : "",
          }));
        }""",
        AXE_TAGS,
    )
    return list(result)


def _checked_page(
    browser: Browser, request: pytest.FixtureRequest, *, bypass_csp: bool
) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, bypass_csp=bypass_csp)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    # A test that visits an error page on purpose (a 404, a form sent back with 400) asserts the
    # status itself; the browser's "Failed to load resource" line for that document is no news.
    error_documents: set[str] = set()

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document" and response.status >= 400:
            error_documents.add(response.url)

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url")
        if message.type == "error" and not (
            message.text.startswith("Failed to load resource") and url in error_documents
        ):
            problems.append(f"console error: {message.text} ({url})")

    def on_page_error(error: PlaywrightError) -> None:
        problems.append(f"uncaught exception: {error.message}")

    page.on("response", on_response)
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


@pytest.fixture
def ig_live(instagram_server: InstagramEmulator, live_server: Any) -> Iterator[InstagramEmulator]:
    """The emulator, with ALT's Instagram settings (redirect URI on the live server) applied to
    the live server's thread too."""
    instagram_server.reset()
    instagram_server.redirect_uris = [f"{live_server.url}/settings/social/instagram/callback/"]
    with override_settings(**instagram_settings(instagram_server.base_url, live_server.url)):
        yield instagram_server
