"""Removing a member: a confirmation page, the password again, at least one owner kept (even when
two owners remove each other at once), the removed person emailed, the removal recorded, their
appointments handed to a chosen teammate and their Google Calendar disconnected (GC-7)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.db import connection as db
from django.test import Client

from alt.accounts.models import Membership, WorkspaceAuditEvent
from alt.accounts.services import MembershipError, membership_remove
from alt.accounts.signals import member_removing
from appointments.models import Appointment
from appointments.services import appointment_update
from tests.conftest import (
    Outbox,
    book,
    connect_through_views,
    connection_of,
    live_events,
    new_contact,
    reload,
)
from tests.factories import PASSWORD, MembershipFactory, create_user

pytestmark = pytest.mark.django_db

ALICE_GOOGLE = "alice.realty@gmail.example"
BOB_GOOGLE = "bob.teammate@gmail.example"


def _reauthenticate(client: Client) -> None:
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response


def _remove_path(membership: Membership) -> str:
    return f"/settings/workspace/members/{membership.id}/remove/"


@pytest.fixture
def olivia(alice: Any, workspace_of: Any) -> Any:
    """A second owner of Alice's workspace."""
    user = create_user(email="olivia@example.com", full_name="Olivia Owner")
    MembershipFactory(user=user, workspace=workspace_of(alice), role="owner")
    return user


def test_remove_opens_a_confirmation_page_that_removes_nobody(
    alice: Any, bob: Any, alice_client: Client
) -> None:
    membership = Membership.objects.get(user=bob)

    page = alice_client.get(_remove_path(membership))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Remove Bob Teammate?" in text
    assert "Hand their appointments to" in text
    assert [u.email for u in page.context["form"].fields["reassign_to"].queryset] == [
        "alice@example.com"
    ]
    assert Membership.objects.filter(id=membership.id).exists()


def test_removing_a_member_asks_for_the_password_again_then_carries_on(
    alice: Any, bob: Any, alice_client: Client, outbox: Outbox
) -> None:
    membership = Membership.objects.get(user=bob)

    response = alice_client.post(_remove_path(membership), {"reassign_to": alice.id})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert Membership.objects.filter(id=membership.id).exists()
    assert "Enter your password" in alice_client.get(response["Location"]).content.decode()

    resumed = alice_client.post(response["Location"], {"password": PASSWORD})

    assert resumed.status_code == 302
    assert resumed["Location"] == "/settings/workspace/"
    assert not Membership.objects.filter(id=membership.id).exists()


def test_a_wrong_password_removes_nobody(alice: Any, bob: Any, alice_client: Client) -> None:
    membership = Membership.objects.get(user=bob)
    response = alice_client.post(_remove_path(membership), {"reassign_to": alice.id})

    alice_client.post(response["Location"], {"password": "not-my-password"})

    assert Membership.objects.filter(id=membership.id).exists()


def test_an_owner_may_remove_another_owner_even_the_founder(
    alice: Any, olivia: Any, outbox: Outbox
) -> None:
    olivia_client = Client()
    olivia_client.force_login(olivia)
    _reauthenticate(olivia_client)
    founder = Membership.objects.get(user=alice)

    olivia_client.post(_remove_path(founder), {"reassign_to": olivia.id})

    assert not Membership.objects.filter(id=founder.id).exists()
    assert Membership.objects.get(user=olivia).role == "owner"


def test_the_last_owner_cannot_remove_herself(alice: Any, bob: Any, alice_client: Client) -> None:
    _reauthenticate(alice_client)
    membership = Membership.objects.get(user=alice)

    response = alice_client.post(_remove_path(membership), {"reassign_to": bob.id}, follow=True)

    assert "A workspace needs at least one owner." in response.content.decode()
    assert Membership.objects.filter(id=membership.id).exists()
    assert not WorkspaceAuditEvent.objects.exists()


def test_appointments_can_only_go_to_someone_who_stays(
    alice: Any, bob: Any, charlie: Any, alice_client: Client
) -> None:
    _reauthenticate(alice_client)
    membership = Membership.objects.get(user=bob)

    for reassign_to in (charlie, bob):
        page = alice_client.post(_remove_path(membership), {"reassign_to": reassign_to.id})
        assert page.status_code == 200
        assert "Select a valid choice" in page.content.decode()

    assert Membership.objects.filter(id=membership.id).exists()


