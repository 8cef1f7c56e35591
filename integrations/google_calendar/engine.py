"""The sync engine: make the agent's primary Google Calendar match one ALT appointment.

One *round* runs in one transaction that holds the appointment's row lock (select_for_update)
across exactly one Google change, so two pushes of the same appointment never interleave and an
edit or delete made meanwhile waits for the round to finish. After each round the row is read
again: if the appointment changed (version > synced_version) or was deleted while Google was
being called, the next round carries that change too. So an edit or delete racing an unfinished
insert can leave neither a stale event nor an orphan.

Idempotency: the event id is chosen by ALT and derived from the appointment (`event_id_for`), so
a retried insert hits 409 and becomes a patch, never a second event; a delete that finds 404/410
is done.

Lock order: a round holds one appointment row and never writes the connection; token and status
changes to the connection happen after the round commits. Writers that touch the connection and
many appointments (connect, disconnect, needs-reconnect) therefore cannot deadlock with a push.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alt.accounts.models import Workspace
from appointments.models import Appointment
from contacts.services import property_street_line
from integrations.errors import IntegrationError
from integrations.google_calendar.client import CalendarClient, EventData, Tokens
from integrations.google_calendar.models import CalendarConnection

log = logging.getLogger(__name__)

# Rounds per job; more changes than this while one job runs are finished by the next job (every
# change sends its own) or by the sweeper.
MAX_ROUNDS = 5
RECONNECT_CODES = {"invalid_grant", "reauth"}
_BASE32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")


def event_id_for(appointment: Appointment) -> str:
    """ALT's Google event id for an appointment: base32hex (a-v, 0-9), 35 characters.

    Derived from the deployment (SITE_URL), workspace and appointment, so every retry names the
    same event, and a staging and a production ALT writing to one calendar never collide.
    """
    seed = f"{settings.SITE_URL}|{appointment.workspace_id}|{appointment.id}".encode()
    digest = base64.b32encode(hashlib.sha256(seed).digest()).decode().translate(_BASE32HEX)
    return "alt" + digest[:32]


def event_data(appointment: Appointment) -> EventData:
    location = appointment.location
    if not location and appointment.property is not None:
        prop = appointment.property
        location = f"{property_street_line(prop)}, {prop.city}, {prop.state} {prop.zip_code}"
    return EventData(
        event_id=appointment.google_event_id or event_id_for(appointment),
        summary=appointment.title,
        description=appointment.notes,
        location=location,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        time_zone=appointment.agent.timezone or "UTC",
        appointment_id=appointment.id,
    )


def connection_tokens(connection: CalendarConnection) -> Tokens:
    return Tokens(
        access_token=str(connection.access_token or ""),
        refresh_token=str(connection.refresh_token or ""),
        expires_at=connection.token_expiry,
    )


@dataclass
class Round:
    done: bool = True
    error: IntegrationError | None = None
    connection_id: int | None = None
    agent_id: int | None = None
    tokens_before: Tokens | None = None
    tokens_after: Tokens | None = None


def _needs_push(appointment: Appointment) -> bool:
    return appointment.deleted_at is not None or appointment.synced_version < appointment.version


def _upsert(client: CalendarClient, appointment: Appointment) -> str:
    event = event_data(appointment)
    if not appointment.google_event_id:
        try:
            return client.insert_event(event)
        except IntegrationError as exc:
            if exc.code != "duplicate":
                raise
            # An earlier attempt reached Google but its answer was lost: the event is ours.
            client.patch_event(event)
            return event.event_id
    try:
        client.patch_event(event)
    except IntegrationError as exc:
        if exc.code != "not_found":
            raise
        # Not on this calendar (e.g. reconnected with another Google account): create it there.
        try:
            return client.insert_event(event)
        except IntegrationError as again:
            if again.code == "duplicate":
                raise IntegrationError(
                    "The Google event could not be updated or recreated", permanent=True
                ) from again
            raise
    return event.event_id


def _round(
    workspace: Workspace, appointment_id: int, *, final_attempt: bool, retry_at: object
) -> Round:
    with transaction.atomic():
        appointment = (
            Appointment.objects.for_workspace(workspace)
            .select_for_update(of=("self",))
            .select_related("agent", "property")
            .filter(id=appointment_id)
            .first()
        )
        if appointment is None:
            return Round()  # deleted for good: nothing left to do
        result = Round(agent_id=appointment.agent_id)
        connection = (
            CalendarConnection.objects.for_workspace(workspace)
            .filter(user_id=appointment.agent_id)
            .first()
        )
        if connection is None:
            # Disconnected (GC-7): stop. A deleted row has nothing left to wait for.
            if appointment.deleted_at is not None:
                appointment.delete()
            elif appointment.sync_state != Appointment.Sync.OFF:
                _set(appointment, sync_state=Appointment.Sync.OFF)
            return result
        if not connection.is_connected:
            if appointment.sync_state == Appointment.Sync.PENDING:
                _set(appointment, sync_state=Appointment.Sync.WAITING)
            return result
        if not _needs_push(appointment):
            if appointment.sync_state != Appointment.Sync.SYNCED:
                _set(appointment, sync_state=Appointment.Sync.SYNCED, sync_error="")
            return result

        result.connection_id = connection.id
        result.tokens_before = connection_tokens(connection)
        client = CalendarClient(result.tokens_before)
        try:
            if appointment.deleted_at is not None:
                # Also when no event id was recorded: an insert may have reached Google unrecorded.
                client.delete_event(appointment.google_event_id or event_id_for(appointment))
                appointment.delete()
                return result
            event_id = _upsert(client, appointment)
            _set(
                appointment,
                google_event_id=event_id,
                synced_version=appointment.version,
                sync_state=Appointment.Sync.SYNCED,
                sync_error="",
                sync_attempts=0,
            )
            result.done = False  # read the row again: did it change while Google was called?
            return result
        except IntegrationError as exc:
            result.error = exc
            _record_failure(appointment, exc, final_attempt=final_attempt, retry_at=retry_at)
            return result
        finally:
            result.tokens_after = client.tokens


def _set(appointment: Appointment, **fields: object) -> None:
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=[*fields, "updated_at"])


def _record_failure(
    appointment: Appointment, exc: IntegrationError, *, final_attempt: bool, retry_at: object
) -> None:
    attempts = appointment.sync_attempts + 1
    if exc.code in RECONNECT_CODES:
        state, message = Appointment.Sync.WAITING, "Waiting for you to reconnect Google Calendar."
    elif exc.permanent:
        state, message = Appointment.Sync.FAILED, f"{exc.message}."
    elif final_attempt:
        state = Appointment.Sync.FAILED
        message = f"Google Calendar kept failing ({exc.message}). Try again later."
    else:
        state, message = Appointment.Sync.PENDING, f"{exc.message}."
    fields: dict[str, object] = {
        "sync_state": state,
        "sync_error": message[:300],
        "sync_attempts": attempts,
    }
    if state == Appointment.Sync.PENDING:
        fields["sync_requested_at"] = retry_at  # the sweeper leaves it to the scheduled retry
    _set(appointment, **fields)


def appointment_push(
    *,
    workspace_id: int,
    appointment_id: int,
    final_attempt: bool = False,
    retry_in_seconds: float = 0.0,
) -> IntegrationError | None:
    """Bring the appointment's Google event up to date: insert, patch or delete it (GC-2..GC-4).

    Returns a transient IntegrationError when the caller should retry later (the row is left
    pending with a readable sync_error). Permanent errors are handled here: the appointment goes
    to "failed" (a person can retry) or, when Google refused the grant, the connection goes to
    "needs reconnect" and the agent gets one email (GC-8). External calls: Google Calendar (and
    its token endpoint when the access token needs refreshing).
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return None
    retry_at = timezone.now() + timedelta(seconds=retry_in_seconds)
    for _ in range(MAX_ROUNDS):
        result = _round(workspace, appointment_id, final_attempt=final_attempt, retry_at=retry_at)
        if result.connection_id is not None and result.tokens_after != result.tokens_before:
            _store_tokens(workspace, result.connection_id, result.tokens_after)
        error = result.error
        if error is not None:
            if error.code in RECONNECT_CODES and result.connection_id is not None:
                from integrations.google_calendar.services import calendar_needs_reconnect

                calendar_needs_reconnect(
                    workspace=workspace, connection_id=result.connection_id, reason=error.message
                )
            if error.permanent or final_attempt:
                log.warning("calendar push of appointment %s failed: %s", appointment_id, error)
                return None
            return error
        if result.done:
            return None
    return None


def _store_tokens(workspace: Workspace, connection_id: int, tokens: Tokens | None) -> None:
    """Keep the refreshed access token, unless the connection was disconnected meanwhile."""
    if tokens is None or not tokens.access_token:
        return
    CalendarConnection.objects.for_workspace(workspace).filter(
        id=connection_id, status=CalendarConnection.Status.CONNECTED
    ).update(
        access_token=tokens.access_token, token_expiry=tokens.expires_at, updated_at=timezone.now()
    )
