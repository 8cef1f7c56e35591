"""Issue 11's journey in a real browser: an agent texts a client from the contact page, Twilio
(the emulator) reports it delivered and the client texts back through a signed webhook, and the
agent finds both in the unified inbox, in one timeline with the client's Instagram thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alt.accounts.models import User
from contacts.models import Conversation, Message
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.models import TwilioAccount
from tests.browser.conftest import sign_in
from tests.conftest import Outbox, wait_for, workspace_of
from tests.contacts.inbox_rows import conversation, received

pytestmark = pytest.mark.browser

MARIA = "+14155550123"
OUR_NUMBER = TwilioEmulator.default_number


@pytest.mark.parametrize("width", [390, 1280])
def test_text_a_client_get_the_reply_and_see_it_beside_their_instagram_thread(
    width: int,
    live_server: Any,
    alice: User,
    twilio: TwilioEmulator,
    sms_account: TwilioAccount,
    settings: Any,
    outbox: Outbox,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    # Twilio signs the exact public URL it calls: here, the live server.
    settings.TWILIO_PUBLIC_BASE_URL = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    maria = contact_create(
        workspace=ws,
        actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", phones=[MARIA]),
    )
    dm_thread = conversation(ws, party_name="Maria Lopez", contact=maria)
    received(dm_thread, "Saw the Oak St reel, love it!", at=timezone.now() - timedelta(hours=2))
    sign_in(page, alice, live_server.url)

    # 1. Click-to-text on the contact page, and send.
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    page.get_by_role("link", name="Text (415) 555-0123").click()
    page.get_by_label("Text message").fill("Hi Maria, 12 Oak St is open Saturday at 11. Come by?")
    page.get_by_role("button", name="Send").click()
    sent = page.locator(".msg-out", has_text="12 Oak St is open Saturday")
    expect(sent).to_be_visible()
    screenshot(f"sms-sent-{width}")

    # 2. The worker sends it through Twilio, which reports it delivered (signed callbacks).
    wait_for(lambda: outbox.sent)
    outbox.drain()
    [request] = twilio.requests_to("POST", r"/Messages\.json$")
    assert request.form()["To"] == MARIA
    assert request.form()["StatusCallback"] == f"{live_server.url}/webhooks/twilio/status/"
    responses = twilio.deliver_status_callbacks()
    assert responses
    assert {r.status_code for r in responses} == {200}
    outbox.drain()
    message = Message.objects.for_workspace(ws).get(direction=Message.Direction.OUTBOUND)
    assert message.status == Message.Status.DELIVERED
    expect(sent.locator(".msg-status")).to_have_text("Delivered", timeout=10_000)

    # 3. Maria texts back: a signed inbound delivery, processed by the worker.
    [reply] = twilio.deliver_inbound(
        f"{live_server.url}/webhooks/twilio/sms/", from_=MARIA, to=OUR_NUMBER, body="Yes! 11 works."
    )
    assert reply.status_code == 200
    outbox.drain()
    sms_thread = Conversation.objects.for_workspace(ws).get(channel=Conversation.Channel.SMS)
    assert sms_thread.contact_id == maria.id
    assert sms_thread.messages.count() == 2

    # 4. The unified inbox: the SMS thread beside the Instagram one, and one timeline.
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator(".inbox-thread")).to_have_count(2)
    sms_row = page.locator(".inbox-thread", has_text="Yes! 11 works.")
    expect(sms_row).to_contain_text("SMS")
    expect(sms_row.locator(".unread-count")).to_contain_text("1")
    screenshot(f"sms-inbox-{width}")
    page.goto(f"{live_server.url}/inbox/?channel=sms")
    expect(page.locator(".inbox-thread")).to_have_count(1)

    page.goto(f"{live_server.url}/inbox/{sms_thread.id}/")
    timeline = page.locator("#messages")
    expect(timeline).to_contain_text("Saw the Oak St reel, love it!")
    expect(timeline).to_contain_text("12 Oak St is open Saturday")
    expect(timeline).to_contain_text("Yes! 11 works.")
    texts = timeline.locator(".msg-text").all_inner_texts()
    order = [
        next(i for i, t in enumerate(texts) if needle in t)
        for needle in ("Saw the Oak St reel", "12 Oak St is open Saturday", "Yes! 11 works.")
    ]
    assert order in (sorted(order), sorted(order, reverse=True))  # one timeline, by time
    # The reply goes back on SMS, the channel Maria used last, with a switch to Instagram.
    expect(page.get_by_role("radio", name="SMS", exact=False).first).to_be_checked()
    expect(page.get_by_role("radio", name="Instagram", exact=False).first).to_be_visible()
    screenshot(f"sms-timeline-{width}")
