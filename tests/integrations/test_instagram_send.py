"""Replying to an Instagram DM from the inbox, against the emulator's Send API (EXTERNAL_APIS.md
§3.6): the message stored and shown (IG-3), the HUMAN_AGENT tag only on what a person wrote
(IG-8), Meta's window and token errors explained on the message, a dead token marking the
account for reconnecting, transient errors retried, and no message ever sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.inbox import sending
from contacts.inbox.tasks import inbox_message_send
from contacts.models import Conversation, Message
from integrations.instagram import channel as instagram_channel
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.base import RecordedRequest
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram.core import Account
from tests.conftest import Outbox, wait_for, workspace_of
from tests.contacts.inbox_rows import conversation, received, sent

CUSTOMER = "6543210987654321"


@pytest.fixture
def ig_account(instagram: InstagramEmulator, alice: User) -> tuple[Account, InstagramAccount]:
    """Alice's connected professional account, known to the emulator with a live token."""
    remote = instagram.add_account("sunset_realty")
    token = instagram.issue_token(remote)
    local = InstagramAccount.objects.create(
        workspace=workspace_of(alice),
        connected_by=alice,
        ig_user_id=remote.ig_user_id,
        username="sunset_realty",
        access_token=token.value,
        status=InstagramAccount.Status.CONNECTED,
        connected_at=timezone.now(),
    )
    return remote, local


def dm_thread(
    instagram: InstagramEmulator, account: Account, ws: Workspace, at: datetime
) -> Conversation:
    """A thread whose customer wrote at `at`, as both Meta and ALT know it."""
    thread = conversation(ws, channel_account=account.ig_user_id, party_id=CUSTOMER)
    received(thread, "Hi! Is 12 Oak St still available?", at=at)
    instagram.customer_messaged(account.ig_user_id, CUSTOMER, at=at.timestamp())
    return thread


def send_calls(instagram: InstagramEmulator) -> list[RecordedRequest]:
    return [r for r in instagram.requests if r.method == "POST" and r.path.endswith("/messages")]


def outgoing(thread: Conversation) -> Message:
    messages = Message.objects.for_workspace(thread.workspace).filter(conversation=thread)
    return messages.get(direction=Message.Direction.OUTBOUND)


@pytest.mark.promise("IG-3")
def test_a_reply_goes_out_through_the_send_api_and_both_sides_show_in_the_thread(
    alice_client: Client,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Yes! Tour on Saturday?"})
    outbox.drain()

    [call] = send_calls(instagram)
    assert call.path == f"/v23.0/{remote.ig_user_id}/messages"
    assert call.headers["authorization"] == f"Bearer {local.access_token}"
    assert call.json() == {
        "recipient": {"id": CUSTOMER},
        "message": {"text": "Yes! Tour on Saturday?"},
    }
    [delivered] = instagram.sent_to(CUSTOMER)
    message = outgoing(thread)
    assert (message.status, message.external_id) == ("sent", delivered.message_id)
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert "Hi! Is 12 Oak St still available?" in page
    assert "Yes! Tour on Saturday?" in page
    assert '<span class="msg-status status-sent">Sent</span>' in page


def test_a_reply_outside_the_24_hour_window_is_refused_before_calling_instagram(
    alice_client: Client,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now() - timedelta(hours=25))

    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Still interested?"})

    assert response.status_code == 400
    assert "Instagram only allows replies within 24 hours of their last message" in (
        response.content.decode()
    )
    assert outbox.sent == []
    assert send_calls(instagram) == []


def test_a_reply_over_1000_characters_is_refused_before_calling_instagram(
    alice_client: Client,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())

    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "é" * 1001})

    assert response.status_code == 400
    assert "Instagram accepts at most 1000 characters in a message; this one has 1001." in (
        response.content.decode()
    )
    assert send_calls(instagram) == []


def _queue_then_send_later(
    thread: Conversation, author: str, sent_by: User | None, written_at: datetime, sent_at: datetime
) -> Message:
    with time_machine.travel(written_at, tick=False):
        message = sending.message_send(
            conversation=thread, text="About your question", author=author, sent_by=sent_by
        )
    with time_machine.travel(sent_at, tick=False):
        inbox_message_send.apply(args=(message.id, thread.workspace_id))
    message.refresh_from_db()
    return message


