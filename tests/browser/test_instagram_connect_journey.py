"""Connecting Instagram in a real browser through the emulator's consent page, seeing the account
on Settings → Social, then disconnecting with each of the two choices (IG-6); and the Social page
before anything is connected, checked by axe at phone and desktop width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Conversation, Message
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.instagram import InstagramEmulator
from tests.browser.conftest import axe_violations, sign_in

pytestmark = pytest.mark.browser


def _connect(page: Page, live_server: Any) -> None:
    page.goto(f"{live_server.url}/settings/social/")
    expect(page.locator("#instagram-status")).to_have_text("Not connected")
    page.get_by_role("button", name="Connect Instagram").click()
    # Instagram's consent page (the emulator's), listing the five permissions.
    expect(page.locator("#scopes li")).to_have_count(5)
    page.get_by_label("Username").fill("harbor_homes_sd")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("Instagram @harbor_homes_sd is connected")).to_be_visible()


@pytest.mark.parametrize("choice", ["keep", "delete"])
def test_connect_through_instagram_then_disconnect_choosing(
    choice: str,
    live_server: Any,
    alice: Any,
    workspace_of: Any,
    ig_live: InstagramEmulator,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    sign_in(page, alice, live_server.url)

    _connect(page, live_server)
    screenshot("connected")
    account = InstagramAccount.objects.for_workspace(ws).get()
    assert account.username == "harbor_homes_sd"
    expect(page.locator(f"#instagram-account-{account.id} .badge")).to_have_text("Connected")
    conversation = Conversation.objects.create(
        workspace=ws, channel="instagram", channel_account=account.ig_user_id, party_id="1"
    )
    Message.objects.create(
        workspace=ws, conversation=conversation, channel="instagram", direction="in",
        author="party", text="Hi!", status="received",
    )  # fmt: skip

    page.get_by_role("link", name="Disconnect Instagram").click()
    expect(page.get_by_role("radio")).to_have_count(2)
    for radio in page.get_by_role("radio").all():
        expect(radio).not_to_be_checked()
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("[data-error-summary]")).to_contain_text(
        "Choose whether to keep the conversation history or delete it."
    )
    screenshot("no-choice")
    page.locator("[data-error-summary] a").click()
    expect(page.get_by_role("radio").first).to_be_focused()
    label = {
        "keep": "Keep the conversation history in ALT",
        "delete": "Delete all imported Instagram data now",
    }[choice]
    page.get_by_label(label).check()
    page.get_by_role("button", name="Disconnect").click()

    expect(page.locator("#instagram-status")).to_have_text("Not connected")
    screenshot(f"disconnected-{choice}")
    gone = InstagramAccount.objects.for_workspace(ws).filter(id=account.id).first()
    threads = Conversation.objects.for_workspace(ws).count()
    if choice == "keep":
        assert gone is not None
        assert gone.status == InstagramAccount.Status.DISCONNECTED
        assert str(gone.access_token) == ""
        assert threads == 1
    else:
        assert gone is None
        assert threads == 0


@pytest.mark.parametrize("width", [390, 1280])
def test_the_social_page_before_connecting_has_no_axe_violations(
    width: int, live_server: Any, alice: Any, ig_live: InstagramEmulator, axe_page: Page
) -> None:
    sign_in(axe_page, alice, live_server.url)
    axe_page.set_viewport_size({"width": width, "height": 844})

    axe_page.goto(f"{live_server.url}/settings/social/")

    expect(axe_page.get_by_role("button", name="Connect Instagram")).to_be_visible()
    assert axe_violations(axe_page) == []
    assert axe_page.evaluate("document.scrollingElement.scrollWidth") <= width
