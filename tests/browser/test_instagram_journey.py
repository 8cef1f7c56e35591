"""Issue 10's whole journey in a real browser, against the emulator and signed webhooks only:
connect Instagram through the consent page; a DM arrives as Meta delivers it (signed, escaped)
and becomes a lead's thread; the agent replies, and the echo Meta sends back for that reply does
not make a second message; a comment with a keyword fires the private reply; then disconnect.
Background jobs run in-process (outbox.drain), as the worker would run them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact, Conversation, Message
from integrations.instagram.models import InstagramAccount, InstagramComment, KeywordTrigger
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram import deliveries as d
from tests.browser.conftest import sign_in
from tests.browser.test_instagram_connect_journey import _connect
from tests.conftest import IG_APP_SECRET, Outbox, wait_for

pytestmark = pytest.mark.browser

CUSTOMER = "6543210987654321"


def test_connect_receive_reply_echo_comment_keyword_and_disconnect(
    live_server: Any,
    alice: Any,
    workspace_of: Any,
    ig_live: InstagramEmulator,
    outbox: Outbox,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    hook = f"{live_server.url}/webhooks/instagram/"
    sign_in(page, alice, live_server.url)
    _connect(page, live_server)
    account = InstagramAccount.objects.for_workspace(ws).get()
    ig = account.ig_user_id
    ig_live.add_profile("maria.buys.homes", "Maria Lopez", igsid=CUSTOMER)

    # A DM, delivered and signed as Meta does (non-ASCII escaped), then processed.
    dm = d.delivery(
        d.entry(ig, messaging=[d.message(ig, CUSTOMER, "¿Sigue disponible 12 Oak St?")])
    )
    assert d.deliver_signed(hook, dm, IG_APP_SECRET, emulator=ig_live).status_code == 200
    outbox.drain()
    thread = Conversation.objects.for_workspace(ws).get(party_id=CUSTOMER)
    lead = Contact.objects.for_workspace(ws).get(id=thread.contact_id)
    assert lead.instagram_handle == "maria.buys.homes"

    page.goto(f"{live_server.url}/inbox/")
    row = page.locator(".inbox-thread", has_text="Maria")
    expect(row).to_contain_text("¿Sigue disponible 12 Oak St?")
    row.get_by_role("link").first.click()
    page.get_by_role("textbox", name="Reply").fill("¡Sí! Saturday at 11 for a tour?")
    page.get_by_role("button", name="Send").click()
    reply = page.locator(".msg-out", has_text="Saturday at 11")
    expect(reply).to_contain_text("Queued")
    wait_for(lambda: outbox.sent)
    outbox.drain()
    expect(reply.locator(".msg-status")).to_have_text("Sent", timeout=10_000)
    [sent] = ig_live.sent_to(CUSTOMER)
    assert sent.tag == ""  # a person's reply inside the 24 hours needs no HUMAN_AGENT tag

    # Meta echoes the reply back: it confirms ALT's message, it is not a second one.
    echoed = d.delivery(
        d.entry(ig, messaging=[d.echo(ig, CUSTOMER, sent.text, mid=sent.message_id)])
    )
    assert d.deliver_signed(hook, echoed, IG_APP_SECRET, emulator=ig_live).status_code == 200
    outbox.drain()
    outgoing = Message.objects.for_workspace(ws).filter(direction=Message.Direction.OUTBOUND)
    assert list(outgoing.values_list("external_id", "author")) == [(sent.message_id, "person")]
    page.reload()
    expect(page.locator(".msg-out")).to_have_count(1)
    screenshot("thread-after-echo")

    # A comment with the keyword fires the private reply (triggers switched on: IG-4).
    InstagramAccount.objects.for_workspace(ws).filter(id=account.id).update(
        keyword_triggers_enabled=True
    )
    KeywordTrigger.objects.create(
        workspace=ws, account=account, keywords="price", reply_text="Sent you the details!",
        enabled=True, created_by=alice,
    )  # fmt: skip
    comment = d.delivery(
        d.entry(ig, changes=[d.comment_change(
            comment_id="17865799348089039", from_id="232323232", from_username="some_customer",
            text="What's the PRICE? 🏡",
        )]),
        object_last=True,
    )  # fmt: skip
    assert d.deliver_signed(hook, comment, IG_APP_SECRET, emulator=ig_live).status_code == 200
    outbox.drain()
    private = [m for m in ig_live.sent if m.recipient.get("comment_id") == "17865799348089039"]
    assert len(private) == 1
    assert private[0].text.startswith("Sent you the details!")
    assert private[0].tag == ""  # never HUMAN_AGENT for an automation (IG-8)
    stored = InstagramComment.objects.for_workspace(ws).get(comment_id="17865799348089039")
    assert stored.private_reply_sent_at is not None
    page.goto(f"{live_server.url}/settings/social/comments/")
    expect(page.locator("body")).to_contain_text("What's the PRICE?")
    screenshot("comments-after-trigger")

    # A second delivery of the same comment (Meta retries) fires nothing more.
    assert d.deliver_signed(hook, comment, IG_APP_SECRET, emulator=ig_live).status_code == 200
    outbox.drain()
    assert len([m for m in ig_live.sent if m.recipient.get("comment_id")]) == 1

    page.goto(f"{live_server.url}/settings/social/")
    page.get_by_role("link", name="Disconnect Instagram").click()
    page.get_by_label("Keep the conversation history in ALT").check()
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#instagram-status")).to_have_text("Not connected")
    # Ingestion stopped (IG-6): a new DM is answered 200 and dropped.
    late = d.delivery(d.entry(ig, messaging=[d.message(ig, CUSTOMER, "Hello?")]))
    assert d.deliver_signed(hook, late, IG_APP_SECRET).status_code == 200
    outbox.drain()
    assert not Message.objects.for_workspace(ws).filter(text="Hello?").exists()
    # The history stays: the DM, the reply, and the private reply in the commenter's thread.
    assert Message.objects.for_workspace(ws).count() == 3
