"""Sending a message from the inbox, on any channel (contacts/inbox/channels.py).

The outgoing Message row is written first (status PENDING, no external id), then a task sent on
commit claims it (PENDING -> SENDING in one conditional UPDATE) and hands it to the channel, which
records SENT with the provider's id or FAILED with an error a person understands. A row is handed
to a channel once per claim, so a redelivered or duplicated task never sends a message twice, and
a SENT row is never claimed again. Retry puts a FAILED row back to PENDING and sends the task
again: the same row, never a copy.

An automated message can be held (`send_after`: quiet hours, an appointment reminder's lead
time). It is stored PENDING with that time and no task is sent; `scheduled_sends_due`, run every
minute by beat, hands each due row to the send task. The time lives in the row, not in a Celery
eta, so a worker restart or a lost broker message delays it by a minute at most and never loses
it; the claim refuses a row before its time, and clears `send_after`, so a transient retry follows
the task's backoff and the sweeper does not pick the row up again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.errors import IntegrationError
from alt.lib.tenancy import TenantQuerySet
from contacts.inbox import channels
from contacts.models import Conversation, Message

log = logging.getLogger(__name__)

# Held messages now due (the partial index message_scheduled_due serves it).
_DUE_SQL = f"""
    SELECT id, workspace_id FROM {Message._meta.db_table}
    WHERE status = 'pending' AND send_after IS NOT NULL AND send_after <= %(now)s
    ORDER BY send_after
    LIMIT %(limit)s
"""  # noqa: S608 (the table name is ours, the values are parameters)

# A person's reply takes the conversation over: keyword triggers and AI auto-replies stay quiet.
HUMAN_TAKEOVER = timedelta(hours=24)
GAVE_UP = "The message could not be sent after several tries. Try again in a few minutes."


class SendRefused(Exception):
    """The message was not stored: `reason` says why in plain words (empty, too long, the
    channel's reply window closed, or the channel unavailable). Nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def send_refusal(*, conversation: Conversation, text: str) -> str | None:
    """Why `text` cannot be sent in `conversation` now, or None when it can. No provider I/O:
    the reply form shows it as a field error, and message_send refuses with it, before any
    provider call. A channel with a `refusal` method (channels.RefusingChannel: SMS opt-outs) is
    asked first."""
    channel = channels.channel_for(conversation.channel)
    if channel is None:
        return f"Sending {conversation.get_channel_display()} messages is not available."
    # The channel's own rules first (an opted-out contact): they hold whatever the text says.
    reason = channel_refusal(conversation)
    if reason:
        return reason
    if not text.strip():
        return "Write a message first."
    if len(text) > channel.max_text_length:
        return (
            f"{conversation.get_channel_display()} accepts at most {channel.max_text_length} "
            f"characters in a message; this one has {len(text)}."
        )
    window = channel.reply_window(conversation)
    if not window.open:
        return window.reason or "This conversation cannot be replied to now."
    return None


def channel_refusal(conversation: Conversation) -> str:
    """The channel's own reason nothing may be sent in `conversation` now (SMS: the contact opted
    out), or "". The thread shows it instead of the send button."""
    refusal = getattr(channels.channel_for(conversation.channel), "refusal", None)
    if refusal is None:
        return ""
    reason: str = refusal(conversation)
    return reason


def length_hint(conversation: Conversation, text: str) -> str:
    """What the channel says about the length of `text` ("2 text messages" for SMS), or ""."""
    hint = getattr(channels.channel_for(conversation.channel), "length_hint", None)
    if hint is None:
        return ""
    words: str = hint(text)
    return words


def message_send(
    *,
    conversation: Conversation,
    text: str,
    author: str,
    sent_by: User | None,
    meta: dict[str, object] | None = None,
    send_after: datetime | None = None,
) -> Message:
    """Store an outgoing message of `conversation` and send it through its channel.

    `author` is Message.Author.PERSON (typed by `sent_by`) or AUTOMATION (a trigger or auto-reply
    the user configured, IG-8). A person's message clears awaiting_reply_since and pauses the
    conversation's automations for HUMAN_TAKEOVER; an automation's does neither. `meta` records
    where an automated message came from (e.g. {"trigger_id": ...}). `send_after` holds the
    message until then (quiet hours, a reminder's lead time; None or a past time: now); a held
    message is refused or not by the rules of now, and the channel checks again when it sends.

    Side effects: one Message row (PENDING); the conversation's last_message_at; the send task
    `inbox_message_send` on commit, or, when held, by `scheduled_sends_due` once due.
    Raises SendRefused (nothing stored) when send_refusal says no.
    """
    refusal = send_refusal(conversation=conversation, text=text)
    if refusal is not None:
        raise SendRefused(refusal)
    from contacts.inbox.tasks import inbox_message_send

    now = timezone.now()
    held = send_after is not None and send_after > now
    with transaction.atomic():
        message = Message.objects.create(
            workspace=conversation.workspace,
            conversation=conversation,
            channel=conversation.channel,
            direction=Message.Direction.OUTBOUND,
            author=author,
            sent_by=sent_by,
            text=text,
            meta=meta or {},
            status=Message.Status.PENDING,
            sent_at=now,
            created_at=now,
            send_after=send_after if held else None,
        )
        changes: dict[str, object] = {"last_message_at": now}
        if author == Message.Author.PERSON:
            changes |= {
                "awaiting_reply_since": None,
                "automation_paused_until": now + HUMAN_TAKEOVER,
            }
        Conversation.objects.for_workspace(conversation.workspace).filter(
            id=conversation.id
        ).update(**changes)
        for name, value in changes.items():
            setattr(conversation, name, value)
        if not held:
            inbox_message_send.delay_on_commit(message.id, conversation.workspace_id)
    return message


def scheduled_sends_due(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, int]]:
    """The held messages whose time has come, as (message_id, workspace_id), oldest first, for
    the sweeper to hand to the send task. No writes: a row handed twice (two beats, a slow
    worker) is claimed once by message_deliver, and a row stays here until claimed, so a lost
    task message is sent again a minute later.

    Unscoped on purpose, in SQL like the other sweeps: the sweeper serves every workspace; the
    send task reloads each row through Message.objects.for_workspace(...).
    """
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"now": now or timezone.now(), "limit": limit})
        return [(message_id, workspace_id) for message_id, workspace_id in cursor.fetchall()]


