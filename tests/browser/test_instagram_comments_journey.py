"""Keyword triggers in a real browser: Alice creates a trigger, switches triggers on, a comment
with the keyword arrives, and the private reply DM is sent (the emulator's log) and listed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from integrations.instagram.models import KeywordTrigger
from tests.browser.conftest import sign_in
from tests.conftest import Outbox
from tests.integrations.instagram_comments_helpers import (
    arrives,
    comment,
    connect,
    post,
    sent_private_replies,
)

pytestmark = pytest.mark.browser


def test_a_comment_keyword_gets_the_private_reply_alice_configured(
    live_server: Any,
    alice: Any,
    instagram: Any,
    outbox: Outbox,
    page: Page,
    screenshot: Callable[[str], Path],
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = connect(alice, instagram)
    listing = post(account, instagram, "3 bed in Mission Hills, open house Sunday")
    sign_in(page, alice, live_server.url)

    page.goto(live_server.url + "/settings/social/triggers/")
    expect(page.locator("#triggers-status")).to_have_text("Off")
    page.get_by_role("link", name="New trigger").click()
    page.get_by_label("Keywords").fill("price, info")
    page.get_by_label("On which posts").select_option(
        label=f"{listing.caption[:60]} ({listing.posted_at:%b %-d, %Y})"
    )
    page.get_by_label("Reply sent as a DM").fill("Hi! The price list is on its way.")
    page.get_by_label("Public reply under the comment (optional)").fill("Check your DMs!")
    screenshot("trigger-form")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator(".ig-trigger")).to_contain_text("price, info")
    page.get_by_role("button", name="Switch keyword triggers on").click()
    expect(page.locator("#triggers-status")).to_have_text("On")
    screenshot("triggers-on")
    assert KeywordTrigger.objects.for_workspace(account.workspace).get().media == listing

    arrives(django_capture_on_commit_callbacks, comment(listing, instagram, "What's the PRICE? 😍"))
    outbox.drain()

    [dm] = sent_private_replies(instagram)
    assert dm.text.startswith("Hi! The price list is on its way.")
    page.get_by_role("link", name="Comments").click()
    item = page.locator(".ig-comment").first
    expect(item).to_contain_text("What's the PRICE? 😍")
    expect(item).to_contain_text("Private reply sent")
    expect(item).to_contain_text("(keyword trigger)")
    expect(item).to_contain_text("automated reply from @sunset_realty")
    expect(item.locator(".ig-replies")).to_contain_text("Check your DMs!")
    expect(item.get_by_text("Send a private reply")).to_have_count(0)
    screenshot("comment-answered")
