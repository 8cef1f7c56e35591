"""Appointment reminders: every minute, email each agent who asked for it (User.appointment_
reminder_minutes, on the account settings page) about their appointments starting within that
lead time, once per appointment.

Claimed before it is sent, like task reminders (contacts/tasks.py): one conditional UPDATE sets
`reminded_at` on live, upcoming, not yet reminded rows and returns their ids, so two beats or two
workers never email the same appointment twice. Moving an appointment clears `reminded_at`
(appointment_update), which re-arms its reminder; a deleted one is never claimed.

GC-9: the email is the agent's own reminder of their own appointment, from ALT's row only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from alt.lib.claims import claim_by_workspace
from alt.lib.dates import format_when
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient
from appointments.models import Appointment

log = logging.getLogger(__name__)

BATCH_SIZE = 200

# The sweep serves every workspace, so it claims in SQL rather than through a workspace-scoped
# manager; every row it then reads is loaded through Appointment.objects.for_workspace(...).
_CLAIM_SQL = f"""
    UPDATE {Appointment._meta.db_table} SET reminded_at = %(now)s
    WHERE id IN (
        SELECT a.id FROM {Appointment._meta.db_table} a
        JOIN {User._meta.db_table} u ON u.id = a.agent_id
        WHERE a.reminded_at IS NULL AND a.deleted_at IS NULL
          AND u.appointment_reminder_minutes IS NOT NULL
          AND a.starts_at > %(now)s
          AND a.starts_at <= %(now)s + make_interval(mins => u.appointment_reminder_minutes)
        ORDER BY a.starts_at
        LIMIT %(limit)s
        FOR UPDATE OF a SKIP LOCKED
    ) AND reminded_at IS NULL AND deleted_at IS NULL
    RETURNING id, workspace_id
"""  # noqa: S608 (the table names are ours; values are parameters)


def appointment_reminders_claim(*, now: datetime, limit: int = BATCH_SIZE) -> dict[int, list[int]]:
    """Mark up to `limit` live appointments that start after `now` and within their agent's
    reminder lead time, and were not reminded yet, as reminded at `now`, in one conditional
    UPDATE. Returns {workspace_id: [appointment ids]} of the rows this call claimed."""
    return claim_by_workspace(_CLAIM_SQL, {"now": now, "limit": limit})


def appointment_reminder_email(*, appointment: Appointment) -> None:
    """Email `appointment`'s agent its reminder through Django's mail API: what, with whom, when
    (in the agent's time zone) and where, with a link to the appointment. Raises IntegrationError
    when the mail provider refuses or fails."""
    agent = appointment.agent
    title = " ".join(appointment.title.split())  # one line: it goes in the subject
    tz = ZoneInfo(agent.timezone)
    context = {
        "appointment": appointment,
        "agent": agent,
        "title": title,
        "contact": appointment.contact,
        "url": settings.SITE_URL + reverse("appointments:edit", args=[appointment.id]),
        "agenda_url": settings.SITE_URL + reverse("appointments:list"),
    }
    with timezone.override(tz):
        text = render_to_string("appointments/email/reminder.txt", context)
        html = render_to_string("appointments/email/reminder.html", context)
    when = format_when(appointment.starts_at, tz=tz)
    send_mail(f"Reminder: {title[:120]} · {when}", text, None, [agent.email], html_message=html)


def _claimed(workspace: Workspace, appointment_ids: list[int]) -> list[Appointment]:
    """The claimed appointments to email: still live, with a live contact, and an agent who is
    still a member of the workspace."""
    members = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    rows = (
        Appointment.objects.for_workspace(workspace)
        .live()
        .filter(id__in=appointment_ids)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .select_related("contact", "agent")
        .order_by("starts_at", "id")
    )
    return [a for a in rows if a.agent_id in members]


def appointment_reminders_deliver(*, batch_size: int = BATCH_SIZE) -> int:
    """Claim due reminders batch by batch and email each appointment's agent once. Returns how
    many emails were sent.

    A provider's permanent refusal is logged and not tried again. On a transient failure the
    claims of that appointment and of every later one of this batch are released (they go out on
    the next run) and the IntegrationError is raised for the caller to retry.
    """
    sent = 0
    while True:
        now = timezone.now()
        claimed = appointment_reminders_claim(now=now, limit=batch_size)
        if not claimed:
            return sent
        workspaces = Workspace.objects.in_bulk(list(claimed))
        for position, (workspace_id, ids) in enumerate(claimed.items()):
            workspace = workspaces[workspace_id]
            rows = _claimed(workspace, ids)
            for index, appointment in enumerate(rows):
                try:
                    appointment_reminder_email(appointment=appointment)
                except IntegrationError as exc:
                    if exc.permanent:
                        log.warning(
                            "reminder of appointment %s refused by the provider: %s",
                            appointment.id,
                            exc,
                        )
                        continue
                    _release(workspace, [a.id for a in rows[index:]], now)
                    for later_id, later_ids in list(claimed.items())[position + 1 :]:
                        _release(workspaces[later_id], later_ids, now)
                    raise
                sent += 1


def _release(workspace: Workspace, appointment_ids: list[int], claimed_at: datetime) -> None:
    Appointment.objects.for_workspace(workspace).filter(
        id__in=appointment_ids, reminded_at=claimed_at
    ).update(reminded_at=None)


@shared_task(bind=True, name="appointments.tasks.appointment_reminders_send")
def appointment_reminders_send(self: Any) -> None:
    # Claim by conditional UPDATE (reminded_at IS NULL -> now) before sending: an appointment is
    # emailed by whichever run claimed it, and only once until it moves.
    try:
        appointment_reminders_deliver()
    except IntegrationError as exc:
        retry_transient(self, exc)
