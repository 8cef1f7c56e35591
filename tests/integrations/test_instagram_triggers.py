"""Keyword triggers: off until switched on (IG-4), matching, scope, once per comment, the human
pause, the first-contact disclosure, DM auto-replies, and the settings pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from contacts.inbox.signals import message_received
from contacts.models import Conversation, Message
from integrations.instagram import comments, triggers
from integrations.instagram.models import KeywordTrigger, KeywordTriggerFiring
from integrations.instagram.triggers import keyword_list, text_matches
from tests.conftest import Outbox
from tests.integrations.instagram_comments_helpers import (
    arrives,
    comment,
    connect,
    inbound_dm,
    post,
    sent_private_replies,
    trigger,
)

pytestmark = pytest.mark.django_db
ANY, EXACT, CONTAINS = "any", "exact", "contains"


# --- matching, pure -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "keywords", "mode", "expected"),
    [
        ("What's the PRICE?", "price", ANY, True),
        ("prices are high", "price", ANY, False),  # a whole word, not part of one
        ("précieux", "pre", ANY, False),
        ("\uff50\uff52\uff49\uff43\uff45 please", "price", ANY, True),  # full-width letters (NFKC)
        ("Große Wohnung", "grosse", ANY, True),  # ß casefolds to ss
        ("Café?", "café", ANY, True),
        ("Cafe\u0301 today", "café", ANY, True),  # decomposed accent (NFKC composes)
        ("I love it ❤️", "❤", ANY, True),  # emoji with and without the variation selector
        ("🏠🏠🏠", "🏠", ANY, True),
        ("open   House!", "open house", ANY, True),
        ("מה המחיר?", "המחיר", ANY, True),  # right-to-left
        ("  Info ", "info", EXACT, True),
        ("info please", "info", EXACT, False),
        ("INFO", "price, info", EXACT, True),
        ("這個價格多少", "價格", CONTAINS, True),  # no spaces in Chinese: contains finds it
        ("這個價格多少", "價格", ANY, False),
        ("superprice", "price", CONTAINS, True),
        ("", "price", ANY, False),
        ("anything", " , ,", ANY, False),
    ],
)
def test_matching_is_unicode_aware(text: str, keywords: str, mode: str, expected: bool) -> None:
    assert text_matches(text, keyword_list(keywords), mode) is expected


def test_the_keyword_list_splits_on_commas_of_any_script_and_drops_repeats() -> None:
    assert keyword_list("Price\uff0c INFO\u3001price ,\u060c 🏠 ") == ["price", "info", "🏠"]


# --- firing on comments ---------------------------------------------------------------------------
@pytest.mark.promise("IG-4")
def test_nothing_fires_until_both_switches_are_on(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram)  # keyword_triggers_enabled is off by default
    media = post(account, instagram)
    rule = trigger(account, alice, enabled=True)

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()
    assert sent_private_replies(instagram) == []
    assert not KeywordTriggerFiring.objects.for_workspace(account.workspace).exists()

    triggers.triggers_switch(account=account, enabled=True)
    rule.enabled = False
    rule.save()
    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()
    assert sent_private_replies(instagram) == []

    rule.enabled = True
    rule.save()
    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()
    assert len(sent_private_replies(instagram)) == 1


@pytest.mark.promise("IG-4")
def test_switching_off_between_match_and_send_sends_nothing(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price"))
    [(match, args)] = outbox.sent
    outbox.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        match.apply(args=args)  # matched: the firing task is queued, not run
    assert outbox.names() == ["keyword_trigger_fire"]

    triggers.triggers_switch(account=account, enabled=False)
    outbox.drain()

    firing = KeywordTriggerFiring.objects.for_workspace(account.workspace).get()
    assert firing.state == "skipped"
    assert sent_private_replies(instagram) == []


def test_a_matching_comment_gets_the_private_reply_and_the_public_one(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    rule = trigger(account, alice, public_reply_text="Check your DMs!")
    row = comment(media, instagram, "What's the price? 😍")

    arrives(django_capture_on_commit_callbacks, row)
    outbox.drain()

    [dm] = sent_private_replies(instagram)
    assert dm.recipient == {"comment_id": row.comment_id}
    assert dm.tag == ""  # never HUMAN_AGENT for automation (IG-8)
    message = Message.objects.for_workspace(account.workspace).get(direction="out")
    assert message.author == Message.Author.AUTOMATION
    assert message.external_id == dm.message_id
    assert message.conversation.party_id == row.from_id
    row.refresh_from_db()
    assert row.private_reply_sent_at is not None
    public = [c for c in instagram.comments.values() if c.parent_id == row.comment_id]
    assert [c.text for c in public] == ["Check your DMs!"]
    firing = KeywordTriggerFiring.objects.for_workspace(account.workspace).get()
    assert (firing.state, firing.trigger_id, firing.public_reply.is_ours) == ("sent", rule.id, True)


def test_a_comment_that_does_not_match_or_is_ours_fires_nothing(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    ours = comment(media, instagram, "price list in bio", from_id=account.ig_user_id)
    ours.is_ours = True
    ours.save()

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "lovely kitchen"))
    arrives(django_capture_on_commit_callbacks, ours)
    outbox.drain()

    assert instagram.sent == []


def test_a_one_post_trigger_ignores_comments_on_other_posts(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    listing, other = post(account, instagram, "Listing"), post(account, instagram, "Team photo")
    trigger(account, alice, media=listing)

    arrives(django_capture_on_commit_callbacks, comment(other, instagram, "price?"))
    outbox.drain()
    assert sent_private_replies(instagram) == []

    arrives(django_capture_on_commit_callbacks, comment(listing, instagram, "price?"))
    outbox.drain()
    assert len(sent_private_replies(instagram)) == 1


def test_a_duplicate_signal_fires_once(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    trigger(account, alice, keywords="price", reply_text="A second trigger")
    row = comment(media, instagram, "price")

    arrives(django_capture_on_commit_callbacks, row)
    arrives(django_capture_on_commit_callbacks, row)
    outbox.drain()

    assert len(sent_private_replies(instagram)) == 1  # one private reply per comment
    states = sorted(
        KeywordTriggerFiring.objects.for_workspace(account.workspace).values_list(
            "state", flat=True
        )
    )
    assert states == ["sent", "skipped"]  # one firing per trigger, the second found it answered


def test_a_person_replying_pauses_the_triggers_for_that_contact(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    Conversation.objects.create(
        workspace=account.workspace, channel="instagram", channel_account=account.ig_user_id,
        party_id="6543210987654321", automation_paused_until=timezone.now() + timedelta(hours=12),
    )  # fmt: skip

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()

    assert instagram.sent == []
    firing = KeywordTriggerFiring.objects.for_workspace(account.workspace).get()
    assert firing.state == "skipped"
    assert "person replied" in firing.detail


def test_alice_answering_a_commenter_by_hand_pauses_the_triggers_for_them(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    first = comment(media, instagram, "lovely")
    comments.comment_private_reply(comment=first, text="Thanks Maria!", sent_by=alice)

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()

    assert [m.text for m in sent_private_replies(instagram)] == ["Thanks Maria!"]
    assert KeywordTriggerFiring.objects.for_workspace(account.workspace).get().state == "skipped"


def test_the_first_automated_message_says_it_is_automated_and_later_ones_do_not(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "info?"))
    outbox.drain()

    first, second = sent_private_replies(instagram)
    assert first.text.endswith("— automated reply from @sunset_realty")
    assert second.text == "Hi! Here is the price list."


def test_a_transient_failure_is_retried_and_still_sends_once(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    media = post(account, instagram)
    trigger(account, alice)
    instagram.fail_next(
        500, {"error": {"message": "An unknown error occurred", "code": 1}},
        when=lambda r: r.path.endswith("/messages"),
    )  # fmt: skip

    arrives(django_capture_on_commit_callbacks, comment(media, instagram, "price?"))
    outbox.drain()

    assert len(sent_private_replies(instagram)) == 1
    firing = KeywordTriggerFiring.objects.for_workspace(account.workspace).get()
    assert firing.state == "sent"


# --- DM keyword auto-replies ----------------------------------------------------------------------
def test_a_dm_keyword_gets_the_auto_reply_in_the_thread(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    trigger(account, alice, kind="dm_reply", keywords="tour", reply_text="Book here: example.com")
    dm = inbound_dm(account, instagram, "Can I get a TOUR?")

    with django_capture_on_commit_callbacks(execute=True):
        message_received.send(sender=Message, message=dm, created_contact=False)
    outbox.drain()

    [sent] = instagram.sent
    assert sent.recipient == {"id": dm.conversation.party_id}
    assert sent.tag == ""
    assert sent.text.startswith("Book here: example.com")
    reply = Message.objects.for_workspace(account.workspace).get(direction="out")
    assert (reply.author, reply.status, reply.external_id) == (
        "automation",
        "sent",
        sent.message_id,
    )


def test_a_dm_delivered_twice_is_answered_once(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    trigger(account, alice, kind="dm_reply", keywords="tour", match_mode="exact")
    dm = inbound_dm(account, instagram, "  TOUR ")

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            message_received.send(sender=Message, message=dm, created_contact=False)
    outbox.drain()

    assert len(instagram.sent) == 1
    assert KeywordTriggerFiring.objects.for_workspace(account.workspace).get().state == "sent"


def test_an_instagram_outage_leaves_the_auto_reply_failed_in_the_thread_after_the_retries(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    trigger(account, alice, kind="dm_reply", keywords="tour")
    dm = inbound_dm(account, instagram, "tour")
    instagram.fail_next(503, {"error": {"message": "Service unavailable", "code": 2}}, times=20)

    with django_capture_on_commit_callbacks(execute=True):
        message_received.send(sender=Message, message=dm, created_contact=False)
    outbox.drain()  # the inbox's send task and its retries run at once here (eager apply)

    firing = KeywordTriggerFiring.objects.for_workspace(account.workspace).get()
    assert firing.state == "sent"  # handed to the inbox's sender, which owns the retries
    reply = Message.objects.for_workspace(account.workspace).get(direction="out")
    assert (reply.author, reply.status) == ("automation", "failed")
    assert firing.reply_message_id == reply.id
    assert instagram.sent == []
    assert len(instagram.requests_to("POST", r"/messages$")) > 1  # retried before giving up


def test_an_echo_or_a_paused_thread_gets_no_auto_reply(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    trigger(account, alice, kind="dm_reply", keywords="tour")
    dm = inbound_dm(account, instagram, "tour")
    echo = Message.objects.create(
        workspace=account.workspace, conversation=dm.conversation, channel="instagram",
        direction="out", author="person", external_id="mid.echo", text="tour", status="sent",
    )  # fmt: skip
    Conversation.objects.for_workspace(account.workspace).filter(id=dm.conversation_id).update(
        automation_paused_until=timezone.now() + timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        message_received.send(sender=Message, message=echo, created_contact=False)
        message_received.send(sender=Message, message=dm, created_contact=False)
    outbox.drain()

    assert instagram.sent == []


# --- the settings pages ---------------------------------------------------------------------------
def test_alice_creates_edits_and_deletes_a_trigger(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    media = post(account, instagram)

    response = alice_client.post(
        "/settings/social/triggers/new/",
        {"kind": "comment_dm", "keywords": "price, 🏠", "match_mode": "any", "post": media.id,
         "reply_text": "Here you go", "public_reply_text": "Check your DMs!", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    rule = KeywordTrigger.objects.for_workspace(account.workspace).get()
    assert (rule.keywords, rule.media, rule.enabled, rule.created_by) == (
        "price, 🏠",
        media,
        True,
        alice,
    )
    page = alice_client.get("/settings/social/triggers/").content.decode()
    assert "price, 🏠" in page
    assert "Keyword triggers are <strong>off</strong>" in page

    alice_client.post(
        f"/settings/social/triggers/{rule.id}/",
        {"kind": "dm_reply", "keywords": "tour", "match_mode": "exact", "post": media.id,
         "reply_text": "Book here", "public_reply_text": "ignored for DMs"},
    )  # fmt: skip
    rule.refresh_from_db()
    assert (rule.kind, rule.media, rule.public_reply_text, rule.enabled) == (
        "dm_reply",
        None,
        "",
        False,
    )

    alice_client.post(f"/settings/social/triggers/{rule.id}/delete/")
    assert not KeywordTrigger.objects.for_workspace(account.workspace).exists()


def test_a_trigger_without_keywords_or_reply_is_sent_back_with_what_was_typed(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    connect(alice, instagram)

    response = alice_client.post(
        "/settings/social/triggers/new/",
        {"kind": "comment_dm", "keywords": " , ,", "match_mode": "any", "reply_text": "  ",
         "public_reply_text": "Check your DMs! " + "x" * 400},
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 400
    assert "Give at least one keyword." in page
    assert "Write the reply to send." in page
    assert "Check your DMs! xxx" in page


@pytest.mark.promise("IG-4")
def test_the_switch_turns_triggers_on_and_off(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)

    alice_client.post("/settings/social/triggers/switch/", {"enabled": "on"})
    account.refresh_from_db()
    assert account.keyword_triggers_enabled
    alice_client.post("/settings/social/triggers/switch/", {})
    account.refresh_from_db()
    assert not account.keyword_triggers_enabled


def test_another_workspaces_trigger_is_a_404(
    alice: User, charlie: User, charlie_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    rule = trigger(account, alice)
    connect(charlie, instagram)

    assert charlie_client.get(f"/settings/social/triggers/{rule.id}/").status_code == 404
    assert charlie_client.post(f"/settings/social/triggers/{rule.id}/delete/").status_code == 404
    assert KeywordTrigger.objects.for_workspace(account.workspace).filter(id=rule.id).exists()


def test_the_receiver_only_enqueues(
    alice: User, instagram: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    account = connect(alice, instagram, triggers_on=True)
    trigger(account, alice)

    arrives(
        django_capture_on_commit_callbacks, comment(post(account, instagram), instagram, "price")
    )

    assert outbox.names() == ["keyword_triggers_match_comment"]
    assert instagram.sent == []
    assert not KeywordTriggerFiring.objects.for_workspace(account.workspace).exists()


def test_absurd_keywords_get_a_clear_error(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    connect(alice, instagram)

    too_long = alice_client.post(
        "/settings/social/triggers/new/",
        {"kind": "comment_dm", "keywords": "x" * 10_000, "match_mode": "any", "reply_text": "Hi"},
    )
    too_many = alice_client.post(
        "/settings/social/triggers/new/",
        {"kind": "comment_dm", "keywords": ",".join(f"k{i}" for i in range(40)),
         "match_mode": "any", "reply_text": "Hi"},
    )  # fmt: skip

    assert too_long.status_code == 400
    assert "at most 500 characters" in too_long.content.decode()
    assert too_many.status_code == 400
    assert "at most 30 keywords" in too_many.content.decode()
