"""Inbox rows written directly, as the ingest would leave them (the ingest is tested on its own):
a conversation and its messages, with the conversation's counters kept as the ingest keeps them."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from alt.accounts.models import Workspace
from contacts.models import Contact, Conversation, Message

_ids = count(1)
OUR_IG_ID = "17841405822304914"


def conversation(
    workspace: Workspace,
    *,
    party_handle: str = "maria.buys.homes",
    party_name: str = "",
    party_id: str = "",
    contact: Contact | None = None,
    channel: str = Conversation.Channel.INSTAGRAM,
    channel_account: str = OUR_IG_ID,
) -> Conversation:
    return Conversation.objects.create(
        workspace=workspace,
        channel=channel,
        channel_account=channel_account,
        party_id=party_id or str(6543210987654321 + next(_ids)),
        party_handle=party_handle,
        party_name=party_name,
        contact=contact,
    )


def received(
    thread: Conversation,
    text: str = "Hi, is this available?",
    *,
    at: datetime | None = None,
    unread: bool = True,
    **fields: Any,
) -> Message:
    """An inbound message, and the conversation's counters as the ingest updates them."""
    at = at or timezone.now()
    message = Message.objects.create(
        workspace=thread.workspace,
        conversation=thread,
        channel=thread.channel,
        direction=Message.Direction.INBOUND,
        author=Message.Author.PARTY,
        external_id=f"mid.{next(_ids)}",
        text=text,
        status=Message.Status.RECEIVED,
        sent_at=at,
        **fields,
    )
    thread.last_message_at = max(thread.last_message_at or at, at)
    thread.last_inbound_at = max(thread.last_inbound_at or at, at)
    thread.awaiting_reply_since = thread.awaiting_reply_since or at
    thread.unread_count += 1 if unread else 0
    thread.save()
    return message


def sent(
    thread: Conversation,
    text: str = "Yes, it is!",
    *,
    at: datetime | None = None,
    status: str = Message.Status.SENT,
    **fields: Any,
) -> Message:
    """An outbound message a person sent (the conversation no longer waits)."""
    at = at or timezone.now()
    message = Message.objects.create(
        workspace=thread.workspace,
        conversation=thread,
        channel=thread.channel,
        direction=Message.Direction.OUTBOUND,
        author=fields.pop("author", Message.Author.PERSON),
        external_id=fields.pop("external_id", f"mid.out.{next(_ids)}"),
        text=text,
        status=status,
        sent_at=at,
        **fields,
    )
    thread.last_message_at = max(thread.last_message_at or at, at)
    thread.awaiting_reply_since = None
    thread.save()
    return message


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)
