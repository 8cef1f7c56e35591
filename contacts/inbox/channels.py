"""The seam between the inbox (contacts, a lower layer) and the channels that carry messages.

contacts never imports a provider: an integration registers, from its AppConfig.ready(), a
`Channel` for its `Conversation.Channel` value. The inbox asks it whether a reply can go out now
and hands it a stored outgoing Message to send (in the worker). A copy of appointments/sync.py's
recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contacts.models import Conversation, Message


@dataclass(frozen=True)
class ReplyWindow:
    """Whether a person can reply in a conversation now, and until when (Instagram's 24 hours)."""

    open: bool
    closes_at: datetime | None = None
    # Plain words for the agent when it is closed ("Instagram allows replies for 24 hours ...").
    reason: str = ""


class Channel(Protocol):
    name: str  # a Conversation.Channel value
    max_text_length: int  # the longest text the provider accepts in one message

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        """Whether a person may reply now. No I/O."""
        ...

    def send(self, message: Message) -> None:
        """Send one stored outgoing message (status SENDING: claimed by the send task, so the
        channel is called once per claim) through the provider and record the outcome on the row
        (external id and SENT, or FAILED with an error a person understands).
        Runs in the worker. Must be safe to call twice for the same row. Raises IntegrationError
        (permanent=False) for a transient failure the task should retry."""
        ...


class RefusingChannel(Channel, Protocol):
    """A channel with rules of its own about who may be messaged (SMS: an opted-out contact) and
    about length (SMS bills per segment). Optional: sending.channel_refusal and length_hint use
    the methods a channel has (Instagram's only rule is its reply window)."""

    def refusal(self, conversation: Conversation) -> str:
        """Why nothing may be sent in `conversation` now, in plain words, or "". No provider I/O
        (a database read is fine): asked before a message is stored and again by `send`."""
        ...

    def length_hint(self, text: str) -> str:
        """What the compose box says about `text`'s length ("2 text messages"), or ""."""
        ...


_channels: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    _channels[channel.name] = channel


def channel_for(name: str) -> Channel | None:
    """The registered channel, or None when that integration is not installed or not configured."""
    return _channels.get(name)
