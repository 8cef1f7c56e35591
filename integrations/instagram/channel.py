"""Instagram as an inbox channel (contacts/inbox/channels.py): Meta's 24-hour reply window and
the Send API, so the inbox sends a DM without knowing Instagram.

Meta's rules (EXTERNAL_APIS.md §3.6): a reply must follow the customer's last message within
24 hours; the HUMAN_AGENT tag stretches that to 7 days, and ALT adds it only to messages a person
wrote (IG-8: never to automated ones). An error is recorded on the message in words the agent can
act on; a dead token (code 190) also marks the account "needs reconnect".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.inbox.channels import ReplyWindow
from contacts.models import Conversation, Message
from integrations.instagram import client
from integrations.instagram.models import InstagramAccount

WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_TEXT_LENGTH = 1000  # §3.6 [O/U]; the emulator refuses longer texts with code 100

WINDOW_CLOSED = (
    "Instagram only allows replies within 24 hours of their last message. "
    "Wait for them to write again."
)
NOT_CONNECTED = "Instagram is not connected: connect it again in Settings → Social, then retry."


class InstagramChannel:
    name = Conversation.Channel.INSTAGRAM.value
    max_text_length = MAX_TEXT_LENGTH

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        """Open for 24 hours after the customer's last message (Meta's standard window). No I/O."""
        now = timezone.now()
        if conversation.last_inbound_at is None:
            return ReplyWindow(open=False, closes_at=None, reason=WINDOW_CLOSED)
        # A timestamp in the future (a skewed or bogus one, up to year 9999) counts as now.
        last = min(conversation.last_inbound_at, now)
        if now >= last + WINDOW:
            return ReplyWindow(open=False, closes_at=None, reason=WINDOW_CLOSED)
        return ReplyWindow(open=True, closes_at=last + WINDOW)

    def send(self, message: Message) -> None:
        """Send `message` (claimed: status SENDING) through the Send API and record the outcome:
        SENT with Meta's message id as external_id, or FAILED with a plain error. Marks the account
        NEEDS_RECONNECT on code 190. Raises InstagramError (transient) for the task to retry."""
        conversation = message.conversation
        account = InstagramAccount.objects.live_by_ig_user_id(conversation.channel_account)
        if (
            account is None
            or account.workspace_id != message.workspace_id
            or not account.is_connected
            or not account.access_token
        ):
            _fail(message, NOT_CONNECTED)
            return
        human_agent = needs_human_agent_tag(message, conversation.last_inbound_at, timezone.now())
        if human_agent is None:  # past what Meta would accept: do not call it (IG-8, §3.6)
            _fail(message, WINDOW_CLOSED)
            return
        try:
            sent = client.send_message(
                token=account.access_token,
                ig_user_id=account.ig_user_id,
                recipient_id=conversation.party_id,
                text=message.text,
                human_agent=human_agent,
            )
        except client.InstagramError as exc:
            if not exc.permanent:
                raise
            if exc.needs_reconnect:
                _needs_reconnect(account, exc)
                _fail(message, NOT_CONNECTED)
            elif exc.window_closed:
                _fail(message, WINDOW_CLOSED)
            else:
                _fail(message, exc.message)
            return
        _sent(message, sent.message_id)


def needs_human_agent_tag(
    message: Message, last_inbound_at: datetime | None, now: datetime
) -> bool | None:
    """Whether this send carries the HUMAN_AGENT tag: only for a message a person wrote, once
    the 24-hour window has passed but 7 days have not (IG-8). None: Meta would refuse it (an
    automation outside 24 hours, anyone past 7 days, or a customer who never wrote)."""
    if last_inbound_at is None:
        return None
    age = now - last_inbound_at
    if age < WINDOW:
        return False
    if message.author == Message.Author.PERSON and age < HUMAN_AGENT_WINDOW:
        return True
    return None


def _fail(message: Message, error: str) -> None:
    Message.objects.for_workspace(message.workspace).filter(
        id=message.id, status=Message.Status.SENDING
    ).update(status=Message.Status.FAILED, error=error[:300])


def _sent(message: Message, external_id: str) -> None:
    messages = Message.objects.for_workspace(message.workspace)
    try:
        with transaction.atomic():
            messages.filter(id=message.id, status=Message.Status.SENDING).update(
                status=Message.Status.SENT, external_id=external_id, error=""
            )
    except IntegrityError:
        # The echo webhook of this very send was ingested first, as a message of its own: the
        # row written before the call is the one the thread shows, so the echo's copy goes.
        with transaction.atomic():
            messages.filter(external_id=external_id, channel=message.channel).exclude(
                id=message.id
            ).delete()
            messages.filter(id=message.id, status=Message.Status.SENDING).update(
                status=Message.Status.SENT, external_id=external_id, error=""
            )


def _needs_reconnect(account: InstagramAccount, exc: client.InstagramError) -> None:
    # The one path for a dead token: the status, the banner and the one email.
    from integrations.instagram.services import instagram_needs_reconnect

    instagram_needs_reconnect(
        workspace=account.workspace, account_id=account.id, reason=exc.message
    )
