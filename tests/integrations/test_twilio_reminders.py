"""Appointment reminders to the client by SMS: the owner picks a lead time on Settings -> SMS ->
Reminders; the beat queues one text per appointment start through the inbox's sender, into the
client's SMS thread, only with SMS consent, never in quiet hours, with the time in the client's
zone; the appointment page says why a reminder was not sent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client, TestCase

from alt.accounts.models import User
from appointments.models import Appointment
from appointments.services import appointment_delete, appointment_update
from contacts.consent import consent_record
from contacts.inbox import channels
from contacts.inbox.channels import ReplyWindow
from contacts.inbox.services import conversation_get_or_create, message_ingest
from contacts.models import ConsentEvent, Contact, Conversation, Message
from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.models import SmsReminder, TwilioAccount
from integrations.twilio_sms.reminders import reminders_deliver
from tests.conftest import Outbox, book, workspace_of
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

# Thursday 2 May 2030, 10:00 in Los Angeles (PDT).
STARTS = datetime(2030, 5, 2, 17, 0, tzinfo=UTC)
DAY_BEFORE = STARTS - timedelta(hours=23)  # Wed 1 May, 11:00 PDT: inside a 1-day lead
SF_MOBILE = "+14155550123"


class _HeldSms:
    """Stands in for the SMS channel until one is registered: message_send refuses a channel
    that is not there. Reminders only queue; sending is the channel's own concern."""

    name = "sms"
    max_text_length = 1600

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        return ReplyWindow(open=True)

    def send(self, message: Message) -> None:
        raise AssertionError("reminder tests never run the send task")


@pytest.fixture(autouse=True)
def sms_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    if channels.channel_for("sms") is None:
        monkeypatch.setitem(channels._channels, "sms", _HeldSms())


@pytest.fixture
def lead_day(sms_account: TwilioAccount) -> TwilioAccount:
    sms_account.reminder_lead_minutes = 1440
    sms_account.save(update_fields=["reminder_lead_minutes"])
    return sms_account


def client_of(
    alice: User, *, phone: str = SF_MOBILE, agreed: bool = True, **fields: Any
) -> Contact:
    contact = create_contact(
        workspace=workspace_of(alice), actor=alice, first_name="Wendy", phones=[phone], **fields
    )
    if agreed:
        consent_record(contact, "sms", ConsentEvent.Kind.OPT_IN, detail="Asked at the open house")
    return contact


def reminders_of(appointment: Appointment) -> list[SmsReminder]:
    return list(
        SmsReminder.objects.for_workspace(appointment.workspace)
        .filter(appointment_id=appointment.id)
        .order_by("id")
    )


def texts(alice: User) -> list[Message]:
    return list(
        Message.objects.for_workspace(workspace_of(alice))
        .filter(channel="sms", direction=Message.Direction.OUTBOUND)
        .select_related("conversation")
        .order_by("id")
    )


def run_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return reminders_deliver()


# --- due, not due, and the text ------------------------------------------------------------------
def test_a_due_reminder_is_queued_in_the_clients_sms_thread(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    wendy = client_of(alice)
    appointment = book(alice, wendy, starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))

    assert run_at(DAY_BEFORE) == 1

    [text] = texts(alice)
    assert text.text == (
        "Reminder: your showing at 12 Oak St, Springfield is tomorrow, Thu 2 May at 10:00 AM PDT."
        " Reply here if you need to change it."
    )
    assert text.author == Message.Author.AUTOMATION
    assert text.status == Message.Status.PENDING
    assert text.conversation.channel_account == TwilioEmulator.default_number
    assert text.conversation.party_id == SF_MOBILE
    assert text.conversation.contact_id == wendy.id
    [reminder] = reminders_of(appointment)
    assert (reminder.outcome, reminder.message_id) == (SmsReminder.Outcome.QUEUED, text.id)
    assert "inbox_message_send" in outbox.names()


def test_nothing_is_sent_before_the_lead_time_or_once_the_appointment_started(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )

    assert run_at(STARTS - timedelta(hours=25)) == 0
    assert run_at(STARTS + timedelta(minutes=1)) == 0
    assert reminders_of(appointment) == []
    assert texts(alice) == []


def test_reminders_are_off_until_the_owner_picks_a_lead_time(
    alice: User, sms_account: TwilioAccount, outbox: Outbox
) -> None:
    book(alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))

    assert run_at(DAY_BEFORE) == 0
    assert texts(alice) == []


