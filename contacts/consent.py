"""A contact's consent per channel (ConsentEvent history, Consent state, Contact.consent_<channel>).

`consent_record` is the only writer: it appends the event, moves the state when the event says
so, and keeps the contact's boolean mirror in step, in one transaction. Channels (SMS keywords,
Twilio's 21610, Instagram's window) and people (the contact form, imports) all call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from contacts.models import Consent, ConsentEvent, Contact

if TYPE_CHECKING:
    from alt.accounts.models import User

# What each event does to the state; events not listed (HELP, a window opening, a bounce) are
# history only.
_STATE_AFTER: dict[str, str] = {
    ConsentEvent.Kind.OPT_IN: Consent.State.OPTED_IN,
    ConsentEvent.Kind.START: Consent.State.OPTED_IN,
    ConsentEvent.Kind.OPT_OUT: Consent.State.OPTED_OUT,
    ConsentEvent.Kind.STOP: Consent.State.OPTED_OUT,
    ConsentEvent.Kind.CARRIER_BLOCKED: Consent.State.OPTED_OUT,
}

# Contact's boolean mirror of each channel's state.
_MIRROR = {
    Consent.Channel.SMS: "consent_sms",
    Consent.Channel.INSTAGRAM: "consent_instagram",
    Consent.Channel.EMAIL: "consent_email",
}


def consent_record(
    contact: Contact,
    channel: str,
    kind: str,
    *,
    address: str = "",
    detail: str = "",
    by: User | None = None,
) -> Consent:
    """Record `kind` for the contact on `channel` and return its consent, state moved as the event
    says. `detail` is the person-readable source ("Texted STOP", "Ticked on the contact form")."""
    now = timezone.now()
    with transaction.atomic():
        consent, _ = Consent.objects.for_workspace(contact.workspace).get_or_create(
            contact=contact, channel=channel, defaults={"workspace": contact.workspace}
        )
        consent = (
            Consent.objects.for_workspace(contact.workspace).select_for_update().get(pk=consent.pk)
        )
        ConsentEvent.objects.create(
            workspace=contact.workspace,
            consent=consent,
            kind=kind,
            address=address[:254],
            detail=detail[:300],
            by=by,
            at=now,
        )
        new_state = _STATE_AFTER.get(kind)
        if new_state is not None:
            consent.state = new_state
            consent.source = (detail or ConsentEvent.Kind(kind).label)[:200]
            if new_state == Consent.State.OPTED_IN:
                consent.opted_in_at = now
            else:
                consent.opted_out_at = now
            consent.updated_at = now
            consent.save(
                update_fields=["state", "source", "opted_in_at", "opted_out_at", "updated_at"]
            )
            field = _MIRROR[Consent.Channel(channel)]
            Contact.objects.for_workspace(contact.workspace).filter(pk=contact.pk).update(
                **{field: new_state == Consent.State.OPTED_IN}
            )
            setattr(contact, field, new_state == Consent.State.OPTED_IN)
    return consent


def sms_refusal(contact: Contact | None) -> str:
    """Why an SMS to this contact must not be sent (plain words), or "" when it may be.

    Opted out (STOP, 21610) refuses every text, a person's too: carriers require it. Automated
    texts (reminders, bulk) additionally need agreement; `automated=True` callers check
    `contact.consent_sms` themselves through `sms_automated_refusal`."""
    if contact is None:
        return ""
    state = (
        Consent.objects.for_workspace(contact.workspace)
        .filter(contact=contact, channel=Consent.Channel.SMS)
        .values_list("state", flat=True)
        .first()
    )
    if state == Consent.State.OPTED_OUT:
        return (
            "This contact opted out of text messages (they texted STOP). "
            "Nothing is sent until they text START."
        )
    return ""


def sms_automated_refusal(contact: Contact | None) -> str:
    """Why an automated text (a reminder, a bulk send) must not go to this contact, or ""."""
    if contact is None:
        return "No contact is linked to this number."
    refusal = sms_refusal(contact)
    if refusal:
        return refusal
    if not contact.consent_sms:
        return "This contact has not agreed to text messages."
    return ""
