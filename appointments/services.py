"""Appointment workflows: create, edit (reschedule), delete, retry a failed sync, put an event
deleted in Google Calendar back, list.

"Write, then sync" (DESIGN.md): each function changes the row in one transaction, marks its sync
state on the row itself, and sends the push job after commit through appointments.sync (the
Google Calendar adapter registers itself there; this app never imports a provider). Every change
is also written to the contact's timeline.

GC-9: appointment data is for the calendar sync only. Nothing here feeds AI prompts, automations,
calls or texts, and tests/integrations/test_google_calendar_privacy.py keeps ai/ from importing
this app. The one email is the agent's own opt-in reminder of their appointment (appointments/
tasks.py), built from ALT's row, never from anything read from Google.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from appointments import sync
from appointments.models import Appointment, AppointmentQuerySet
from contacts.models import Activity, Contact, Property
from contacts.services import activity_record


class AppointmentInvalid(ValidationError, ValueError):
    """The appointment cannot be saved as given. Built from {field: message}, so a form can show
    each message beside its field: `form.add_error(None, exc)`. Also a ValueError."""


# Fields a person may change with appointment_update.
EDITABLE_FIELDS = frozenset(
    {"kind", "title", "starts_at", "ends_at", "location", "notes", "property", "contact"}
)


# --- access --------------------------------------------------------------------------------------
def access_appointment(workspace: Workspace, appointment_id: int | str) -> Appointment:
    """The workspace's live appointment with this id, or Http404 (also for another workspace's)."""
    appointments = Appointment.objects.for_workspace(workspace).live()
    return appointments.select_related("contact", "agent", "property").get_or_404(
        "appointment", id=appointment_id
    )


def appointments_for(workspace: Workspace) -> AppointmentQuerySet:
    """The workspace's appointments that are not deleted, soonest first."""
    return (
        Appointment.objects.for_workspace(workspace)
        .live()
        .select_related("contact", "agent", "property")
        .order_by("starts_at", "id")
    )


# --- validation ----------------------------------------------------------------------------------
def _validate(appointment: Appointment) -> None:
    errors: dict[str, str] = {}
    workspace_id = appointment.workspace_id
    if not appointment.title.strip():
        errors["title"] = "Give the appointment a title."
    if appointment.kind not in Appointment.Kind.values:
        errors["kind"] = "Choose what kind of appointment this is."
    for name in ("starts_at", "ends_at"):
        value = getattr(appointment, name)
        if not isinstance(value, datetime):
            errors[name] = "Enter a date and time."
        elif timezone.is_naive(value):
            errors[name] = "The time needs a time zone."
    times_given = "starts_at" not in errors and "ends_at" not in errors
    if times_given and appointment.ends_at <= appointment.starts_at:
        errors["ends_at"] = "The appointment must end after it starts."
    contact = appointment.contact
    if contact.workspace_id != workspace_id or contact.deleted_at or contact.merged_into_id:
        errors["contact"] = "Choose a contact from this workspace."
    prop = appointment.property
    if prop is not None and prop.workspace_id != workspace_id:
        errors["property"] = "Choose a property from this workspace."
    if not Membership.objects.filter(workspace_id=workspace_id, user=appointment.agent).exists():
        errors["agent"] = "The agent must be a member of this workspace."
    if errors:
        raise AppointmentInvalid(errors)


def _mark_for_sync(appointment: Appointment) -> list[str]:
    """Set the sync state a change starts in; returns the fields it set."""
    backend = sync.backend()
    state = backend.state_for(appointment) if backend else Appointment.Sync.OFF
    appointment.sync_state = state
    appointment.sync_error = ""
    appointment.sync_attempts = 0
    appointment.sync_requested_at = timezone.now()
    return ["sync_state", "sync_error", "sync_attempts", "sync_requested_at"]


def _push_on_commit(appointment: Appointment) -> None:
    backend = sync.backend()
    if backend is not None and appointment.sync_state == Appointment.Sync.PENDING:
        backend.push_on_commit(appointment)


def _lock_live(appointment: Appointment) -> Appointment | None:
    """The appointment's row, locked until the transaction ends; None once it has been deleted."""
    return (
        Appointment.objects.for_workspace(appointment.workspace)
        .select_for_update()
        .filter(id=appointment.id, deleted_at=None)
        .first()
    )


def _when(appointment: Appointment) -> str:
    return appointment.starts_at.isoformat()


# --- workflows -----------------------------------------------------------------------------------
def appointment_create(
    *,
    workspace: Workspace,
    actor: User | None,
    contact: Contact,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str = "",
    notes: str = "",
    property: Property | None = None,
    agent: User | None = None,
) -> Appointment:
    """Book an appointment with a contact for `agent` (default: the actor) and log it on the
    contact's timeline. If the agent's Google Calendar is connected the event push is sent after
    commit (GC-3). Raises AppointmentInvalid for bad input."""
    owner = agent or actor
    if owner is None:
        raise AppointmentInvalid({"agent": "Choose whose appointment this is."})
    appointment = Appointment(
        workspace=workspace,
        contact=contact,
        agent=owner,
        created_by=actor,
        kind=kind,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        notes=notes.strip(),
        property=property,
    )
    _validate(appointment)
    with transaction.atomic():
        _mark_for_sync(appointment)
        appointment.save()
        activity_record(
            contact=contact,
            kind=Activity.Kind.APPOINTMENT,
            actor=actor,
            summary=f"{appointment.get_kind_display()} booked: {appointment.title}",
            data={
                "appointment_id": appointment.id,
                "event": "created",
                "starts_at": _when(appointment),
            },
        )
        _push_on_commit(appointment)
    return appointment


