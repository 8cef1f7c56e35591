"""Appointments in a real browser: the pages at phone and desktop width, and the whole Google
Calendar journey (connect through Google's consent page, book, reschedule, delete, disconnect)
with the push going through a real Celery worker to the Google emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from appointments.models import Appointment
from appointments.services import appointment_create
from contacts.models import Contact, Property
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from integrations.google_calendar.models import CalendarConnection
from integrations.sandbox.google import GoogleEmulator
from tests.browser.conftest import sign_in
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
LA = ZoneInfo("America/Los_Angeles")
EMAIL = "alice.calendar@example.com"


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _at(day: Any, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LA)


def _week_of_appointments(ws: Any, alice: Any, maria: Contact, other: Contact) -> None:
    today = timezone.localdate(timezone.now(), LA)
    monday = today - timedelta(days=today.weekday())
    prop = Property.objects.create(
        workspace=ws, street="4821 Coronado Avenue", unit="Unit 12", city="San Diego",
        state="CA", zip_code="92107",
    )  # fmt: skip
    plan = [
        (today, 9, 30, 60, "tour", "", maria, prop),
        (today, 13, 0, 45, "call", "Follow-up call with Maria Lopez-Hernández", maria, None),
        (today, 16, 30, 90, "listing", "", other, None),
        (today + timedelta(days=1), 11, 0, 60, "open_house", "Open house on Coronado", other, prop),
        (monday + timedelta(days=2), 18, 0, 30, "other", "Inspection debrief", maria, None),
        (monday + timedelta(days=4), 10, 0, 60, "tour", "", other, None),
    ]
    states = ["synced", "pending", "failed", "waiting", "synced", "off"]
    for (day, hour, minute, length, kind, title, who, where), state in zip(
        plan, states, strict=True
    ):
        start = _at(day, hour, minute)
        appointment = appointment_create(
            workspace=ws, actor=alice, contact=who, kind=kind,
            title=title or f"{Appointment.Kind(kind).label} with {who.name}",
            starts_at=start, ends_at=start + timedelta(minutes=length),
            location=str(where) if where else "", property=where,
        )  # fmt: skip
        Appointment.objects.for_workspace(ws).filter(id=appointment.id).update(
            sync_state=state,
            sync_error="Google refused the event: the end time is before the start."
            if state == "failed"
            else "",
        )


def test_the_appointment_pages_fit_a_phone_and_a_desktop(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    maria = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez-Hernández", phones=["+14155550123"]),
    )  # fmt: skip
    other = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Jonathan", last_name="Whitfield-Abernathy"),
    )  # fmt: skip
    _week_of_appointments(ws, alice, maria, other)
    failed = Appointment.objects.for_workspace(ws).get(sync_state="failed")
    sign_in(page, alice, live_server.url)

    pages = [
        ("agenda", "/appointments/"),
        ("week", "/appointments/week/"),
        ("form", f"/appointments/new/?contact={maria.id}"),
        ("contact", f"/contacts/{maria.id}/"),
        ("dashboard", "/dashboard/"),
        ("edit-failed", f"/appointments/{failed.id}/"),
        ("help", "/help/google-calendar/"),
    ]
    for name, url in pages:
        page.goto(f"{live_server.url}{url}")
        assert _page_width(page) <= 390, f"{name} is wider than a phone"
        screenshot(f"{name}-390")
    page.set_viewport_size(DESKTOP)
    for name, url in pages:
        page.goto(f"{live_server.url}{url}")
        assert _page_width(page) <= 1280, f"{name} is wider than the window"
        screenshot(f"{name}-1280")

    # Seven columns side by side on a desktop, one under the other on a phone.
    page.goto(f"{live_server.url}/appointments/week/")
    tops = page.locator(".week-day").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().top)"
    )
    assert len(set(tops)) == 1
    assert len(tops) == 7
    page.set_viewport_size({"width": 390, "height": 844})
    tops = page.locator(".week-day").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().top)"
    )
    assert tops == sorted(tops)
    assert len(set(tops)) == 7

    # The end time shows only when the agent asks for one.
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    page.get_by_role("link", name="Book appointment").click()
    expect(page.get_by_label("Ends at")).to_be_hidden()
    page.get_by_label("Length").select_option(label="Set an end time")
    expect(page.get_by_label("Ends at")).to_be_visible()
    page.get_by_label("Date").fill(
        (timezone.localdate(timezone.now(), LA) + timedelta(days=3)).isoformat()
    )
    page.get_by_label("Starts at").fill("15:00")
    page.get_by_label("Ends at").fill("16:15")
    screenshot("form-filled-390")
    page.get_by_role("button", name="Book appointment").click()

    expect(page).to_have_url(f"{live_server.url}/contacts/{maria.id}/")
    expect(page.locator(".flash-success")).to_contain_text("Booked “Property tour with Maria")
    expect(page.locator(".contact-appts")).to_contain_text("3:00 PM")
    page.locator(".contact-appts").screenshot(
        path=screenshot("contact-booked-390").with_suffix(".card.png")
    )


def _live_events(google: GoogleEmulator, email: str) -> list[dict[str, Any]]:
    return [e for e in google.events_for(email) if e["status"] != "cancelled"]


def _utc(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


@pytest.mark.worker
@pytest.mark.promise("GC-3")
@pytest.mark.promise("GC-7")
def test_an_agent_connects_google_books_reschedules_deletes_and_disconnects(
    live_server: Any,
    celery_worker: Any,
    google: GoogleEmulator,
    settings: Any,
    alice: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    settings.GOOGLE_OAUTH_REDIRECT_URL = f"{live_server.url}/settings/calendar/callback/"
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    maria = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", phones=["+14155550123"]),
    )  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())  # the "Delete …?" and "Disconnect …?" asks
    # Google's pages have a favicon; the emulator's 404 would count as a console error.
    page.route(f"{google.base_url}/favicon.ico", lambda route: route.fulfill(status=204))
    sign_in(page, alice, live_server.url)

    # Connect, through Google's consent screen.
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Connect Calendar Sync").click()
    page.get_by_role("button", name="Connect Google Calendar").click()
    expect(page.locator("#scopes")).to_contain_text(
        "https://www.googleapis.com/auth/calendar.events"
    )
    page.locator("#email").fill(EMAIL)
    page.locator("#allow").click()
    expect(page.locator("#calendar-status")).to_have_text("Connected")

    # Book from the contact page: the event appears on her Google Calendar.
    day = timezone.localdate(timezone.now(), LA) + timedelta(days=3)
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    page.get_by_role("link", name="Book appointment").click()
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_label("Location").fill("12 Oak St, San Diego")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator(".flash-success")).to_contain_text("Adding it to your Google Calendar")
    [event] = wait_for(lambda: _live_events(google, EMAIL), timeout=30)
    assert event["summary"] == "Property tour with Maria Lopez"
    assert event["location"] == "12 Oak St, San Diego"
    assert _utc(event["start"]["dateTime"]) == _at(day, 10)
    assert _utc(event["end"]["dateTime"]) == _at(day, 11)
    appointment = Appointment.objects.for_workspace(ws).get()
    wait_for(lambda: _reload(appointment).sync_state == Appointment.Sync.SYNCED, timeout=30)
    page.reload()
    expect(page.locator(".contact-appts .sync-chip")).to_have_text("On Google Calendar")
    page.goto(f"{live_server.url}/appointments/")
    expect(page.locator(f"#appointment-{appointment.id}")).to_contain_text("10:00 AM")
    screenshot("agenda-synced-390")

    # Reschedule: the same event moves.
    page.get_by_role("link", name="Property tour with Maria Lopez").click()
    page.get_by_label("Starts at").fill("14:30")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{live_server.url}/appointments/")
    expect(page.locator(f"#appointment-{appointment.id}")).to_contain_text("2:30 PM")
    wait_for(
        lambda: [
            e
            for e in _live_events(google, EMAIL)
            if _utc(e["start"]["dateTime"]) == _at(day, 14, 30)
        ],
        timeout=30,
    )
    [moved] = _live_events(google, EMAIL)
    assert moved["id"] == event["id"]
    assert _utc(moved["end"]["dateTime"]) == _at(day, 15, 30)

    # Delete: the event goes from Google too.
    page.get_by_role("link", name="Property tour with Maria Lopez").click()
    page.get_by_role("button", name="Delete appointment").click()
    expect(page.locator(".flash-success")).to_contain_text("It comes off your Google Calendar too.")
    wait_for(lambda: _live_events(google, EMAIL) == [], timeout=30)
    wait_for(lambda: not Appointment.objects.for_workspace(ws).exists(), timeout=30)

    # Disconnect: the Connect button is back, and ALT holds no token any more.
    page.goto(f"{live_server.url}/settings/calendar/")
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("button", name="Connect Google Calendar")).to_be_visible()
    expect(page.locator("#calendar-status")).to_have_text("Not connected")
    assert not CalendarConnection.objects.for_workspace(ws).exists()
    screenshot("disconnected-390")


def _reload(appointment: Appointment) -> Appointment:
    return Appointment.objects.for_workspace(appointment.workspace).get(id=appointment.id)
