"""The sync against Google's harsher answers: quotas that last hours, Retry-After, refresh tokens
refused for reauthentication, time zones Google does not know, descriptions over its cap, and the
protections that keep deployments and the sweeper in place."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from google.auth.exceptions import ReauthFailError, RefreshError

from alt.lib.retry import MAX_DELAY_SECONDS, MAX_RETRIES
from appointments.models import Appointment
from appointments.services import appointment_update
from integrations.google_calendar import client as google_client
from integrations.google_calendar.models import CalendarConnection
from integrations.google_calendar.push import SWEEP_RETRY_MAX_SECONDS, event_id_for
from integrations.google_calendar.tasks import calendar_event_push, calendar_sync_sweep
from integrations.sandbox.google import (
    DAILY_LIMIT_403,
    DEFAULT_USER_EMAIL,
    QUOTA_EXCEEDED_403,
    RATE_LIMIT_429,
    USER_RATE_LIMIT_403,
    GoogleEmulator,
    google_error,
)
from tests.conftest import (
    START,
    Outbox,
    book,
    connection_of,
    live_events,
    new_contact,
    parse,
    reload,
)

pytestmark = pytest.mark.django_db
QUOTA_429 = (429, google_error(429, "quotaExceeded", "Quota exceeded", domain="usageLimits"))
DEVELOPER_WORDS = ("gcloud", "reauth", "rapt", "application-default")


@pytest.fixture
def countdowns(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The countdown of every retry the push task asks Celery for."""
    seen: list[float] = []
    real_retry = calendar_event_push.retry

    def recording_retry(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(calendar_event_push, "retry", recording_retry)
    return seen


def inserts(google: GoogleEmulator) -> int:
    return len(google.requests_to("POST", r"/events$"))


# == rate limits and quotas ======================================================================
@pytest.mark.promise("GC-3")
@pytest.mark.parametrize(
    "fault", [QUOTA_EXCEEDED_403, DAILY_LIMIT_403, USER_RATE_LIMIT_403, RATE_LIMIT_429, QUOTA_429]
)
def test_a_quota_outage_of_hours_ends_in_sync_by_itself(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    fault: tuple[int, Any],
) -> None:  # fmt: skip
    with time_machine.travel(timezone.now(), tick=False) as clock:
        google.quota_outage(6 * 3600, fault)
        with django_capture_on_commit_callbacks(execute=True):
            appointment = book(connected, new_contact(connected))
        outbox.drain()

        stored = reload(appointment)
        assert stored is not None
        assert stored.sync_state == Appointment.Sync.PENDING  # never "failed": no person needed
        assert stored.sync_error == "Google Calendar is busy. ALT will try again by itself."
        assert inserts(google) == MAX_RETRIES + 1  # the task's retries, then it let go
        windows: list[float] = []
        while stored.sync_state == Appointment.Sync.PENDING:
            assert stored.sync_requested_at is not None
            windows.append((stored.sync_requested_at - timezone.now()).total_seconds())
            calendar_sync_sweep.apply()
            assert outbox.sent == []  # the sweeper respects the window
            clock.move_to(stored.sync_requested_at + timedelta(seconds=61))
            calendar_sync_sweep.apply()
            outbox.drain()
            stored = reload(appointment)
            assert stored is not None
            assert len(windows) < 20, "it never synced"

        assert stored.sync_state == Appointment.Sync.SYNCED
        assert len(live_events(google, DEFAULT_USER_EMAIL)) == 1
        assert windows == sorted(windows)  # the window grows...
        assert windows[-1] > windows[0]
        assert max(windows) <= SWEEP_RETRY_MAX_SECONDS  # ...up to a cap
        # After the first hand-over each window costs Google one call, not a retry storm.
        assert inserts(google) == MAX_RETRIES + len(windows) + 1


@pytest.mark.parametrize("fault", [RATE_LIMIT_429, DAILY_LIMIT_403])
def test_the_task_waits_at_least_as_long_as_retry_after_says(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    countdowns: list[float], fault: tuple[int, Any],
) -> None:  # fmt: skip
    google.fail_next(*fault, when=google.calendar_request, headers={"Retry-After": "120"})

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, new_contact(connected))
    outbox.drain()

    assert len(countdowns) == 1
    assert countdowns[0] >= 120  # the backoff alone is at most 2 s here
    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]