@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_the_same_time_leave_one_owner(
    alice: Any, olivia: Any, workspace_of: Any, outbox: Outbox
) -> None:
    workspace = workspace_of(alice)
    founder = Membership.objects.get(user=alice)
    second = Membership.objects.get(user=olivia)
    inside = threading.Event()
    errors: list[BaseException] = []

    def olivia_removes_alice() -> None:
        try:
            membership_remove(
                workspace=workspace, membership_id=founder.id, actor=olivia, reassign_to=olivia
            )
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            db.close()

    def hold_the_transaction_open(sender: Any, **kwargs: Any) -> None:
        if threading.current_thread() is worker:
            inside.set()
            time.sleep(1.0)  # alice's removal of olivia starts meanwhile

    worker = threading.Thread(target=olivia_removes_alice)
    member_removing.connect(hold_the_transaction_open, dispatch_uid="test.hold")
    try:
        worker.start()
        assert inside.wait(10)
        with pytest.raises(MembershipError):
            membership_remove(
                workspace=workspace, membership_id=second.id, actor=alice, reassign_to=alice
            )
    finally:
        worker.join(10)
        member_removing.disconnect(dispatch_uid="test.hold")

    assert errors == []
    assert list(Membership.objects.filter(workspace=workspace, role="owner")) == [second]


@pytest.mark.promise("ACC-3")
def test_the_removed_person_is_emailed_and_the_removal_is_recorded(
    alice: Any, bob: Any, alice_client: Client, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    _reauthenticate(alice_client)
    membership = Membership.objects.get(user=bob)

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(_remove_path(membership), {"reassign_to": alice.id})
    assert outbox.names() == ["membership_removed_email_send"]
    outbox.drain()

    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    assert email.subject == "You were removed from Alice Realty on Agent Lead Tracker"
    assert "Alice Agent (alice@example.com) removed you" in email.body
    [event] = WorkspaceAuditEvent.objects.filter(action="member_removed")
    assert (event.actor, event.target, event.workspace) == (alice, bob, membership.workspace)
    page = alice_client.get("/settings/workspace/").content.decode()
    assert "Alice Agent removed Bob Teammate" in page


def test_no_removal_email_once_the_person_is_back_in_the_workspace(
    alice: Any, bob: Any, alice_client: Client, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    _reauthenticate(alice_client)
    membership = Membership.objects.get(user=bob)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(_remove_path(membership), {"reassign_to": alice.id})
    assert outbox.names() == ["membership_removed_email_send"]
    MembershipFactory(user=bob, workspace=membership.workspace, role="agent")

    outbox.drain()

    assert mail.outbox == []


@pytest.mark.promise("GC-7")
def test_removing_a_member_disconnects_their_calendar_and_hands_their_appointments_over(
    alice: Any, bob: Any, alice_client: Client, bob_client: Client, google: Any, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        connect_through_views(bob_client, google, email=BOB_GOOGLE)
        connect_through_views(alice_client, google, email=ALICE_GOOGLE)
    with django_capture_on_commit_callbacks(execute=True):
        tour = book(bob, new_contact(bob), title="Bob's tour")
    outbox.drain()
    assert [e["summary"] for e in live_events(google, BOB_GOOGLE)] == ["Bob's tour"]
    bob_connection = connection_of(bob)
    assert bob_connection is not None
    refresh_token = str(bob_connection.refresh_token)
    _reauthenticate(alice_client)

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(_remove_path(Membership.objects.get(user=bob)), {"reassign_to": alice.id})
    outbox.drain()

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM google_calendar_calendarconnection WHERE user_id = %s", [bob.id]
        )
        assert cursor.fetchone() == (0,)
    [revoke] = google.requests_to("POST", r"^/revoke$")
    assert revoke.query["token"] == [refresh_token]
    moved = reload(tour)
    assert moved is not None
    assert moved.agent == alice
    assert moved.sync_state == Appointment.Sync.SYNCED
    assert [e["summary"] for e in live_events(google, ALICE_GOOGLE)] == ["Bob's tour"]
    # GC-7: events already pushed stay on the removed member's calendar.
    assert [e["summary"] for e in live_events(google, BOB_GOOGLE)] == ["Bob's tour"]


def test_handed_over_appointments_stay_editable_and_are_not_synced_without_a_calendar(
    alice: Any, bob: Any, alice_client: Client, outbox: Outbox
) -> None:
    tour = book(bob, new_contact(bob), title="Bob's tour")
    _reauthenticate(alice_client)

    alice_client.post(_remove_path(Membership.objects.get(user=bob)), {"reassign_to": alice.id})

    moved = reload(tour)
    assert moved is not None
    assert (moved.agent, moved.sync_state) == (alice, Appointment.Sync.OFF)
    appointment_update(appointment=moved, actor=alice, title="Alice's tour now")
    assert alice_client.get(f"/appointments/{tour.id}/").status_code == 200
