"""The SMS compose box counts segments as the agent types, by the same rules as the server (and
so as Twilio's emulator): the script's count is compared with integrations/twilio_sms/segments.py
on tricky texts, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alt.accounts.models import User
from contacts.services import ContactInput, contact_create
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.segments import segment_count
from tests.browser.conftest import sign_in
from tests.conftest import workspace_of

TRICKY = [
    "Hi Maria",
    "x" * 160,
    "x" * 161,
    "{" * 80,
    "{" * 81,
    "€" + "x" * 159,
    "é" * 160,
    "ê" * 71,
    "ê" * 135,  # three parts of 67, where 70 would make two
    "x" * 307,  # three parts of 153
    "🏡" * 35,
    "🏡" * 36,
    "שלום, הבית פתוח מחר " * 4,
    "Line one\nLine two",
]


@pytest.mark.browser
def test_the_compose_box_counts_segments_like_the_server(
    live_server: Any, page: Page, alice: User, sms_account: TwilioAccount
) -> None:
    maria = contact_create(
        workspace=workspace_of(alice),
        actor=alice,
        data=ContactInput(first_name="Maria", last_name="Buyer", phones=["+14155550123"]),
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/contacts/{maria.id}/")

    page.get_by_role("link", name="Text (415) 555-0123").click()

    box = page.get_by_label("Text message")
    expect(box).to_be_focused()
    counter = page.locator("#sms-segments")
    for body in TRICKY:
        box.fill(body)
        expect(counter).to_have_text(segment_count(body).words)
    assert errors == []
