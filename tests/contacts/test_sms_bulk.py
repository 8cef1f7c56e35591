"""Texting a selection from the contact list: the preview says how many get it and who is
skipped and why (no phone, opted out, not agreed); the bulk job queues one automated text per
consented contact through the inbox, held for the contact's morning when it is quiet hours where
they are (their zone, across DST), and the texts go out through Twilio once due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from alt.accounts.models import User
from contacts.consent import consent_record
from contacts.models import BulkJob, Consent, ConsentEvent, Contact, Message
from contacts.services import ContactInput, contact_create
from contacts.tasks import inbox_scheduled_sends
from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.models import TwilioAccount
from tests.conftest import Outbox, workspace_of

POSTS = r"/Messages\.json$"
TEXT = "Open house at 12 Oak St this Saturday, 1-4 pm. Reply STOP to opt out."


def person(
    alice: User, first: str, phone: str = "", *, agreed: bool = False, **fields: Any
) -> Contact:
    contact = contact_create(
        workspace=workspace_of(alice),
        actor=alice,
        data=ContactInput(first_name=first, last_name="Lead", phones=[phone] if phone else []),
    )
    if agreed:
        consent_record(contact, Consent.Channel.SMS, ConsentEvent.Kind.OPT_IN, by=alice)
    if fields:
        Contact.objects.for_workspace(contact.workspace).filter(id=contact.id).update(**fields)
    return contact


@pytest.fixture
def people(alice: User) -> dict[str, Contact]:
    stopped = person(alice, "Stella", "+14155550103", agreed=True)
    consent_record(stopped, Consent.Channel.SMS, ConsentEvent.Kind.STOP, address="+14155550103")
    return {
        "ok": person(alice, "Olivia", "+14155550101", agreed=True),
        "no_phone": person(alice, "Nora", agreed=True),
        "stopped": stopped,
        "not_agreed": person(alice, "Ned", "+14155550104"),
    }


def ids(people: dict[str, Contact]) -> list[str]:
    return [str(c.id) for c in people.values()]


def texts(alice: User) -> list[Message]:
    messages = Message.objects.for_workspace(workspace_of(alice))
    return list(messages.filter(direction="out").select_related("conversation").order_by("id"))


def test_the_preview_says_who_gets_it_and_who_is_skipped_and_why(
    alice_client: Client, people: dict[str, Contact], sms_account: TwilioAccount
) -> None:
    response = alice_client.post("/sms/bulk/", {"ids": ids(people), "next": "/contacts/"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 contact will get this text" in page
    assert "3 skipped" in page
    assert "No phone number: 1" in page
    assert "Opted out of texts (texted STOP): 1" in page
    assert "Has not agreed to texts: 1" in page
    for name in ("Nora Lead", "Stella Lead", "Ned Lead"):
        assert name in page
    assert not BulkJob.objects.for_workspace(people["ok"].workspace).exists()


def test_sending_queues_one_automated_text_per_consented_contact_and_twilio_gets_it(
    alice_client: Client,
    alice: User,
    people: dict[str, Contact],
    sms_account: TwilioAccount,
    twilio: TwilioEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    noon_in_california = datetime(2030, 5, 2, 19, 0, tzinfo=UTC)
    with time_machine.travel(noon_in_california, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = alice_client.post(
                "/sms/bulk/", {"ids": ids(people), "text": TEXT, "confirmed": "1"}
            )
        job = BulkJob.objects.for_workspace(workspace_of(alice)).get()
        assert response["Location"] == f"/contacts/bulk/jobs/{job.id}/"
        assert (job.action, job.state, job.changed) == ("sms", "done", 1)

        [message] = texts(alice)
        assert (message.author, message.text, message.send_after) == ("automation", TEXT, None)
        assert message.conversation.contact_id == people["ok"].id
        assert message.conversation.party_id == "+14155550101"
        assert message.meta == {"bulk_job_id": job.id}
        outbox.drain()

    (request,) = twilio.requests_to("POST", POSTS)
    assert request.form()["To"] == "+14155550101"
    page = alice_client.get(f"/contacts/bulk/jobs/{job.id}/").content.decode()
    assert "Queued 1 text" in page
    assert "Undo" not in page  # a text cannot be taken back


def test_a_retried_bulk_job_never_queues_a_text_twice(
    alice: User,
    people: dict[str, Contact],
    sms_account: TwilioAccount,
    outbox: Outbox,
) -> None:
    from contacts.bulk.services import bulk_job_retry, bulk_job_run, bulk_job_start

    job = bulk_job_start(
        workspace=workspace_of(alice),
        actor=alice,
        action=BulkJob.Action.SMS,
        params={"text": TEXT},
        query=None,
        ids=[c.id for c in people.values()],
    )
    assert job.state == "done"
    BulkJob.objects.for_workspace(job.workspace).filter(id=job.id).update(state="failed")
    bulk_job_retry(job=job)
    bulk_job_run(workspace_id=job.workspace_id, bulk_job_id=job.id)

    assert len(texts(alice)) == 1


@pytest.mark.parametrize(
    ("instant", "zone", "held_until"),
    [
        # 03:00 in New York: held until 08:00 there.
        (datetime(2030, 5, 2, 7, 0, tzinfo=UTC), "America/New_York", (2030, 5, 2, 8, 0)),
        # 22:30 in Los Angeles: held until 08:00 the next morning.
        (datetime(2030, 5, 3, 5, 30, tzinfo=UTC), "America/Los_Angeles", (2030, 5, 3, 8, 0)),
        # The night clocks spring forward in New York (2030-03-10): 08:00 EDT, not EST.
        (datetime(2030, 3, 10, 6, 0, tzinfo=UTC), "America/New_York", (2030, 3, 10, 8, 0)),
    ],
    ids=["ny-night", "la-late-evening", "ny-dst-start"],
)
def test_in_quiet_hours_the_text_waits_for_the_contacts_morning_then_goes_out(
    alice_client: Client,
    alice: User,
    sms_account: TwilioAccount,
    twilio: TwilioEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    instant: datetime,
    zone: str,
    held_until: tuple[int, ...],
) -> None:
    sleeper = person(alice, "Sam", "+14155550105", agreed=True, time_zone=zone)
    year, month, day, hour, minute = held_until
    morning = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))

    with time_machine.travel(instant, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            alice_client.post("/sms/bulk/", {"ids": [sleeper.id], "text": TEXT, "confirmed": "1"})
        [message] = texts(alice)
        assert message.status == Message.Status.PENDING
        assert message.send_after == morning
        assert outbox.names() == []  # nothing goes to the worker at night
        thread = alice_client.get(f"/inbox/{message.conversation_id}/").content.decode()
        assert "Scheduled for" in thread
        inbox_scheduled_sends.apply()
        assert outbox.sent == []

    with time_machine.travel(morning, tick=False):
        inbox_scheduled_sends.apply()
        outbox.drain()
    assert len(twilio.requests_to("POST", POSTS)) == 1


def test_a_contact_whose_evening_it_is_not_yet_gets_it_now_while_another_zone_sleeps(
    alice_client: Client,
    alice: User,
    sms_account: TwilioAccount,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tokyo = person(alice, "Taro", "+14155550106", agreed=True, time_zone="Asia/Tokyo")
    new_york = person(alice, "Nina", "+14155550107", agreed=True, time_zone="America/New_York")

    sixteen_in_tokyo = datetime(2030, 5, 2, 7, 0, tzinfo=UTC)
    with (
        time_machine.travel(sixteen_in_tokyo, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        alice_client.post(
            "/sms/bulk/", {"ids": [tokyo.id, new_york.id], "text": TEXT, "confirmed": "1"}
        )

    by_contact = {m.conversation.contact_id: m for m in texts(alice)}
    assert by_contact[tokyo.id].send_after is None
    assert by_contact[new_york.id].send_after is not None
    assert outbox.names() == ["inbox_message_send"]


def test_every_contact_matching_a_filter_can_be_texted(
    alice_client: Client, alice: User, people: dict[str, Contact], sms_account: TwilioAccount
) -> None:
    response = alice_client.post(
        "/sms/bulk/", {"scope": "matching", "filter": "q=Lead", "next": "/contacts/?q=Lead"}
    )

    assert "1 contact will get this text" in response.content.decode()
    assert "3 skipped" in response.content.decode()


def test_without_an_account_the_preview_says_where_to_set_it_up_and_nothing_is_sent(
    alice_client: Client, alice: User, people: dict[str, Contact], outbox: Outbox
) -> None:
    response = alice_client.post("/sms/bulk/", {"ids": ids(people), "text": TEXT, "confirmed": "1"})

    assert "Texting is not set up" in response.content.decode()
    assert not BulkJob.objects.for_workspace(workspace_of(alice)).exists()
    assert texts(alice) == []


def test_an_empty_or_absurd_text_is_refused_plainly(
    alice_client: Client, alice: User, people: dict[str, Contact], sms_account: TwilioAccount
) -> None:
    empty = alice_client.post("/sms/bulk/", {"ids": ids(people), "text": " ", "confirmed": "1"})
    absurd = alice_client.post(
        "/sms/bulk/", {"ids": ids(people), "text": "x" * 10_001, "confirmed": "1"}
    )

    assert empty.status_code == absurd.status_code == 400
    assert "Write the message first." in empty.content.decode()
    assert "far too long" in absurd.content.decode()
    assert not BulkJob.objects.for_workspace(workspace_of(alice)).exists()


def test_another_workspaces_contacts_are_never_texted(
    charlie_client: Client, alice: User, people: dict[str, Contact], charlie: User
) -> None:
    TwilioAccount.objects.create(
        workspace=workspace_of(charlie), account_sid="AC" + "c" * 32, auth_token="t",
        from_number="+14155550188", status="working",
    )  # fmt: skip

    response = charlie_client.post(
        "/sms/bulk/", {"ids": ids(people), "text": TEXT, "confirmed": "1"}
    )

    assert response.status_code == 302
    job = BulkJob.objects.for_workspace(workspace_of(charlie)).get()
    assert (job.total, job.changed) == (0, 0)
    assert texts(alice) == []