def message_retry(*, message: Message) -> bool:
    """Send a FAILED outgoing message again, as the same row. Returns False (nothing done) when it
    is not FAILED any more (already retried, or sent). Raises SendRefused, leaving it FAILED, when
    the channel would refuse it now (e.g. the reply window has closed since).

    Side effects: the row back to PENDING with its error cleared; the send task on commit.
    """
    if message.direction != Message.Direction.OUTBOUND:
        return False
    refusal = send_refusal(conversation=message.conversation, text=message.text)
    if refusal is not None:
        raise SendRefused(refusal)
    from contacts.inbox.tasks import inbox_message_send

    with transaction.atomic():
        # State guard: only FAILED -> PENDING, so two clicks queue one send.
        reset = (
            Message.objects.for_workspace(message.workspace)
            .filter(id=message.id, status=Message.Status.FAILED)
            .update(status=Message.Status.PENDING, error="")
        )
        if reset:
            inbox_message_send.delay_on_commit(message.id, message.workspace_id)
    return bool(reset)


def message_deliver(*, workspace_id: int, message_id: int, final_attempt: bool = False) -> None:
    """Claim the PENDING message (conditional UPDATE to SENDING) and hand it to its channel, once.
    A message that is not PENDING (sent, failed, claimed by another run) is left alone.

    Side effects: the provider call, through the channel, which records SENT or FAILED on the row.
    Raises IntegrationError (transient) after putting the row back to PENDING, for the task to
    retry; on `final_attempt` the row is marked FAILED instead.
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    messages = Message.objects.for_workspace(workspace)
    now = timezone.now()
    # A held message is not claimed before its time (an early or duplicated task does nothing);
    # claiming clears the hold and stamps the real sending time, so the thread shows it then.
    claimed = (
        messages.filter(id=message_id, status=Message.Status.PENDING)
        .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
        .update(
            status=Message.Status.SENDING,
            sent_at=Case(When(send_after__isnull=False, then=Value(now)), default=F("sent_at")),
            send_after=None,
        )
    )
    if not claimed:
        return
    message = messages.select_related("conversation", "workspace").get(id=message_id)
    channel = channels.channel_for(message.channel)
    if channel is None:
        messages.filter(id=message_id, status=Message.Status.SENDING).update(
            status=Message.Status.FAILED, error="This channel is not available any more."
        )
        return
    try:
        channel.send(message)
    except IntegrationError as exc:
        if exc.permanent:  # a channel should record these itself; never leave a row claimed
            _release(messages, message_id, Message.Status.FAILED, exc.message)
            return
        if final_attempt:
            log.warning("giving up sending message %s: %s", message_id, exc)
            _release(messages, message_id, Message.Status.FAILED, GAVE_UP)
            return
        _release(messages, message_id, Message.Status.PENDING, "")
        raise


def _release(messages: TenantQuerySet[Message], message_id: int, status: str, error: str) -> None:
    messages.filter(id=message_id, status=Message.Status.SENDING).update(
        status=status, error=error[:300]
    )
