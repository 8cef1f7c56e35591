"""A new agent's first visit in a browser: sign up, confirm the emailed link, sign in, sign out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from integrations.sandbox.resend import ResendEmulator

# An address no other test signs up: allauth allows 3 confirmation emails per address per 10 min,
# counted in the cache across the whole test session.
EMAIL = "riley.brooks@example.com"
PASSWORD = "harbor-view-5521"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")
PHONE_CONTENT_WIDTH = 390 - 2 * 16  # the page's side padding is 1rem


def _on_live_server(link: str, live_server_url: str) -> str:
    # The emailed link carries the request's host and ACCOUNT_DEFAULT_HTTP_PROTOCOL (https).
    live = urlsplit(live_server_url)
    return urlsplit(link)._replace(scheme=live.scheme, netloc=live.netloc).geturl()


def _assert_message_sits_above_a_full_width_card(page: Page) -> None:
    message = page.locator(".flash").first.bounding_box()
    card = page.locator(".auth-card").bounding_box()
    assert message is not None
    assert card is not None
    assert message["y"] + message["height"] <= card["y"]
    assert card["width"] >= PHONE_CONTENT_WIDTH


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.browser
@pytest.mark.promise("ACC-1")
def test_a_new_agent_signs_up_confirms_the_emailed_link_signs_in_and_signs_out(
    live_server: Any, resend: ResendEmulator, page: Page, screenshot: Callable[[str], Path]
) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    screenshot("signup")
    page.get_by_label("Full name").fill("Riley Brooks")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("This password is too short")
    )
    screenshot("signup-error")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot("signup-filled")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/confirm-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    [email] = resend.sent_to(EMAIL)
    _assert_message_sits_above_a_full_width_card(page)
    screenshot("verification-sent")

    match = CONFIRM_LINK.search(email["text"])
    assert match, email["text"]
    page.goto(_on_live_server(match.group(0), live_server.url))
    expect(page.get_by_text(EMAIL).first).to_be_visible()
    screenshot("confirm-email")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {EMAIL}")
    _assert_message_sits_above_a_full_width_card(page)
    screenshot("login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Riley")
    assert _page_width(page) <= 390
    screenshot("dashboard-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert _page_width(page) <= 1280
    screenshot("dashboard-1280")

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot("signed-out")
