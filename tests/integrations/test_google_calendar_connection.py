"""Connecting, disconnecting and reconnecting Google Calendar: GC-1, GC-6, GC-7, GC-8, GC-10."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection as db
from django.test import Client

from appointments.models import Appointment
from appointments.services import appointment_delete, appointment_update
from integrations.google_calendar.models import CalendarConnection
from integrations.google_calendar.oauth import SESSION_KEY
from integrations.google_calendar.services import calendar_disconnect
from integrations.sandbox.google import DEFAULT_CLIENT_ID, DEFAULT_USER_EMAIL, GoogleEmulator
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
SCOPE = "https://www.googleapis.com/auth/calendar.events"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# == GC-1: the consent request ====================================================================
@pytest.mark.promise("GC-1")
def test_the_consent_screen_asks_for_exactly_the_one_scope_with_pkce_and_state(
    alice_client: Client, google: GoogleEmulator
) -> None:
    response = alice_client.post("/settings/calendar/connect/")

    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{google.base_url}/o/oauth2/auth?")
    sent = query(url)
    assert sent["scope"] == [SCOPE]
    assert sent["client_id"] == [DEFAULT_CLIENT_ID]
    assert sent["response_type"] == ["code"]
    assert sent["access_type"] == ["offline"]
    assert sent["prompt"] == ["consent"]
    assert "include_granted_scopes" not in sent
    assert sent["code_challenge_method"] == ["S256"]
    saved = alice_client.session[SESSION_KEY]
    assert sent["state"] == [saved["state"]]
    verifier = saved["code_verifier"].encode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
    assert sent["code_challenge"] == [challenge]


@pytest.mark.promise("GC-1")
def test_connecting_lands_back_on_settings_with_the_connected_badge(
    alice: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox
) -> None:
    response = connect_through_views(alice_client, google)

    assert response.status_code == 302
    assert response["Location"] == "/settings/calendar/"
    page = alice_client.get("/settings/calendar/").content.decode()
    assert '<span class="badge badge-ok" id="calendar-status">Connected</span>' in page
    assert "Google Calendar is connected" in page
    assert ">Disconnect</button>" in page
    connection = connection_of(alice)
    assert connection is not None
    assert connection.is_connected
    assert connection.scopes == SCOPE
    assert connection.refresh_token
    assert connection.access_token
    exchange = google.requests_to("POST", r"^/token$")[-1]
    assert "code_verifier" in exchange.form()
    cards = alice_client.get("/settings/").content.decode()
    assert "Calendar Sync" in cards
    assert "Connected" in cards
    assert "Coming soon</span></div>\n    <p>Push" not in cards


@pytest.mark.promise("GC-1")
def test_a_forged_state_is_refused_and_nothing_is_stored(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    start = alice_client.post("/settings/calendar/connect/")
    redirect = google.auto_approve(start["Location"])
    code = query(redirect)["code"][0]

    response = alice_client.get(
        "/settings/calendar/callback/", {"state": "forged-state", "code": code}, follow=True
    )

    assert "did not start from this browser" in response.content.decode()
    assert connection_of(alice) is None
    assert google.requests_to("POST", r"^/token$") == []  # the code was never exchanged


def test_a_callback_without_a_started_connect_is_refused(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    response = alice_client.get(
        "/settings/calendar/callback/", {"state": "x", "code": "4/0Aabc"}, follow=True
    )

    assert "did not start from this browser" in response.content.decode()
    assert connection_of(alice) is None


def test_cancelling_on_googles_screen_is_explained(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    start = alice_client.post("/settings/calendar/connect/")
    denied = urlsplit(google.auto_deny(start["Location"]))

    response = alice_client.get(f"{denied.path}?{denied.query}", follow=True)

    page = response.content.decode()
    assert "You cancelled on Google&#x27;s screen" in page
    assert "Connect Google Calendar</button>" in page
    assert connection_of(alice) is None


def test_a_grant_without_the_calendar_scope_is_refused(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    google.granted_scope_override = "openid"  # the person unticked the calendar box

    response = connect_through_views(alice_client, google)

    assert response.status_code == 302
    assert (
        "did not grant access to your calendar"
        in alice_client.get("/settings/calendar/").content.decode()
    )
    assert connection_of(alice) is None


def test_connect_needs_a_post(alice_client: Client, google: GoogleEmulator) -> None:
    assert alice_client.get("/settings/calendar/connect/").status_code == 405


# == GC-6: tokens at rest =========================================================================
@pytest.mark.promise("GC-6")
def test_tokens_are_aes_gcm_ciphertext_in_the_database(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    connect_through_views(alice_client, google)
    connection = connection_of(alice)
    assert connection is not None
    [refresh_token] = list(google.refresh_tokens)

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token, user_id FROM google_calendar_calendarconnection"
        )
        access_raw, refresh_raw, user_id = cursor.fetchone()

    assert user_id == alice.id  # tied to the user
    assert refresh_token == connection.refresh_token
    for raw, plain in ((access_raw, connection.access_token), (refresh_raw, refresh_token)):
        assert raw.startswith("alt1$")
        assert plain not in raw
        assert plain[:12] not in raw
    assert repr(connection.refresh_token) == "Secret('********')"


# == GC-7: disconnect =============================================================================
@pytest.mark.promise("GC-7")
def test_disconnect_deletes_both_tokens_revokes_and_stops_sync_but_events_stay(
    alice: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        connect_through_views(alice_client, google)
    contact = new_contact(alice)
    with django_capture_on_commit_callbacks(execute=True):
        pushed = book(alice, contact, title="Pushed before disconnect")
    outbox.drain()
    [refresh_token] = list(google.refresh_tokens)
    page = alice_client.get("/settings/calendar/").content.decode()
    assert 'data-confirm="Disconnect Google Calendar?' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/settings/calendar/disconnect/", follow=True)

    assert "Google Calendar is disconnected" in response.content.decode()
    assert connection_of(alice) is None  # one DELETE: both tokens gone together
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM google_calendar_calendarconnection")
        assert cursor.fetchone() == (0,)
    [revoke] = google.requests_to("POST", r"^/revoke$")
    assert revoke.query["token"] == [refresh_token]
    assert google.refresh_tokens[refresh_token].revoked
    assert [e["summary"] for e in live_events(google, DEFAULT_USER_EMAIL)] == [
        "Pushed before disconnect"
    ]

    calls_before = len(google.requests)
    with django_capture_on_commit_callbacks(execute=True):
        later = book(alice, contact, title="After disconnect")
        appointment_update(appointment=reload(pushed), actor=alice, title="Renamed")  # type: ignore[arg-type]
        appointment_delete(appointment=later, actor=alice)
    outbox.drain()

    assert len(google.requests) == calls_before  # no more calls of any kind
    assert reload(pushed).sync_state == Appointment.Sync.OFF  # type: ignore[union-attr]
    assert reload(pushed).google_event_id  # type: ignore[union-attr]
    assert (
        "Connect Google Calendar</button>"
        in alice_client.get("/settings/calendar/").content.decode()
    )


@pytest.mark.promise("GC-7")
def test_disconnect_can_also_forget_the_stored_event_ids(
    alice: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        connect_through_views(alice_client, google)
        appointment = book(alice, new_contact(alice))
    outbox.drain()
    assert reload(appointment).google_event_id  # type: ignore[union-attr]

    revoked = calendar_disconnect(connection_of(alice), forget_event_ids=True)  # type: ignore[arg-type]

    assert revoked is True
    stored = reload(appointment)
    assert stored is not None
    assert stored.google_event_id == ""
    assert stored.synced_version == 0
    assert connection_of(alice) is None


def test_disconnect_still_deletes_the_tokens_when_google_cannot_be_reached(
    alice: Any, alice_client: Client, google: GoogleEmulator, settings: Any
) -> None:
    connect_through_views(alice_client, google)
    settings.GOOGLE_OAUTH_REVOKE_URL = "http://127.0.0.1:9/revoke"  # nothing listens there

    alice_client.post("/settings/calendar/disconnect/")

    assert connection_of(alice) is None


# == GC-8: Google refuses the refresh token ======================================================
@pytest.mark.promise("GC-8")
def test_invalid_grant_journey_banner_one_email_no_storm_reconnect_catch_up(
    alice: Any, alice_client: Client, google: GoogleEmulator, outbox: Outbox,
    django_capture_on_commit_callbacks: Any, settings: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        connect_through_views(alice_client, google)
    contact = new_contact(alice)
    with django_capture_on_commit_callbacks(execute=True):
        kept = book(alice, contact, title="Synced before")
        doomed = book(alice, contact, title="Deleted while disconnected")
    outbox.drain()
    # The grant dies on Google's side (revoked, or the 7-day Testing expiry).
    google.expire_access_tokens()
    google.expire_refresh_tokens()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = book(alice, contact, title="Made while revoked")
        second = book(alice, contact, title="Also made while revoked")
    outbox.drain()

    connection = connection_of(alice)
    assert connection is not None
    assert connection.status == CalendarConnection.Status.NEEDS_RECONNECT
    assert [reload(a).sync_state for a in (first, second)] == [Appointment.Sync.WAITING] * 2  # type: ignore[union-attr]
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert "Reconnect Google Calendar" in email.subject
    assert f"{settings.SITE_URL}/settings/calendar/" in email.body
    page = alice_client.get("/dashboard/").content.decode()
    assert "Google Calendar stopped accepting ALT" in page
    assert "Reconnect Google Calendar</a>" in page
    assert "Needs reconnect" in alice_client.get("/settings/").content.decode()

    # No retry storm: more changes wait quietly, no calls, no second email.
    token_calls = len(google.requests_to("POST", r"^/token$"))
    calendar_calls = len([r for r in google.requests if google.calendar_request(r)])
    with django_capture_on_commit_callbacks(execute=True):
        third = book(alice, contact, title="Third while revoked")
        appointment_update(appointment=reload(kept), actor=alice, title="Synced before, renamed")  # type: ignore[arg-type]
        appointment_delete(appointment=doomed, actor=alice)
    outbox.drain()
    from integrations.google_calendar.tasks import calendar_sync_sweep

    calendar_sync_sweep.apply()
    outbox.drain()
    assert len(google.requests_to("POST", r"^/token$")) == token_calls
    assert len([r for r in google.requests if google.calendar_request(r)]) == calendar_calls
    assert len(mail.outbox) == 1
    assert reload(third).sync_state == Appointment.Sync.WAITING  # type: ignore[union-attr]

    # Reconnect: the banner goes, and everything missed is pushed.
    with django_capture_on_commit_callbacks(execute=True):
        response = connect_through_views(alice_client, google)
    assert response["Location"] == "/settings/calendar/"
    outbox.drain()

    summaries = sorted(e["summary"] for e in live_events(google, DEFAULT_USER_EMAIL))
    assert summaries == [
        "Also made while revoked",
        "Made while revoked",
        "Synced before, renamed",
        "Third while revoked",
    ]
    assert reload(doomed) is None
    for appointment in (first, second, third, kept):
        assert reload(appointment).sync_state == Appointment.Sync.SYNCED  # type: ignore[union-attr]
    assert (
        "Google Calendar stopped accepting ALT"
        not in alice_client.get("/dashboard/").content.decode()
    )
    connection = connection_of(alice)
    assert connection is not None
    assert connection.is_connected
    assert connection.reconnect_email_sent_at is None  # a later outage emails again


@pytest.mark.promise("GC-8")
def test_the_banner_is_only_for_the_user_whose_calendar_needs_reconnecting(
    alice: Any, bob: Any, alice_client: Client, bob_client: Client, google: GoogleEmulator
) -> None:
    connect_through_views(alice_client, google)
    CalendarConnection.objects.for_workspace(alice.memberships.get().workspace).update(
        status=CalendarConnection.Status.NEEDS_RECONNECT
    )

    assert (
        "Google Calendar stopped accepting ALT" in alice_client.get("/dashboard/").content.decode()
    )
    assert (
        "Google Calendar stopped accepting ALT"
        not in bob_client.get("/dashboard/").content.decode()
    )


# == GC-10: the admin =============================================================================
@pytest.mark.promise("GC-10")
def test_the_admin_change_page_of_a_connection_shows_no_token(
    alice: Any, alice_client: Client, google: GoogleEmulator
) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import create_user

    connect_through_views(alice_client, google)
    connection = connection_of(alice)
    assert connection is not None
    staff = create_user(email="staff@example.com", is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())  # the staff admin requires two-factor
    client = Client()
    client.force_login(staff)

    change = client.get(f"/staff/google_calendar/calendarconnection/{connection.id}/change/")
    listing = client.get("/staff/google_calendar/calendarconnection/")

    assert change.status_code == listing.status_code == 200
    for page in (change.content.decode(), listing.content.decode()):
        assert str(connection.access_token) not in page
        assert str(connection.refresh_token) not in page
        assert "alt1$" not in page
        assert "access_token" not in page
        assert "refresh_token" not in page
    assert "Connected" in change.content.decode()


# == make run ===================================================================================
def test_make_run_points_google_at_the_emulator_unless_real_credentials_are_set() -> None:
    from integrations.sandbox.registry import sandbox_environment

    sandbox = sandbox_environment({})
    real = sandbox_environment({"GOOGLE_CLIENT_ID": "123.apps.googleusercontent.com"})

    assert sandbox["GOOGLE_CLIENT_ID"] == DEFAULT_CLIENT_ID
    assert (
        sandbox["GOOGLE_OAUTH_TOKEN_URL"] == f"http://127.0.0.1:{GoogleEmulator.default_port}/token"
    )
    assert sandbox["GOOGLE_CALENDAR_API_URL"].endswith("/calendar/v3/")
    assert not any(key.startswith("GOOGLE_") for key in real)


def test_a_client_id_without_a_secret_fails_the_system_check(settings: Any) -> None:
    from integrations.google_calendar.checks import google_settings_complete

    settings.GOOGLE_CLIENT_ID = "123.apps.googleusercontent.com"
    settings.GOOGLE_CLIENT_SECRET = ""

    assert [e.id for e in google_settings_complete(None)] == ["google_calendar.E001"]
    settings.GOOGLE_CLIENT_SECRET = "s3cret"
    assert google_settings_complete(None) == []
