"""Google Calendar connection workflows: connect, disconnect, catch-up, sweep.

The connection's own state (tokens, needs-reconnect, the banner) is in connection.py, shared with
the push (push.py).

Also the `appointments.sync` backend (registered in apps.py): it tells appointments/services.py
which sync state a change starts in and sends the push job after commit.

GC-9: calendar data is used for the sync only; nothing here hands it to AI, automations or
messaging, and ai/ must not import this package (tests/integrations/test_google_calendar_privacy).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alt.accounts.models import User, Workspace
from appointments.models import Appointment
from integrations.google_calendar import client as google
from integrations.google_calendar.connection import banner_forget
from integrations.google_calendar.models import CalendarConnection

log = logging.getLogger(__name__)

SWEEP_AFTER_SECONDS = 60
SWEEP_BATCH = 500


def calendar_enabled() -> bool:
    """Whether this server has a Google OAuth client configured."""
    return bool(settings.GOOGLE_CLIENT_ID)


# --- the appointments.sync backend --------------------------------------------------------------
class GoogleCalendarSync:
    """Tells appointments/services.py how a changed appointment starts and sends its push job."""

    def state_for(self, appointment: Appointment) -> str:
        status = (
            CalendarConnection.objects.for_workspace(appointment.workspace)
            .filter(user_id=appointment.agent_id)
            .values_list("status", flat=True)
            .first()
        )
        if status is None:
            return Appointment.Sync.OFF
        if (
            appointment.sync_state == Appointment.Sync.REMOVED
            and appointment.restore_requested_at is None
            and appointment.deleted_at is None
        ):
            # Deleted in Google: edits wait in ALT until the agent asks for the event back.
            return Appointment.Sync.REMOVED
        if status == CalendarConnection.Status.CONNECTED:
            return Appointment.Sync.PENDING
        if status == CalendarConnection.Status.NEEDS_RECONNECT:
            return Appointment.Sync.WAITING
        return Appointment.Sync.OFF

    def push_on_commit(self, appointment: Appointment) -> None:
        from integrations.google_calendar.tasks import calendar_event_push

        calendar_event_push.delay_on_commit(appointment.workspace_id, appointment.id)


# --- connect / disconnect -----------------------------------------------------------------------
def _catch_up_rows() -> Q:
    """What a (re)connect pushes: everything missed while waiting, failed or pending, and this
    agent's upcoming appointments made before the calendar was connected."""
    now = timezone.now()
    missed = Q(
        sync_state__in=[Appointment.Sync.WAITING, Appointment.Sync.PENDING, Appointment.Sync.FAILED]
    )
    upcoming_unsynced = Q(sync_state=Appointment.Sync.OFF, deleted_at=None, ends_at__gte=now)
    return missed | upcoming_unsynced


def calendar_connect(
    *, workspace: Workspace, user: User, tokens: google.Tokens, google_email: str = ""
) -> CalendarConnection:
    """Store (or replace) the user's grant, encrypted (GC-6), mark it connected, and push what was
    missed (GC-8 catch-up): the catch-up job is sent after commit."""
    from integrations.google_calendar.tasks import calendar_catch_up

    now = timezone.now()
    with transaction.atomic():
        connection, _created = CalendarConnection.objects.for_workspace(workspace).update_or_create(
            workspace=workspace,
            user=user,
            defaults={
                "status": CalendarConnection.Status.CONNECTED,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "token_expiry": tokens.expires_at,
                "scopes": tokens.scopes,
                "google_email": google_email,
                "connected_at": now,
                "reconnect_email_sent_at": None,
                "last_error": "",
            },
        )
        Appointment.objects.for_workspace(workspace).filter(agent=user).filter(
            _catch_up_rows()
        ).update(
            sync_state=Appointment.Sync.PENDING,
            sync_error="",
            sync_attempts=0,
            sync_requested_at=now,
            updated_at=now,
        )
        calendar_catch_up.delay_on_commit(workspace.id, user.id)
        banner_forget(workspace.id, user.id)
    return connection


def calendar_disconnect(connection: CalendarConnection, *, forget_event_ids: bool = False) -> bool:
    """Disconnect Google Calendar (GC-7): both tokens are deleted at once (the row goes), every
    further sync stops, and the grant is revoked at Google, best effort. Events already pushed
    stay on the calendar. With `forget_event_ids` the stored Google event ids are erased too (for
    a "delete my Google Calendar data" request).

    Returns whether Google confirmed the revocation. External call: Google's revoke endpoint.
    """
    workspace = connection.workspace
    with transaction.atomic():
        locked = (
            CalendarConnection.objects.for_workspace(workspace)
            .select_for_update()
            .filter(id=connection.id)
            .first()
        )
        if locked is None:
            return False
        # The refresh token revokes the whole grant, access tokens included (§1.6).
        token = str(locked.refresh_token or locked.access_token or "")
        locked.delete()
        banner_forget(workspace.id, locked.user_id)
        mine = Appointment.objects.for_workspace(workspace).filter(agent_id=locked.user_id)
        # Deleted appointments were only waiting for Google; their events stay like the rest.
        mine.filter(deleted_at__isnull=False).delete()
        changes: dict[str, object] = {
            "sync_state": Appointment.Sync.OFF,
            "sync_error": "",
            "updated_at": timezone.now(),
        }
        if forget_event_ids:
            changes |= {"google_event_id": "", "synced_version": 0}
            mine.update(**changes)
        else:
            mine.exclude(sync_state=Appointment.Sync.OFF).update(**changes)
    revoked = google.revoke(token) if token else False
    if not revoked:
        log.info("calendar connection %s: Google did not confirm the revoke", connection.id)
    return revoked


# --- background helpers --------------------------------------------------------------------------
def pending_for(*, workspace: Workspace, user_id: int) -> list[int]:
    """Ids of this agent's appointments with a push due (the catch-up job sends one each)."""
    return list(
        Appointment.objects.for_workspace(workspace)
        .filter(agent_id=user_id, sync_state=Appointment.Sync.PENDING)
        .order_by("starts_at")
        .values_list("id", flat=True)
    )


# The sweep serves every workspace, so it claims in SQL (like contacts' reminder sweep); each job
# it sends then reads its row through Appointment.objects.for_workspace(...).
_SWEEP_SQL = f"""
    UPDATE {Appointment._meta.db_table} SET sync_requested_at = %(now)s
    WHERE id IN (
        SELECT id FROM {Appointment._meta.db_table}
        WHERE sync_state = 'pending' AND sync_requested_at < %(cutoff)s
        ORDER BY sync_requested_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AND sync_state = 'pending'
    RETURNING workspace_id, id
"""  # noqa: S608 (the table name is ours; values are parameters)


def appointments_sweep_claim(
    *, now: datetime | None = None, limit: int = SWEEP_BATCH
) -> list[tuple[int, int]]:
    """Claim appointments pending for over a minute (a lost or delayed push job) by moving their
    sync_requested_at to now, in one conditional UPDATE. Returns (workspace_id, id) pairs."""
    now = now or timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _SWEEP_SQL,
            {"now": now, "cutoff": now - timedelta(seconds=SWEEP_AFTER_SECONDS), "limit": limit},
        )
        return [(int(ws), int(pk)) for ws, pk in cursor.fetchall()]