def appointment_update(
    *, appointment: Appointment, actor: User | None, **changes: Any
) -> Appointment:
    """Change an appointment's fields (a reschedule is new starts_at/ends_at). A change Google
    must hear about bumps `version` and sends the push after commit; a reschedule is logged on the
    timeline. Raises AppointmentInvalid for bad input or a field that cannot be changed."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise AppointmentInvalid({"__all__": f"These fields cannot be changed: {sorted(unknown)}"})
    if appointment.deleted_at is not None:
        raise AppointmentInvalid({"__all__": "This appointment was deleted."})
    for name in ("title", "location", "notes"):
        if name in changes and isinstance(changes[name], str):
            changes[name] = changes[name].strip()
    before = {name: getattr(appointment, name) for name in changes}
    for name, value in changes.items():
        setattr(appointment, name, value)
    changed = [name for name in changes if getattr(appointment, name) != before[name]]
    if not changed:
        return appointment
    try:
        _validate(appointment)
    except AppointmentInvalid:
        for name, value in before.items():  # leave the caller's object as it was
            setattr(appointment, name, value)
        raise
    with transaction.atomic():
        fields = [*changed, "updated_at"]
        google_must_hear = bool(set(changed) & set(Appointment.SYNCED_FIELDS))
        if google_must_hear:
            # F() so two edits racing each other both count; the value is reloaded below.
            appointment.version = F("version") + 1
            fields += ["version", *_mark_for_sync(appointment)]
        if "starts_at" in changed:
            # Re-armed: the agent's reminder goes out again before the new time.
            appointment.reminded_at = None
            fields.append("reminded_at")
        appointment.save(update_fields=fields)
        appointment.refresh_from_db(fields=["version"])
        rescheduled = {"starts_at", "ends_at"} & set(changed)
        what = "rescheduled" if rescheduled else "updated"
        activity_record(
            contact=appointment.contact,
            kind=Activity.Kind.APPOINTMENT,
            actor=actor,
            summary=f"{appointment.get_kind_display()} {what}: {appointment.title}",
            data={"appointment_id": appointment.id, "event": what, "starts_at": _when(appointment)},
        )
        if google_must_hear:
            _push_on_commit(appointment)
    return appointment


def appointment_delete(*, appointment: Appointment, actor: User | None) -> None:
    """Delete an appointment. While its Google event still has to be deleted the row stays,
    hidden (deleted_at); the push job deletes the event, then the row. With no calendar connected
    the row goes at once. Logged on the contact's timeline."""
    with transaction.atomic():
        locked = _lock_live(appointment)
        if locked is None:
            return  # already deleted: deleting twice is one deletion
        locked.deleted_at = timezone.now()
        fields = ["deleted_at", "updated_at", *_mark_for_sync(locked)]
        activity_record(
            contact=locked.contact,
            kind=Activity.Kind.APPOINTMENT,
            actor=actor,
            summary=f"{locked.get_kind_display()} cancelled: {locked.title}",
            data={"appointment_id": locked.id, "event": "deleted", "starts_at": _when(locked)},
        )
        if locked.sync_state == Appointment.Sync.OFF:
            # No calendar connected: nothing left to tell Google (events already pushed stay, GC-7).
            locked.delete()
        else:
            locked.save(update_fields=fields)
            _push_on_commit(locked)
    appointment.deleted_at = locked.deleted_at


def appointment_sync_retry(*, appointment: Appointment, actor: User | None) -> None:
    """Try a failed (or stuck) sync again: the row goes back to pending and the push is sent
    after commit. Does nothing when the agent's calendar is not connected."""
    with transaction.atomic():
        locked = (
            Appointment.objects.for_workspace(appointment.workspace)
            .select_for_update()
            .get(id=appointment.id)
        )
        fields = _mark_for_sync(locked)
        locked.save(update_fields=[*fields, "updated_at"])
        _push_on_commit(locked)
    appointment.sync_state = locked.sync_state
    appointment.sync_error = locked.sync_error


def appointment_restore_to_calendar(*, appointment: Appointment, actor: User | None) -> None:
    """Put back on the agent's calendar an event that was deleted there (sync state "removed").
    The row is marked for restoring and goes back to pending; the push job, sent after commit,
    takes the event out of Google's trash or creates it anew, and only Google's answer with a
    live event makes it "synced" (GC-3). Does nothing for an appointment that is not removed
    (a second press), and leaves it waiting while the calendar needs reconnecting."""
    with transaction.atomic():
        locked = _lock_live(appointment)
        if locked is None or locked.sync_state != Appointment.Sync.REMOVED:
            return
        locked.restore_requested_at = timezone.now()
        fields = ["restore_requested_at", *_mark_for_sync(locked)]
        locked.save(update_fields=[*fields, "updated_at"])
        _push_on_commit(locked)
    appointment.sync_state = locked.sync_state
    appointment.sync_error = locked.sync_error
    appointment.restore_requested_at = locked.restore_requested_at
