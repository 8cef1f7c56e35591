"""Appointment reminders to the client by SMS (issue 11), at the lead time the workspace set on
Settings -> SMS -> Reminders (TwilioAccount.reminder_lead_minutes).

A beat task (CELERY_BEAT_SCHEDULE "sms-appointment-reminders") claims due reminders: one
INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING writes an SmsReminder row per appointment
whose start minus the lead time has come, keyed on (appointment, starts_at). The unique key is the
claim: two beats never remind of one start twice, a moved appointment (a new start) is reminded
again, a deleted (cancelled) one is never claimed. The claim and the handling of what it claimed
run in one transaction, so a crash leaves nothing half-claimed.

Each claimed reminder is either queued as an outgoing SMS through the inbox's one sender
(contacts.inbox.sending.message_send, author AUTOMATION, `send_after` from quiet hours) into the
client's SMS thread, the same (our number, their number) thread an inbound text lands in, or
recorded SKIPPED with the reason in plain words, which the appointment's page shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest
from alt.accounts.models import Workspace
from alt.accounts.seams import Panel
from alt.lib.celery_typing import shared_task
from appointments.models import Appointment
from contacts.consent import sms_automated_refusal
from contacts.inbox.sending import SendRefused, message_send
from contacts.inbox.services import conversation_get_or_create
from contacts.models import Contact, ContactPhone, Conversation, Message
from contacts.quiet_hours import automated_send_at, zones_for
from integrations.twilio_sms.models import SmsReminder, TwilioAccount

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# The lead times an agent can choose (minutes), as the settings page offers them.
LEAD_CHOICES: tuple[tuple[int, str], ...] = (
    (60, "1 hour before"),
    (120, "2 hours before"),
    (1440, "1 day before"),
    (2880, "2 days before"),
)
_WHAT = {
    Appointment.Kind.TOUR: "showing",
    Appointment.Kind.LISTING: "listing appointment",
    Appointment.Kind.CALL: "call",
    Appointment.Kind.OPEN_HOUSE: "open house",
    Appointment.Kind.OTHER: "appointment",
}
# A place longer than this is cut: the text stays within two SMS segments.
_PLACE_MAX = 60

_CLAIM_SQL = f"""
    INSERT INTO {SmsReminder._meta.db_table}
        (workspace_id, appointment_id, starts_at, outcome, reason, created_at)
    SELECT a.workspace_id, a.id, a.starts_at, 'skipped', '', %(now)s
    FROM {Appointment._meta.db_table} a
    JOIN {TwilioAccount._meta.db_table} t
      ON t.workspace_id = a.workspace_id AND t.status <> 'removed'
    WHERE t.reminder_lead_minutes IS NOT NULL
      AND a.deleted_at IS NULL
      AND a.starts_at > %(now)s
      AND a.starts_at <= %(now)s + make_interval(mins => t.reminder_lead_minutes)
      AND NOT EXISTS (
        SELECT 1 FROM {SmsReminder._meta.db_table} r
        WHERE r.appointment_id = a.id AND r.starts_at = a.starts_at
      )
    ORDER BY a.starts_at
    LIMIT %(limit)s
    ON CONFLICT ON CONSTRAINT sms_reminder_one_per_start DO NOTHING
    RETURNING id, workspace_id
