"""The inbox in a real browser: a DM waiting for an answer, opened, answered, and the reply seen
going from queued to sent without reloading (htmx polling), through the send task and the
Instagram emulator's Send API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alt.accounts.models import User
from contacts.models import Message
from contacts.pipeline.services import pipeline_create_defaults
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.instagram import InstagramEmulator
from tests.browser.conftest import sign_in
from tests.conftest import Outbox, wait_for, workspace_of
from tests.contacts.inbox_rows import conversation, received

pytestmark = pytest.mark.browser

CUSTOMER = "6543210987654321"


def test_reply_to_an_instagram_dm_and_see_it_sent(
    live_server: Any,
    alice: User,
    instagram: InstagramEmulator,
    outbox: Outbox,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    remote = instagram.add_account("sunset_realty")
    InstagramAccount.objects.create(
        workspace=ws, connected_by=alice, ig_user_id=remote.ig_user_id, username="sunset_realty",
        access_token=instagram.issue_token(remote).value, connected_at=timezone.now(),
    )  # fmt: skip
    asked_at = timezone.now() - timedelta(hours=1)
    thread = conversation(
        ws, channel_account=remote.ig_user_id, party_id=CUSTOMER,
        party_handle="maria.buys.homes", party_name="Maria Lopez",
    )  # fmt: skip
    received(thread, "Hi! Is 12 Oak St still available?", at=asked_at)
    instagram.customer_messaged(remote.ig_user_id, CUSTOMER, at=asked_at.timestamp())
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/inbox/")
    row = page.locator(".inbox-thread", has_text="@maria.buys.homes")
    expect(row.locator(".unread-count")).to_contain_text("1")
    expect(row).to_contain_text("Reply within 22 h")
    expect(row).to_contain_text("Hi! Is 12 Oak St still available?")
    screenshot("inbox")

    row.get_by_role("link", name="@maria.buys.homes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.locator("#messages")).to_contain_text("Hi! Is 12 Oak St still available?")
    page.get_by_role("textbox", name="Reply").fill("Yes! Would Saturday at 11 work for a tour?")
    page.get_by_role("button", name="Send").click()

    reply = page.locator(".msg-out", has_text="Would Saturday at 11 work")
    expect(reply).to_contain_text("Queued")
    expect(page.get_by_role("textbox", name="Reply")).to_have_value("")
    wait_for(lambda: outbox.sent)
    outbox.drain()
    expect(reply.locator(".msg-status")).to_have_text("Sent", timeout=10_000)
    screenshot("thread-sent")

    [delivered] = instagram.sent_to(CUSTOMER)
    assert delivered.text == "Yes! Would Saturday at 11 work for a tour?"
    message = Message.objects.for_workspace(ws).get(direction=Message.Direction.OUTBOUND)
    assert message.external_id == delivered.message_id
    expect(page.locator(".msg-out")).to_have_count(1)


HIDE = """hidden => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {configurable: true,
    get: () => (hidden ? "hidden" : "visible")});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_thread_polls_only_while_the_page_is_visible(
    live_server: Any, alice: User, page: Page
) -> None:
    ws = workspace_of(alice)
    thread = conversation(ws, party_handle="maria.buys.homes")
    received(thread, "Hello?")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/poll/" in r.url else None)
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/inbox/{thread.id}/")

    page.evaluate(HIDE, True)
    polls.clear()
    page.wait_for_timeout(9_000)  # two polling periods
    hidden_polls = len(polls)
    received(thread, "Are you there?")
    page.evaluate(HIDE, False)  # back on the tab: asks at once

    expect(page.locator("#messages")).to_contain_text("Are you there?", timeout=3_000)
    assert hidden_polls == 0