@pytest.mark.parametrize(
    ("phone", "zone", "shown"),
    [
        (SF_MOBILE, "", "10:00 AM PDT"),  # the 415 area code: Los Angeles
        ("+12125550123", "", "1:00 PM EDT"),  # 212: New York
        ("+18085550123", "", "7:00 AM HST"),  # 808: Honolulu (no DST)
        ("+19075550123", "", "9:00 AM AKDT"),  # 907: Adak and Anchorage, read in Anchorage's
        (SF_MOBILE, "Europe/Madrid", "7:00 PM CEST"),  # the contact's own zone wins
    ],
)
def test_the_text_names_the_time_in_the_clients_zone(
    alice: User, lead_day: TwilioAccount, outbox: Outbox, phone: str, zone: str, shown: str
) -> None:
    wendy = client_of(alice, phone=phone, time_zone=zone)
    book(alice, wendy, starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))

    # 21:00 UTC: inside 08:00-21:00 in each of these zones (quiet hours do not interfere).
    run_at(datetime(2030, 5, 1, 20, 0, tzinfo=UTC))

    [text] = texts(alice)
    assert f"Thu 2 May at {shown}." in text.text


def test_an_absurdly_long_location_is_cut_short(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    book(alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1),
         location="עברית " * 50)  # fmt: skip

    run_at(DAY_BEFORE)

    [text] = texts(alice)
    assert len(text.text) < 200
    assert "…" in text.text


# --- consent, account, number --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("not_asked", "has not agreed to text messages"),
        ("stop", "opted out of text messages"),
        ("no_phone", "no mobile number"),
        ("blocked", "not sending"),
        ("no_account", "No SMS number"),
    ],
)
def test_a_reminder_not_sent_says_why_on_the_appointment_page(
    alice: User, alice_client: Client, lead_day: TwilioAccount, outbox: Outbox, setup: str,
    reason: str,
) -> None:  # fmt: skip
    wendy = client_of(alice, agreed=setup != "not_asked")
    if setup == "stop":
        consent_record(wendy, "sms", ConsentEvent.Kind.STOP, address=SF_MOBILE)
    if setup == "no_phone":
        wendy.phones.all().delete()
    if setup == "blocked":
        lead_day.status = TwilioAccount.Status.BLOCKED
        lead_day.status_detail = "Twilio refused the credentials (20003)."
        lead_day.save()
    appointment = book(alice, wendy, starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))
    if setup == "no_account":
        # The number was removed after the claim could see it: the row still says why.
        with time_machine.travel(DAY_BEFORE, tick=False):
            TwilioAccount.objects.for_workspace(lead_day.workspace).update(
                status=TwilioAccount.Status.REMOVED
            )
            from integrations.twilio_sms.reminders import reminder_prepare

            outcome = reminder_prepare(appointment=appointment, account=None, now=DAY_BEFORE)
        assert reason in outcome.reason
        return

    assert run_at(DAY_BEFORE) == 0

    assert texts(alice) == []
    [reminder] = reminders_of(appointment)
    assert reminder.outcome == SmsReminder.Outcome.SKIPPED
    assert reason in reminder.reason
    with time_machine.travel(DAY_BEFORE, tick=False):
        page = alice_client.get(f"/appointments/{appointment.id}/").content.decode()
    assert "Not sent:" in page
    assert reason in page


# --- quiet hours ---------------------------------------------------------------------------------
def test_a_reminder_due_at_night_waits_for_the_clients_morning(
    alice: User, alice_client: Client, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )
    night = datetime(2030, 5, 2, 5, 0, tzinfo=UTC)  # Wed 1 May, 22:00 in Los Angeles

    assert run_at(night) == 1

    [text] = texts(alice)
    assert text.send_after == datetime(2030, 5, 2, 15, 0, tzinfo=UTC)  # 08:00 PDT
    assert "is today, Thu 2 May at 10:00 AM PDT" in text.text
    with time_machine.travel(night, tick=False):
        page = alice_client.get(f"/appointments/{appointment.id}/").content.decode()
    assert "quiet hours" in page


