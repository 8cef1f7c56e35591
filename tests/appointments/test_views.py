"""The Appointments pages: agenda, week, book / edit / delete / retry, in the agent's time zone,
and the appointment bits of the contact page and the dashboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appointments import services
from appointments.models import Appointment
from appointments.services import AppointmentInvalid, appointment_create
from contacts.models import Activity, Contact, Property
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

# Wednesday 10 July 2030, 09:00 in Los Angeles (PDT, UTC-7).
NOW = datetime(2030, 7, 10, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def maria(ws_with_stages: Any, alice: Any) -> Contact:
    """Maria with a phone."""
    return create_contact(
        workspace=ws_with_stages,
        actor=alice,
        first_name="Maria",
        last_name="Lopez",
        phones=["+14155550123"],
    )


@pytest.fixture
def book(ws_with_stages: Any, alice: Any, maria: Contact) -> Callable[..., Appointment]:
    """An appointment for Alice with Maria; `at` is UTC, `minutes` long."""

    def make(title: str, at: datetime, minutes: int = 60, **kwargs: Any) -> Appointment:
        fields: dict[str, Any] = {"contact": maria, "kind": "tour", **kwargs}
        return appointment_create(
            workspace=ws_with_stages, actor=alice, title=title,
            starts_at=at, ends_at=at + timedelta(minutes=minutes), **fields,
        )  # fmt: skip

    return make


def utc(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=UTC)


def form_data(who: Contact, **changes: str) -> dict[str, str]:
    data = {
        "contact": str(who.id),
        "kind": "tour",
        "title": "",
        "day": "2030-07-15",
        "start_time": "10:00",
        "length": "60",
        "end_time": "",
        "location": "12 Oak St, San Diego",
        "property": "",
        "notes": "Bring the disclosures",
    }
    return {**data, **changes}


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    """Record every call the views make to services.<name>, then run the real service."""
    calls: list[dict[str, Any]] = []
    real = getattr(services, name)

    def recorder(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, name, recorder)
    return calls


def live(ws: Any) -> list[Appointment]:
    return list(Appointment.objects.for_workspace(ws).live())


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its section's end."""
    return page.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


# --- booking -------------------------------------------------------------------------------------
def test_booking_from_a_contact_page_presets_the_contact(
    alice_client: Client, maria: Contact
) -> None:
    contact_page = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    assert f'href="/appointments/new/?contact={maria.id}"' in contact_page

    page = alice_client.get(f"/appointments/new/?contact={maria.id}").content.decode()

    assert (
        f'<span class="muted">With</span> <a href="/contacts/{maria.id}/">Maria Lopez</a>' in page
    )
    assert f'<input type="hidden" name="contact" value="{maria.id}">' in page
    assert 'name="day" value="2030-07-10"' in page  # today, in her time zone
    assert 'placeholder="Property tour with Maria Lopez"' in page


