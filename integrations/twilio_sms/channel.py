"""SMS as an inbox channel (contacts/inbox/channels.py): texts go out through Twilio's Messages
API from the workspace's own number, so the inbox sends a text without knowing Twilio.

SMS has no reply window, but it has consent: a contact who opted out (STOP, or Twilio's 21610) is
refused before anything is stored (`refusal`, asked by contacts.inbox.sending.send_refusal) and
again in the worker just before the call (`send`: consent can change between the two). Automated
texts (bulk, reminders) also need the contact's agreement, re-checked here too.

Status (contracts with the status callback): Twilio's answer to the create is `queued` (or
`accepted` with a Messaging Service), which is not sent yet. The row keeps SENDING ("Sending" in
the thread) with Twilio's MessageSid as external_id, and the status callback moves it to SENT,
DELIVERED or FAILED; a create answered `sent`/`delivered`/`failed` is recorded as such at once.

Never twice: the send task claims the row once (pending -> sending), and a row that already has a
MessageSid is never handed to Twilio again. Twilio has no idempotency key for Messages, so a
worker that dies after Twilio accepted a text and before its SID is stored leaves the row
SENDING without a SID: nothing claims it again (the claim takes only PENDING rows), so the text
is never sent twice; at most its status stays "Sending" (at-most-once, on purpose: a duplicate
text cannot be taken back, carriers count it against the sender).
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.consent import consent_record, sms_automated_refusal, sms_refusal
from contacts.inbox.channels import ReplyWindow
from contacts.inbox.services import message_status_waiting_apply
from contacts.models import Consent, ConsentEvent, Conversation, Message
from integrations.twilio_sms import banner, client
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.segments import segment_count

MAX_TEXT_LENGTH = 1600  # §4.2: 21617 above it
STATUS_CALLBACK_PATH = "/webhooks/twilio/status/"

NOT_SET_UP = "Texting is not set up for this number: add your Twilio number in Settings → SMS."
ALREADY_HANDED = (
    "Twilio already has this text (it was sent once). Write it again to send a new one."
)
# Twilio's answer to the create, as the row's status: "queued"/"accepted"/"sending" stay SENDING.
_STATUS_AFTER_CREATE = {
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "read": Message.Status.READ,
    "failed": Message.Status.FAILED,
    "undelivered": Message.Status.FAILED,
}


# Errors that say the account or number itself is unusable: the account shows "Blocked".
def status_callback_url() -> str:
    """The status callback URL Twilio is given with every text (the contract with the webhook)."""
    return settings.TWILIO_PUBLIC_BASE_URL + STATUS_CALLBACK_PATH


def sending_account(conversation: Conversation) -> TwilioAccount | None:
    """The workspace's live Twilio account whose number is the conversation's, or None."""
    return (
        TwilioAccount.objects.for_workspace(conversation.workspace)
        .filter(from_number=conversation.channel_account)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .first()
    )


class SmsChannel:
    name = Conversation.Channel.SMS.value
    max_text_length = MAX_TEXT_LENGTH

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        """Always open: SMS has no reply window (consent is `refusal`'s business)."""
        return ReplyWindow(open=True, closes_at=None)

    def refusal(self, conversation: Conversation) -> str:
        """Opted out, or no live account for our number: plain words. Database reads only."""
        refusal = sms_refusal(conversation.contact)
        if refusal:
            return refusal
        if sending_account(conversation) is None:
            return NOT_SET_UP
        return ""

    def length_hint(self, text: str) -> str:
        """The segment count the compose box shows ("2 text messages")."""
        return segment_count(text).words

    def send(self, message: Message) -> None:
        """Send `message` (claimed: SENDING) through Twilio and record the outcome: its
        MessageSid (status as Twilio answered, see the module docstring), or FAILED with plain
        words. External call: Messages create, with the status callback URL. On 21610 the
        contact is marked opted out (consent_record CARRIER_BLOCKED); on 20003/21606 the account
        shows Blocked. Raises SmsError (transient) for the task to retry."""
        if message.external_id:  # handed to Twilio before: never again
            _fail(message, ALREADY_HANDED)
            return
        conversation = message.conversation
        contact = conversation.contact
        # Consent can change between queueing and sending: asked again, just before the call.
        refusal = (
            sms_automated_refusal(contact)
            if message.author == Message.Author.AUTOMATION
            else sms_refusal(contact)
        )
        account = sending_account(conversation)
        if not refusal and account is None:
            refusal = NOT_SET_UP
        if refusal or account is None:
            _fail(message, refusal or NOT_SET_UP)
            return
        try:
            sent = client.message_create(
                account_sid=account.account_sid,
                auth_token=account.auth_token,
                to=conversation.party_id,
                body=message.text,
                from_number=account.from_number,
                messaging_service_sid=account.messaging_service_sid,
                status_callback=status_callback_url(),
            )
        except client.SmsError as exc:
            if not exc.permanent:
                raise
            if exc.opted_out and contact is not None:
                consent_record(
                    contact,
                    Consent.Channel.SMS,
                    ConsentEvent.Kind.CARRIER_BLOCKED,
                    address=conversation.party_id,
                    detail="Twilio refused a text: the number opted out (error 21610)",
                )
            if exc.blocks_account:
                account_blocked(account, exc.message)
            _fail(message, exc.message)
            return
        _accepted(message, sent)


def account_blocked(account: TwilioAccount, reason: str) -> None:
    """Show the account as Blocked with `reason` (what Twilio said, in plain words)."""
    TwilioAccount.objects.for_workspace(account.workspace).filter(id=account.id).exclude(
        status=TwilioAccount.Status.REMOVED
    ).update(
        status=TwilioAccount.Status.BLOCKED, status_detail=reason[:300], checked_at=timezone.now()
    )
    banner.banner_forget(account.workspace_id)


def _fail(message: Message, error: str) -> None:
    Message.objects.for_workspace(message.workspace).filter(
        id=message.id, status=Message.Status.SENDING
    ).update(status=Message.Status.FAILED, error=error[:300])


def _accepted(message: Message, sent: client.SentSms) -> None:
    """Store Twilio's SID on the row (still SENDING unless Twilio already said more)."""
    status = _STATUS_AFTER_CREATE.get(sent.status, Message.Status.SENDING)
    error = "Twilio could not send it." if status == Message.Status.FAILED else ""
    messages = Message.objects.for_workspace(message.workspace)
    try:
        with transaction.atomic():
            # Only a row still claimed and without a SID is written.
            updated = messages.filter(
                id=message.id, status=Message.Status.SENDING, external_id=""
            ).update(external_id=sent.sid, status=status, error=error)
            if updated:
                # A status callback that beat this UPDATE found no row with the SID and waited in
                # MessageChange: apply it now, under the same per-SID lock the callback takes.
                message.external_id, message.status, message.error = sent.sid, status, error
                message_status_waiting_apply(message=message)
    except IntegrityError:
        # Another row holds this SID (an inbound delivery cannot: SM ids are unique per
        # message); keep ours findable by marking it failed with the words, never crash the task.
        _fail(message, "Twilio returned an id already used by another message.")
    if not message.external_id:
        message.external_id, message.status = sent.sid, status