"""  # noqa: S608 (the table names are ours; values are parameters)


def reminder_lead_set(*, account: TwilioAccount, lead_minutes: int | None) -> None:
    """Set how long before an appointment its client is texted (None: reminders off). Raises
    ValueError for a lead time the settings page does not offer. No external side effects."""
    if lead_minutes is not None and lead_minutes not in dict(LEAD_CHOICES):
        raise ValueError(f"Unsupported reminder lead time: {lead_minutes} minutes")
    TwilioAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
        reminder_lead_minutes=lead_minutes
    )
    account.reminder_lead_minutes = lead_minutes


def reminders_claim(*, now: datetime, limit: int = BATCH_SIZE) -> dict[int, list[int]]:
    """Write an SmsReminder row (outcome SKIPPED, no reason yet: the caller decides) for up to
    `limit` live appointments due for their client's reminder at `now` and not reminded of their
    current start yet. Returns {workspace_id: [reminder ids]} of the rows this call wrote; a
    concurrent call writes none of the same (the unique key)."""
    claimed: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "limit": limit})
        for reminder_id, workspace_id in cursor.fetchall():
            claimed.setdefault(workspace_id, []).append(reminder_id)
    return claimed


def client_mobile(contact: Contact) -> str:
    """The number a reminder goes to: a phone labelled mobile or cell, else the primary one
    (E.164), or "" when the contact has none."""
    phones: list[tuple[str, str]] = list(
        ContactPhone.objects.for_workspace(contact.workspace)
        .filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("e164", "label")
    )
    for e164, label in phones:
        if label.strip().lower() in ("mobile", "cell", "cell phone", "mobile phone"):
            return e164
    return phones[0][0] if phones else ""


def client_zone(*, contact: Contact, phone: str, agent_zone: str, at: datetime) -> ZoneInfo:
    """The zone the client reads times in: theirs when set, else their area code's (as quiet
    hours decides), else the agent's. An area code with several zones (Alaska's 907: Adak and
    Anchorage) reads in the agent's when it is one of them, else in the easternmost (Anchorage),
    and the text names the zone either way."""
    zones = zones_for(time_zone=contact.time_zone, phone=phone, fallback=agent_zone, at=at)
    for zone in zones:
        if zone.key == agent_zone:
            return zone
    return max(zones, key=lambda zone: at.astimezone(zone).utcoffset() or timedelta(0))


def reminder_text(*, appointment: Appointment, zone: ZoneInfo, now: datetime) -> str:
    """ "Reminder: your showing at 123 Main St is tomorrow, Tue 3 Dec at 10:00 AM PST. Reply here
    if you need to change it." The time in `zone`; today / tomorrow relative to `now` there."""
    local = appointment.starts_at.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    day = {0: "today, ", 1: "tomorrow, "}.get(days, "on ")
    hour = local.strftime("%I:%M %p").lstrip("0")
    when = f"{day}{local:%a} {local.day} {local:%b} at {hour} {local.tzname()}"
    place = " ".join((appointment.location or _property_place(appointment)).split())
    if len(place) > _PLACE_MAX:
        place = place[: _PLACE_MAX - 1].rstrip() + "…"
    what = _WHAT.get(Appointment.Kind(appointment.kind), "appointment")
    at_place = f" at {place}" if place else ""
    return f"Reminder: your {what}{at_place} is {when}. Reply here if you need to change it."


def _property_place(appointment: Appointment) -> str:
    prop = appointment.property
    return f"{prop.street}, {prop.city}" if prop is not None else ""


@dataclass(frozen=True)
class Outcome:
    reason: str = ""
    message: Message | None = None
    send_after: datetime | None = None


