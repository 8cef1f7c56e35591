"""Dates on the Appointments pages: a booking is held to a year back and ten years ahead with a full
year, a ?week= out of range or unreadable shows this week, rows stored outside the range (straight
into the database) never break a page, and the flash names the year when it is not this year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client

from appointments.models import Appointment
from contacts.models import Contact
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create

pytestmark = pytest.mark.django_db

# Wednesday 20 May 2026, 09:00 in Los Angeles (PDT, UTC-7).
NOW = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)
LAST_MOMENT = datetime(9999, 12, 31, 22, 30, tzinfo=UTC)  # past year 9999 east of UTC
FIRST_MOMENT = datetime(1, 1, 1, 0, 0, tzinfo=UTC)  # before year 1 west of UTC


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ws(alice: Any, workspace_of: Any) -> Any:
    workspace = workspace_of(alice)
    pipeline_create_defaults(workspace=workspace)
    return workspace


@pytest.fixture
def maria(ws: Any, alice: Any) -> Contact:
    return contact_create(
        workspace=ws, actor=alice, data=ContactInput(first_name="Maria", last_name="Lopez")
    )


def stored(ws: Any, alice: Any, contact: Contact, title: str, starts_at: datetime) -> Appointment:
    """An appointment written straight to the database, the way no form can any more."""
    return Appointment.objects.create(
        workspace=ws, contact=contact, agent=alice, created_by=alice, title=title,
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
    )  # fmt: skip


def live_in(user: Any, zone: str) -> None:
    user.timezone = zone
    user.save(update_fields=["timezone"])


def form_data(who: Contact, **changes: str) -> dict[str, str]:
    data = {
        "contact": str(who.id), "kind": "tour", "title": "", "day": "2026-06-01",
        "start_time": "10:00", "length": "60", "end_time": "", "location": "", "property": "",
        "notes": "",
    }  # fmt: skip
    return {**data, **changes}


def day_errors(response: Any) -> list[str]:
    return list(response.context["form"].errors.get("day", []))


def booked(ws: Any) -> list[Appointment]:
    return list(Appointment.objects.for_workspace(ws))


# --- ?week= --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "week", ["9999-12-31", "0001-01-01", "2101-01-01", "1899-12-31", "garbage", "2026-02-30"]
)
def test_a_week_out_of_range_or_unreadable_shows_this_week_with_a_note(
    alice_client: Client, ws: Any, week: str
) -> None:
    response = alice_client.get(f"/appointments/week/?week={week}")

    page = response.content.decode()
    assert response.status_code == 200
    assert "May 18 \N{EN DASH} 24, 2026" in page
    assert "couldn't read the week in that link" in page
    assert "Back to this week" not in page


def test_the_first_and_last_weeks_have_no_link_past_the_range(
    alice_client: Client, ws: Any
) -> None:
    first = alice_client.get("/appointments/week/?week=1900-01-03").content.decode()
    last = alice_client.get("/appointments/week/?week=2100-12-31").content.decode()

    assert "Jan 1 \N{EN DASH} 7, 1900" in first
    assert 'rel="prev"' not in first
    assert 'href="/appointments/week/?week=1900-01-08"' in first
    assert "Dec 27 \N{EN DASH} Jan 2, 2101" in last
    assert 'rel="next"' not in last
    assert 'href="/appointments/week/?week=2100-12-20"' in last
    assert "couldn't read" not in first + last


# --- rows stored outside the range ---------------------------------------------------------------
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_appointments_at_the_ends_of_time_never_break_a_page(
    alice_client: Client, alice: Any, ws: Any, maria: Contact, zone: str
) -> None:
    live_in(alice, zone)
    last = stored(ws, alice, maria, "Last tour", LAST_MOMENT)
    first = stored(ws, alice, maria, "First tour", FIRST_MOMENT)

    urls = [
        "/appointments/", "/appointments/week/", f"/contacts/{maria.id}/", "/dashboard/",
        f"/appointments/{last.id}/", f"/appointments/{first.id}/",
    ]  # fmt: skip
    responses = {url: alice_client.get(url) for url in urls}

    assert {url: r.status_code for url, r in responses.items()} == dict.fromkeys(urls, 200)
    assert "Last tour" in responses["/appointments/"].content.decode()
    assert "Last tour" in responses[f"/contacts/{maria.id}/"].content.decode()


def test_an_appointment_that_cannot_be_shown_locally_is_shown_in_utc(
    alice_client: Client, alice: Any, ws: Any, maria: Contact
) -> None:
    live_in(alice, "Asia/Tokyo")
    stored(ws, alice, maria, "Last tour", LAST_MOMENT)

    page = alice_client.get("/appointments/").content.decode()

    assert "Dec 31, 9999" in page
    assert "10:30 PM UTC" in page
    assert 'datetime="9999-12-31T22:30:00+00:00"' in page


# --- booking -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("9999-12-31", "That's more than 10 years ahead: pick a date up to May 20, 2036."),
        ("0001-01-01", "Write the year in full, e.g. 2026."),
        ("2025-05-19", "That's more than a year ago: pick a date from May 20, 2025 on."),
        ("06/01/26", "Write the year in full, e.g. 2026."),
        ("0026-06-01", "Write the year in full, e.g. 2026."),
    ],
)
def test_a_day_out_of_the_window_or_with_a_short_year_books_nothing(
    alice_client: Client, ws: Any, maria: Contact, typed: str, error: str
) -> None:
    response = alice_client.post("/appointments/new/", form_data(maria, day=typed))

    assert response.status_code == 400
    assert day_errors(response) == [error]
    assert booked(ws) == []


def test_a_day_typed_with_its_full_year_books(
    alice_client: Client, ws: Any, maria: Contact
) -> None:
    response = alice_client.post("/appointments/new/", form_data(maria, day="06/01/2026"))

    assert response.status_code == 302
    [appointment] = booked(ws)
    assert appointment.starts_at == datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


def test_an_appointment_older_than_the_window_can_still_be_edited_but_not_moved_there(
    alice_client: Client, alice: Any, ws: Any, maria: Contact
) -> None:
    old = stored(ws, alice, maria, "Old tour", datetime(2023, 3, 1, 18, 0, tzinfo=UTC))
    url = f"/appointments/{old.id}/"

    kept = alice_client.post(url, form_data(maria, day="2023-03-01", title="Old tour, notes"))
    moved = alice_client.post(url, form_data(maria, day="2023-03-02"))

    assert kept.status_code == 302
    assert moved.status_code == 400
    assert day_errors(moved) == ["That's more than a year ago: pick a date from May 20, 2025 on."]
    old.refresh_from_db()
    assert old.title == "Old tour, notes"
    assert old.starts_at.date() == date(2023, 3, 1)


def test_the_booking_flash_names_the_year_only_when_it_is_not_this_year(
    alice_client: Client, ws: Any, maria: Contact
) -> None:
    this_year = alice_client.post("/appointments/new/", form_data(maria, day="2026-12-30"))
    next_year = alice_client.post("/appointments/new/", form_data(maria, day="2027-01-04"))

    texts = [str(m) for m in get_messages(this_year.wsgi_request)] + [
        str(m) for m in get_messages(next_year.wsgi_request)
    ]
    assert "Booked “Property tour with Maria Lopez” for Wed, Dec 30, 10:00 AM." in texts
    assert "Booked “Property tour with Maria Lopez” for Mon, Jan 4, 2027, 10:00 AM." in texts
