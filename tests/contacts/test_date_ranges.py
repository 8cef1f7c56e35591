"""Dates on the contact side: task due dates, follow-ups, custom date fields and imports are held to
a sane range with full years; rows stored outside it (straight into the database) never break a
page or a reminder; a date shows its year only when it is not this year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client

from contacts.models import Contact, CustomField, Task
from contacts.tasks import task_reminders_deliver
from tests.contacts.conftest import errors_of, run_import

pytestmark = pytest.mark.django_db

# Wednesday 20 May 2026, 09:00 in Los Angeles.
NOW = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)
LAST_MOMENT = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)  # past year 9999 east of UTC
FIRST_MOMENT = datetime(1, 1, 1, 0, 0, tzinfo=UTC)  # before year 1 west of UTC
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def stored_task(ws: Any, alice: Any, contact: Contact | None, title: str, due_at: datetime) -> Task:
    """A task written straight to the database, the way no form can any more."""
    return Task.objects.create(
        workspace=ws, contact=contact, assigned_to=alice, title=title, due_at=due_at
    )


def live_in(user: Any, zone: str) -> None:
    user.timezone = zone
    user.save(update_fields=["timezone"])


def field_errors(response: Any, form: str, field: str) -> list[str]:
    return list(response.context[form].errors.get(field, []))


# --- rows stored outside the range ---------------------------------------------------------------
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_tasks_at_the_ends_of_time_never_break_the_contact_page_tasks_or_dashboard(
    alice_client: Client, alice: Any, ws_with_stages: Any, maria: Contact, zone: str
) -> None:
    live_in(alice, zone)
    stored_task(ws_with_stages, alice, maria, "Last call", LAST_MOMENT)
    stored_task(ws_with_stages, alice, maria, "First call", FIRST_MOMENT)

    pages = {url: alice_client.get(url) for url in (f"/contacts/{maria.id}/", "/tasks/")}
    dashboard = alice_client.get("/dashboard/")

    for url, response in pages.items():
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "Last call" in page
        assert "First call" in page
    assert dashboard.status_code == 200
    assert "First call" in dashboard.content.decode()  # overdue, on the dashboard


def test_a_moment_that_cannot_be_shown_locally_is_shown_as_stored_in_utc(
    alice_client: Client, alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    live_in(alice, "Asia/Tokyo")
    stored_task(ws_with_stages, alice, maria, "Last call", LAST_MOMENT)

    page = alice_client.get("/tasks/").content.decode()

    assert "Fri, Dec 31, 9999, 11:30 PM UTC" in page
    assert 'datetime="9999-12-31T23:30:00+00:00"' in page


def test_a_reminder_for_a_task_stored_at_year_one_is_still_sent(
    alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    stored_task(ws_with_stages, alice, maria, "First call", FIRST_MOMENT)  # Alice is in Los Angeles

    sent = task_reminders_deliver()

    assert sent == 1
    [email] = mail.outbox
    assert "Due: Mon, Jan 1, 0001, 12:00 AM UTC" in email.body


# --- typing dates --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("9999-12-31", "That's more than 10 years ahead: pick a date up to May 20, 2036."),
        ("2036-05-21", "That's more than 10 years ahead: pick a date up to May 20, 2036."),
        ("2025-05-19", "That's more than a year ago: pick a date from May 20, 2025 on."),
        ("0001-01-01", "Write the year in full, e.g. 2026."),
        ("12/05/26", "Write the year in full, e.g. 2026."),
        ("12 05 26", "Write the year in full, e.g. 2026."),
        ("0026-12-05", "Write the year in full, e.g. 2026."),
    ],
)
def test_a_task_due_date_out_of_range_or_with_a_short_year_is_refused(
    alice_client: Client, maria: Contact, typed: str, error: str
) -> None:
    response = alice_client.post(
        f"/contacts/{maria.id}/tasks/", {"title": "Call", "due_date": typed, "due_time": "23:30"}
    )

    assert response.status_code == 400
    assert field_errors(response, "task_form", "due_date") == [error]
    assert not Task.objects.for_workspace(maria.workspace).exists()


def test_a_task_due_date_inside_the_window_is_taken(alice_client: Client, maria: Contact) -> None:
    for typed in ("2036-05-20", "2025-05-20", "12/05/2026"):
        response = alice_client.post(
            f"/contacts/{maria.id}/tasks/", {"title": typed, "due_date": typed, "due_time": "9:00"}
        )
        assert response.status_code == 302, typed

    days = sorted(t.due_at.date() for t in Task.objects.for_workspace(maria.workspace))
    assert days == [date(2025, 5, 20), date(2026, 12, 5), date(2036, 5, 20)]


def test_a_follow_up_date_is_held_to_the_schedule_with_a_full_year(
    alice_client: Client, maria: Contact
) -> None:
    url = f"/contacts/{maria.id}/edit/buyer/"
    short_year = alice_client.post(url, {"next_follow_up_on": "06/01/26", "timeframe": ""})
    far = alice_client.post(url, {"next_follow_up_on": "2100-01-01", "timeframe": ""})
    good = alice_client.post(url, {"next_follow_up_on": "06/01/2026", "timeframe": ""})

    assert field_errors(short_year, "form", "next_follow_up_on") == [
        "Write the year in full, e.g. 2026."
    ]
    assert field_errors(far, "form", "next_follow_up_on") == [
        "That's more than 10 years ahead: pick a date up to May 20, 2036."
    ]
    assert good.status_code == 302
    maria.refresh_from_db()
    assert maria.next_follow_up_on == date(2026, 6, 1)


def test_an_old_follow_up_kept_from_before_does_not_block_saving_the_section(
    alice_client: Client, maria: Contact
) -> None:
    Contact.objects.for_workspace(maria.workspace).filter(id=maria.id).update(
        next_follow_up_on=date(2019, 3, 1)
    )

    response = alice_client.post(
        f"/contacts/{maria.id}/edit/buyer/",
        {"next_follow_up_on": "2019-03-01", "timeframe": "", "role": "buyer"},
    )

    assert response.status_code == 302
    maria.refresh_from_db()
    assert maria.role == "buyer"


def test_a_custom_date_field_takes_1900_to_2100_with_a_full_year(
    alice_client: Client, ws_with_stages: Any, maria: Contact
) -> None:
    CustomField.objects.create(
        workspace=ws_with_stages, key="birthday", label="Birthday", kind="date"
    )
    url = f"/contacts/{maria.id}/edit/custom/"

    too_old = alice_client.post(url, {"cf_birthday": "1850-04-02"})
    short_year = alice_client.post(url, {"cf_birthday": "4/2/85"})
    good = alice_client.post(url, {"cf_birthday": "04/02/1985"})

    assert field_errors(too_old, "form", "cf_birthday") == [
        "Pick a date between Jan 1, 1900 and Dec 31, 2100."
    ]
    assert field_errors(short_year, "form", "cf_birthday") == ["Write the year in full, e.g. 2026."]
    assert good.status_code == 302
    maria.refresh_from_db()
    assert maria.custom_fields == {"birthday": "1985-04-02"}
    assert "Apr 2, 1985" in alice_client.get(f"/contacts/{maria.id}/").content.decode()


def test_an_import_refuses_short_years_and_dates_out_of_range_by_line(
    ws_with_stages: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    CustomField.objects.create(
        workspace=ws_with_stages, key="birthday", label="Birthday", kind="date"
    )
    text = (
        "Name,Email,Follow up,Birthday\n"
        "Ann Lee,ann@example.com,12/05/2026,04/02/1985\n"
        "Bob Lee,bob@example.com,12/05/26,\n"
        "Cat Lee,cat@example.com,9999-12-31,\n"
        "Dan Lee,dan@example.com,,0085-04-02\n"
    )

    job = run_import(
        ws_with_stages,
        alice,
        text,
        capture=django_capture_on_commit_callbacks,
        all_or_nothing=True,
    )

    assert errors_of(job) == [
        "Line 3: “12/05/26” in column “Follow up” has no full year: write the year in full, "
        "e.g. 2026.",
        "Line 4: “9999-12-31” in column “Follow up” is not between Jan 1, 1900 and Dec 31, 2100.",
        "Line 5: “0085-04-02” in column “Birthday” has no full year: write the year in full, "
        "e.g. 2026.",
    ]
    assert not Contact.objects.for_workspace(ws_with_stages).exists()


# --- the year, shown only when it is not this year -----------------------------------------------
def test_a_task_due_this_year_is_shown_without_the_year_and_next_year_with_it(
    alice_client: Client, alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    stored_task(
        ws_with_stages, alice, maria, "This year", datetime(2026, 12, 30, 17, 0, tzinfo=UTC)
    )
    stored_task(ws_with_stages, alice, maria, "Next year", datetime(2027, 1, 4, 17, 0, tzinfo=UTC))
    stored_task(
        ws_with_stages, alice, maria, "Last year", datetime(2025, 12, 30, 17, 0, tzinfo=UTC)
    )

    tasks = alice_client.get("/tasks/").content.decode()
    contact_page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    for page in (tasks, contact_page):
        assert ">Wed, Dec 30, 9:00 AM<" in page
        assert ">Mon, Jan 4, 2027, 9:00 AM<" in page
        assert ">Tue, Dec 30, 2025, 9:00 AM<" in page


def test_after_new_year_the_reminder_of_a_task_from_last_year_names_its_year(
    alice: Any, ws_with_stages: Any, maria: Contact
) -> None:
    stored_task(
        ws_with_stages, alice, maria, "Send comps", datetime(2027, 1, 1, 7, 0, tzinfo=UTC)
    )  # Dec 31
    with time_machine.travel(datetime(2027, 1, 1, 9, 0, tzinfo=UTC), tick=False):  # Jan 1 in LA
        task_reminders_deliver()

    [email] = mail.outbox
    assert "Due: Thu, Dec 31, 2026, 11:00 PM (America/Los_Angeles)" in email.body
