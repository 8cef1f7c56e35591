"""Background jobs of the Google Calendar sync. Thin: ids in, one service call, nothing returned."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from alt.accounts.models import Workspace
from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import MAX_RETRIES, backoff_seconds, retry_transient
from integrations.google_calendar.models import CalendarConnection
from integrations.google_calendar.push import appointment_push, retry_delay_seconds
from integrations.google_calendar.services import appointments_sweep_claim, pending_for

log = logging.getLogger(__name__)


@shared_task(bind=True)
def calendar_event_push(self: Any, workspace_id: int, appointment_id: int) -> None:
    # Safe to run twice: the row lock serialises pushes, version/synced_version is the state
    # guard, and the event id is ALT's own (a repeated insert is a 409 -> patch).
    countdown = backoff_seconds(self.request.retries)
    error = appointment_push(
        workspace_id=workspace_id,
        appointment_id=appointment_id,
        final_attempt=self.request.retries >= MAX_RETRIES,
        retry_in_seconds=countdown,
    )
    if error is not None:  # transient (429, 403 rate/quota, 5xx, timeout): back off, bounded
        # Never sooner than Google's Retry-After; past the retries the sweeper takes over.
        delay = retry_delay_seconds(error, countdown)
        raise self.retry(exc=error, countdown=delay, max_retries=MAX_RETRIES)


@shared_task
def calendar_catch_up(workspace_id: int, user_id: int) -> None:
    # Safe to run twice: it only sends pushes, and each push is idempotent.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    for appointment_id in pending_for(workspace=workspace, user_id=user_id):
        calendar_event_push.delay(workspace_id, appointment_id)


@shared_task
def calendar_sync_sweep() -> None:
    # Safe to run twice: rows are claimed by a conditional UPDATE (FOR UPDATE SKIP LOCKED).
    for workspace_id, appointment_id in appointments_sweep_claim():
        calendar_event_push.delay(workspace_id, appointment_id)


@shared_task(bind=True)
def calendar_reconnect_email_send(self: Any, workspace_id: int, connection_id: int) -> None:
    # Sent once: the caller claimed it by setting reconnect_email_sent_at in a conditional UPDATE;
    # this job re-checks the connection still needs reconnecting.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    connection = (
        CalendarConnection.objects.for_workspace(workspace)
        .select_related("user")
        .filter(id=connection_id, status=CalendarConnection.Status.NEEDS_RECONNECT)
        .first()
    )
    if connection is None:
        return
    context = {
        "user": connection.user,
        "workspace": workspace,
        "reconnect_url": settings.SITE_URL + reverse("google_calendar:settings"),
    }
    try:
        send_mail(
            "Reconnect Google Calendar to keep your appointments in sync",
            render_to_string("google_calendar/email/reconnect.txt", context),
            None,
            [connection.user.email],
        )
    except IntegrationError as exc:
        if exc.permanent:
            log.warning("reconnect email for connection %s refused: %s", connection_id, exc)
            return
        retry_transient(self, exc)
