"""Appointments' side of a member leaving a workspace (alt.accounts.signals.member_removing).

The leaving member's live appointments go to the teammate the owner chose, in the removal's
transaction, so they stay valid (an appointment's agent must be a member) and editable. Each one
is copied to the new agent's calendar through the same appointments.sync seam every edit uses:
upcoming ones are pushed if that agent has Google Calendar connected (or wait for a reconnect),
past ones are left "Not synced". The event on the leaving member's calendar stays there (GC-7).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from alt.accounts.models import User, Workspace
from appointments import sync
from appointments.models import Appointment


def reassign_appointments_of_leaving_member(
    sender: Any, *, workspace: Workspace, user: User, reassign_to: User, **kwargs: Any
) -> None:
    now = timezone.now()
    backend = sync.backend()
    appointments = (
        Appointment.objects.for_workspace(workspace)
        .live()
        .select_for_update()
        .filter(agent=user)
        .order_by("id")
    )
    for appointment in appointments:
        appointment.agent = reassign_to
        # The stored event id names an event on the leaving member's calendar, not the new one's.
        appointment.google_event_id = ""
        appointment.synced_version = 0
        appointment.version = F("version") + 1
        # A new event for a new calendar: whatever the old one went through does not carry over.
        appointment.sync_state = Appointment.Sync.OFF
        if backend is not None and appointment.ends_at >= now:
            appointment.sync_state = backend.state_for(appointment)
        appointment.sync_error = ""
        appointment.sync_attempts = 0
        appointment.sync_requested_at = now
        appointment.reminded_at = None  # the new agent gets their own reminder
        appointment.save(
            update_fields=[
                "agent",
                "reminded_at",
                "google_event_id",
                "synced_version",
                "version",
                "sync_state",
                "sync_error",
                "sync_attempts",
                "sync_requested_at",
                "updated_at",
            ]
        )
        if backend is not None and appointment.sync_state == Appointment.Sync.PENDING:
            backend.push_on_commit(appointment)
