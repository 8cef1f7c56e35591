"""GC-2, GC-3, GC-4: appointments created, edited and deleted in ALT are mirrored on the agent's
primary Google Calendar, idempotently and through faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from appointments.models import Appointment
from appointments.services import (
    appointment_delete,
    appointment_update,
)
from integrations.google_calendar import push as engine
from integrations.google_calendar.push import event_id_for
from integrations.google_calendar.services import appointments_sweep_claim
from integrations.sandbox.google import (
    BACKEND_ERROR_500,
    DEFAULT_USER_EMAIL,
    RATE_LIMIT_403,
    RATE_LIMIT_429,
    USER_RATE_LIMIT_403,
    GoogleEmulator,
)
from tests.conftest import (
    START,
    Outbox,
    book,
    live_events,
    new_contact,
    parse,
    reload,
)

pytestmark = pytest.mark.django_db


def pushes(google: GoogleEmulator) -> list[tuple[str, str]]:
    return [
        (r.method, r.path.rsplit("/", 1)[-1]) for r in google.requests if google.calendar_request(r)
    ]


@pytest.mark.promise("GC-2")
@pytest.mark.promise("GC-3")
@pytest.mark.promise("GC-4")
def test_a_new_appointment_is_pushed_at_once_to_the_primary_calendar(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)

    assert appointment.sync_state == Appointment.Sync.PENDING
    assert outbox.names() == ["calendar_event_push"]  # a job started at once, not a nightly batch
    outbox.drain()

    [event] = google.events_for(DEFAULT_USER_EMAIL)
    stored = reload(appointment)
    assert stored is not None
    assert stored.google_event_id == event["id"] == event_id_for(appointment)
    assert stored.sync_state == Appointment.Sync.SYNCED
    assert stored.synced_version == stored.version
    assert event["summary"] == "Tour of 12 Oak St"
    assert event["description"] == "Bring the disclosure packet"
    assert event["location"] == "12 Oak St, Springfield"
    assert parse(event["start"]["dateTime"]) == START
    assert parse(event["end"]["dateTime"]) == START + timedelta(hours=1)
    assert event["extendedProperties"]["private"] == {
        "alt": "1",
        "altAppointmentId": str(appointment.id),
    }
    insert = google.requests_to("POST", r"/events$")[-1]
    assert insert.path == "/calendar/v3/calendars/primary/events"


@pytest.mark.promise("GC-3")
def test_editing_time_title_location_or_notes_patches_only_alts_fields(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()
    new_start = START + timedelta(days=1, hours=2)

    with django_capture_on_commit_callbacks(execute=True):
        appointment_update(
            appointment=appointment, actor=connected, title="Second tour", starts_at=new_start,
            ends_at=new_start + timedelta(minutes=45), location="14 Oak St", notes="Ring twice",
        )  # fmt: skip
    outbox.drain()

    [event] = google.events_for(DEFAULT_USER_EMAIL)
    assert (event["summary"], event["location"], event["description"]) == (
        "Second tour",
        "14 Oak St",
        "Ring twice",
    )
    assert parse(event["start"]["dateTime"]) == new_start
    assert parse(event["end"]["dateTime"]) == new_start + timedelta(minutes=45)
    patch = google.requests_to("PATCH", r"/events/")[-1]
    assert (
        patch.path
        == f"/calendar/v3/calendars/primary/events/{appointment.google_event_id or event['id']}"
    )
    assert set(patch.json()) == {
        "summary",
        "description",
        "location",
        "start",
        "end",
        "extendedProperties",
    }
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.SYNCED
    assert stored.synced_version == stored.version == 2


def test_an_edit_google_does_not_receive_sends_nothing(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()

    with django_capture_on_commit_callbacks(execute=True):
        appointment_update(appointment=appointment, actor=connected, kind=Appointment.Kind.CALL)

    assert outbox.names() == []
    assert reload(appointment).version == 1  # type: ignore[union-attr]


@pytest.mark.promise("GC-3")
def test_deleting_the_appointment_deletes_the_event_then_the_row(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()

    with django_capture_on_commit_callbacks(execute=True):
        appointment_delete(appointment=appointment, actor=connected)
    hidden = reload(appointment)
    assert hidden is not None
    assert hidden.deleted_at is not None
    outbox.drain()

    assert live_events(google, DEFAULT_USER_EMAIL) == []
    assert google.events_for(DEFAULT_USER_EMAIL)[0]["status"] == "cancelled"
    assert reload(appointment) is None


@pytest.mark.parametrize("status", [404, 410])
def test_a_delete_that_finds_the_event_gone_is_done(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    status: int,
) -> None:  # fmt: skip
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()
    reason = {404: "notFound", 410: "deleted"}[status]
    google.fail_calendar_next((status, {"error": {"errors": [{"domain": "global", "reason": reason, "message": "x"}], "code": status, "message": "x"}}))  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        appointment_delete(appointment=appointment, actor=connected)
    outbox.drain()

    assert reload(appointment) is None
    assert len(google.requests_to("DELETE", r"/events/")) == 1  # no retry of a finished delete


def test_a_lost_insert_answer_is_recovered_by_a_patch_not_a_second_event(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact, title="Listing chat")
    # Google got an earlier insert, but ALT never heard back (its worker died mid-call).
    event_id = event_id_for(appointment)
    google.calendars.setdefault(DEFAULT_USER_EMAIL, {})
    from integrations.google_calendar.client import CalendarClient
    from integrations.google_calendar.connection import connection_tokens
    from integrations.google_calendar.push import event_data
    from tests.conftest import connection_of

    CalendarClient(connection_tokens(connection_of(connected))).insert_event(  # type: ignore[arg-type]
        event_data(appointment)
    )
    google.requests.clear()

    outbox.drain()

    assert pushes(google) == [("POST", "events"), ("PATCH", event_id)]
    assert [e["id"] for e in google.events_for(DEFAULT_USER_EMAIL)] == [event_id]
    assert reload(appointment).google_event_id == event_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fault", [RATE_LIMIT_429, RATE_LIMIT_403, USER_RATE_LIMIT_403, BACKEND_ERROR_500]
)
def test_rate_limits_and_server_errors_are_retried_with_backoff(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    fault: tuple[int, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from alt.lib import retry as lib_tasks
    from integrations.google_calendar import tasks as tasks_module

    countdowns: list[float] = []

    def recording_backoff(retries: int) -> float:
        value = lib_tasks.backoff_seconds(retries)
        countdowns.append(value)
        return value

    monkeypatch.setattr(tasks_module, "backoff_seconds", recording_backoff)
    contact = new_contact(connected)
    google.fail_calendar_next(fault, times=2)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()

    assert len(google.requests_to("POST", r"/events$")) == 3
    assert len(live_events(google, DEFAULT_USER_EMAIL)) == 1
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.SYNCED
    assert stored.sync_error == ""
    assert stored.sync_attempts == 0
    assert len(countdowns) == 3  # one per attempt, each drawn with jitter under its cap
    assert all(0 <= c <= 2.0 * 2**i for i, c in enumerate(countdowns))


def test_a_fault_that_outlasts_the_retries_goes_back_to_the_sweeper_not_to_a_person(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    from alt.lib.retry import MAX_RETRIES
    from integrations.google_calendar.tasks import calendar_sync_sweep

    contact = new_contact(connected)
    google.fail_calendar_next(BACKEND_ERROR_500, times=MAX_RETRIES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.PENDING  # transient: never "failed"
    assert stored.sync_error == "Google Calendar is busy. ALT will try again by itself."
    assert stored.sync_attempts == MAX_RETRIES + 1
    assert len(google.requests_to("POST", r"/events$")) == MAX_RETRIES + 1  # bounded
    assert live_events(google, DEFAULT_USER_EMAIL) == []
    assert stored.sync_requested_at is not None
    assert stored.sync_requested_at > timezone.now() + timedelta(minutes=4)
    calendar_sync_sweep.apply()
    assert outbox.sent == []  # not before its window

    # The window passes.
    Appointment.objects.for_workspace(stored.workspace).filter(id=stored.id).update(
        sync_requested_at=timezone.now() - timedelta(minutes=2)
    )
    calendar_sync_sweep.apply()
    outbox.drain()

    retried = reload(appointment)
    assert retried is not None
    assert retried.sync_state == Appointment.Sync.SYNCED
    assert len(live_events(google, DEFAULT_USER_EMAIL)) == 1


def test_a_bad_request_fails_at_once_without_retries(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    google.fail_calendar_next((400, {"error": {"errors": [{"domain": "global", "reason": "invalid", "message": "Invalid value"}], "code": 400, "message": "Invalid value"}}))  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    outbox.drain()

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.FAILED
    assert stored.sync_error == "Google Calendar refused to create the event: Invalid value."
    assert len(google.requests_to("POST", r"/events$")) == 1


def test_an_expired_access_token_is_refreshed_once_and_kept(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.conftest import connection_of

    before = connection_of(connected)
    assert before is not None
    google.expire_access_tokens()  # ALT still believes its token is good for an hour
    contact = new_contact(connected)

    with django_capture_on_commit_callbacks(execute=True):
        book(connected, contact)
    outbox.drain()

    calls = [(r.method, r.path) for r in google.requests]
    assert calls == [
        ("POST", "/calendar/v3/calendars/primary/events"),  # 401
        ("POST", "/token"),
        ("POST", "/calendar/v3/calendars/primary/events"),
    ]
    after = connection_of(connected)
    assert after is not None
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token


def test_a_delete_racing_an_unfinished_insert_leaves_no_orphan(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
    real_upsert = engine._upsert

    def insert_while_the_agent_deletes(client: Any, locked: Appointment, *args: Any) -> str:
        event_id = real_upsert(client, locked, *args)
        # The agent deletes while Google is answering the insert. The push holds the row lock, so
        # in production the delete waits for this round; here it lands right after it.
        monkeypatch.setattr(engine, "_upsert", real_upsert)
        Appointment.objects.for_workspace(locked.workspace).filter(id=locked.id).update(
            deleted_at=locked.starts_at, sync_state=Appointment.Sync.PENDING
        )
        return event_id

    monkeypatch.setattr(engine, "_upsert", insert_while_the_agent_deletes)
    outbox.drain()

    assert pushes(google) == [("POST", "events"), ("DELETE", event_id_for(appointment))]
    assert live_events(google, DEFAULT_USER_EMAIL) == []
    assert reload(appointment) is None


def test_an_edit_racing_an_unfinished_insert_is_pushed_too(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact, title="Old title")
    real_upsert = engine._upsert

    def insert_while_the_agent_edits(client: Any, locked: Appointment, *args: Any) -> str:
        event_id = real_upsert(client, locked, *args)
        monkeypatch.setattr(engine, "_upsert", real_upsert)
        Appointment.objects.for_workspace(locked.workspace).filter(id=locked.id).update(
            title="New title", version=locked.version + 1, sync_state=Appointment.Sync.PENDING
        )
        return event_id

    monkeypatch.setattr(engine, "_upsert", insert_while_the_agent_edits)
    outbox.drain()

    [event] = google.events_for(DEFAULT_USER_EMAIL)
    assert event["summary"] == "New title"
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.SYNCED
    assert stored.synced_version == stored.version == 2


def test_a_delete_before_the_first_push_still_removes_an_unrecorded_insert(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    contact = new_contact(connected)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, contact)
        appointment_delete(appointment=appointment, actor=connected)

    outbox.drain()

    assert google.requests_to("POST", r"/events$") == []
    assert pushes(google) == [("DELETE", event_id_for(appointment))]  # 404: nothing was there
    assert reload(appointment) is None


def test_the_sweeper_resends_only_what_is_pending_for_over_a_minute(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    from integrations.google_calendar.tasks import calendar_sync_sweep

    contact = new_contact(connected)
    lost = book(connected, contact, title="Lost message")  # its on-commit job never ran
    fresh = book(connected, contact, title="Just booked")
    Appointment.objects.for_workspace(lost.workspace).filter(id=lost.id).update(
        sync_requested_at=timezone.now() - timedelta(minutes=2)
    )

    calendar_sync_sweep.apply()
    assert [args for _task, args in outbox.sent] == [(lost.workspace_id, lost.id)]
    assert appointments_sweep_claim() == []  # claimed: a second sweep right away finds nothing
    outbox.drain()

    assert [e["summary"] for e in google.events_for(DEFAULT_USER_EMAIL)] == ["Lost message"]
    assert reload(fresh).sync_state == Appointment.Sync.PENDING  # type: ignore[union-attr]


def test_appointments_of_an_agent_without_a_calendar_are_not_synced(
    alice: Any, bob: Any, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    contact = new_contact(alice)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(alice, contact, agent=bob)

    assert appointment.sync_state == Appointment.Sync.OFF
    assert outbox.sent == []
    with django_capture_on_commit_callbacks(execute=True):
        appointment_delete(appointment=appointment, actor=alice)
    assert reload(appointment) is None  # nothing to wait for: gone at once
    assert google.requests == []


def test_the_event_id_is_base32hex_and_stable() -> None:
    appointment = Appointment(id=42, workspace_id=7)

    event_id = event_id_for(appointment)

    assert event_id == event_id_for(Appointment(id=42, workspace_id=7))
    assert event_id != event_id_for(Appointment(id=43, workspace_id=7))
    assert 5 <= len(event_id) <= 1024
    assert set(event_id) <= set("abcdefghijklmnopqrstuv0123456789")
