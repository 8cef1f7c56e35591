"""Appointment reminders: the agent picks a lead time on the account page, and the minute sweep
emails each of their appointments once, in their time zone; never a deleted one; again after the
appointment moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from alt.lib.errors import IntegrationError
from appointments.models import Appointment
from appointments.services import appointment_delete, appointment_update
from appointments.tasks import (
    appointment_reminders_claim,
    appointment_reminders_deliver,
    appointment_reminders_send,
)
from contacts.models import Contact
from contacts.services import contacts_delete
from tests.conftest import START, book, new_contact, workspace_of

pytestmark = pytest.mark.django_db


def wants_reminders(user: User, minutes: int | None) -> None:
    user.appointment_reminder_minutes = minutes
    user.save(update_fields=["appointment_reminder_minutes"])


def reminded(appointment: Appointment) -> Any:
    return (
        Appointment.objects.for_workspace(appointment.workspace)
        .values_list("reminded_at", flat=True)
        .get(id=appointment.id)
    )


@pytest.fixture
def wendy(alice: User) -> Contact:
    return new_contact(alice, "Wendy")


# --- the setting ---------------------------------------------------------------------------------
def test_the_agent_picks_a_lead_time_on_the_account_page(alice_client: Client, alice: User) -> None:
    page = alice_client.get("/settings/account/").content.decode()
    profile = {"full_name": "Alice Agent", "timezone": "America/Los_Angeles"}

    saved = alice_client.post(
        "/settings/account/", profile | {"appointment_reminder_minutes": "60"}
    )
    refused = alice_client.post(
        "/settings/account/", profile | {"appointment_reminder_minutes": "7"}
    )

    assert "Appointment reminders" in page
    assert "1 day before" in page
    assert saved.status_code == 302
    assert "Select a valid choice." in refused.content.decode()
    alice.refresh_from_db()
    assert alice.appointment_reminder_minutes == 60
    alice_client.post("/settings/account/", profile | {"appointment_reminder_minutes": ""})
    alice.refresh_from_db()
    assert alice.appointment_reminder_minutes is None


# --- the sweep -----------------------------------------------------------------------------------
def test_the_agent_is_emailed_once_within_the_lead_time_with_the_time_in_her_zone(
    alice: User, wendy: Contact, settings: Any
) -> None:
    wants_reminders(alice, 60)
    appointment = book(alice, wendy)  # 10:00 AM in Los Angeles

    with time_machine.travel(START - timedelta(minutes=61), tick=False):
        appointment_reminders_send.apply()
    assert mail.outbox == []
    with time_machine.travel(START - timedelta(minutes=59), tick=False):
        appointment_reminders_send.apply()
        appointment_reminders_send.apply()

    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == "Reminder: Tour of 12 Oak St · Thu, May 2, 10:00 AM"
    assert "When: Thu, May 2, 10:00 AM (America/Los_Angeles)" in email.body
    assert "With: Wendy Buyer" in email.body
    assert "Where: 12 Oak St, Springfield" in email.body
    assert f"{settings.SITE_URL}/appointments/{appointment.id}/" in email.body
    assert reminded(appointment) is not None


def test_a_teammates_appointment_reminds_the_teammate_in_their_own_zone(
    alice: User, bob: User, wendy: Contact
) -> None:
    bob.timezone = "America/Chicago"
    bob.save(update_fields=["timezone"])
    wants_reminders(alice, 1440)
    wants_reminders(bob, 1440)
    book(alice, wendy, agent=bob)

    with time_machine.travel(START - timedelta(hours=2), tick=False):
        assert appointment_reminders_deliver() == 1

    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    assert "When: Thu, May 2, 12:00 PM (America/Chicago)" in email.body


def test_no_reminder_for_an_agent_who_did_not_ask_for_one(alice: User, wendy: Contact) -> None:
    book(alice, wendy)

    with time_machine.travel(START - timedelta(minutes=5), tick=False):
        appointment_reminders_send.apply()

    assert mail.outbox == []


def test_an_appointment_already_started_is_not_emailed(alice: User, wendy: Contact) -> None:
    wants_reminders(alice, 60)
    book(alice, wendy)

    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        appointment_reminders_send.apply()

    assert mail.outbox == []


def test_a_deleted_appointment_is_never_emailed(alice: User, wendy: Contact) -> None:
    wants_reminders(alice, 60)
    gone = book(alice, wendy, title="Gone")
    appointment_delete(appointment=gone, actor=alice)
    # Deleted while its Google event is still to be deleted: the row stays, hidden.
    waiting = book(alice, wendy, title="Waiting for Google")
    Appointment.objects.for_workspace(waiting.workspace).filter(id=waiting.id).update(
        deleted_at=timezone.now()
    )

    with time_machine.travel(START - timedelta(minutes=30), tick=False):
        appointment_reminders_send.apply()

    assert mail.outbox == []
    assert reminded(waiting) is None


def test_an_appointment_with_a_deleted_contact_is_not_emailed(alice: User, wendy: Contact) -> None:
    wants_reminders(alice, 60)
    book(alice, wendy)
    contacts_delete(workspace=wendy.workspace, ids=[wendy.id], actor=alice)

    with time_machine.travel(START - timedelta(minutes=30), tick=False):
        assert appointment_reminders_deliver() == 0

    assert mail.outbox == []


def test_a_second_claim_finds_nothing_left_to_claim(alice: User, wendy: Contact) -> None:
    wants_reminders(alice, 60)
    appointment = book(alice, wendy)
    now = START - timedelta(minutes=10)

    first = appointment_reminders_claim(now=now)
    second = appointment_reminders_claim(now=now)

    assert first == {workspace_of(alice).id: [appointment.id]}
    assert second == {}


def test_moving_an_appointment_rearms_its_reminder_and_a_new_title_does_not(
    alice: User, wendy: Contact
) -> None:
    wants_reminders(alice, 30)
    appointment = book(alice, wendy)
    with time_machine.travel(START - timedelta(minutes=20), tick=False):
        appointment_reminders_deliver()
        appointment_update(appointment=appointment, actor=alice, title="Tour, new title")
        appointment_reminders_deliver()
    assert len(mail.outbox) == 1

    later = START + timedelta(days=1)
    appointment_update(
        appointment=appointment, actor=alice, starts_at=later, ends_at=later + timedelta(hours=1)
    )
    assert reminded(appointment) is None
    with time_machine.travel(later - timedelta(minutes=20), tick=False):
        appointment_reminders_deliver()

    assert [m.subject for m in mail.outbox] == [
        "Reminder: Tour of 12 Oak St · Thu, May 2, 10:00 AM",
        "Reminder: Tour, new title · Fri, May 3, 10:00 AM",
    ]


def test_a_transient_mail_failure_releases_the_claim_for_the_next_run(
    alice: User, wendy: Contact, resend: Any
) -> None:
    wants_reminders(alice, 60)
    appointment = book(alice, wendy)
    resend.fail_next(503, {"name": "application_error", "message": "down"}, times=10)

    with time_machine.travel(START - timedelta(minutes=30), tick=False):
        with pytest.raises(IntegrationError):
            appointment_reminders_deliver()
        assert reminded(appointment) is None
        resend.reset()
        assert appointment_reminders_deliver() == 1

    assert len(resend.sent_to("alice@example.com")) == 1
