"""What a stored Twilio delivery means, acted on in the worker (EXTERNAL_APIS.md §4.3, §4.4).

- `inbound_process(body)`: an inbound text (or MMS) into the inbox: the thread between our number
  (To) and theirs (From), the contact who has that number or a new lead (source SMS), the message
  under its MessageSid (a retry or a second worker finds it stored: a no-op), its media fetched
  later by a task, and STOP/START/HELP acted on (keywords.py). Twilio sends no timestamp with an
  inbound text, so it is dated when processed.
- `status_process(body)`: a delivery status for a text we sent, moved forward only
  (contacts.inbox.services.message_status_advance); a status that beats our own record of the
  MessageSid waits and is applied when the SID is recorded. A 21610 marks the number opted out.

Both are safe to run again on the same body and in any order with other deliveries.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.db import transaction
from django.utils import timezone

from contacts.consent import consent_record
from contacts.inbox import services as inbox
from contacts.models import ConsentEvent, Conversation, Message
from integrations.twilio_sms import keywords
from integrations.twilio_sms.client import DELIVERY_ERRORS
from integrations.twilio_sms.models import TwilioAccount

log = logging.getLogger(__name__)

CHANNEL = Conversation.Channel.SMS
# Twilio accepts at most 1,600 characters (§4.2 21617); anything longer was not Twilio's.
MAX_TEXT = 1600
# §4.3 / Twilio's Media resource: at most 10 media per message.
MAX_MEDIA = 10
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio's MessageStatus (§4.1) -> ours. Statuses before "sent" (queued, accepted, sending,
# scheduled) leave the message as it is: it is SENT only when Twilio says sent.
_STATUS = {
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "read": Message.Status.READ,
    "undelivered": Message.Status.FAILED,
    "failed": Message.Status.FAILED,
    "canceled": Message.Status.FAILED,
}


@dataclass(frozen=True)
class Form:
    """A Twilio form body, first value of each parameter (blank values kept)."""

    values: dict[str, str]

    @classmethod
    def parse(cls, body: bytes) -> Form:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        values: dict[str, str] = {}
        for key, value in pairs:
            values.setdefault(key, value)
        return cls(values)

    def get(self, key: str) -> str:
        return self.values.get(key, "").strip()


def _account(form: Form, number_field: str) -> TwilioAccount | None:
    return TwilioAccount.objects.for_inbound(
        form.get("AccountSid"), form.get(number_field), form.get("MessagingServiceSid")
    )


def _media(form: Form) -> list[dict[str, str]]:
    """The MediaUrlN / MediaContentTypeN pairs, as attachments waiting to be fetched."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    found = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}")
        if not url:
            continue
        declared = form.get(f"MediaContentType{index}")[:100].lower()
        kind = "image" if declared.startswith("image/") else "video" if declared else "media"
        kind = "video" if declared.startswith("video/") else kind
        found.append(
            {
                "type": kind,
                "index": str(index),
                "source_url": url[:2000],
                "declared_type": declared,
                "title": "Loading…",
            }
        )
    return found


def inbound_process(body: bytes) -> None:
    """Store one inbound text. A text for a number no workspace serves any more is dropped.

    Side effects: the thread, a new lead when the number is unknown (source SMS), the message and
    its timeline entry, `message_received` after commit, consent events and the HELP answer
    (keywords.keyword_apply), the media fetch task (media_tasks.sms_media_fetch) after commit,
    and the account's last_inbound_at. Raises ValueError for a body without MessageSid."""
    form = Form.parse(body)
    sid = form.get("MessageSid")
    if not sid:
        raise ValueError("no MessageSid")
    account = _account(form, "To")
    if account is None:
        log.info("twilio inbound %s for a number no workspace serves: dropped", sid)
        return
    party = form.get("From")[:64]
    ours = form.get("To")[:64] or account.from_number
    media = _media(form)
    with transaction.atomic(savepoint=False):
        inbox.external_ids_lock([(CHANNEL, sid)])
        conversation = inbox.conversation_get_or_create(
            workspace=account.workspace, channel=CHANNEL, channel_account=ours, party_id=party
        )
        contact, created = inbox.conversation_contact_ensure(
            conversation=conversation,
            source_key="sms",
            phone=party if _E164.match(party) else "",
        )
        message = inbox.message_ingest(
            conversation=conversation,
            direction=Message.Direction.INBOUND,
            author=Message.Author.PARTY,
            external_id=sid,
            text=form.values.get("Body", "")[:MAX_TEXT],
            attachments=media,
            meta={"num_segments": form.get("NumSegments")[:4]} if form.get("NumSegments") else {},
            sent_at=timezone.now(),
            created_contact=created,
        )
        if message is None:  # stored before: a retry, or another worker's
            return
        TwilioAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
            last_inbound_at=timezone.now()
        )
        if contact is not None:
            keywords.keyword_apply(
                conversation=conversation,
                contact=contact,
                message=message,
                opt_out_type=form.get("OptOutType"),
            )
        inbox.link_suggestions_record(message=message)
        if media:
            from integrations.twilio_sms.media_tasks import sms_media_fetch

            sms_media_fetch.delay_on_commit(account.workspace_id, message.id)


def status_process(body: bytes) -> None:
    """Apply one delivery status to our outgoing message (forward only; waits when the message's
    SID is not recorded yet). A 21610 (the number opted out, §4.2) marks the contact opted out.
    Raises ValueError for a body without MessageSid."""
    form = Form.parse(body)
    sid = form.get("MessageSid")
    if not sid:
        raise ValueError("no MessageSid")
    reported = _STATUS.get(form.get("MessageStatus").lower())
    if reported is None:
        return
    account = _account(form, "From")
    if account is None:
        log.info("twilio status for %s of a number no workspace serves: dropped", sid)
        return
    code = form.get("ErrorCode")
    error = ""
    if reported == Message.Status.FAILED:
        error = DELIVERY_ERRORS.get(code) or (
            "The message was canceled before it was sent."
            if form.get("MessageStatus").lower() == "canceled"
            else f"Twilio could not deliver it (error {code})."
            if code
            else "Twilio could not deliver it."
        )
        if code == "21610":
            error = "This number opted out of texts from you (they texted STOP)."
    with transaction.atomic(savepoint=False):
        message = inbox.message_status_advance(
            workspace=account.workspace,
            channel=CHANNEL,
            external_id=sid,
            status=reported,
            error=error,
        )
        if code == "21610" and message is not None:
            contact = message.conversation.contact
            if contact is not None:
                consent_record(
                    contact,
                    "sms",
                    ConsentEvent.Kind.CARRIER_BLOCKED,
                    address=form.get("To"),
                    detail="Twilio refused a text: the number opted out (error 21610)",
                )