def test_booking_calls_the_service_and_goes_back_to_the_contact(
    alice_client: Client,
    alice: Any,
    ws_with_stages: Any,
    maria: Contact,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = spy(monkeypatch, "appointment_create")

    response = alice_client.post(f"/appointments/new/?contact={maria.id}", form_data(maria))

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{maria.id}/"
    assert len(calls) == 1
    assert calls[0]["workspace"] == ws_with_stages
    assert calls[0]["actor"] == alice
    appointment = live(ws_with_stages)[0]
    assert appointment.contact == maria
    assert appointment.agent == alice
    assert appointment.title == "Property tour with Maria Lopez"  # blank title: made from kind
    assert appointment.location == "12 Oak St, San Diego"
    assert appointment.notes == "Bring the disclosures"
    assert (
        Activity.objects.for_workspace(ws_with_stages)
        .filter(kind="appointment", contact=maria)
        .exists()
    )
    flash = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    assert "Booked “Property tour with Maria Lopez” for Mon, Jul 15, 10:00 AM." in flash


def test_an_agent_in_los_angeles_enters_and_sees_her_own_wall_clock(
    alice_client: Client, alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    assert alice.timezone == "America/Los_Angeles"

    alice_client.post("/appointments/new/", form_data(maria, start_time="10:00", length="60"))

    appointment = live(ws_with_stages)[0]
    assert appointment.starts_at == utc(15, 17)  # 10:00 PDT
    assert appointment.ends_at == utc(15, 18)
    edit = alice_client.get(f"/appointments/{appointment.id}/").content.decode()
    assert re.search(r'name="start_time" value="10:00"', edit)
    assert re.search(r'name="day" value="2030-07-15"', edit)
    agenda = alice_client.get("/appointments/").content.decode()
    assert "10:00 AM" in agenda
    assert "11:00 AM" in agenda
    assert "5:00 PM" not in agenda


def test_another_time_zone_reads_the_same_form_in_its_own_clock(
    alice_client: Client, alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    alice.timezone = "America/New_York"
    alice.save()

    alice_client.post("/appointments/new/", form_data(maria, start_time="10:00"))

    assert live(ws_with_stages)[0].starts_at == utc(15, 14)  # 10:00 EDT


def test_an_end_time_can_replace_the_length(
    alice_client: Client, ws_with_stages: Any, maria: Contact
) -> None:
    alice_client.post(
        "/appointments/new/", form_data(maria, length="end", start_time="9:30 AM", end_time="10:15")
    )

    appointment = live(ws_with_stages)[0]
    assert (appointment.starts_at, appointment.ends_at) == (utc(15, 16, 30), utc(15, 17, 15))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"length": "end", "end_time": "09:00"}, "end_time", "The end (9:00 AM) must be after the start (10:00 AM)"),
        ({"length": "end", "end_time": ""}, "end_time", "Pick the end time, or choose a length instead."),
        ({"day": ""}, "day", "Pick the date."),
        ({"start_time": "25:00"}, "start_time", "Enter the time like 10:00 or 2:30 PM."),
        ({"contact": ""}, "contact", "Choose who the appointment is with."),
        ({"day": "2030-03-10", "start_time": "02:30"}, "start_time", "the clocks go forward"),
    ],
)  # fmt: skip
def test_a_form_with_mistakes_explains_them_and_books_nothing(
    alice_client: Client,
    ws_with_stages: Any,
    maria: Contact,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = alice_client.post("/appointments/new/", form_data(maria, **changes))

    assert response.status_code == 400
    errors = response.content.decode().split(f'id="id_{field}_error"')[1].split("</ul>")[0]
    assert message in errors
    assert live(ws_with_stages) == []


def test_a_refusal_from_the_service_is_shown_in_the_form(
    alice_client: Client, ws_with_stages: Any, maria: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> Appointment:
        raise AppointmentInvalid({"starts_at": "Too early for a tour.", "__all__": "Try again."})

    monkeypatch.setattr(services, "appointment_create", refuse)

    response = alice_client.post("/appointments/new/", form_data(maria))

    page = response.content.decode()
    assert response.status_code == 400
    assert "Too early for a tour." in page.split('id="id_start_time_error"')[1].split("</ul>")[0]
    assert "Try again." in page.split('class="form-errors"')[1].split("</div>")[0]


def test_a_plain_value_error_from_the_service_is_shown_too(
    alice_client: Client, maria: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> Appointment:
        raise ValueError("The calendar is being moved; try in a minute.")

    monkeypatch.setattr(services, "appointment_create", refuse)

    response = alice_client.post("/appointments/new/", form_data(maria))

    assert response.status_code == 400
    assert "The calendar is being moved; try in a minute." in response.content.decode()


def test_the_contact_picker_searches_the_workspace_only(
    alice_client: Client,
    ws_with_stages: Any,
    alice: Any,
    maria: Contact,
    charlie: Any,
    workspace_of: Any,
) -> None:
    theirs = workspace_of(charlie)
    pipeline_create_defaults(workspace=theirs)
    contact_create(workspace=theirs, actor=charlie, data=ContactInput(first_name="Mariana"))

    fragment = alice_client.get(
        "/appointments/new/?contact_q=mari", headers={"HX-Request": "true"}
    ).content.decode()

    assert "<html" not in fragment
    assert "Maria Lopez" in fragment
    assert "Mariana" not in fragment


def test_choosing_a_property_fills_in_its_address_as_the_location(
    alice_client: Client, ws_with_stages: Any, maria: Contact
) -> None:
    prop = Property.objects.create(
        workspace=ws_with_stages, street="12 Oak St", city="San Diego", state="CA", zip_code="92101"
    )

    alice_client.post("/appointments/new/", form_data(maria, location="", property=str(prop.id)))

    appointment = live(ws_with_stages)[0]
    assert appointment.property == prop
    assert appointment.location == "12 Oak St, San Diego, CA 92101"


# --- editing, deleting, retrying ----------------------------------------------------------------
def test_rescheduling_calls_the_service_and_keeps_the_length(
    alice_client: Client, ws_with_stages: Any, book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tour = book("Tour of 12 Oak", utc(15, 17), minutes=90)
    calls = spy(monkeypatch, "appointment_update")
    edit = alice_client.get(f"/appointments/{tour.id}/").content.decode()
    assert '<option value="90" selected>' in edit

    response = alice_client.post(
        f"/appointments/{tour.id}/?next=/appointments/week/",
        form_data(tour.contact, title="Tour of 12 Oak", day="2030-07-16", start_time="14:00", length="90"),
    )  # fmt: skip

    assert response.status_code == 302
    assert response["Location"] == "/appointments/week/"
    assert len(calls) == 1
    assert calls[0]["appointment"].id == tour.id
    tour.refresh_from_db()
    assert (tour.starts_at, tour.ends_at) == (utc(16, 21), utc(16, 22, 30))
    assert tour.title == "Tour of 12 Oak"


def test_an_odd_length_survives_an_edit_of_something_else(
    alice_client: Client, ws_with_stages: Any, book: Any
) -> None:
    call = book("Long call", utc(15, 17), minutes=200, kind="call")
    edit = alice_client.get(f"/appointments/{call.id}/").content.decode()
    assert '<option value="200" selected>3 hours 20 min</option>' in edit

    alice_client.post(
        f"/appointments/{call.id}/",
        form_data(call.contact, kind="call", title="Long call", length="200", notes="New notes"),
    )

    call.refresh_from_db()
    assert call.notes == "New notes"
    assert call.ends_at - call.starts_at == timedelta(minutes=200)


def test_a_made_up_title_follows_a_change_of_kind(
    alice_client: Client, ws_with_stages: Any, maria: Contact
) -> None:
    alice_client.post("/appointments/new/", form_data(maria))
    appointment = live(ws_with_stages)[0]

    alice_client.post(
        f"/appointments/{appointment.id}/",
        form_data(maria, kind="call", title="Property tour with Maria Lopez"),
    )

    appointment.refresh_from_db()
    assert appointment.title == "Follow-up call with Maria Lopez"


def test_deleting_asks_first_then_calls_the_service(
    alice_client: Client, ws_with_stages: Any, book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tour = book("Tour to cancel", utc(15, 17))
    edit = alice_client.get(f"/appointments/{tour.id}/").content.decode()
    assert f'action="/appointments/{tour.id}/delete/"' in edit
    assert 'data-confirm="Delete “Tour to cancel”?' in edit
    calls = spy(monkeypatch, "appointment_delete")

    assert alice_client.get(f"/appointments/{tour.id}/delete/").status_code == 405
    response = alice_client.post(
        f"/appointments/{tour.id}/delete/", {"next": f"/appointments/{tour.id}/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/appointments/"  # not back to the page of what is gone
    assert len(calls) == 1
    assert live(ws_with_stages) == []
    assert alice_client.get(f"/appointments/{tour.id}/").status_code == 404


def test_a_failed_sync_offers_a_retry_that_calls_the_service(
    alice_client: Client, ws_with_stages: Any, book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tour = book("Tour that failed", utc(15, 17))
    Appointment.objects.for_workspace(ws_with_stages).filter(id=tour.id).update(
        sync_state="failed", sync_error="Google said the event is invalid."
    )
    agenda = alice_client.get("/appointments/").content.decode()
    item = section(agenda, "day-2030-07-15")
    assert "Sync failed" in item
    assert f'action="/appointments/{tour.id}/retry/"' in item
    edit = alice_client.get(f"/appointments/{tour.id}/").content.decode()
    assert "Google said the event is invalid." in edit
    calls = spy(monkeypatch, "appointment_sync_retry")

    response = alice_client.post(f"/appointments/{tour.id}/retry/", {"next": "/appointments/"})

    assert response.status_code == 302
    assert response["Location"] == "/appointments/"
    assert [c["appointment"].id for c in calls] == [tour.id]


def test_a_removed_event_offers_one_action_that_puts_it_back(
    alice_client: Client, ws_with_stages: Any, book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tour = book("Tour deleted in Google", utc(15, 17))
    Appointment.objects.for_workspace(ws_with_stages).filter(id=tour.id).update(
        sync_state="removed"
    )
    item = section(alice_client.get("/appointments/").content.decode(), "day-2030-07-15")
    assert '<span class="sync-chip">Removed from Google Calendar</span>' in item
    assert f'action="/appointments/{tour.id}/restore/"' in item
    assert "Put it back on my calendar" in item
    assert "/retry/" not in item
    edit = alice_client.get(f"/appointments/{tour.id}/").content.decode()
    assert "This event was deleted in Google Calendar" in edit
    calls = spy(monkeypatch, "appointment_restore_to_calendar")

    response = alice_client.post(f"/appointments/{tour.id}/restore/", {"next": "/appointments/"})

    assert response.status_code == 302
    assert response["Location"] == "/appointments/"
    assert [c["appointment"].id for c in calls] == [tour.id]
    assert alice_client.get(f"/appointments/{tour.id}/restore/").status_code == 405


@pytest.mark.parametrize(
    ("state", "label"),
    [
        ("pending", "Syncing…"),
        ("synced", "On Google Calendar"),
        ("waiting", "Waiting for reconnect"),
    ],
)
def test_each_item_shows_its_sync_state(
    alice_client: Client, ws_with_stages: Any, book: Any, state: str, label: str
) -> None:
    tour = book("Tour", utc(15, 17))
    Appointment.objects.for_workspace(ws_with_stages).filter(id=tour.id).update(sync_state=state)

    page = alice_client.get("/appointments/").content.decode()

    assert f'<div class="sync sync-{state}">' in page
    assert f'<span class="sync-chip">{label}</span>' in page
    assert "/retry/" not in page


def test_an_unsynced_item_shows_no_chip(
    alice_client: Client, ws_with_stages: Any, book: Any
) -> None:
    book("Tour", utc(15, 17))

    page = alice_client.get("/appointments/").content.decode()

    assert "sync-chip" not in section(page, "day-2030-07-15")


# --- another workspace ---------------------------------------------------------------------------
def test_another_workspaces_appointment_is_not_found(
    charlie_client: Client, ws_with_stages: Any, book: Any
) -> None:
    tour = book("Secret tour", utc(15, 17))

    for method, url in [
        ("get", f"/appointments/{tour.id}/"),
        ("post", f"/appointments/{tour.id}/"),
        ("post", f"/appointments/{tour.id}/delete/"),
        ("post", f"/appointments/{tour.id}/retry/"),
    ]:
        assert getattr(charlie_client, method)(url).status_code == 404, (method, url)
    assert live(ws_with_stages) == [tour]
    assert "Secret tour" not in charlie_client.get("/appointments/").content.decode()


def test_another_workspaces_contact_or_property_is_not_found(
    charlie_client: Client, charlie: Any, workspace_of: Any, ws_with_stages: Any, maria: Contact
) -> None:
    theirs = workspace_of(charlie)
    pipeline_create_defaults(workspace=theirs)
    own = contact_create(workspace=theirs, actor=charlie, data=ContactInput(first_name="Ola"))
    alices_home = Property.objects.create(
        workspace=ws_with_stages,
        street="1 Secret Rd",
        city="San Diego",
        state="CA",
        zip_code="92101",
    )

    assert charlie_client.get(f"/appointments/new/?contact={maria.id}").status_code == 404
    assert charlie_client.post("/appointments/new/", form_data(maria)).status_code == 404
    response = charlie_client.post(
        "/appointments/new/", form_data(own, property=str(alices_home.id))
    )
    assert response.status_code == 404
    assert Appointment.objects.for_workspace(theirs).count() == 0
    assert live(ws_with_stages) == []


# --- agenda and week -----------------------------------------------------------------------------
def test_the_agenda_groups_upcoming_appointments_by_local_day(
    alice_client: Client, ws_with_stages: Any, book: Any, bob: Any, maria: Contact
) -> None:
    book("Done this morning", utc(10, 15))  # 08:00 today in LA
    book("Later today", utc(10, 23))  # 16:00 today
    book("Late tomorrow", utc(12, 5, 30))  # 22:30 on the 11th in LA, though the 12th in UTC
    book("Next Monday", utc(15, 17))
    book("Yesterday", utc(9, 17))
    gone = book("Soft-deleted", utc(11, 18))
    services.appointment_delete(appointment=gone, actor=None)
    book("Bob's tour", utc(11, 19), agent=bob)

    page = alice_client.get("/appointments/").content.decode()

    today, tomorrow = section(page, "day-2030-07-10"), section(page, "day-2030-07-11")
    assert "Today" in today
    assert "Tomorrow" in tomorrow
    assert "Done this morning" in today
    assert "Later today" in today
    assert 'class="appt is-past"' in today.split("Later today")[0]
    assert "Late tomorrow" in tomorrow
    assert "10:30 PM" in tomorrow
    assert "Monday" in section(page, "day-2030-07-15")
    for absent in ("Yesterday", "Soft-deleted", "Bob&#x27;s tour"):
        assert absent not in page
    assert page.index("Done this morning") < page.index("Later today") < page.index("Late tomorrow")
    assert f'href="/contacts/{maria.id}/"' in today


def test_a_teammate_can_see_the_whole_team(
    bob_client: Client, ws_with_stages: Any, book: Any, bob: Any
) -> None:
    book("Alice's tour", utc(11, 19))

    mine = bob_client.get("/appointments/").content.decode()
    team = bob_client.get("/appointments/?who=team").content.decode()

    assert "Alice&#x27;s tour" not in mine
    assert "Alice&#x27;s tour" in team
    assert "Alice Agent" in team
    assert 'href="/appointments/?who=team"' in mine


def test_the_agenda_costs_the_same_queries_for_many_appointments(
    alice_client: Client, ws_with_stages: Any, book: Any
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get("/appointments/").status_code == 200
        return len(captured)

    for i in range(3):
        book(f"Tour {i}", utc(11, 16) + timedelta(hours=i))
    queries()  # warm the per-user flags the page caches (the calendar banner)
    few = queries()
    for i in range(60):
        book(f"Tour {i + 3}", utc(12, 16) + timedelta(hours=i))
    many = queries()

    assert few == many
    assert many <= 8


def test_the_week_view_puts_each_appointment_on_its_local_day(
    alice_client: Client, ws_with_stages: Any, book: Any
) -> None:
    book("Monday tour", utc(8, 17))  # Mon 8 July 10:00
    book("Sunday night call", utc(15, 5), kind="call")  # Sun 14 July 22:00 in LA
    book("Next week", utc(15, 17))
    book("Last week", utc(7, 17))

    page = alice_client.get("/appointments/week/").content.decode()

    assert "Jul 8 \N{EN DASH} 14, 2030" in page
    assert "Monday tour" in section(page, "wd-2030-07-08")
    assert "Sunday night call" in section(page, "wd-2030-07-14")
    assert "10:00 PM" in section(page, "wd-2030-07-14")
    assert "Nothing booked" in section(page, "wd-2030-07-09")
    assert "Next week" not in page
    assert "Last week" not in page
    assert 'href="/appointments/week/?week=2030-07-01"' in page
    assert 'href="/appointments/week/?week=2030-07-15"' in page
    assert "week-day is-today" in page.split('id="wd-2030-07-10"')[0].rsplit("<section", 1)[1]


def test_any_day_of_a_week_shows_that_week(
    alice_client: Client, ws_with_stages: Any, book: Any
) -> None:
    book("Next week", utc(17, 17))

    page = alice_client.get("/appointments/week/?week=2030-07-19").content.decode()

    assert "Jul 15 \N{EN DASH} 21, 2030" in page
    assert "Next week" in section(page, "wd-2030-07-17")
    assert "Back to this week" in page
    assert alice_client.get("/appointments/week/?week=nonsense").status_code == 200


# --- contact page, dashboard, help ---------------------------------------------------------------
def test_the_contact_page_lists_the_contacts_upcoming_appointments(
    alice_client: Client, ws_with_stages: Any, alice: Any, book: Any, maria: Contact
) -> None:
    other = contact_create(
        workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Otto")
    )
    book("Next tour", utc(15, 17))
    book("Past tour", utc(9, 17))
    book("Otto's tour", utc(15, 19), contact=other)

    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    upcoming = section(page, "contact-appts-title")
    assert "Next tour" in upcoming
    assert "Mon, Jul 15" in upcoming
    assert "Past tour" not in upcoming
    assert "Otto" not in upcoming


def test_a_contact_with_nothing_booked_shows_no_empty_section(
    alice_client: Client, maria: Contact
) -> None:
    assert "contact-appts" not in alice_client.get(f"/contacts/{maria.id}/").content.decode()


def test_the_dashboard_shows_my_appointments_today(
    alice_client: Client, ws_with_stages: Any, book: Any, bob: Any
) -> None:
    book("Today's tour", utc(10, 20))
    book("Tomorrow's tour", utc(11, 20))
    book("Bob's tour today", utc(10, 21), agent=bob)

    page = alice_client.get("/dashboard/").content.decode()

    today = section(page, "dash-appointments")
    assert "Today&#x27;s tour" in today
    assert "1:00 PM" in today
    assert "Tomorrow" not in today
    assert "Bob" not in today


def test_the_dashboard_says_when_nothing_is_booked_today(alice_client: Client, maria: Any) -> None:
    page = alice_client.get("/dashboard/").content.decode()

    assert "Nothing booked today." in section(page, "dash-appointments")


def test_the_appointments_page_links_to_the_calendar_help(
    alice_client: Client, ws_with_stages: Any
) -> None:
    page = alice_client.get("/appointments/").content.decode()

    assert 'href="/help/google-calendar/"' in page


def test_the_calendar_help_is_public_and_names_the_one_scope(client: Client) -> None:
    from integrations.google_calendar.client import SCOPE

    response = client.get("/help/google-calendar/")

    page = response.content.decode()
    assert response.status_code == 200
    assert SCOPE == "https://www.googleapis.com/auth/calendar.events"
    assert page.count("https://www.googleapis.com/auth/") == 1
    assert f'<code class="scope">{SCOPE}</code>' in page
    for promise in ("one way, from ALT to Google", "never reads, lists or searches", "stay there"):
        assert promise in page
    # calendar.events is not the narrowest scope: Google also has calendar.events.owned.
    assert "is the narrowest" not in page
    assert "It is not the narrowest permission Google offers" in page
    assert "<code>calendar.events.owned</code>" in page
    assert "Removed from Google Calendar" in page  # every state an appointment can show
    for _value, label in Appointment.Sync.choices[1:]:
        assert f'<span class="sync-chip">{label}</span>' in page


def test_an_empty_agenda_says_so_and_offers_to_book(
    alice_client: Client, ws_with_stages: Any
) -> None:
    page = alice_client.get("/appointments/").content.decode()

    assert "Nothing booked" in page
    assert 'href="/appointments/new/?next=/appointments/"' in page


def test_a_next_address_off_the_site_is_ignored(
    alice_client: Client, ws_with_stages: Any, maria: Contact
) -> None:
    page = alice_client.get("/appointments/new/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page.split('class="appt-form"')[1]

    response = alice_client.post(
        "/appointments/new/", {**form_data(maria), "next": "https://evil.example/"}
    )

    assert response["Location"] == "/appointments/"