def test_a_retry_after_longer_than_a_task_should_wait_goes_to_the_sweeper(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    countdowns: list[float],
) -> None:  # fmt: skip
    google.quota_outage(7200, DAILY_LIMIT_403, retry_after_seconds=3600)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, new_contact(connected))
    outbox.drain()

    assert MAX_DELAY_SECONDS < 3600
    assert countdowns == []  # no hour-long countdown sitting in the broker
    assert inserts(google) == 1
    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.PENDING
    assert stored.sync_requested_at is not None
    assert stored.sync_requested_at >= timezone.now() + timedelta(seconds=3590)


# == refresh tokens refused for reauthentication (GC-8) ===========================================
@pytest.mark.promise("GC-8")
@pytest.mark.parametrize("how", ["invalid_rapt", "reauth_fail_error"])
def test_a_reauthentication_demand_needs_a_reconnect_told_in_our_own_words(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:  # fmt: skip
    google.expire_access_tokens()
    if how == "invalid_rapt":
        google.require_reauth()  # google-auth: "Reauthentication is needed. Please run `gcloud...`"
    else:
        from google.oauth2 import reauth

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ReauthFailError("Failed to obtain rapt token.")

        monkeypatch.setattr(reauth, "refresh_grant", fail)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = book(connected, new_contact(connected), title="First")
        second = book(connected, new_contact(connected, "Ana"), title="Second")
    outbox.drain()

    connection = connection_of(connected)
    assert connection is not None
    assert connection.status == CalendarConnection.Status.NEEDS_RECONNECT
    assert [reload(a).sync_state for a in (first, second)] == [Appointment.Sync.WAITING] * 2  # type: ignore[union-attr]
    [email] = mail.outbox  # one email
    shown = [email.subject, email.body, connection.last_error]
    shown += [reload(a).sync_error for a in (first, second)]  # type: ignore[union-attr]
    for text in shown:
        assert not any(word in text.lower() for word in DEVELOPER_WORDS), text
    assert reload(first).sync_error == "Waiting for you to reconnect Google Calendar."  # type: ignore[union-attr]
    assert inserts(google) == 1  # the first push found out (401, refresh refused); no storm


@pytest.mark.promise("GC-8")
@pytest.mark.parametrize(
    "error",
    [
        RefreshError(
            "Reauthentication is needed. Please run `gcloud auth application-default login` to "
            "reauthenticate."
        ),
        ReauthFailError("Failed to obtain rapt token."),
        RefreshError(
            "invalid_grant: reauth related error (invalid_rapt)",
            {"error": "invalid_grant", "error_subtype": "invalid_rapt"},
        ),
    ],
)
def test_every_reauthentication_error_of_google_auth_means_reconnect(error: RefreshError) -> None:
    mapped = google_client._refresh_error(error)

    assert (mapped.code, mapped.permanent) == ("invalid_grant", True)
    assert not any(word in mapped.message.lower() for word in DEVELOPER_WORDS)


def test_another_refused_refresh_is_told_in_our_words_too() -> None:
    mapped = google_client._refresh_error(
        RefreshError("invalid_client: The OAuth client was not found.", {"error": "invalid_client"})
    )

    assert mapped.message == "Google refused to renew ALT's access to your calendar"
    assert mapped.code == "refresh_refused"


# == time zones Google does not know ============================================================
@pytest.mark.promise("GC-3")
def test_a_time_zone_google_rejects_is_left_out_and_the_utc_instant_kept(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    assert "Europe/Kyiv" in google.rejected_time_zones  # as Google did for months after 2022b
    type(connected).objects.filter(id=connected.id).update(timezone="Europe/Kyiv")
    connected.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, new_contact(connected))
    outbox.drain()
    with django_capture_on_commit_callbacks(execute=True):
        appointment_update(appointment=reload(appointment), actor=connected, title="Moved")  # type: ignore[arg-type]
    outbox.drain()

    [event] = live_events(google, DEFAULT_USER_EMAIL)
    assert event["summary"] == "Moved"
    assert parse(event["start"]["dateTime"]) == START
    assert parse(event["end"]["dateTime"]) == START + timedelta(hours=1)
    sent = [r.json()["start"] for r in google.requests if google.calendar_request(r)]
    assert sent == [
        {"dateTime": "2030-05-02T17:00:00Z", "timeZone": "Europe/Kyiv"},  # 400
        {"dateTime": "2030-05-02T17:00:00Z"},
        {"dateTime": "2030-05-02T17:00:00Z", "timeZone": "Europe/Kyiv"},  # 400
        {"dateTime": "2030-05-02T17:00:00Z"},
    ]
    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]


