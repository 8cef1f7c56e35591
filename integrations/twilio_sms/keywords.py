"""STOP / START / HELP in inbound texts (EXTERNAL_APIS.md §4.6).

Twilio's default keywords on long codes and toll-free numbers, matched as Twilio matches them:
the whole message, trimmed, case-insensitive ("stop texting me" is a message, not a keyword).
With Advanced Opt-Out on a Messaging Service Twilio says which it was in `OptOutType`, which then
wins over our own reading (the workspace may have configured other keywords there).

Twilio answers STOP and START itself (the carrier-required reply) and still forwards the text
(§4.6); ALT records the consent change. HELP is answered by ALT: who is texting and how to stop.
The keyword text itself is stored in the thread like any other message.
"""

from __future__ import annotations

import logging

from contacts.consent import consent_record
from contacts.inbox.sending import SendRefused, message_send
from contacts.models import ConsentEvent, Contact, Conversation, Message

log = logging.getLogger(__name__)

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_OPT_OUT_TYPES = {
    "STOP": ConsentEvent.Kind.STOP,
    "START": ConsentEvent.Kind.START,
    "HELP": ConsentEvent.Kind.HELP,
}


def keyword_of(text: str, opt_out_type: str = "") -> str:
    """The ConsentEvent kind a text means (STOP, START or HELP), or "" for an ordinary text."""
    given = _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    if given is not None:
        return given
    word = text.strip().upper()
    if word in STOP_WORDS:
        return ConsentEvent.Kind.STOP
    if word in START_WORDS:
        return ConsentEvent.Kind.START
    if word in HELP_WORDS:
        return ConsentEvent.Kind.HELP
    return ""


def help_text(workspace_name: str) -> str:
    return f"{workspace_name[:80]}: texts about your home search. Reply STOP to opt out."


def keyword_apply(
    *, conversation: Conversation, contact: Contact, message: Message, opt_out_type: str = ""
) -> str:
    """Act on a keyword in `message` (just stored, inbound): the consent event on the contact's
    SMS consent (STOP opts out, START opts in again, HELP is history), and for HELP a short
    answer sent through the inbox (author automation). Returns the kind, or "".

    Side effects: consent_record; for HELP, message_send (a row and the send task on commit).
    A HELP answer the channel refuses (the number opted out, SMS not set up) is logged, not
    raised: the text is stored either way."""
    kind = keyword_of(message.text, opt_out_type)
    if not kind:
        return ""
    word = message.text.strip()[:20] or kind.upper()
    consent_record(
        contact,
        "sms",
        kind,
        address=conversation.party_id,
        detail=f"Texted {word.upper()}",
    )
    if kind == ConsentEvent.Kind.HELP:
        try:
            message_send(
                conversation=conversation,
                text=help_text(conversation.workspace.name),
                author=Message.Author.AUTOMATION,
                sent_by=None,
                meta={"keyword": "HELP"},
            )
        except SendRefused as refused:
            log.info("HELP answer to %s not sent: %s", conversation.party_id, refused.reason)
    return kind
