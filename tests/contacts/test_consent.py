"""Consent per contact and channel: the contact page says each channel's state in plain words with
its history; the contact form, imports and merges record it through contacts.consent (one
writer, the boolean mirror in step); a tick cannot undo a STOP without an explicit confirmation."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alt.accounts.models import User
from contacts.consent import HISTORY_SHOWN, consent_record
from contacts.merging import services as merging
from contacts.models import Consent, ConsentEvent, Contact, PipelineStage
from tests.conftest import workspace_of
from tests.contacts.conftest import run_import
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PHONE = "+14155550123"


def consent_of(contact: Contact, channel: str = "sms") -> Consent | None:
    return (
        Consent.objects.for_workspace(contact.workspace)
        .filter(contact=contact, channel=channel)
        .first()
    )


def events_of(contact: Contact, channel: str = "sms") -> list[tuple[str, str]]:
    return list(
        ConsentEvent.objects.for_workspace(contact.workspace)
        .filter(consent__contact=contact, consent__channel=channel)
        .order_by("at", "id")
        .values_list("kind", "detail")
    )


def reload(contact: Contact) -> Contact:
    return Contact.objects.for_workspace(contact.workspace).get(id=contact.id)


@pytest.fixture
def wendy(alice: User) -> Contact:
    return create_contact(
        workspace=workspace_of(alice), actor=alice, first_name="Wendy", phones=[PHONE]
    )


# --- the contact page ----------------------------------------------------------------------------
def test_the_page_says_each_channels_state_in_plain_words(
    alice_client: Client, alice: User, wendy: Contact
) -> None:
    with time_machine.travel("2030-03-12 18:00Z"):
        consent_record(
            wendy, "email", ConsentEvent.Kind.OPT_IN, detail="Asked at the open house", by=alice
        )
    with time_machine.travel("2030-04-03 18:00Z"):
        consent_record(wendy, "sms", ConsentEvent.Kind.STOP, address=PHONE, detail="Texted STOP")

    page = alice_client.get(f"/contacts/{wendy.id}/").content.decode()

    assert "Agreed on 12 Mar 2030 by Alice Agent · Asked at the open house" in page
    assert f"Opted out: texted STOP on 3 Apr 2030 from {PHONE}" in page
    assert "Not asked" in page  # Instagram


def test_the_history_shows_the_newest_events_first_and_counts_the_older_ones(
    alice_client: Client, wendy: Contact
) -> None:
    for n in range(HISTORY_SHOWN + 5):
        with time_machine.travel(f"2030-01-01 00:{n:02d}Z"):
            consent_record(wendy, "sms", ConsentEvent.Kind.HELP, detail=f"help number {n}")

    page = alice_client.get(f"/contacts/{wendy.id}/").content.decode()

    assert f"help number {HISTORY_SHOWN + 4}" in page
    assert "help number 4<" not in page
    assert "help number 4 " not in page
    assert page.index(f"help number {HISTORY_SHOWN + 4}") < page.index("help number 10")
    assert "and 5 older events" in page


def test_absurd_consent_details_break_no_page(alice_client: Client, wendy: Contact) -> None:
    consent_record(
        wendy, "sms", ConsentEvent.Kind.OPT_IN, detail="مرحبا " * 2000, address="x" * 900
    )

    response = alice_client.get(f"/contacts/{wendy.id}/")

    assert response.status_code == 200
    assert len(consent_of(wendy).source) <= 200  # type: ignore[union-attr]


# --- the contact form ----------------------------------------------------------------------------
def test_ticking_a_box_on_the_form_records_who_agreed(alice_client: Client, wendy: Contact) -> None:
    alice_client.post(f"/contacts/{wendy.id}/edit/consent/", {"consent_sms": "on"}, headers=HTMX)

    assert reload(wendy).consent_sms is True
    assert consent_of(wendy).state == Consent.State.OPTED_IN  # type: ignore[union-attr]
    assert events_of(wendy) == [("opt_in", "Ticked on the contact form by Alice Agent")]

    alice_client.post(f"/contacts/{wendy.id}/edit/consent/", {}, headers=HTMX)

    assert reload(wendy).consent_sms is False
    assert events_of(wendy)[-1] == ("opt_out", "Unticked on the contact form by Alice Agent")


def test_a_new_contacts_ticks_are_recorded_too(
    alice_client: Client, alice: User, ws_with_stages: Any
) -> None:
    stage = PipelineStage.objects.for_workspace(ws_with_stages).first()
    assert stage is not None
    alice_client.post(
        "/contacts/new/",
        {"first_name": "Nina", "stage": stage.id, "consent_email": "on", "source": "manual"},
    )

    nina = Contact.objects.for_workspace(workspace_of(alice)).get(first_name="Nina")
    assert nina.consent_email is True
    assert events_of(nina, "email") == [("opt_in", "Ticked on the contact form by Alice Agent")]
    assert consent_of(nina, "sms") is None


def test_a_contact_who_texted_stop_needs_a_confirmed_tick(
    alice_client: Client, wendy: Contact
) -> None:
    with time_machine.travel("2030-04-03 18:00Z"):
        consent_record(wendy, "sms", ConsentEvent.Kind.STOP, address=PHONE)
    form = alice_client.get(f"/contacts/{wendy.id}/edit/consent/").content.decode()

    refused = alice_client.post(f"/contacts/{wendy.id}/edit/consent/", {"consent_sms": "on"})

    assert "They texted STOP on 3 Apr 2030" in form
    assert refused.status_code == 400
    assert "only tick this if they asked to receive texts again" in refused.content.decode()
    assert consent_of(wendy).state == Consent.State.OPTED_OUT  # type: ignore[union-attr]

    alice_client.post(
        f"/contacts/{wendy.id}/edit/consent/", {"consent_sms": "on", "consent_sms_confirm": "on"}
    )

    assert consent_of(wendy).state == Consent.State.OPTED_IN  # type: ignore[union-attr]
    assert reload(wendy).consent_sms is True


def test_an_opt_out_recorded_by_a_person_can_be_ticked_back(
    alice_client: Client, alice: User, wendy: Contact
) -> None:
    consent_record(wendy, "sms", ConsentEvent.Kind.OPT_OUT, by=alice)

    alice_client.post(f"/contacts/{wendy.id}/edit/consent/", {"consent_sms": "on"})

    assert consent_of(wendy).state == Consent.State.OPTED_IN  # type: ignore[union-attr]


def test_the_form_sets_a_time_zone_and_hints_the_area_codes(
    alice_client: Client, wendy: Contact
) -> None:
    form = alice_client.get(f"/contacts/{wendy.id}/edit/consent/").content.decode()
    saved = alice_client.post(
        f"/contacts/{wendy.id}/edit/consent/", {"time_zone": "America/Chicago"}
    )
    refused = alice_client.post(
        f"/contacts/{wendy.id}/edit/consent/", {"time_zone": "Mars/Olympus"}
    )

    assert "guessed from the phone's area code as America/Los_Angeles" in form
    assert saved.status_code == 302
    assert refused.status_code == 400
    assert "Choose a time zone from the list." in refused.content.decode()
    assert reload(wendy).time_zone == "America/Chicago"


# --- imports -------------------------------------------------------------------------------------
def _import_leads(alice: User, count: int, capture: Any, name: str) -> int:
    rows = "".join(f"{name}{n},+1415556{count:02d}{n:02d},yes\n" for n in range(count))
    with CaptureQueriesContext(connection) as queries:
        run_import(
            workspace_of(alice), alice, "Name,Phone,SMS opt-in\n" + rows,
            filename="open-house.csv", capture=capture,
        )  # fmt: skip
    return sum("contacts_consent" in q["sql"] for q in queries.captured_queries)


def test_an_import_records_agreement_in_bulk(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    few = _import_leads(alice, 3, django_capture_on_commit_callbacks, "Few")
    many = _import_leads(alice, 40, django_capture_on_commit_callbacks, "Lead")

    leads = list(
        Contact.objects.for_workspace(workspace_of(alice)).filter(first_name__startswith="Lead")
    )
    assert len(leads) == 40
    assert all(lead.consent_sms for lead in leads)
    assert {tuple(events_of(lead)) for lead in leads} == {
        (("opt_in", "Imported from open-house.csv"),)
    }
    assert many == few  # consent costs the same few queries for 3 rows or 40


def test_an_import_never_lifts_a_stop(
    alice: User, wendy: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    consent_record(wendy, "sms", ConsentEvent.Kind.STOP, address=PHONE)

    run_import(
        workspace_of(alice), alice, f"Name,Phone,SMS opt-in\nWendy,{PHONE},yes\n",
        dedupe="update", capture=django_capture_on_commit_callbacks,
    )  # fmt: skip

    assert consent_of(wendy).state == Consent.State.OPTED_OUT  # type: ignore[union-attr]
    assert reload(wendy).consent_sms is False


# --- merges --------------------------------------------------------------------------------------
def test_a_merge_carries_the_histories_and_the_harsher_state_wins(
    alice: User, wendy: Contact
) -> None:
    twin = create_contact(
        workspace=wendy.workspace, actor=alice, first_name="Wendy", phones=["+14155550999"]
    )
    consent_record(wendy, "sms", ConsentEvent.Kind.OPT_IN, detail="Form")
    consent_record(twin, "sms", ConsentEvent.Kind.STOP, address="+14155550999")
    consent_record(twin, "email", ConsentEvent.Kind.OPT_IN, detail="Newsletter")

    merge = merging.contact_merge(survivor=wendy, merged=twin, choices={}, actor=alice)

    wendy = reload(wendy)
    assert consent_of(wendy).state == Consent.State.OPTED_OUT  # type: ignore[union-attr]
    assert wendy.consent_sms is False
    assert [k for k, _ in events_of(wendy)] == ["opt_in", "stop"]
    assert wendy.consent_email is True
    assert events_of(wendy, "email") == [("opt_in", "Newsletter")]

    merging.merge_undo(merge=merge, actor=alice)

    assert consent_of(reload(wendy)).state == Consent.State.OPTED_IN  # type: ignore[union-attr]
    assert reload(wendy).consent_sms is True
    assert [k for k, _ in events_of(wendy)] == ["opt_in"]
    assert [k for k, _ in events_of(twin)] == ["stop"]
    assert reload(twin).consent_email is True


def test_a_merge_keeps_the_survivors_opt_out_over_the_others_agreement(
    alice: User, wendy: Contact
) -> None:
    twin = create_contact(workspace=wendy.workspace, actor=alice, first_name="Wendy")
    consent_record(wendy, "sms", ConsentEvent.Kind.STOP, address=PHONE)
    consent_record(twin, "sms", ConsentEvent.Kind.OPT_IN)

    merging.contact_merge(survivor=wendy, merged=twin, choices={}, actor=alice)

    assert consent_of(wendy).state == Consent.State.OPTED_OUT  # type: ignore[union-attr]
    assert reload(wendy).consent_sms is False
