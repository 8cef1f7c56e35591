"""GC-3 against Google's harsher side: the agent deleted the event in Google Calendar.

Google keeps a deleted event in the trash: a patch answers 200 with `"status": "cancelled"` (or
403, 404 once purged, or 410, as clients report), and an insert under its id answers 409
(EXTERNAL_APIS.md §2.1, §9 item 5). ALT must never call such an event synced, must not retry it,
and puts it back only when the agent asks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from appointments.models import Appointment
from appointments.services import appointment_delete, appointment_update
from integrations.google_calendar.models import CalendarConnection
from integrations.google_calendar.push import event_id_for
from integrations.google_calendar.services import calendar_disconnect
from integrations.google_calendar.tasks import calendar_sync_sweep
from integrations.sandbox.google import DEFAULT_USER_EMAIL, GoogleEmulator
from tests.conftest import (
    Outbox,
    book,
    connect_through_views,
    connection_of,
    live_events,
    new_contact,
    reload,
)

pytestmark = pytest.mark.django_db
ANSWERS = ["cancelled", 403, 404, 410]


def calendar_calls(google: GoogleEmulator) -> list[tuple[str, str]]:
    return [
        (r.method, r.path.rsplit("/", 1)[-1]) for r in google.requests if google.calendar_request(r)
    ]


def synced_then_deleted_in_google(
    user: Any, google: GoogleEmulator, outbox: Outbox, capture: Any, **fields: Any
) -> Appointment:
    with capture(execute=True):
        appointment = book(user, new_contact(user), **fields)
    outbox.drain()
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.SYNCED
    google.delete_from_google_ui(DEFAULT_USER_EMAIL, stored.google_event_id)
    google.requests.clear()
    return stored


@pytest.mark.promise("GC-3")
@pytest.mark.parametrize("answer", ANSWERS)
def test_an_edit_of_an_event_deleted_in_google_shows_removed_and_is_never_retried(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    answer: str | int,
) -> None:  # fmt: skip
    google.deleted_event_patch_answer = answer
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    event_id = appointment.google_event_id

    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.REMOVED
    assert stored.get_sync_state_display() == "Removed from Google Calendar"
    assert stored.sync_error == "This event was deleted in Google Calendar."
    assert stored.google_event_id == event_id
    assert stored.synced_version < stored.version  # Google does not have the edit
    assert calendar_calls(google) == [("PATCH", event_id)]  # once: no retry, no re-insert
    assert live_events(google, DEFAULT_USER_EMAIL) == []

    # Nothing brings it back by itself: not the sweeper, not another edit.
    calendar_sync_sweep.apply()
    with capture(execute=True):
        appointment_update(appointment=stored, actor=connected, notes="Gate code 4411")
    outbox.drain()
    assert calendar_calls(google) == [("PATCH", event_id)]
    assert reload(appointment).sync_state == Appointment.Sync.REMOVED  # type: ignore[union-attr]


@pytest.mark.promise("GC-3")
@pytest.mark.parametrize("answer", ANSWERS)
def test_put_it_back_restores_the_event_and_only_then_shows_synced(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any, answer: str | int,
) -> None:  # fmt: skip
    google.deleted_event_patch_answer = answer
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    old_id = appointment.google_event_id
    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()
    page = alice_client.get(f"/appointments/{appointment.id}/").content.decode()
    assert '<span class="sync-chip">Removed from Google Calendar</span>' in page
    assert f'action="/appointments/{appointment.id}/restore/"' in page
    assert "Put it back on my calendar" in page
    assert "/retry/" not in page  # one action
    google.requests.clear()

    with capture(execute=True):
        response = alice_client.post(
            f"/appointments/{appointment.id}/restore/", {"next": "/appointments/"}
        )
    assert response.status_code == 302
    assert response["Location"] == "/appointments/"
    assert reload(appointment).sync_state == Appointment.Sync.PENDING  # type: ignore[union-attr]
    assert outbox.names() == ["calendar_event_push"]
    outbox.drain()

    [event] = live_events(google, DEFAULT_USER_EMAIL)
    assert event["summary"] == "Tour, moved"  # the edit made while it was removed goes along
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.SYNCED
    assert stored.google_event_id == event["id"]
    assert stored.synced_version == stored.version
    assert stored.restore_requested_at is None
    patch = google.requests_to("PATCH", r"/events/")[0]
    assert patch.json()["status"] == "confirmed"  # out of the trash, where Google allows it
    if answer == "cancelled":
        assert event["id"] == old_id
        assert calendar_calls(google) == [("PATCH", old_id)]
    else:
        assert event["id"] != old_id  # Google would not give it back: a new event
        assert calendar_calls(google) == [("PATCH", old_id), ("POST", "events")]
    # Later edits reach the live event.
    with capture(execute=True):
        appointment_update(appointment=stored, actor=connected, title="Tour, final")
    outbox.drain()
    assert [e["summary"] for e in live_events(google, DEFAULT_USER_EMAIL)] == ["Tour, final"]


@pytest.mark.promise("GC-3")
@pytest.mark.parametrize("answer", ANSWERS)
def test_a_reconnect_that_forgot_the_ids_finds_the_deleted_event_and_shows_removed(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any, answer: str | int,
) -> None:  # fmt: skip
    google.deleted_event_patch_answer = answer
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    event_id = appointment.google_event_id
    calendar_disconnect(connection_of(connected), forget_event_ids=True)  # type: ignore[arg-type]
    google.requests.clear()

    with capture(execute=True):
        connect_through_views(alice_client, google)
    outbox.drain()

    # event_id_for names the deleted event: the insert answers 409, the patch finds it deleted.
    assert calendar_calls(google) == [("POST", "events"), ("PATCH", event_id)]
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.REMOVED
    assert stored.google_event_id == event_id
    assert live_events(google, DEFAULT_USER_EMAIL) == []

    with capture(execute=True):
        alice_client.post(f"/appointments/{appointment.id}/restore/")
    outbox.drain()
    [event] = live_events(google, DEFAULT_USER_EMAIL)
    assert reload(appointment).google_event_id == event["id"]  # type: ignore[union-attr]
    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]


@pytest.mark.promise("GC-3")
def test_deleting_a_removed_appointment_in_alt_finishes_without_a_person(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()

    with capture(execute=True):
        appointment_delete(appointment=reload(appointment), actor=connected)  # type: ignore[arg-type]
    outbox.drain()

    assert reload(appointment) is None
    assert live_events(google, DEFAULT_USER_EMAIL) == []


def test_a_second_press_of_put_it_back_sends_nothing_more(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()

    with capture(execute=True):
        alice_client.post(f"/appointments/{appointment.id}/restore/")
        alice_client.post(f"/appointments/{appointment.id}/restore/")

    assert outbox.names() == ["calendar_event_push"]


def test_an_event_written_under_an_earlier_connection_is_created_on_the_new_calendar(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        appointment = book(connected, new_contact(connected))
    outbox.drain()
    calendar_disconnect(connection_of(connected))  # type: ignore[arg-type]

    with capture(execute=True):  # the agent connects another Google account
        connect_through_views(alice_client, google, email="alice.other@example.com")
    outbox.drain()
    with capture(execute=True):
        appointment_update(appointment=reload(appointment), actor=connected, title="Moved")  # type: ignore[arg-type]
    outbox.drain()

    [event] = live_events(google, "alice.other@example.com")  # the patch found nothing: 404
    assert (event["id"], event["summary"]) == (event_id_for(appointment), "Moved")
    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]


@pytest.mark.promise("GC-3")
def test_a_restore_whose_answer_was_lost_does_not_make_a_second_event(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from integrations.google_calendar.client import CalendarClient
    from integrations.google_calendar.connection import connection_tokens
    from integrations.google_calendar.push import event_data

    google.deleted_event_patch_answer = 403  # Google will not give the old event back
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()
    with capture(execute=True):
        alice_client.post(f"/appointments/{appointment.id}/restore/")
    requested = reload(appointment)
    assert requested is not None
    assert requested.restore_requested_at is not None
    # An earlier attempt of this restore created the new event, but its answer never came back.
    fresh_id = event_id_for(requested, restore_of=requested.restore_requested_at)
    tokens = connection_tokens(connection_of(connected))  # type: ignore[arg-type]
    CalendarClient(tokens).insert_event(replace(event_data(requested), event_id=fresh_id))
    google.requests.clear()

    outbox.drain()

    old_id = appointment.google_event_id
    assert calendar_calls(google) == [("PATCH", old_id), ("POST", "events"), ("PATCH", fresh_id)]
    assert [e["id"] for e in live_events(google, DEFAULT_USER_EMAIL)] == [fresh_id]
    stored = reload(appointment)
    assert stored is not None
    assert (stored.sync_state, stored.google_event_id) == (Appointment.Sync.SYNCED, fresh_id)


@pytest.mark.promise("GC-8")
def test_put_it_back_while_the_calendar_needs_reconnecting_happens_after_the_reconnect(
    connected: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    capture = django_capture_on_commit_callbacks
    appointment = synced_then_deleted_in_google(connected, google, outbox, capture)
    with capture(execute=True):
        appointment_update(appointment=appointment, actor=connected, title="Tour, moved")
    outbox.drain()
    CalendarConnection.objects.for_workspace(appointment.workspace).update(
        status=CalendarConnection.Status.NEEDS_RECONNECT
    )

    with capture(execute=True):
        alice_client.post(f"/appointments/{appointment.id}/restore/")
    outbox.drain()
    assert reload(appointment).sync_state == Appointment.Sync.WAITING  # type: ignore[union-attr]
    assert live_events(google, DEFAULT_USER_EMAIL) == []

    with capture(execute=True):
        connect_through_views(alice_client, google)
    outbox.drain()

    [event] = live_events(google, DEFAULT_USER_EMAIL)
    assert event["summary"] == "Tour, moved"
    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]
