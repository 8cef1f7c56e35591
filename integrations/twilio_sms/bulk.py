"""Texting a selection of contacts ("Text" in the contact list's bulk bar): a preview of who gets
it and who is skipped and why, then a bulk job (contacts.bulk's BulkJob machinery, action "sms",
with its progress, failure and retry) that queues one automated text per consented contact
through the inbox's send path.

Consented contacts only (contacts.consent.sms_automated_refusal's rules: not opted out, agreed).
Quiet hours apply (automated): a contact whose local time is outside 08:00-21:00 gets the text
held until their morning (contacts.quiet_hours.automated_send_at, the agent's own zone as the
fallback), through message_send(send_after=...), so it survives a worker restart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.bulk.services import BulkJobError
from contacts.consent import sms_automated_refusal
from contacts.inbox.sending import SendRefused, message_send
from contacts.listing.services import ContactListQuery, contacts_filtered
from contacts.models import BulkJob, Consent, Contact, Message
from contacts.quiet_hours import automated_send_at
from integrations.twilio_sms.services import live_account, sms_thread_for

NO_PHONE = "No phone number"
OPTED_OUT = "Opted out of texts (texted STOP)"
NO_CONSENT = "Has not agreed to texts"
PREVIEW_NAMES = 50  # skipped contacts named on the preview; the rest are counted
NOT_SET_UP = "Texting is not set up: add your Twilio number in Settings → SMS, then retry."


@dataclass
class BulkSmsPreview:
    recipients: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    # (contact name, reason) of the first PREVIEW_NAMES skipped contacts.
    skipped_names: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reasons(self) -> list[tuple[str, int]]:
        # A list for the template: a Counter answers any lookup (`.items` too) with 0.
        return list(self.skipped.items())

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def _selection(
    workspace: Workspace, user: User, query: ContactListQuery | None, ids: list[int]
) -> list[Contact]:
    if query is not None:
        contacts = contacts_filtered(workspace, query, user=user)
    else:
        contacts = Contact.objects.for_workspace(workspace).live().filter(id__in=ids)
    return list(
        contacts.order_by("id").only(
            "id", "first_name", "last_name", "primary_email", "primary_phone", "consent_sms"
        )
    )


def bulk_sms_preview(
    *, workspace: Workspace, user: User, query: ContactListQuery | None, ids: list[int]
) -> BulkSmsPreview:
    """Who of the selection (every match of `query`, or `ids`) would get the text, and who is
    skipped and why. Two queries whatever the size. No side effects."""
    contacts = _selection(workspace, user, query, ids)
    opted_out = set(
        Consent.objects.for_workspace(workspace)
        .filter(
            channel=Consent.Channel.SMS,
            state=Consent.State.OPTED_OUT,
            contact_id__in=[c.id for c in contacts],
        )
        .values_list("contact_id", flat=True)
    )
    preview = BulkSmsPreview()
    for contact in contacts:
        reason = ""
        if not contact.primary_phone:
            reason = NO_PHONE
        elif contact.id in opted_out:
            reason = OPTED_OUT
        elif not contact.consent_sms:
            reason = NO_CONSENT
        if not reason:
            preview.recipients += 1
            continue
        preview.skipped[reason] += 1
        if len(preview.skipped_names) < PREVIEW_NAMES:
            preview.skipped_names.append((contact.name, reason))
    return preview


def bulk_sms_apply(job: BulkJob, ids: list[int]) -> dict[str, int | None]:
    """One batch of a bulk text job (registered with contacts.bulk for action "sms"): for each
    consented contact with a phone, the SMS thread with its main number (opened and linked if
    new) and an automated text queued through message_send, held for the contact's morning in
    quiet hours. Runs inside the batch's transaction: a batch's texts are stored together with
    its progress, so a retried job never queues a text twice. Returns {contact id: message id}.
    Raises BulkJobError when the workspace has no live Twilio account."""
    workspace = job.workspace
    account = live_account(workspace)
    if account is None:
        raise BulkJobError(NOT_SET_UP)
    text = str(job.params.get("text", ""))
    fallback = job.created_by.timezone if job.created_by is not None else "UTC"
    queued: dict[str, int | None] = {}
    contacts = Contact.objects.for_workspace(workspace).live().filter(id__in=ids).order_by("id")
    for contact in contacts:
        if not contact.primary_phone or sms_automated_refusal(contact):
            continue
        now = timezone.now()
        send_after = automated_send_at(
            time_zone=contact.time_zone, phone=contact.primary_phone, fallback=fallback, now=now
        )
        conversation = sms_thread_for(
            contact=contact, account=account, phone=contact.primary_phone, user=job.created_by
        )
        try:
            message = message_send(
                conversation=conversation,
                text=text,
                author=Message.Author.AUTOMATION,
                sent_by=job.created_by,
                meta={"bulk_job_id": job.id},
                send_after=send_after if send_after > now else None,
            )
        except SendRefused:
            continue  # opted out since the preview: skipped, like the others
        queued[str(contact.id)] = message.id
    return queued