@pytest.mark.promise("IG-8")
def test_a_persons_reply_sent_after_24_hours_carries_the_human_agent_tag(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    last = timezone.now() - timedelta(days=3)
    thread = dm_thread(instagram, remote, local.workspace, last)

    message = _queue_then_send_later(
        thread, Message.Author.PERSON, alice, last + timedelta(hours=23), last + timedelta(hours=30)
    )

    [call] = send_calls(instagram)
    assert call.json()["messaging_type"] == "MESSAGE_TAG"
    assert call.json()["tag"] == "HUMAN_AGENT"
    assert message.status == "sent"


@pytest.mark.promise("IG-8")
def test_an_automated_message_never_carries_the_human_agent_tag(
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    last = timezone.now() - timedelta(days=3)
    thread = dm_thread(instagram, remote, local.workspace, last)

    message = _queue_then_send_later(
        thread,
        Message.Author.AUTOMATION,
        None,
        last + timedelta(hours=23),
        last + timedelta(hours=30),
    )

    assert send_calls(instagram) == []  # the tag would be the only way through: not used
    assert message.status == "failed"
    assert message.error.startswith("Instagram only allows replies within 24 hours")


@pytest.mark.promise("IG-8")
def test_within_24_hours_neither_a_person_nor_an_automation_uses_the_tag(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now() - timedelta(hours=2))

    for author, by in ((Message.Author.PERSON, alice), (Message.Author.AUTOMATION, None)):
        message = sending.message_send(conversation=thread, text="Hi", author=author, sent_by=by)
        inbox_message_send.apply(args=(message.id, thread.workspace_id))

    bodies = [call.json() for call in send_calls(instagram)]
    assert len(bodies) == 2
    assert all("tag" not in body and "messaging_type" not in body for body in bodies)


@pytest.mark.parametrize(
    ("author", "age", "expected"),
    [
        (Message.Author.PERSON, timedelta(hours=23, minutes=59), False),
        (Message.Author.PERSON, timedelta(hours=24), True),
        (Message.Author.PERSON, timedelta(days=6, hours=23), True),
        (Message.Author.PERSON, timedelta(days=7), None),
        (Message.Author.AUTOMATION, timedelta(hours=1), False),
        (Message.Author.AUTOMATION, timedelta(hours=25), None),
    ],
)
@pytest.mark.promise("IG-8")
def test_the_human_agent_rule(author: str, age: timedelta, expected: bool | None) -> None:
    now = timezone.now()
    message = Message(author=author)

    assert instagram_channel.needs_human_agent_tag(message, now - age, now) is expected
    assert instagram_channel.needs_human_agent_tag(message, None, now) is None


def test_metas_window_error_is_explained_on_the_message(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    # ALT saw a message Meta does not count (e.g. a reaction): Meta's rule wins, code 10 / 2534022.
    thread = conversation(local.workspace, channel_account=remote.ig_user_id, party_id=CUSTOMER)
    received(thread, at=timezone.now() - timedelta(hours=1))

    message = sending.message_send(
        conversation=thread, text="Hello", author=Message.Author.PERSON, sent_by=alice
    )
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error == instagram_channel.WINDOW_CLOSED
    local.refresh_from_db()
    assert local.status == "connected"


def test_a_revoked_token_fails_the_message_and_marks_the_account_for_reconnecting(
    alice_client: Client,
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())
    instagram.revoke_tokens(remote.ig_user_id)

    message = sending.message_send(
        conversation=thread, text="Hello", author=Message.Author.PERSON, sent_by=alice
    )
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    local.refresh_from_db()
    assert (message.status, message.error) == ("failed", instagram_channel.NOT_CONNECTED)
    assert local.status == "needs_reconnect"
    assert len(send_calls(instagram)) == 1
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert "connect it again in Settings → Social" in page
    assert f'action="/inbox/{thread.id}/messages/{message.id}/retry/"' in page


def test_a_disconnected_account_fails_the_message_without_calling_instagram(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())
    InstagramAccount.objects.for_workspace(local.workspace).filter(id=local.id).update(
        status=InstagramAccount.Status.DISCONNECTED, access_token=""
    )

    message = sending.message_send(
        conversation=thread, text="Hello", author=Message.Author.PERSON, sent_by=alice
    )
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert (message.status, message.error) == ("failed", instagram_channel.NOT_CONNECTED)
    assert send_calls(instagram) == []


def test_a_rate_limit_is_retried_and_the_message_sent_once(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())
    limit = {"error": {"message": "(#4) Application request limit reached", "code": 4}}
    instagram.fail_next(403, limit, when=lambda r: r.path.endswith("/messages"))

    message = sending.message_send(
        conversation=thread, text="Hello", author=Message.Author.PERSON, sent_by=alice
    )
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert len(send_calls(instagram)) == 2
    assert len(instagram.sent_to(CUSTOMER)) == 1
    assert message.status == "sent"


def test_a_task_run_again_never_sends_the_message_twice(
    alice: User,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
    outbox: Outbox,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())
    message = sending.message_send(
        conversation=thread, text="Just once", author=Message.Author.PERSON, sent_by=alice
    )

    for _ in range(3):  # a redelivery, a duplicate from a sweep, a retry after the fact
        inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert len(send_calls(instagram)) == 1
    assert len(instagram.sent_to(CUSTOMER)) == 1


def test_an_echo_ingested_before_the_send_was_recorded_is_merged_into_the_sent_row(
    alice: User, ig_account: tuple[Account, InstagramAccount], instagram: InstagramEmulator
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now())
    ours = sent(thread, "Hello", status=Message.Status.SENDING, external_id="")
    echo = sent(thread, "Hello", external_id="mid.from.meta")

    instagram_channel._sent(ours, "mid.from.meta")

    ours.refresh_from_db()
    assert (ours.status, ours.external_id) == ("sent", "mid.from.meta")
    assert not Message.objects.for_workspace(local.workspace).filter(id=echo.id).exists()


@pytest.mark.promise("IG-3")
def test_a_real_worker_sends_the_reply(
    celery_worker: Any,
    alice_client: Client,
    ig_account: tuple[Account, InstagramAccount],
    instagram: InstagramEmulator,
) -> None:
    remote, local = ig_account
    thread = dm_thread(instagram, remote, local.workspace, timezone.now() - timedelta(minutes=5))

    alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Sent by the worker"})

    message = wait_for(
        lambda: (
            Message.objects.for_workspace(local.workspace)
            .filter(conversation=thread, status=Message.Status.SENT)
            .first()
        )
    )
    [delivered] = instagram.sent_to(CUSTOMER)
    assert (delivered.text, message.external_id) == ("Sent by the worker", delivered.message_id)
