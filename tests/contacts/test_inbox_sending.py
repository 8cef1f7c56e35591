"""Sending from the inbox, channel-agnostic: the reply form's refusals before anything is stored,
the outgoing row written first and sent by a task, a person taking over from automations, and
the task's claim that never sends a row twice, retries transient failures and marks the last one
failed, with a Retry that re-sends the same row. A fake channel stands in for the providers
(tests/integrations/test_instagram_send.py runs Instagram's against the emulator)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.errors import IntegrationError
from alt.lib.retry import MAX_RETRIES
from contacts.inbox import channels, sending
from contacts.inbox.channels import ReplyWindow
from contacts.inbox.tasks import inbox_message_send
from contacts.models import Conversation, Message
from tests.conftest import Outbox
from tests.contacts.inbox_rows import conversation, hours_ago, received, sent

HTMX = {"HX-Request": "true"}


@dataclass
class FakeChannel:
    """A channel that records what it was asked to send and fails on request."""

    name: str = Conversation.Channel.SMS.value
    max_text_length: int = 160
    window_open: bool = True
    calls: list[int] = field(default_factory=list)
    failures: list[IntegrationError] = field(default_factory=list)

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        if self.window_open:
            return ReplyWindow(open=True, closes_at=None)
        return ReplyWindow(open=False, reason="The fake window is shut.")

    def send(self, message: Message) -> None:
        self.calls.append(message.id)
        if self.failures:
            raise self.failures.pop(0)
        Message.objects.for_workspace(message.workspace).filter(id=message.id).update(
            status=Message.Status.SENT, external_id=f"fake-{message.id}"
        )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeChannel:
    channel = FakeChannel()
    monkeypatch.setitem(channels._channels, channel.name, channel)
    return channel


@pytest.fixture
def thread(ws: Workspace) -> Conversation:
    thread = conversation(
        ws,
        channel=Conversation.Channel.SMS,
        channel_account="+14155550100",
        party_id="+14155550123",
        party_handle="",
        party_name="Texting Tom",
    )
    received(thread, "Is the open house still on?", at=hours_ago(2))
    return thread


def rows(thread: Conversation) -> list[Message]:
    messages = Message.objects.for_workspace(thread.workspace).filter(conversation=thread)
    return list(messages.filter(direction=Message.Direction.OUTBOUND).order_by("id"))


def reload(thread: Conversation) -> Conversation:
    return Conversation.objects.for_workspace(thread.workspace).get(id=thread.id)


def test_a_reply_is_stored_pending_then_sent_by_a_task_after_commit(
    alice_client: Client,
    alice: User,
    thread: Conversation,
    fake: FakeChannel,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Yes, 2 to 4 pm!"})

    assert response.status_code == 302
    [message] = rows(thread)
    assert (message.status, message.external_id, message.author) == ("pending", "", "person")
    assert message.sent_by == alice
    assert message.text == "Yes, 2 to 4 pm!"
    assert outbox.names() == ["inbox_message_send"]
    assert fake.calls == []

    outbox.drain()

    message.refresh_from_db()
    assert fake.calls == [message.id]
    assert (message.status, message.external_id) == ("sent", f"fake-{message.id}")


def test_a_persons_reply_answers_the_thread_and_pauses_automations(
    alice: User, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    assert reload(thread).awaiting_reply_since is not None
    now = timezone.now()

    with time_machine.travel(now, tick=False):
        sending.message_send(
            conversation=thread, text="Hi Tom", author=Message.Author.PERSON, sent_by=alice
        )

    thread = reload(thread)
    assert thread.awaiting_reply_since is None
    assert thread.automation_paused_until == now + timedelta(hours=24)
    assert thread.last_message_at == now


def test_an_automated_message_neither_answers_the_thread_nor_pauses_automations(
    thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    waiting_since = reload(thread).awaiting_reply_since

    message = sending.message_send(
        conversation=thread,
        text="Thanks! An agent will answer soon. (automated)",
        author=Message.Author.AUTOMATION,
        sent_by=None,
    )

    thread = reload(thread)
    assert message.author == "automation"
    assert thread.awaiting_reply_since == waiting_since
    assert thread.automation_paused_until is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write a message first."),
        ("   \n  ", "Write a message first."),
        ("x" * 161, "SMS accepts at most 160 characters in a message; this one has 161."),
        ("x" * 20_000, "That message is far too long to send."),
    ],
    ids=["empty", "blank", "over-the-channel-limit", "absurd"],
)
def test_the_reply_form_refuses_bad_text_plainly_and_stores_nothing(
    alice_client: Client,
    thread: Conversation,
    fake: FakeChannel,
    outbox: Outbox,
    text: str,
    error: str,
) -> None:
    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": text})

    assert response.status_code == 400
    assert error in response.content.decode()
    assert rows(thread) == []
    assert outbox.sent == []
    assert fake.calls == []


def test_a_closed_window_is_refused_before_anything_is_stored_or_sent(
    alice_client: Client, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    fake.window_open = False

    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Hello?"})

    assert response.status_code == 400
    assert "The fake window is shut." in response.content.decode()
    assert rows(thread) == []
    assert outbox.sent == []
    with pytest.raises(sending.SendRefused, match="fake window is shut"):
        sending.message_send(
            conversation=thread, text="Hello?", author=Message.Author.AUTOMATION, sent_by=None
        )


def test_a_channel_that_is_not_available_is_refused(
    alice_client: Client, thread: Conversation, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(channels._channels, thread.channel, raising=False)  # SMS is installed

    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Hello?"})

    assert response.status_code == 400
    assert "Sending SMS messages is not available." in response.content.decode()
    assert rows(thread) == []


def test_an_htmx_reply_returns_an_empty_form_and_asks_the_thread_to_poll(
    alice_client: Client, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "On my way"}, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"inbox-poll": {}}
    assert '<form id="reply"' in body
    assert "On my way" not in body
    assert len(rows(thread)) == 1


def test_an_htmx_reply_refused_keeps_the_text_and_shows_why(
    alice_client: Client, thread: Conversation, fake: FakeChannel
) -> None:
    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "y" * 161}, headers=HTMX)

    assert "HX-Trigger" not in response
    assert "at most 160 characters" in response.content.decode()
    assert "y" * 161 in response.content.decode()


def test_a_task_run_twice_sends_the_message_once(
    alice: User, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    message = sending.message_send(
        conversation=thread, text="Once only", author=Message.Author.PERSON, sent_by=alice
    )

    inbox_message_send.apply(args=(message.id, thread.workspace_id))
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert fake.calls == [message.id]


def test_a_message_claimed_by_another_run_is_left_alone(
    alice: User, thread: Conversation, fake: FakeChannel
) -> None:
    claimed = sent(thread, "in flight", status=Message.Status.SENDING, external_id="")

    sending.message_deliver(workspace_id=thread.workspace_id, message_id=claimed.id)

    assert fake.calls == []
    claimed.refresh_from_db()
    assert claimed.status == "sending"


def test_a_transient_failure_is_retried_and_sends_once_it_passes(
    alice: User, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    fake.failures = [IntegrationError("busy", permanent=False)] * 2
    message = sending.message_send(
        conversation=thread, text="Eventually", author=Message.Author.PERSON, sent_by=alice
    )

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert fake.calls == [message.id] * 3
    assert message.status == "sent"


def test_the_last_transient_failure_marks_the_message_failed(
    alice: User, thread: Conversation, fake: FakeChannel
) -> None:
    message = sent(thread, "doomed", status=Message.Status.PENDING, external_id="")
    fake.failures = [IntegrationError("busy", permanent=False)]

    sending.message_deliver(
        workspace_id=thread.workspace_id, message_id=message.id, final_attempt=True
    )

    message.refresh_from_db()
    assert (message.status, message.error) == ("failed", sending.GAVE_UP)


def test_a_transient_failure_puts_the_row_back_for_the_retry(
    alice: User, thread: Conversation, fake: FakeChannel
) -> None:
    message = sent(thread, "soon", status=Message.Status.PENDING, external_id="")
    fake.failures = [IntegrationError("busy", permanent=False)]

    with pytest.raises(IntegrationError):
        sending.message_deliver(workspace_id=thread.workspace_id, message_id=message.id)

    message.refresh_from_db()
    assert message.status == "pending"


def test_a_failed_message_shows_its_error_and_retry_re_sends_the_same_row(
    alice_client: Client,
    thread: Conversation,
    fake: FakeChannel,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    failed = sent(thread, "Try me", status=Message.Status.FAILED, external_id="")
    Message.objects.for_workspace(thread.workspace).filter(id=failed.id).update(
        error="The carrier refused it."
    )

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert "The carrier refused it." in page
    assert f'action="/inbox/{thread.id}/messages/{failed.id}/retry/"' in page

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/inbox/{thread.id}/messages/{failed.id}/retry/")
        alice_client.post(f"/inbox/{thread.id}/messages/{failed.id}/retry/")  # a double click
    outbox.drain()

    assert [m.id for m in rows(thread)] == [failed.id]
    failed.refresh_from_db()
    assert (failed.status, failed.error) == ("sent", "")
    assert fake.calls == [failed.id]


def test_retry_never_sends_a_message_that_was_sent(
    alice_client: Client, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    done = sent(thread, "Already out")

    alice_client.post(f"/inbox/{thread.id}/messages/{done.id}/retry/")

    assert outbox.sent == []
    done.refresh_from_db()
    assert done.status == "sent"


def test_retry_refuses_plainly_once_the_window_has_closed(
    alice_client: Client, thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    failed = sent(thread, "Too late", status=Message.Status.FAILED, external_id="")
    fake.window_open = False

    response = alice_client.post(f"/inbox/{thread.id}/messages/{failed.id}/retry/", follow=True)

    assert "The fake window is shut." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "failed"
    assert outbox.sent == []


def test_inbound_messages_cannot_be_retried(
    thread: Conversation, fake: FakeChannel, outbox: Outbox
) -> None:
    inbound = received(thread, "hello")

    assert sending.message_retry(message=inbound) is False
    assert outbox.sent == []


def test_the_task_gives_up_after_the_maximum_retries(
    alice: User, thread: Conversation, fake: FakeChannel
) -> None:
    message = sent(thread, "never", status=Message.Status.PENDING, external_id="")
    fake.failures = [IntegrationError("busy", permanent=False)] * (MAX_RETRIES + 1)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert len(fake.calls) == MAX_RETRIES + 1
    assert message.status == "failed"
