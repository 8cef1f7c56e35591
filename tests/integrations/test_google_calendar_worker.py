"""The sync through a real Celery worker subprocess: web request -> Redis -> worker -> Google."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from appointments.models import Appointment
from appointments.services import appointment_delete, appointment_update
from integrations.sandbox.google import BACKEND_ERROR_500, RATE_LIMIT_429, GoogleEmulator
from tests.conftest import (
    book,
    connect_through_views,
    live_events,
    new_contact,
    reload,
    wait_for,
)

pytestmark = pytest.mark.worker
EMAIL = "alice.calendar@example.com"


@pytest.mark.promise("GC-3")
@pytest.mark.promise("GC-4")
def test_a_real_worker_creates_edits_and_deletes_the_event(
    celery_worker: Any, google: GoogleEmulator, alice: Any
) -> None:
    client = Client()
    client.force_login(alice)
    connect_through_views(client, google, email=EMAIL)
    contact = new_contact(alice)
    google.fail_calendar_next(RATE_LIMIT_429)  # the first insert is rate limited: retried

    appointment = book(alice, contact, title="Showing")

    [event] = wait_for(lambda: live_events(google, EMAIL), timeout=30)
    assert event["summary"] == "Showing"
    synced = wait_for(
        lambda: (a := reload(appointment)) and a.sync_state == Appointment.Sync.SYNCED and a,
        timeout=30,
    )
    assert synced.google_event_id == event["id"]

    google.fail_calendar_next(BACKEND_ERROR_500)
    start = datetime(2031, 1, 5, 15, 0, tzinfo=UTC)
    appointment_update(
        appointment=synced,
        actor=alice,
        title="Showing, moved",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    wait_for(
        lambda: [e for e in live_events(google, EMAIL) if e["summary"] == "Showing, moved"],
        timeout=30,
    )

    appointment_delete(appointment=reload(appointment), actor=alice)  # type: ignore[arg-type]
    wait_for(lambda: reload(appointment) is None, timeout=30)
    assert live_events(google, EMAIL) == []
    assert len(google.events_for(EMAIL)) == 1  # one event ever: retries never made a second
