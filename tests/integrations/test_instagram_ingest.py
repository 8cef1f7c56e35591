"""Instagram webhook ingestion: Meta's deliveries at /webhooks/instagram/ become threads, messages,
leads and comments, once, whatever the shape, order or repetition (EXTERNAL_APIS.md §3.5)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.accounts.models import Workspace
from contacts.inbox import services as inbox
from contacts.inbox.signals import message_received
from contacts.models import Activity, Contact, Conversation, Message, MessageChange
from integrations import webhooks
from integrations.instagram.models import InstagramAccount, InstagramComment, InstagramMedia
from integrations.instagram.signals import comment_received
from integrations.models import InboundEvent
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram import deliveries as d
from integrations.sandbox.webhooks import meta_body, meta_signer
from tests.conftest import IG_APP_SECRET, IG_VERIFY_TOKEN, Outbox
from tests.factories import create_contact

URL = "/webhooks/instagram/"
IG_ID = "17841405822304914"  # the professional account id of Meta's samples (§3.5)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _jobs_held(outbox: Outbox) -> None:
    """Processing jobs are held (the tests process stored events themselves)."""


@pytest.fixture
def account(
    instagram: InstagramEmulator, ws_with_stages: Workspace, alice: Any
) -> InstagramAccount:
    emulated = instagram.add_account("sunset_realty", ig_user_id=IG_ID)
    token = instagram.issue_token(emulated)
    return InstagramAccount.objects.create(
        workspace=ws_with_stages,
        connected_by=alice,
        ig_user_id=IG_ID,
        username="sunset_realty",
        access_token=token.value,
        status=InstagramAccount.Status.CONNECTED,
        connected_at=timezone.now(),
    )


@pytest.fixture
def jane(instagram: InstagramEmulator, account: InstagramAccount) -> str:
    """A person on Instagram (her IGSID) who can write to the account."""
    return instagram.add_profile("jane.buys.homes", "Jane Doe").igsid


def post(payload: Any, *, secret: str = IG_APP_SECRET, emulator: Any = None) -> Any:
    raw = payload if isinstance(payload, bytes) else meta_body(payload)
    if emulator is not None and isinstance(payload, dict):
        d.emulator_observe(emulator, payload)
    headers = meta_signer(secret)(raw, "http://testserver" + URL)
    return Client().post(URL, raw, content_type="application/json", headers=headers)


def process_all() -> None:
    waiting = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("id")
    for event_id in waiting.values_list("id", flat=True):
        webhooks.inbound_event_process(event_id=event_id)


def receive(instagram: InstagramEmulator, *items: Any, **entry: Any) -> Any:
    """Deliver messaging items for the account, signed, and process them."""
    response = post(d.delivery(d.entry(IG_ID, messaging=list(items), **entry)), emulator=instagram)
    assert response.status_code == 200, response.content
    process_all()
    return response


def messages(ws: Workspace) -> list[Message]:
    return list(Message.objects.for_workspace(ws).order_by("sent_at", "id"))


def thread(ws: Workspace, party_id: str) -> Conversation:
    return Conversation.objects.for_workspace(ws).get(party_id=party_id)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


# --- GET verification ----------------------------------------------------------------------------
def test_the_subscription_check_echoes_the_challenge_exactly(instagram: InstagramEmulator) -> None:
    response = Client().get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": IG_VERIFY_TOKEN,
        },
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": IG_VERIFY_TOKEN},
        {"hub.challenge": "1"},
    ],
    ids=["wrong token", "wrong mode", "nothing"],
)
def test_a_wrong_subscription_check_is_403(instagram: InstagramEmulator, params: Any) -> None:
    response = Client().get(URL, params)

    assert response.status_code == 403
    assert response.content != b"1"


def test_no_verify_token_configured_verifies_nothing(
    instagram: InstagramEmulator, settings: Any
) -> None:
    settings.INSTAGRAM_WEBHOOK_VERIFY_TOKEN = ""

    response = Client().get(
        URL, {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    )

    assert response.status_code == 403


# --- signature -----------------------------------------------------------------------------------
@pytest.mark.promise("SEC-4")
def test_a_signed_delivery_is_stored_under_the_digest_of_its_body(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    raw = meta_body(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])))

    response = post(raw)

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.provider, event.external_id) == ("instagram", hashlib.sha256(raw).hexdigest())
    assert bytes(event.body) == raw


@pytest.mark.promise("SEC-4")
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {},
        {"X-Hub-Signature-256": "sha1=abc"},
        {"X-Hub-Signature": "sha1=" + "0" * 40},
        {"X-Hub-Signature-256": "sha256=" + "é" * 64},
    ],
    ids=["invalid", "missing", "wrong scheme", "only the legacy sha1 header", "not ascii"],
)
def test_a_badly_signed_delivery_is_403_and_stores_nothing(
    account: InstagramAccount, jane: str, headers: dict[str, str]
) -> None:
    raw = meta_body(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])))

    response = Client().post(URL, raw, content_type="application/json", headers=headers)

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert webhooks.signature_failures("instagram") >= 1


@pytest.mark.promise("SEC-4")
def test_another_secret_is_refused_unless_it_is_the_configured_meta_app_secret(
    account: InstagramAccount, jane: str, settings: Any
) -> None:
    payload = d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)]))

    assert post(payload, secret="meta-app-secret").status_code == 403
    settings.META_APP_SECRET = "meta-app-secret"
    assert post(payload, secret="meta-app-secret").status_code == 200
    assert post(payload, secret="someone-else").status_code == 403
    assert InboundEvent.objects.count() == 1


@pytest.mark.promise("SEC-4")
def test_the_signature_covers_metas_escaped_bytes_and_the_text_arrives_intact(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    text = "Café au lait? 🏡 https://example.com/listing/42 — שלום"
    payload = d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane, text)]))
    raw = meta_body(payload)
    assert b"\\u00e9" in raw
    assert b"\\ud83c\\udfe1" in raw
    assert b"https:\\/\\/" in raw
    same_json_other_bytes = json.dumps(payload, ensure_ascii=False).encode()
    headers = meta_signer(IG_APP_SECRET)(raw, URL)

    refused = Client().post(
        URL, same_json_other_bytes, content_type="application/json", headers=headers
    )
    accepted = post(payload, emulator=instagram)
    process_all()

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert [m.text for m in messages(account.workspace)] == [text]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"object": "page", "entry": []}', b'{"object": "instagram"}'],
    ids=["not json", "a list", "another object", "no entries"],
)
def test_a_signed_body_meta_would_not_send_is_400(raw: bytes, account: InstagramAccount) -> None:
    response = post(raw)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


# --- IG-6: deliveries for accounts that are not connected ----------------------------------------
@pytest.mark.promise("IG-6")
@pytest.mark.parametrize("status", ["disconnected", "needs_reconnect"])
def test_deliveries_for_an_account_not_connected_are_answered_200_and_dropped(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, status: str
) -> None:
    InstagramAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
        status=status, access_token=""
    )

    response = post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])))
    unknown = post(d.delivery(d.entry("999", messaging=[d.message("999", jane)])))

    assert (response.status_code, unknown.status_code) == (200, 200)
    assert not InboundEvent.objects.exists()
    assert not Message.objects.for_workspace(account.workspace).exists()


@pytest.mark.promise("IG-6")
def test_a_disconnect_between_storing_and_processing_stores_no_message(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])), emulator=instagram)
    InstagramAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
        status=InstagramAccount.Status.DISCONNECTED, access_token=""
    )

    process_all()

    assert InboundEvent.objects.get().status == "processed"
    assert not Message.objects.for_workspace(account.workspace).exists()
    assert not Contact.objects.for_workspace(account.workspace).exists()


# --- duplicates ----------------------------------------------------------------------------------
def test_ten_identical_deliveries_are_one_event_and_one_message(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    raw = meta_body(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])))
    d.emulator_observe(instagram, json.loads(raw))

    answers = [post(raw).status_code for _ in range(10)]
    process_all()

    assert answers == [200] * 10
    assert InboundEvent.objects.count() == 1
    assert len(messages(account.workspace)) == 1


def test_the_same_mid_in_two_different_batches_is_one_message(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    item = d.message(IG_ID, jane, "Hi!", mid="mid.same")
    other = d.message(IG_ID, jane, "Second", mid="mid.other")

    receive(instagram, item)
    receive(instagram, other, item)  # Meta re-batched it with a newer one

    assert InboundEvent.objects.count() == 2
    assert [m.external_id for m in messages(account.workspace)] == ["mid.same", "mid.other"]
    assert thread(account.workspace, jane).unread_count == 2


# --- IG-3: the thread, and who the sender is -----------------------------------------------------
@pytest.mark.promise("IG-3")
def test_inbound_and_outbound_dms_are_stored_in_one_thread(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    start = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    receive(
        instagram,
        d.message(IG_ID, jane, "Hi, is the Sunset house available?", timestamp=ms(start)),
        d.echo(IG_ID, jane, "Yes! Saturday at 10?", timestamp=ms(start + timedelta(minutes=1))),
        d.message(IG_ID, jane, "Perfect", timestamp=ms(start + timedelta(minutes=2))),
    )

    conversation = thread(account.workspace, jane)
    assert [(m.direction, m.author, m.text) for m in messages(account.workspace)] == [
        ("in", "party", "Hi, is the Sunset house available?"),
        ("out", "person", "Yes! Saturday at 10?"),
        ("in", "party", "Perfect"),
    ]
    assert {m.conversation_id for m in messages(account.workspace)} == {conversation.id}
    assert (conversation.channel, conversation.channel_account) == ("instagram", IG_ID)
    assert conversation.party_handle == "jane.buys.homes"
    assert conversation.awaiting_reply_since == start + timedelta(minutes=2)
    assert conversation.last_inbound_at == start + timedelta(minutes=2)
    assert conversation.unread_count == 1


def test_an_unknown_sender_becomes_an_instagram_lead_with_her_profile(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.message(IG_ID, jane, "Hello"))

    contact = Contact.objects.for_workspace(account.workspace).get()
    assert (contact.first_name, contact.last_name) == ("Jane", "Doe")
    assert contact.instagram_handle == "jane.buys.homes"
    assert contact.source is not None
    assert contact.source.key == "instagram"
    assert thread(account.workspace, jane).contact_id == contact.id
    activity = Activity.objects.for_workspace(account.workspace).get(kind="message_in")
    assert activity.contact_id == contact.id
    assert activity.body == "Hello"
    assert "@jane.buys.homes" in activity.summary


def test_a_sender_with_a_known_handle_is_linked_to_that_contact(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, alice: Any
) -> None:
    known = create_contact(
        workspace=account.workspace, actor=alice, first_name="Jane", last_name="Known"
    )
    Contact.objects.for_workspace(account.workspace).filter(id=known.id).update(
        instagram_handle="Jane.Buys.Homes"
    )

    receive(instagram, d.message(IG_ID, jane, "Hello again"))

    assert Contact.objects.for_workspace(account.workspace).count() == 1
    assert thread(account.workspace, jane).contact_id == known.id


def test_a_failed_profile_lookup_loses_nothing_and_a_later_message_fills_the_lead(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    instagram.fail_next(500, {"error": {"message": "An unknown error", "code": 1}})

    receive(instagram, d.message(IG_ID, jane, "First"))

    contact = Contact.objects.for_workspace(account.workspace).get()
    assert (contact.first_name, contact.instagram_handle) == ("", "")
    assert thread(account.workspace, jane).party_handle == ""
    assert [m.text for m in messages(account.workspace)] == ["First"]

    receive(instagram, d.message(IG_ID, jane, "Second"))

    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.instagram_handle) == (
        "Jane",
        "Doe",
        "jane.buys.homes",
    )
    assert thread(account.workspace, jane).party_handle == "jane.buys.homes"
    assert Contact.objects.for_workspace(account.workspace).count() == 1


def test_a_person_without_consent_is_a_lead_without_a_handle(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    # Not told to the emulator: the User Profile API answers "consent required" (code 230).
    post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane, "Hi")])))
    process_all()

    assert [r.path for r in instagram.requests_to("GET", jane)] == [f"/v23.0/{jane}"]
    assert Contact.objects.for_workspace(account.workspace).get().instagram_handle == ""
    assert len(messages(account.workspace)) == 1


def test_a_new_inbound_message_is_signalled_once_after_commit(
    instagram: InstagramEmulator,
    account: InstagramAccount,
    jane: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    got: list[tuple[str, bool]] = []

    def listener(sender: Any, message: Message, created_contact: bool, **kwargs: Any) -> None:
        got.append((message.text, created_contact))

    message_received.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            item = d.message(IG_ID, jane, "Hi")
            receive(instagram, item, d.echo(IG_ID, jane, "Hello!"))
            receive(instagram, item, d.message(IG_ID, jane, "Still there?"))
    finally:
        message_received.disconnect(listener)

    assert got == [("Hi", True), ("Still there?", False)]


# --- echoes --------------------------------------------------------------------------------------
def test_an_echo_of_a_message_alt_sent_only_confirms_it(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.message(IG_ID, jane, "Hi"))
    conversation = thread(account.workspace, jane)
    ours = Message.objects.create(
        workspace=account.workspace,
        conversation=conversation,
        channel="instagram",
        direction="out",
        author="automation",
        external_id="mid.ours",
        text="Thanks! An agent will reply soon. (automated)",
        status="pending",
    )

    receive(instagram, d.echo(IG_ID, jane, ours.text, mid="mid.ours"))

    assert len(messages(account.workspace)) == 2
    ours.refresh_from_db()
    assert (ours.author, ours.status) == ("automation", "sent")


def test_a_person_replying_clears_awaiting_and_an_automation_does_not(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    start = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)
    receive(instagram, d.message(IG_ID, jane, "Hi", timestamp=ms(start)))
    conversation = thread(account.workspace, jane)

    inbox.message_ingest(
        conversation=conversation,
        direction="out",
        author="automation",
        text="Automated: thanks!",
        sent_at=start + timedelta(minutes=1),
    )
    assert thread(account.workspace, jane).awaiting_reply_since == start

    receive(
        instagram,
        d.echo(IG_ID, jane, "Hi Jane, Alice here", timestamp=ms(start + timedelta(minutes=2))),
    )
    conversation = thread(account.workspace, jane)
    assert conversation.awaiting_reply_since is None
    assert conversation.unread_count == 0


def test_an_echo_that_beat_alts_own_send_record_is_merged_into_it(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, alice: Any
) -> None:
    receive(instagram, d.message(IG_ID, jane, "Hi"))
    conversation = thread(account.workspace, jane)
    ours = Message.objects.create(
        workspace=account.workspace,
        conversation=conversation,
        channel="instagram",
        direction="out",
        author="person",
        sent_by=alice,
        text="Hello from ALT",
        status="pending",
    )
    receive(instagram, d.echo(IG_ID, jane, "Hello from ALT", mid="mid.race"))

    inbox.message_mark_sent(message=ours, external_id="mid.race")

    assert [(m.id, m.external_id, m.sent_by_id) for m in messages(account.workspace)][1:] == [
        (ours.id, "mid.race", alice.id)
    ]
    assert Activity.objects.for_workspace(account.workspace).filter(kind="message_out").count() == 0


# --- unsends, reads, edits, reactions ------------------------------------------------------------
@pytest.mark.parametrize("as_string", [False, True], ids=["boolean", "string true"])
def test_an_unsend_deletes_the_message_and_its_timeline_entry(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, as_string: bool
) -> None:
    receive(instagram, d.message(IG_ID, jane, "oops wrong chat", mid="mid.oops"))

    receive(instagram, d.unsend(IG_ID, jane, "mid.oops", as_string=as_string))

    assert messages(account.workspace) == []
    assert not Activity.objects.for_workspace(account.workspace).filter(kind="message_in").exists()
    conversation = thread(account.workspace, jane)
    assert (conversation.awaiting_reply_since, conversation.unread_count) == (None, 0)


def test_an_unsend_before_its_message_and_a_late_retry_never_store_it(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    original = d.message(IG_ID, jane, "secret", mid="mid.gone")
    receive(instagram, d.unsend(IG_ID, jane, "mid.gone"))
    receive(instagram, original)
    receive(instagram, original, d.message(IG_ID, jane, "kept"))

    assert [m.text for m in messages(account.workspace)] == ["kept"]


@pytest.mark.parametrize("with_parties", [True, False], ids=["with parties", "without parties"])
def test_a_read_marks_our_messages_up_to_it_read(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, with_parties: bool
) -> None:
    start = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)
    receive(
        instagram,
        d.message(IG_ID, jane, "Hi", timestamp=ms(start)),
        d.echo(IG_ID, jane, "one", mid="mid.1", timestamp=ms(start + timedelta(minutes=1))),
        d.echo(IG_ID, jane, "two", mid="mid.2", timestamp=ms(start + timedelta(minutes=2))),
        d.echo(IG_ID, jane, "three", mid="mid.3", timestamp=ms(start + timedelta(minutes=3))),
    )

    receive(instagram, d.read(IG_ID, jane, "mid.2", with_parties=with_parties))

    statuses = {m.text: m.status for m in messages(account.workspace)}
    assert statuses == {"Hi": "received", "one": "read", "two": "read", "three": "sent"}


def test_a_read_before_the_echo_it_covers_stores_the_echo_read(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    start = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)
    receive(instagram, d.message(IG_ID, jane, "Hi", timestamp=ms(start)))
    receive(
        instagram,
        d.read(IG_ID, jane, "mid.e", timestamp=ms(start + timedelta(minutes=5))),
    )

    receive(
        instagram,
        d.echo(IG_ID, jane, "seen", mid="mid.e", timestamp=ms(start + timedelta(minutes=4))),
    )
    receive(
        instagram,
        d.echo(IG_ID, jane, "later", mid="mid.f", timestamp=ms(start + timedelta(minutes=6))),
    )

    assert {m.text: m.status for m in messages(account.workspace)} == {
        "Hi": "received",
        "seen": "read",
        "later": "sent",
    }


def test_edits_record_the_count_and_text_only_when_given_in_any_order(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.edit(IG_ID, jane, "mid.e", num_edit=2))  # before the message
    receive(instagram, d.message(IG_ID, jane, "Helo", mid="mid.e"))
    receive(instagram, d.edit(IG_ID, jane, "mid.e", num_edit=1, text="Hello?"))  # older, late

    [message] = messages(account.workspace)
    assert (message.text, message.meta["edit"]) == ("Helo", {"num_edit": 2})

    receive(instagram, d.edit(IG_ID, jane, "mid.e", num_edit=3, text="Hello"))
    [message] = messages(account.workspace)
    assert (message.text, message.meta["edit"]) == ("Hello", {"num_edit": 3, "text": "Hello"})


def test_reactions_converge_on_the_latest_whatever_the_order(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    t0 = timezone.now() - timedelta(minutes=5)
    receive(instagram, d.echo(IG_ID, jane, "Here are the photos", mid="mid.r", timestamp=ms(t0)))
    react = d.reaction(IG_ID, jane, "mid.r", timestamp=ms(t0 + timedelta(minutes=1)))
    unreact = d.reaction(
        IG_ID, jane, "mid.r", action="unreact", timestamp=ms(t0 + timedelta(minutes=2))
    )

    receive(instagram, unreact)
    receive(instagram, react)
    assert messages(account.workspace)[0].meta["reaction"]["action"] == "unreact"

    receive(
        instagram,
        d.reaction(
            IG_ID, jane, "mid.r", emoji="\U0001f44d", timestamp=ms(t0 + timedelta(minutes=3))
        ),
    )
    reaction = messages(account.workspace)[0].meta["reaction"]
    assert (reaction["action"], reaction["emoji"], reaction["by"]) == (
        "react",
        "\U0001f44d",
        "party",
    )


# --- stories, attachments, postbacks, referrals --------------------------------------------------
def test_a_story_reply_keeps_the_story_link(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(
        instagram,
        d.story_reply(IG_ID, jane, "Still available?", story_url="https://lookaside.fbsbx.com/s/1"),
    )

    [message] = messages(account.workspace)
    assert message.text == "Still available?"
    assert message.meta["story_reply"] == {
        "id": "17887498072083520",
        "url": "https://lookaside.fbsbx.com/s/1",
    }


def test_a_story_mention_has_no_text_and_shows_its_link(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.story_mention(IG_ID, jane, story_url="https://lookaside.fbsbx.com/m/2"))

    [message] = messages(account.workspace)
    assert message.text == ""
    assert message.attachments == [
        {"type": "story_mention", "url": "https://lookaside.fbsbx.com/m/2"}
    ]
    assert message.meta["story_mention"] == {"url": "https://lookaside.fbsbx.com/m/2"}
    activity = Activity.objects.for_workspace(account.workspace).get(kind="message_in")
    assert "(story mention)" in activity.summary


EXPECTED_ATTACHMENTS = {
    "image": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1001&type=image"},
    "video": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1002&type=video"},
    "audio": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1003&type=audio"},
    "file": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1004&type=file"},
    "media": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1005"},
    "share": {"url": "https://www.instagram.com/p/C1a2b3c4d5e/"},
    "reel": {"url": "https://www.instagram.com/reel/C9z8y7x6w5v/", "id": "1798"},
    "story_mention": {
        "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17999&signature=abc"
    },
    "ig_reel": {
        "url": "https://www.instagram.com/reel/C9z8y7x6w5v/",
        "title": "Sunset views from the deck",
        "id": "18023456789012345",
    },
    "ig_post": {
        "url": "https://www.instagram.com/p/C1a2b3c4d5e/",
        "title": "Just listed: 3 bed, 2 bath",
        "id": "17918195224117851",
    },
    "ig_story": {
        "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17887498072083520",
        "id": "17887498072083520",
    },
    "template": {},
    "unsupported_type": {},
}


@pytest.mark.parametrize("kind", d.ATTACHMENT_TYPES)
def test_every_attachment_type_is_stored_with_what_it_carries(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, kind: str
) -> None:
    receive(instagram, d.message(IG_ID, jane, None, attachments=[d.attachment(kind)]))

    [message] = messages(account.workspace)
    assert message.text == ""
    assert message.attachments == [{"type": kind, **EXPECTED_ATTACHMENTS[kind]}]
    assert message.meta.get("unsupported", False) is (kind == "unsupported_type")


def test_an_unsupported_message_is_kept_and_marked(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.message(IG_ID, jane, None, is_unsupported=True))

    [message] = messages(account.workspace)
    assert (message.text, message.meta) == ("", {"unsupported": True})


def test_a_postback_and_an_ad_referral_are_kept_on_the_message(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(
        instagram,
        d.message(IG_ID, jane, "Saw your ad", referral=d.ad_referral()),
        d.postback(IG_ID, jane, title="Book a showing", payload="BOOK", mid="mid.pb"),
        d.referral(IG_ID, jane),  # a thread opened from an ad, no message: nothing stored
    )

    ad, button = messages(account.workspace)
    assert ad.meta["referral"]["ad_id"] == "6045246247433"
    assert ad.meta["referral"]["source"] == "ADS"
    assert (button.text, button.meta["postback"]["payload"]) == ("Book a showing", "BOOK")


def test_a_test_message_to_oneself_is_ignored(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.message(IG_ID, jane, "test", is_self=True))

    assert messages(account.workspace) == []


# --- shapes --------------------------------------------------------------------------------------
def test_metas_documented_message_sample_verbatim(
    instagram: InstagramEmulator, account: InstagramAccount
) -> None:
    sender = instagram.add_profile("sample_sender", "Sample Sender", igsid="6543210987654321").igsid
    instagram.customer_messaged(IG_ID, sender)
    raw = (
        b'{"object": "instagram",\n "entry": [{"id": "17841405822304914", "time": 1714412345678,\n'
        b'   "messaging": [{\n     "sender":    {"id": "6543210987654321"},\n'
        b'     "recipient": {"id": "17841405822304914"},\n     "timestamp": 1714412345000,\n'
        b'     "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx...",\n'
        b'                 "text": "Hi, is this available?"}\n   }]}]}'
    )

    assert post(raw).status_code == 200
    process_all()

    [message] = messages(account.workspace)
    assert (message.text, message.external_id) == (
        "Hi, is this available?",
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx...",
    )
    assert message.sent_at == datetime(2024, 4, 29, 17, 39, 5, tzinfo=UTC)


def test_metas_documented_comment_sample_verbatim(account: InstagramAccount) -> None:
    raw = (
        b'{"object": "instagram",\n "entry": [{"id": "17841405822304914", "time": 1714412345,\n'
        b'   "changes": [{"field": "comments",\n     "value": {"id": "17865799348089039",\n'
        b'               "from": {"id": "232323232", "username": "some_customer"},\n'
        b'               "text": "How much?",\n'
        b'               "media": {"id": "17918195224117851", "media_product_type": "FEED"},\n'
        b'               "parent_id": "17894227972186120"}}]}]}'
    )

    assert post(raw).status_code == 200
    process_all()

    comment = InstagramComment.objects.for_workspace(account.workspace).get()
    assert (comment.comment_id, comment.parent_comment_id, comment.text) == (
        "17865799348089039",
        "17894227972186120",
        "How much?",
    )
    assert (comment.from_id, comment.from_username, comment.is_ours) == (
        "232323232",
        "some_customer",
        False,
    )
    assert comment.media is not None
    assert comment.media.media_id == "17918195224117851"
    assert comment.commented_at == datetime(2024, 4, 29, 17, 39, 5, tzinfo=UTC)


def test_the_dashboard_test_shape_messages_in_changes_with_a_string_timestamp(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    instagram.customer_messaged(IG_ID, jane)
    stamp = str(int(timezone.now().timestamp()))  # seconds, as a string
    payload = {
        "entry": [
            {
                "id": IG_ID,
                "time": int(stamp),
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "sender": {"id": jane},
                            "recipient": {"id": IG_ID},
                            "timestamp": stamp,
                            "message": {"mid": "random_mid", "text": "random_text"},
                        },
                    }
                ],
            }
        ],
        "object": "instagram",
    }

    post(payload)
    process_all()

    [message] = messages(account.workspace)
    assert message.text == "random_text"
    assert int(message.sent_at.timestamp()) == int(stamp)


def test_several_entries_items_standby_and_string_timestamps_in_one_post(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    bob_igsid = instagram.add_profile("bob.sells", "Bob Seller").igsid
    now = timezone.now()
    payload = d.delivery(
        d.entry(
            IG_ID,
            time_first=True,
            messaging=[
                d.message(IG_ID, jane, "one", timestamp=ms(now) - 3000, timestamp_as_string=True),
                d.message(IG_ID, jane, "two", timestamp=ms(now) - 2000),
            ],
        ),
        d.entry(
            IG_ID, standby=[d.message(IG_ID, bob_igsid, "from standby", timestamp=ms(now) - 1000)]
        ),
        d.entry(
            IG_ID,
            changes=[
                d.comment_change(
                    comment_id="1790001", from_id=jane, from_username="jane.buys.homes"
                )
            ],
        ),
        d.entry("5555555", messaging=[d.message("5555555", jane, "not our account")]),
    )

    post(payload, emulator=instagram)
    process_all()

    assert [m.text for m in messages(account.workspace)] == ["one", "two", "from standby"]
    assert Conversation.objects.for_workspace(account.workspace).count() == 2
    assert InstagramComment.objects.for_workspace(account.workspace).get().comment_id == "1790001"
    account.refresh_from_db()
    assert account.last_event_at is not None


def test_absurd_timestamps_fall_back_to_the_entry_time(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(
        instagram,
        d.message(IG_ID, jane, "year 9999", timestamp=253402300799000),
        d.message(IG_ID, jane, "year 26", timestamp=-61341000000000),
        d.message(IG_ID, jane, "x" * 10000, timestamp_as_string=True, timestamp=None),
    )

    stamps = [m.sent_at for m in messages(account.workspace)]
    assert len(stamps) == 3
    assert all(abs(s - timezone.now()) < timedelta(minutes=1) for s in stamps)


# --- comments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["changes", "flat", "comment_id", "live_comments"])
def test_a_comment_is_stored_once_in_every_shape(
    instagram: InstagramEmulator,
    account: InstagramAccount,
    shape: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    value = {
        "comment_id": "1790002",
        "from_id": "232323232",
        "from_username": "some_customer",
        "parent_id": "1790001",
    }
    if shape == "flat":
        payload = d.delivery(d.flat_comment_entry(IG_ID, **value))
    elif shape == "comment_id":
        payload = d.delivery(
            d.entry(IG_ID, changes=[d.comment_change(id_key="comment_id", **value)]),
            object_last=True,
        )
    else:
        field = "live_comments" if shape == "live_comments" else "comments"
        payload = d.delivery(
            d.entry(IG_ID, changes=[d.comment_change(field, **value)]), object_last=True
        )
    got: list[str] = []

    def listener(sender: Any, comment: InstagramComment, **kwargs: Any) -> None:
        got.append(comment.comment_id)

    comment_received.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(payload, emulator=instagram)
            post(d.delivery(d.entry(IG_ID, changes=[d.comment_change(**value)])))  # another batch
            process_all()
    finally:
        comment_received.disconnect(listener)

    comment = InstagramComment.objects.for_workspace(account.workspace).get()
    assert (comment.comment_id, comment.parent_comment_id) == ("1790002", "1790001")
    assert InstagramMedia.objects.for_workspace(account.workspace).count() == 1
    assert got == ["1790002"]
    assert "1790002" in instagram.comments  # the emulator can take a private reply to it


def test_our_own_comment_is_stored_as_ours_and_not_signalled(
    account: InstagramAccount, django_capture_on_commit_callbacks: Any
) -> None:
    got: list[str] = []
    comment_received.connect(
        lambda sender, comment, **kw: got.append(comment.comment_id), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(
                d.delivery(
                    d.entry(
                        IG_ID,
                        changes=[
                            d.comment_change(
                                comment_id="1", from_id=IG_ID, from_username="sunset_realty"
                            )
                        ],
                    )
                )
            )
            process_all()
    finally:
        comment_received.disconnect(dispatch_uid="t")

    assert InstagramComment.objects.for_workspace(account.workspace).get().is_ours
    assert got == []


# --- link suggestions ----------------------------------------------------------------------------
def test_a_dm_with_another_contacts_phone_or_email_suggests_linking_with_evidence(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, alice: Any
) -> None:
    from contacts.services import ContactInput, contact_create

    known = contact_create(
        workspace=account.workspace,
        actor=alice,
        data=ContactInput(
            first_name="Jane", last_name="Doe", emails=["jane@example.com"], phones=["+14155550100"]
        ),
    )

    receive(instagram, d.message(IG_ID, jane, "Call me at 415-555-0100 or jane@EXAMPLE.com"))

    conversation = thread(account.workspace, jane)
    [suggestion] = inbox.link_suggestions_for(conversation)
    assert suggestion.contact_id == known.id
    assert suggestion.evidence == "Wrote (415) 555-0100, the phone of Jane Doe"

    inbox.conversation_link_contact(conversation=conversation, contact=known, by_user=alice)

    conversation.refresh_from_db()
    assert conversation.contact_id == known.id
    assert inbox.link_suggestions_for(conversation) == []
    known.refresh_from_db()
    assert known.instagram_handle == "jane.buys.homes"
    assert (
        Activity.objects.for_workspace(account.workspace).get(kind="message_in").contact_id
        == known.id
    )


def test_a_link_to_another_workspaces_contact_is_refused(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, charlie: Any, alice: Any
) -> None:
    receive(instagram, d.message(IG_ID, jane, "Hi"))
    other = create_contact(
        workspace=charlie.memberships.get().workspace, actor=charlie, first_name="Zed"
    )

    with pytest.raises(ValueError, match="cannot be linked"):
        inbox.conversation_link_contact(
            conversation=thread(account.workspace, jane), contact=other, by_user=alice
        )


def test_tombstones_are_forgotten_after_the_retry_window(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str
) -> None:
    receive(instagram, d.unsend(IG_ID, jane, "mid.old"))
    with time_machine.travel(timezone.now() + timedelta(days=6), tick=False):
        receive(instagram, d.unsend(IG_ID, jane, "mid.newer"))
    changes = MessageChange.objects.for_workspace(account.workspace)

    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        removed = inbox.message_changes_purge()

    assert removed == 1
    assert list(changes.values_list("external_id", flat=True)) == ["mid.newer"]


def test_a_message_in_a_known_thread_costs_a_bounded_number_of_queries(
    instagram: InstagramEmulator,
    account: InstagramAccount,
    jane: str,
    django_assert_max_num_queries: Any,
) -> None:
    receive(instagram, d.message(IG_ID, jane, "first"))
    post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane, "second")])))
    [event_id] = InboundEvent.objects.filter(status="received").values_list("id", flat=True)

    with django_assert_max_num_queries(23):
        webhooks.inbound_event_process(event_id=event_id)

    assert len(messages(account.workspace)) == 2


def test_a_lead_whose_profile_was_unreachable_is_filled_by_a_job_without_a_new_message(
    instagram: InstagramEmulator,
    account: InstagramAccount,
    jane: str,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    instagram.fail_next(503, {"error": {"message": "Service unavailable", "code": 2}})
    with django_capture_on_commit_callbacks(execute=True):
        receive(instagram, d.message(IG_ID, jane, "Only message"))
    assert Contact.objects.for_workspace(account.workspace).get().instagram_handle == ""
    jobs = [(task, args) for task, args in outbox.sent if task.name.endswith("profile_fill")]
    instagram.fail_next(503, {"error": {"message": "Still unavailable", "code": 2}})  # retried

    outbox.sent = jobs
    outbox.drain()

    contact = Contact.objects.for_workspace(account.workspace).get()
    assert (contact.first_name, contact.last_name, contact.instagram_handle) == (
        "Jane",
        "Doe",
        "jane.buys.homes",
    )
    assert thread(account.workspace, jane).party_name == "Jane Doe"


def test_a_refused_profile_sends_no_job(
    instagram: InstagramEmulator,
    account: InstagramAccount,
    jane: str,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane, "no consent yet")])))
        process_all()  # the emulator was not told: code 230, a permanent refusal

    assert "instagram_profile_fill" not in outbox.names()


def test_a_deadlock_is_retried_and_an_unreadable_body_fails_for_staff(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, monkeypatch: Any
) -> None:
    from django.db import OperationalError

    from alt.lib.errors import IntegrationError
    from integrations.instagram import ingest

    post(d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, jane)])), emulator=instagram)
    event = InboundEvent.objects.get()

    def deadlock(body: bytes) -> None:
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(ingest, "delivery_process", deadlock)
    with pytest.raises(IntegrationError, match="database busy"):
        webhooks.inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("received", 1)

    def unreadable(body: bytes) -> None:
        raise ValueError("Expecting value")

    monkeypatch.setattr(ingest, "delivery_process", unreadable)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):  # past the backoff
        webhooks.inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == "failed"
    assert "unreadable delivery" in event.last_error


def test_a_message_alt_sends_is_stored_pending_then_marked_sent_and_its_echo_only_confirms(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, alice: Any
) -> None:
    receive(instagram, d.message(IG_ID, jane, "Hi"))
    conversation = thread(account.workspace, jane)

    ours = inbox.message_ingest(
        conversation=conversation,
        direction="out",
        author="person",
        sent_by=alice,
        text="Hello Jane",
        status="pending",
        sent_at=timezone.now(),
    )
    assert ours is not None
    assert thread(account.workspace, jane).awaiting_reply_since is None
    inbox.message_mark_sent(message=ours, external_id="mid.sent")
    receive(instagram, d.echo(IG_ID, jane, "Hello Jane", mid="mid.sent"))

    ours.refresh_from_db()
    assert (ours.status, ours.external_id, ours.sent_by_id) == ("sent", "mid.sent", alice.id)
    assert len(messages(account.workspace)) == 2
    out = Activity.objects.for_workspace(account.workspace).get(kind="message_out")
    assert out.actor_id == alice.id


def test_a_dismissed_suggestion_is_not_shown_again(
    instagram: InstagramEmulator, account: InstagramAccount, jane: str, alice: Any
) -> None:
    from contacts.services import ContactInput, contact_create

    contact_create(
        workspace=account.workspace,
        actor=alice,
        data=ContactInput(first_name="Jo", emails=["jo@example.com"]),
    )
    receive(instagram, d.message(IG_ID, jane, "I'm jo@example.com"))
    conversation = thread(account.workspace, jane)
    [suggestion] = inbox.link_suggestions_for(conversation)
    assert suggestion.evidence == "Wrote jo@example.com, the email of Jo"

    inbox.link_suggestion_dismiss(suggestion=suggestion)
    receive(instagram, d.message(IG_ID, jane, "again: jo@example.com"))

    assert inbox.link_suggestions_for(conversation) == []
