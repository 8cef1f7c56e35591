"""appointments.services: validation, the timeline, and the sync state each change starts in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from appointments.models import Appointment
from appointments.services import (
    AppointmentInvalid,
    access_appointment,
    appointment_create,
    appointment_delete,
    appointment_restore_to_calendar,
    appointment_sync_retry,
    appointment_update,
    appointments_for,
)
from contacts.models import Activity, Property
from integrations.google_calendar.models import CalendarConnection
from tests.conftest import (
    START,
    Outbox,
    book,
    new_contact,
    reload,
    workspace_of,
)

pytestmark = pytest.mark.django_db


def connect_directly(
    user: Any, status: str = CalendarConnection.Status.CONNECTED
) -> CalendarConnection:
    return CalendarConnection.objects.create(
        workspace=workspace_of(user), user=user, status=status,
        access_token="ya29.test", refresh_token="1//test",
    )  # fmt: skip


def timeline(contact: Any) -> list[str]:
    return list(
        Activity.objects.for_workspace(contact.workspace)
        .filter(contact=contact, kind=Activity.Kind.APPOINTMENT)
        .order_by("id")
        .values_list("summary", flat=True)
    )


def test_creating_logs_on_the_timeline_and_defaults_the_agent_to_the_actor(alice: Any) -> None:
    contact = new_contact(alice)

    appointment = book(alice, contact)

    assert appointment.agent == alice
    assert appointment.created_by == alice
    assert appointment.sync_state == Appointment.Sync.OFF  # no calendar connected
    assert timeline(contact) == ["Property tour booked: Tour of 12 Oak St"]
    assert list(appointments_for(workspace_of(alice))) == [appointment]


def test_a_connected_agent_starts_pending_and_a_job_is_sent_after_commit(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    connect_directly(alice)
    contact = new_contact(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        appointment = book(alice, contact)
    assert appointment.sync_state == Appointment.Sync.PENDING
    assert outbox.sent == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()

    assert outbox.names() == ["calendar_event_push"]
    assert outbox.sent[0][1] == (appointment.workspace_id, appointment.id)


def test_an_agent_whose_calendar_needs_reconnecting_starts_waiting_with_no_job(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    connect_directly(alice, CalendarConnection.Status.NEEDS_RECONNECT)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(alice, new_contact(alice))

    assert appointment.sync_state == Appointment.Sync.WAITING
    assert outbox.sent == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": START}, "ends_at", "The appointment must end after it starts."),
        (
            {"ends_at": START - timedelta(hours=1)},
            "ends_at",
            "The appointment must end after it starts.",
        ),
        ({"title": "   "}, "title", "Give the appointment a title."),
        ({"kind": "party"}, "kind", "Choose what kind of appointment this is."),
        ({"starts_at": datetime(2030, 5, 2, 17, 0)}, "starts_at", "The time needs a time zone."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    alice: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    contact = new_contact(alice)

    with pytest.raises(AppointmentInvalid) as raised:
        book(alice, contact, **changes)

    assert raised.value.message_dict == {field: [message]}
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, ValidationError)
    assert appointments_for(workspace_of(alice)).count() == 0


def test_contact_property_and_agent_must_belong_to_the_workspace(alice: Any, charlie: Any) -> None:
    mine = new_contact(alice)
    theirs = new_contact(charlie, "Zed")
    their_property = Property.objects.create(
        workspace=workspace_of(charlie), street="1 Elm", city="X", state="CA", zip_code="90000"
    )

    with pytest.raises(AppointmentInvalid) as contact_error:
        appointment_create(
            workspace=workspace_of(alice), actor=alice, contact=theirs, kind="tour", title="T",
            starts_at=START, ends_at=START + timedelta(hours=1),
        )  # fmt: skip
    with pytest.raises(AppointmentInvalid) as other_errors:
        book(alice, mine, property=their_property, agent=charlie)

    assert contact_error.value.message_dict == {
        "contact": ["Choose a contact from this workspace."]
    }
    assert other_errors.value.message_dict == {
        "property": ["Choose a property from this workspace."],
        "agent": ["The agent must be a member of this workspace."],
    }


def test_the_database_refuses_an_appointment_that_ends_before_it_starts(alice: Any) -> None:
    appointment = book(alice, new_contact(alice))

    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).update(
            ends_at=appointment.starts_at
        )


def test_a_reschedule_bumps_the_version_and_is_logged(alice: Any) -> None:
    contact = new_contact(alice)
    appointment = book(alice, contact)
    later = START + timedelta(days=2)

    appointment_update(
        appointment=appointment, actor=alice, starts_at=later, ends_at=later + timedelta(hours=1)
    )

    stored = reload(appointment)
    assert stored is not None
    assert stored.version == 2
    assert stored.starts_at == later
    assert timeline(contact)[-1] == "Property tour rescheduled: Tour of 12 Oak St"


def test_an_update_with_bad_values_changes_nothing(alice: Any) -> None:
    appointment = book(alice, new_contact(alice))

    with pytest.raises(AppointmentInvalid):
        appointment_update(appointment=appointment, actor=alice, ends_at=START - timedelta(hours=3))

    assert appointment.ends_at == START + timedelta(hours=1)
    assert reload(appointment).version == 1  # type: ignore[union-attr]


def test_the_agent_and_sync_fields_cannot_be_changed_through_update(alice: Any, bob: Any) -> None:
    appointment = book(alice, new_contact(alice))

    with pytest.raises(AppointmentInvalid, match="cannot be changed"):
        appointment_update(appointment=appointment, actor=alice, agent=bob)
    with pytest.raises(AppointmentInvalid, match="cannot be changed"):
        appointment_update(appointment=appointment, actor=alice, google_event_id="x")


def test_deleting_hides_the_appointment_and_logs_it(alice: Any) -> None:
    contact = new_contact(alice)
    appointment = book(alice, contact)

    appointment_delete(appointment=appointment, actor=alice)
    appointment_delete(appointment=appointment, actor=alice)  # twice is once

    assert appointments_for(workspace_of(alice)).count() == 0
    with pytest.raises(Http404):
        access_appointment(workspace_of(alice), appointment.id)
    assert timeline(contact)[-1] == "Property tour cancelled: Tour of 12 Oak St"
    assert len(timeline(contact)) == 2


def test_a_deleted_appointment_with_a_pending_google_delete_stays_hidden(
    alice: Any, django_capture_on_commit_callbacks: Any, outbox: Outbox
) -> None:
    connect_directly(alice)
    appointment = book(alice, new_contact(alice))

    appointment_delete(appointment=appointment, actor=alice)

    stored = reload(appointment)
    assert stored is not None
    assert stored.deleted_at is not None
    assert stored.sync_state == Appointment.Sync.PENDING
    assert appointments_for(workspace_of(alice)).count() == 0


def test_access_is_a_404_for_another_workspace_and_for_junk(alice: Any, charlie: Any) -> None:
    appointment = book(alice, new_contact(alice))

    assert access_appointment(workspace_of(alice), appointment.id) == appointment
    for workspace, key in (
        (workspace_of(charlie), appointment.id),
        (workspace_of(alice), "1;drop"),
    ):
        with pytest.raises(Http404):
            access_appointment(workspace, key)


def test_retrying_a_failed_sync_makes_it_pending_again(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    connect_directly(alice)
    appointment = book(alice, new_contact(alice))
    Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).update(
        sync_state=Appointment.Sync.FAILED,
        sync_error="Google Calendar kept failing.",
        sync_attempts=9,
    )

    with django_capture_on_commit_callbacks(execute=True):
        appointment_sync_retry(appointment=reload(appointment), actor=alice)  # type: ignore[arg-type]

    stored = reload(appointment)
    assert stored is not None
    assert (stored.sync_state, stored.sync_error, stored.sync_attempts) == (
        Appointment.Sync.PENDING,
        "",
        0,
    )
    assert outbox.names() == ["calendar_event_push"]


def removed(user: Any, status: str = CalendarConnection.Status.CONNECTED) -> Appointment:
    connect_directly(user, status)
    appointment = book(user, new_contact(user))
    Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).update(
        sync_state=Appointment.Sync.REMOVED,
        sync_error="This event was deleted in Google Calendar.",
        google_event_id="altabc123",
        synced_version=1,
    )
    stored = reload(appointment)
    assert stored is not None
    return stored


@pytest.mark.promise("GC-3")
def test_an_edit_of_a_removed_appointment_stays_removed_and_sends_nothing(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    appointment = removed(alice)

    with django_capture_on_commit_callbacks(execute=True):
        appointment_update(appointment=appointment, actor=alice, title="Moved")

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.REMOVED
    assert stored.version == 2  # kept for when the agent puts it back
    assert outbox.sent == []


@pytest.mark.promise("GC-3")
def test_putting_a_removed_event_back_marks_it_and_sends_the_push_after_commit(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    appointment = removed(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        appointment_restore_to_calendar(appointment=appointment, actor=alice)
    assert outbox.sent == []
    for callback in callbacks:
        callback()

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.PENDING
    assert stored.restore_requested_at is not None
    assert outbox.names() == ["calendar_event_push"]


def test_putting_back_while_the_calendar_needs_reconnecting_waits(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    appointment = removed(alice, CalendarConnection.Status.NEEDS_RECONNECT)

    with django_capture_on_commit_callbacks(execute=True):
        appointment_restore_to_calendar(appointment=appointment, actor=alice)

    assert appointment.sync_state == Appointment.Sync.WAITING
    assert reload(appointment).restore_requested_at is not None  # type: ignore[union-attr]
    assert outbox.sent == []


def test_putting_back_an_appointment_that_is_not_removed_does_nothing(
    alice: Any, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    connect_directly(alice)
    appointment = book(alice, new_contact(alice))
    Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).update(
        sync_state=Appointment.Sync.SYNCED, synced_version=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        appointment_restore_to_calendar(appointment=reload(appointment), actor=alice)  # type: ignore[arg-type]

    assert reload(appointment).restore_requested_at is None  # type: ignore[union-attr]
    assert outbox.sent == []


def test_appointments_are_scoped_to_their_workspace(alice: Any, charlie: Any) -> None:
    book(alice, new_contact(alice))

    assert appointments_for(workspace_of(charlie)).count() == 0
    assert all(
        a.workspace_id == workspace_of(alice).id for a in appointments_for(workspace_of(alice))
    )