def reminder_prepare(
    *, appointment: Appointment, account: TwilioAccount | None, now: datetime
) -> Outcome:
    """Queue one appointment's reminder text, or say why not (no SMS number or one not working,
    no consent or opted out, no mobile number, quiet hours lasting past the start).

    Side effects: the client's SMS thread (opened if new, linked to the contact when it has none)
    and the outgoing Message through message_send (its send task on commit)."""
    contact = appointment.contact
    if contact.deleted_at is not None or contact.merged_into_id is not None:
        return Outcome("The client's contact was deleted or merged.")
    if account is None:
        return Outcome("No SMS number is set up for the workspace.")
    if account.status != TwilioAccount.Status.WORKING:
        detail = f": {account.status_detail}" if account.status_detail else "."
        return Outcome(
            f"The workspace's SMS number is not sending ({account.get_status_display()}){detail}"
        )
    refusal = sms_automated_refusal(contact)
    if refusal:
        return Outcome(refusal)
    phone = client_mobile(contact)
    if not phone:
        return Outcome("The client has no mobile number.")
    agent_zone = appointment.agent.timezone
    send_after = automated_send_at(
        time_zone=contact.time_zone, phone=phone, fallback=agent_zone, now=now
    )
    if send_after >= appointment.starts_at:
        return Outcome("Quiet hours in the client's time zone last until the appointment starts.")
    zone = client_zone(
        contact=contact, phone=phone, agent_zone=agent_zone, at=appointment.starts_at
    )
    text = reminder_text(appointment=appointment, zone=zone, now=send_after)
    conversation = conversation_get_or_create(
        workspace=appointment.workspace,
        channel=Conversation.Channel.SMS,
        channel_account=account.from_number,
        party_id=phone,
    )
    if conversation.contact_id is None:
        Conversation.objects.for_workspace(appointment.workspace).filter(
            id=conversation.id, contact=None
        ).update(contact=contact)
        conversation.contact = contact
    try:
        message = message_send(
            conversation=conversation,
            text=text,
            author=Message.Author.AUTOMATION,
            sent_by=None,
            meta={"appointment_reminder": appointment.id},
            send_after=None if send_after <= now else send_after,
        )
    except SendRefused as refused:
        return Outcome(refused.reason)
    return Outcome(message=message, send_after=send_after)


def reminders_deliver(*, batch_size: int = BATCH_SIZE) -> int:
    """Claim due reminders batch by batch and queue or skip each, once. Returns how many texts
    were queued. Each batch is one transaction: its claims commit with their outcomes."""
    queued = 0
    while True:
        now = timezone.now()
        with transaction.atomic():
            claimed = reminders_claim(now=now, limit=batch_size)
            if not claimed:
                return queued
            workspaces = Workspace.objects.in_bulk(list(claimed))
            for workspace_id, reminder_ids in claimed.items():
                queued += _handle(workspaces[workspace_id], reminder_ids, now)


def _handle(workspace: Workspace, reminder_ids: list[int], now: datetime) -> int:
    account = (
        TwilioAccount.objects.for_workspace(workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .first()
    )
    reminders = (
        SmsReminder.objects.for_workspace(workspace)
        .filter(id__in=reminder_ids)
        .select_related("appointment__contact", "appointment__agent", "appointment__property")
    )
    queued = 0
    for reminder in reminders:
        reminder.appointment.workspace = workspace
        reminder.appointment.contact.workspace = workspace
        outcome = reminder_prepare(appointment=reminder.appointment, account=account, now=now)
        if outcome.message is not None:
            reminder.outcome = SmsReminder.Outcome.QUEUED
            queued += 1
        reminder.reason = outcome.reason[:300]
        reminder.message = outcome.message
        reminder.send_after = outcome.send_after
        reminder.save(update_fields=["outcome", "reason", "message", "send_after"])
    return queued


def appointment_panel(request: WorkspaceRequest, appointment: Any) -> Panel | None:
    """The appointment page's "Text reminder" line: queued (and when), sent, or why not. None
    when reminders are off and none was ever written for its current start."""
    reminder = (
        SmsReminder.objects.for_workspace(request.workspace)
        .filter(appointment_id=appointment.id, starts_at=appointment.starts_at)
        .select_related("message")
        .first()
    )
    lead = (
        TwilioAccount.objects.for_workspace(request.workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .values_list("reminder_lead_minutes", flat=True)
        .first()
    )
    if reminder is None and lead is None:
        return None
    labels = dict(LEAD_CHOICES)
    return Panel(
        "twilio_sms/_appointment_reminder.html",
        {
            "reminder": reminder,
            "lead": labels.get(lead, "") if lead else "",
            "due_at": appointment.starts_at - timedelta(minutes=lead) if lead else None,
        },
    )


@shared_task
def sms_reminders_send() -> None:
    # Claim by unique key: the (appointment, starts_at) row is inserted ON CONFLICT DO NOTHING
    # before the text is queued, so a start is reminded of once, whichever beat claims it.
    reminders_deliver()