# == long notes ===================================================================================
@pytest.mark.promise("GC-3")
@pytest.mark.parametrize("unit", ["n", "é", "😀"])
def test_long_notes_are_cut_with_an_ellipsis_and_a_link_to_the_appointment(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    unit: str,
) -> None:  # fmt: skip
    notes = "Seller's disclosures. " + unit * 9000

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, new_contact(connected), notes=notes)
    outbox.drain()

    assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]
    [event] = live_events(google, DEFAULT_USER_EMAIL)
    description = event["description"]
    link = f"{django_settings.SITE_URL}/appointments/{appointment.id}/"
    assert description.endswith(f"…\n\nFull notes in ALT: {link}")
    assert description.startswith("Seller's disclosures. " + unit * 100)
    assert len(description.encode("utf-16-le")) // 2 <= 8192


def test_notes_that_fit_are_sent_whole(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    notes = "n" * 8192

    with django_capture_on_commit_callbacks(execute=True):
        book(connected, new_contact(connected), notes=notes)
    outbox.drain()

    assert live_events(google, DEFAULT_USER_EMAIL)[0]["description"] == notes


# == messages agents read ========================================================================
@pytest.mark.parametrize("google_message", ["Invalid value", "Invalid value."])
def test_an_error_shown_to_the_agent_ends_with_one_full_stop(
    connected: Any, google: GoogleEmulator, outbox: Outbox, django_capture_on_commit_callbacks: Any,
    google_message: str,
) -> None:  # fmt: skip
    google.fail_calendar_next((400, google_error(400, "invalid", google_message)))

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(connected, new_contact(connected))
    outbox.drain()

    stored = reload(appointment)
    assert stored is not None
    assert stored.sync_state == Appointment.Sync.FAILED
    assert stored.sync_error == "Google Calendar refused to create the event: Invalid value."


# == protections =================================================================================
def test_event_ids_differ_between_deployments() -> None:
    appointment = Appointment(id=42, workspace_id=7)

    with override_settings(SITE_URL="https://alt.example.com"):
        production = event_id_for(appointment)
    with override_settings(SITE_URL="https://staging.alt.example.com"):
        staging = event_id_for(appointment)
        assert event_id_for(appointment) == staging  # stable within a deployment

    assert staging != production  # staging can never patch production's event


def test_a_restored_event_gets_an_id_of_its_own_per_restore() -> None:
    appointment = Appointment(id=42, workspace_id=7)
    first, second = timezone.now(), timezone.now() + timedelta(seconds=1)

    ids = {
        event_id_for(appointment),
        event_id_for(appointment, restore_of=first),
        event_id_for(appointment, restore_of=second),
    }

    assert len(ids) == 3
    assert event_id_for(appointment, restore_of=first) == event_id_for(
        appointment, restore_of=first
    )


def production_settings() -> Any:
    """alt/settings.py executed afresh: what production runs, whatever tests/settings.py does."""
    spec = importlib.util.find_spec("alt.settings")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.promise("GC-3")
def test_the_calendar_sweeper_is_on_productions_beat_schedule_and_tests_do_not_hide_it() -> None:
    from alt.celery import app

    schedule = production_settings().CELERY_BEAT_SCHEDULE

    sweeps = [e for e in schedule.values() if e["task"] == calendar_sync_sweep.name]
    assert len(sweeps) == 1
    assert float(sweeps[0]["schedule"]) <= 60.0  # lost pushes are found within a minute or so
    assert sweeps[0]["task"] in app.tasks
    assert schedule == django_settings.CELERY_BEAT_SCHEDULE
    assert app.conf.beat_schedule == schedule  # what `celery beat` reads
