"""The push: make the agent's primary Google Calendar match one ALT appointment.

One *round* runs in one transaction that holds the appointment's row lock (select_for_update)
across exactly one Google change, so two pushes of the same appointment never interleave and an
edit or delete made meanwhile waits for the round to finish. After each round the row is read
again: if the appointment changed (version > synced_version) or was deleted while Google was
being called, the next round carries that change too. So an edit or delete racing an unfinished
insert can leave neither a stale event nor an orphan.

Idempotency: the event id is chosen by ALT and derived from the appointment (`event_id_for`), so
a retried insert hits 409 and becomes a patch, never a second event; a delete that finds 404/410
is done.

Deleted in Google: an event the agent deleted in Google Calendar sits in Google's trash. A patch
then answers 200 with `"status": "cancelled"`, or 403, 404 (purged) or 410, and an insert under
its id answers 409. ALT never calls that "synced" and never retries it: the appointment goes to
"removed" until the agent asks to put it back (`restore_requested_at`), which patches it with
`status: confirmed` where Google allows, else inserts it under a new id.

Transient errors (rate limits, quotas, 5xx, timeouts) never need a person: the task retries
them with backoff (at least Google's Retry-After), and once its retries are spent the row goes
back to the sweeper with `sync_requested_at` in the future, a window that doubles per attempt up
to a cap. So a quota that is exhausted for hours ends in sync by itself.

Lock order: a round holds one appointment row and never writes the connection; token and status
changes to the connection (connection.py) happen after the round commits. Writers that touch the
connection and many appointments (connect, disconnect, needs-reconnect) therefore cannot deadlock
with a push.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alt.accounts.models import Workspace
from alt.lib.errors import IntegrationError
from alt.lib.retry import MAX_DELAY_SECONDS, MAX_RETRIES
from appointments.models import Appointment
from contacts.properties.services import property_street_line
from integrations.google_calendar.client import (
    DESCRIPTION_MAX_CHARS,
    CalendarClient,
    CalendarError,
    EventData,
    Tokens,
    text_length,
)
from integrations.google_calendar.connection import (
    RECONNECT_CODES,
    calendar_needs_reconnect,
    connection_tokens,
    connection_tokens_store,
)
from integrations.google_calendar.models import CalendarConnection

log = logging.getLogger(__name__)

# Rounds per job; more changes than this while one job runs are finished by the next job (every
# change sends its own) or by the sweeper.
MAX_ROUNDS = 5
# What a patch of an event deleted in Google Calendar can answer, besides 200 "cancelled".
_DELETED_IN_GOOGLE = {"forbidden", "not_found", "gone"}
# Once a job's retries are spent the sweeper takes over: first after this many seconds, then
# twice as long after each further failure, never longer than the cap.
SWEEP_RETRY_FIRST_SECONDS = 300.0
SWEEP_RETRY_MAX_SECONDS = 3 * 3600.0
REMOVED_MESSAGE = "This event was deleted in Google Calendar."
BUSY_MESSAGE = "Google Calendar is busy. ALT will try again by itself."
_BASE32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")


def event_id_for(appointment: Appointment, *, restore_of: datetime | None = None) -> str:
    """ALT's Google event id for an appointment: base32hex (a-v, 0-9), 35 characters.

    Derived from the deployment (SITE_URL), workspace and appointment, so every retry names the
    same event, and a staging and a production ALT writing to one calendar never collide.
    `restore_of` (a restore request's time) names the new event that replaces one Google will
    not give back: the same for every retry of that restore, different from every other id.
    """
    seed = f"{settings.SITE_URL}|{appointment.workspace_id}|{appointment.id}"
    if restore_of is not None:
        seed += f"|restore|{restore_of.isoformat()}"
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return "alt" + digest.translate(_BASE32HEX)[:32]


def _description(appointment: Appointment) -> str:
    """The notes, cut to fit Google's cap with an ellipsis and a link to the whole in ALT."""
    notes = appointment.notes
    if text_length(notes) <= DESCRIPTION_MAX_CHARS:
        return notes
    url = settings.SITE_URL + reverse("appointments:edit", args=[appointment.id])
    tail = f"…\n\nFull notes in ALT: {url}"
    room = DESCRIPTION_MAX_CHARS - text_length(tail)
    kept = notes[:room]
    while text_length(kept) > room:  # characters outside the BMP count twice
        kept = kept[:-1]
    return kept.rstrip() + tail


def event_data(appointment: Appointment) -> EventData:
    location = appointment.location
    if not location and appointment.property is not None:
        prop = appointment.property
        location = f"{property_street_line(prop)}, {prop.city}, {prop.state} {prop.zip_code}"
    return EventData(
        event_id=appointment.google_event_id or event_id_for(appointment),
        summary=appointment.title,
        description=_description(appointment),
        location=location,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        time_zone=appointment.agent.timezone or "UTC",
        appointment_id=appointment.id,
    )


@dataclass
class Round:
    done: bool = True
    error: IntegrationError | None = None
    retry: bool = False  # the caller's task should retry (False: done, or left to the sweeper)
    connection_id: int | None = None
    agent_id: int | None = None
    tokens_before: Tokens | None = None
    tokens_after: Tokens | None = None


def _needs_push(appointment: Appointment) -> bool:
    return (
        appointment.deleted_at is not None
        or appointment.synced_version < appointment.version
        or appointment.restore_requested_at is not None
    )


class _DeletedInGoogle(IntegrationError):
    """The event is in the owner's Google trash (or purged): not live, and not ALT's to revive."""

    def __init__(self, event_id: str) -> None:
        super().__init__(REMOVED_MESSAGE, permanent=True, code="removed")
        self.event_id = event_id


def _patch_live(client: CalendarClient, event: EventData) -> None:
    """Patch the event; raise _DeletedInGoogle when Google keeps it deleted."""
    try:
        status = client.patch_event(event)
    except IntegrationError as exc:
        if exc.code in _DELETED_IN_GOOGLE:
            raise _DeletedInGoogle(event.event_id) from exc
        raise
    if status == "cancelled":
        raise _DeletedInGoogle(event.event_id)


def _written_before(appointment: Appointment, connection: CalendarConnection) -> bool:
    """Was the event written under an earlier connection (perhaps another Google account)?"""
    synced_at, connected_at = appointment.synced_at, connection.connected_at
    return synced_at is None or (connected_at is not None and synced_at < connected_at)


def _upsert(
    client: CalendarClient, appointment: Appointment, connection: CalendarConnection
) -> str:
    event = event_data(appointment)
    if appointment.restore_requested_at is not None:
        return _restore(client, appointment, event)
    if not appointment.google_event_id:
        try:
            return client.insert_event(event)
        except IntegrationError as exc:
            if exc.code != "duplicate":
                raise
        # The id is ours: an earlier attempt reached Google but its answer was lost, or the event
        # was deleted in Google and still holds the id (then the patch says so).
        _patch_live(client, event)
        return event.event_id
    try:
        _patch_live(client, event)
    except _DeletedInGoogle as exc:
        if not (
            isinstance(exc.__cause__, IntegrationError)
            and exc.__cause__.code == "not_found"
            and _written_before(appointment, connection)
        ):
            raise
        # Not on this calendar, and written under an earlier connection (the agent may have
        # reconnected with another Google account): create it here.
        try:
            return client.insert_event(event)
        except IntegrationError as again:
            if again.code == "duplicate":  # a deleted event holds the id on this calendar
                raise _DeletedInGoogle(event.event_id) from again
            raise
    return event.event_id


def _restore(client: CalendarClient, appointment: Appointment, event: EventData) -> str:
    """Put an event deleted in Google back: take it out of the trash (`status: confirmed`) where
    Google allows, else insert it under a new id. Returns the id of the live event."""
    try:
        if client.patch_event(event, restore=True) != "cancelled":
            return event.event_id
    except IntegrationError as exc:
        if exc.code not in _DELETED_IN_GOOGLE:
            raise
    fresh = replace(
        event, event_id=event_id_for(appointment, restore_of=appointment.restore_requested_at)
    )
    try:
        return client.insert_event(fresh)
    except IntegrationError as exc:
        if exc.code != "duplicate":
            raise
    # An earlier attempt of this restore reached Google but its answer was lost.
    if client.patch_event(fresh, restore=True) == "cancelled":
        raise CalendarError(
            "Google Calendar would not take the event back", permanent=True, code="refused"
        )
    return fresh.event_id


def _round(
    workspace: Workspace, appointment_id: int, *, final_attempt: bool, retry_in_seconds: float
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
            # "removed" stays until the agent asks for the event back: Google still lacks it.
            if appointment.sync_state not in (Appointment.Sync.SYNCED, Appointment.Sync.REMOVED):
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
            event_id = _upsert(client, appointment, connection)
            _set(
                appointment,
                google_event_id=event_id,
                synced_version=appointment.version,
                sync_state=Appointment.Sync.SYNCED,
                sync_error="",
                sync_attempts=0,
                synced_at=timezone.now(),
                restore_requested_at=None,
            )
            result.done = False  # read the row again: did it change while Google was called?
            return result
        except IntegrationError as exc:
            result.error = exc
            result.retry = _record_failure(
                appointment, exc, final_attempt=final_attempt, retry_in_seconds=retry_in_seconds
            )
            return result
        finally:
            result.tokens_after = client.tokens


def _set(appointment: Appointment, **fields: object) -> None:
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=[*fields, "updated_at"])


def _sentence(text: str) -> str:
    """The text as one sentence: it ends with exactly one full stop (or its own ? or !)."""
    text = text.strip().rstrip(".").rstrip()
    return text if text.endswith(("?", "!", "…")) else f"{text}."


def retry_delay_seconds(error: IntegrationError, backoff_seconds: float) -> float:
    """How long to wait before trying again: the backoff, but never less than Google asked."""
    retry_after = error.retry_after_seconds if isinstance(error, CalendarError) else None
    return max(backoff_seconds, retry_after or 0.0)


def sweep_retry_seconds(attempts: int) -> float:
    """The sweeper's wait after a job gave up: it doubles with each further failed attempt."""
    extra = max(0, attempts - (MAX_RETRIES + 1))
    return min(SWEEP_RETRY_MAX_SECONDS, SWEEP_RETRY_FIRST_SECONDS * (1 << min(extra, 32)))


def _record_failure(
    appointment: Appointment, exc: IntegrationError, *, final_attempt: bool, retry_in_seconds: float
) -> bool:
    """Record why the push failed. Returns whether the task should retry the push itself."""
    attempts = appointment.sync_attempts + 1
    fields: dict[str, object] = {"sync_attempts": attempts}
    retry = False
    if exc.code in RECONNECT_CODES:
        state, message = Appointment.Sync.WAITING, "Waiting for you to reconnect Google Calendar."
    elif isinstance(exc, _DeletedInGoogle) and appointment.restore_requested_at is None:
        state, message = Appointment.Sync.REMOVED, REMOVED_MESSAGE
        fields["google_event_id"] = exc.event_id  # ours; a restore starts from it
    elif exc.permanent:
        state, message = Appointment.Sync.FAILED, _sentence(exc.message)
    else:
        state, message = Appointment.Sync.PENDING, BUSY_MESSAGE
        delay = retry_delay_seconds(exc, retry_in_seconds)
        # A row that already went back to the sweeper once gets one attempt per window, so a
        # quota outage of hours costs Google a handful of calls, not a retry storm.
        retry = not final_attempt and attempts <= MAX_RETRIES and delay <= MAX_DELAY_SECONDS
        if not retry:
            delay = max(delay, sweep_retry_seconds(attempts))
        # The sweeper leaves the row alone until then (the task's retry, or its own turn).
        fields["sync_requested_at"] = timezone.now() + timedelta(seconds=delay)
    fields |= {"sync_state": state, "sync_error": message[:300]}
    _set(appointment, **fields)
    return retry


def appointment_push(
    *,
    workspace_id: int,
    appointment_id: int,
    final_attempt: bool = False,
    retry_in_seconds: float = 0.0,
) -> IntegrationError | None:
    """Bring the appointment's Google event up to date: insert, patch or delete it (GC-2..GC-4).

    Returns a transient IntegrationError when the caller should retry later (the row is left
    pending with a readable sync_error; wait `retry_delay_seconds(error, backoff)`). Everything
    else is handled here: transient errors past the retries go back to the sweeper after a
    growing window; an event deleted in Google makes the appointment "removed"; other permanent
    errors make it "failed" (a person can retry); when Google refused the grant the connection
    goes to "needs reconnect" and the agent gets one email (GC-8). External calls: Google
    Calendar (and its token endpoint when the access token needs refreshing).
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return None
    for _ in range(MAX_ROUNDS):
        result = _round(
            workspace,
            appointment_id,
            final_attempt=final_attempt,
            retry_in_seconds=retry_in_seconds,
        )
        if result.connection_id is not None and result.tokens_after != result.tokens_before:
            connection_tokens_store(
                workspace=workspace, connection_id=result.connection_id, tokens=result.tokens_after
            )
        error = result.error
        if error is not None:
            if error.code in RECONNECT_CODES and result.connection_id is not None:
                calendar_needs_reconnect(
                    workspace=workspace, connection_id=result.connection_id, reason=error.message
                )
            if not result.retry:
                log.warning("calendar push of appointment %s stopped: %s", appointment_id, error)
                return None
            return error
        if result.done:
            return None
    return None