def test_a_reminder_whose_morning_comes_after_the_start_is_not_sent(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    early = datetime(2030, 5, 2, 14, 30, tzinfo=UTC)  # 07:30 PDT
    appointment = book(alice, client_of(alice), starts_at=early, ends_at=early + timedelta(hours=1))

    run_at(datetime(2030, 5, 2, 5, 0, tzinfo=UTC))

    assert texts(alice) == []
    assert "Quiet hours" in reminders_of(appointment)[0].reason


# --- reschedule, cancel, twice -------------------------------------------------------------------
def test_a_rescheduled_appointment_gets_a_new_reminder(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )
    run_at(DAY_BEFORE)
    later = STARTS + timedelta(days=1)
    with time_machine.travel(DAY_BEFORE, tick=False):
        appointment_update(
            appointment=appointment,
            actor=alice,
            starts_at=later,
            ends_at=later + timedelta(hours=1),
        )

    assert run_at(DAY_BEFORE + timedelta(minutes=5)) == 0  # not due yet for the new start
    assert run_at(later - timedelta(hours=23)) == 1

    first, second = texts(alice)
    assert "Thu 2 May" in first.text
    assert "tomorrow, Fri 3 May at 10:00 AM PDT" in second.text
    assert first.conversation_id == second.conversation_id
    assert [r.starts_at for r in reminders_of(appointment)] == [STARTS, later]


def test_a_cancelled_appointment_gets_no_reminder(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )
    appointment_delete(appointment=appointment, actor=alice)

    assert run_at(DAY_BEFORE) == 0
    assert texts(alice) == []


def test_a_second_run_sends_nothing_again(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    book(alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))

    assert run_at(DAY_BEFORE) == 1
    assert run_at(DAY_BEFORE + timedelta(minutes=2)) == 0
    assert len(texts(alice)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_beats_send_one_reminder(alice: User, lead_day: TwilioAccount) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )
    # Hold the first beat's transaction open (after its claim) until the second has started its
    # own claim: the second must wait on the unique key, then find the start already reminded.
    claimed = threading.Event()
    counts: list[int] = []
    errors: list[BaseException] = []
    from integrations.twilio_sms import reminders

    real_handle = reminders._handle

    def slow_handle(*args: Any) -> int:
        claimed.set()
        second.join(timeout=2)  # the second blocks on our uncommitted row: join times out
        return real_handle(*args)

    def beat(patch: bool) -> None:
        try:
            if patch:
                reminders._handle = slow_handle  # type: ignore[assignment]
            counts.append(reminders_deliver())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def after_the_claim() -> None:
        claimed.wait(5)
        beat(False)

    with time_machine.travel(DAY_BEFORE, tick=False):
        first = threading.Thread(target=beat, args=(True,))
        second = threading.Thread(target=after_the_claim)
        first.start()
        second.start()
        first.join(10)
        second.join(10)
        reminders._handle = real_handle

    assert errors == []
    assert sorted(counts) == [0, 1]
    assert len(texts(alice)) == 1
    assert len(reminders_of(appointment)) == 1


# --- the reply ------------------------------------------------------------------------------------
def test_the_clients_reply_lands_in_the_reminders_thread(
    alice: User, lead_day: TwilioAccount, outbox: Outbox
) -> None:
    book(alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1))
    run_at(DAY_BEFORE)
    [reminder_text] = texts(alice)

    # Inbound ingest keys an SMS thread on (To = our number, From = their number).
    thread = conversation_get_or_create(
        workspace=workspace_of(alice), channel="sms",
        channel_account=TwilioEmulator.default_number, party_id=SF_MOBILE,
    )  # fmt: skip
    reply = message_ingest(
        conversation=thread, direction=Message.Direction.INBOUND, author=Message.Author.PARTY,
        sent_at=DAY_BEFORE + timedelta(minutes=3), external_id="SM" + "a" * 32,
        text="Can we make it 11?",
    )  # fmt: skip

    assert reply is not None
    assert thread.id == reminder_text.conversation_id
    assert (
        Conversation.objects.for_workspace(workspace_of(alice)).filter(channel="sms").count() == 1
    )


# --- the settings page ---------------------------------------------------------------------------
def test_the_owner_sets_the_lead_time(alice_client: Client, sms_account: TwilioAccount) -> None:
    page = alice_client.get("/settings/sms/reminders/")
    saved = alice_client.post("/settings/sms/reminders/", {"lead": "120"})
    refused = alice_client.post("/settings/sms/reminders/", {"lead": "7"})

    assert page.status_code == 200
    assert saved.status_code == 302
    assert refused.status_code == 400
    sms_account.refresh_from_db()
    assert sms_account.reminder_lead_minutes == 120
    alice_client.post("/settings/sms/reminders/", {"lead": ""})
    sms_account.refresh_from_db()
    assert sms_account.reminder_lead_minutes is None


def test_a_teammate_cannot_change_it(
    bob: User, bob_client: Client, sms_account: TwilioAccount
) -> None:
    refused = bob_client.post("/settings/sms/reminders/", {"lead": "60"})

    assert refused.status_code == 400
    assert "Only the workspace owner" in refused.content.decode()
    sms_account.refresh_from_db()
    assert sms_account.reminder_lead_minutes is None


def test_without_a_number_the_page_says_so(alice_client: Client) -> None:
    page = alice_client.get("/settings/sms/reminders/").content.decode()

    assert "Set up your workspace's SMS number first" in page


def test_the_appointment_page_says_when_the_reminder_will_go(
    alice: User, alice_client: Client, lead_day: TwilioAccount
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )

    with time_machine.travel(STARTS - timedelta(days=3), tick=False):
        page = alice_client.get(f"/appointments/{appointment.id}/").content.decode()

    assert "A text goes to the client 1 day before" in page
    assert "/settings/sms/reminders/" in page


def test_without_reminders_the_appointment_page_shows_no_reminder_card(
    alice: User, alice_client: Client, sms_account: TwilioAccount
) -> None:
    appointment = book(
        alice, client_of(alice), starts_at=STARTS, ends_at=STARTS + timedelta(hours=1)
    )

    page = alice_client.get(f"/appointments/{appointment.id}/").content.decode()

    assert "Text reminder to the client" not in page
