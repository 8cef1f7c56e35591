"""Held outgoing messages (`message_send(..., send_after=...)`: quiet hours, reminders): stored
PENDING with their time and no task, never claimed early, handed to the send task by the
every-minute sweeper once due (again after a lost task message), and sent once."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import TestCase
from django.utils import timezone

from contacts.inbox import sending
from contacts.inbox.tasks import inbox_message_send
from contacts.models import Conversation, Message
from contacts.tasks import inbox_scheduled_sends
from tests.conftest import Outbox
from tests.contacts.test_inbox_sending import (  # noqa: F401 (fixtures)
    FakeChannel,
    fake,
    rows,
    thread,
)


def hold(conversation: Conversation, minutes: int) -> Message:
    # Commit callbacks run, so a task sent on commit would show in the outbox.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return sending.message_send(
            conversation=conversation,
            text="Your tour of 12 Oak St is tomorrow at 10:00.",
            author=Message.Author.AUTOMATION,
            sent_by=None,
            send_after=timezone.now() + timedelta(minutes=minutes),
        )


def test_a_held_message_is_stored_pending_with_its_time_and_no_task_is_sent(
    thread: Conversation,  # noqa: F811
    fake: FakeChannel,  # noqa: F811
    outbox: Outbox,
) -> None:
    message = hold(thread, minutes=90)

    [stored] = rows(thread)
    assert stored.id == message.id
    assert stored.status == Message.Status.PENDING
    assert stored.send_after == message.send_after
    assert outbox.sent == []


def test_a_send_after_in_the_past_sends_now(
    thread: Conversation,  # noqa: F811
    fake: FakeChannel,  # noqa: F811
    outbox: Outbox,
) -> None:
    message = hold(thread, minutes=-5)

    assert message.send_after is None
    assert outbox.names() == ["inbox_message_send"]


def test_an_early_task_does_not_send_a_held_message(
    thread: Conversation,  # noqa: F811
    fake: FakeChannel,  # noqa: F811
    outbox: Outbox,
) -> None:
    message = hold(thread, minutes=90)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message.refresh_from_db()
    assert fake.calls == []
    assert message.status == Message.Status.PENDING
    assert message.send_after is not None


def test_the_sweeper_sends_a_held_message_once_it_is_due_and_only_once(
    thread: Conversation,  # noqa: F811
    fake: FakeChannel,  # noqa: F811
    outbox: Outbox,
) -> None:
    message = hold(thread, minutes=90)
    due_at = message.send_after
    assert due_at is not None

    inbox_scheduled_sends.apply()
    assert outbox.sent == []  # not due yet

    with time_machine.travel(due_at + timedelta(seconds=30), tick=False):
        inbox_scheduled_sends.apply()
        inbox_scheduled_sends.apply()  # two beats before the worker ran: two tasks, one send
        assert outbox.names() == ["inbox_message_send", "inbox_message_send"]
        outbox.drain()

        message.refresh_from_db()
        assert fake.calls == [message.id]
        assert (message.status, message.send_after) == (Message.Status.SENT, None)
        assert message.sent_at == timezone.now()  # the thread shows when it really went out

        inbox_scheduled_sends.apply()
        assert outbox.sent == []


def test_a_lost_task_message_is_sent_again_by_the_next_sweep(
    thread: Conversation,  # noqa: F811
    fake: FakeChannel,  # noqa: F811
    outbox: Outbox,
) -> None:
    message = hold(thread, minutes=10)
    assert message.send_after is not None

    with time_machine.travel(message.send_after + timedelta(minutes=1), tick=False):
        inbox_scheduled_sends.apply()
        outbox.clear()  # the worker restarted and the broker message is gone

        inbox_scheduled_sends.apply()
        outbox.drain()

    assert fake.calls == [message.id]
