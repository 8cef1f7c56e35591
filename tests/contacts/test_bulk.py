"""Bulk actions on the contact list: tag, untag, stage (logged on each timeline), assign, delete
with undo, and the hourly purge once the undo window has passed. Ids of another workspace do
nothing anywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from contacts import services
from contacts.models import Activity, Contact, Note, Tag
from contacts.tasks import contacts_purge_deleted
from tests.conftest import wait_for
from tests.contacts.conftest import add_contact, stage_named

pytestmark = pytest.mark.django_db

BULK = "/contacts/bulk/"
UNDO = "/contacts/bulk/undo/"


@pytest.fixture
def leads(ws: Any) -> list[Contact]:
    return [add_contact(ws, "Lead", str(i), tags=["buyer"]) for i in range(3)]


@pytest.fixture
def charlies_lead(charlie: Any, workspace_of: Any) -> Contact:
    return add_contact(workspace_of(charlie), "Charlies", "Lead", tags=["buyer"])


def fresh(ws: Any, contact: Contact) -> Contact:
    return Contact.objects.for_workspace(ws).select_related("stage").get(id=contact.id)


def tag_names(ws: Any, contact: Contact) -> set[str]:
    return {t.name for t in fresh(ws, contact).tags.all()}


# --- tag and untag -------------------------------------------------------------------------------
def test_adding_a_tag_tags_the_selected_contacts_only(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    response = alice_client.post(
        BULK, {"action": "tag", "tag": "Hot lead", "ids": [leads[0].id, leads[1].id]}
    )

    assert response.status_code == 302
    assert tag_names(ws, leads[0]) == tag_names(ws, leads[1]) == {"buyer", "Hot lead"}
    assert tag_names(ws, leads[2]) == {"buyer"}
    assert "Tagged 2 contacts “Hot lead”." in alice_client.get("/contacts/").content.decode()


def test_adding_an_existing_tag_in_another_case_reuses_it(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    alice_client.post(BULK, {"action": "tag", "tag": "BUYER", "ids": [leads[0].id]})

    assert list(Tag.objects.for_workspace(ws).values_list("name", flat=True)) == ["buyer"]


def test_removing_a_tag_untags_the_selected_contacts_and_keeps_the_tag(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    alice_client.post(BULK, {"action": "untag", "tag": "Buyer", "ids": [leads[0].id]})

    assert tag_names(ws, leads[0]) == set()
    assert tag_names(ws, leads[1]) == {"buyer"}
    assert Tag.objects.for_workspace(ws).filter(name="buyer").exists()


def test_a_tag_action_without_a_tag_explains_what_is_missing(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    response = alice_client.post(
        BULK, {"action": "tag", "tag": " ", "ids": [leads[0].id]}, follow=True
    )

    assert "Type the tag to add or remove." in response.content.decode()
    assert tag_names(ws, leads[0]) == {"buyer"}


# --- stage ---------------------------------------------------------------------------------------
def test_setting_the_stage_moves_the_contacts_and_logs_it_on_each_timeline(
    alice_client: Client, ws: Any, alice: Any, leads: list[Contact]
) -> None:
    showing = stage_named(ws, "Showing")
    before = fresh(ws, leads[0]).last_activity_at

    alice_client.post(
        BULK, {"action": "stage", "stage": showing.id, "ids": [c.id for c in leads[:2]]}
    )

    for lead in leads[:2]:
        assert fresh(ws, lead).stage == showing
        [entry] = Activity.objects.for_workspace(ws).filter(
            contact=lead, kind=Activity.Kind.STAGE_CHANGED
        )
        assert entry.summary == "Stage: New → Showing"
        assert entry.actor == alice
        assert entry.data == {"from": stage_named(ws, "New").id, "to": showing.id}
    assert fresh(ws, leads[0]).last_activity_at > before
    assert fresh(ws, leads[2]).stage.name == "New"


def test_setting_the_stage_a_contact_is_already_in_logs_nothing(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    new = stage_named(ws, "New")

    alice_client.post(BULK, {"action": "stage", "stage": new.id, "ids": [leads[0].id]})

    assert not Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.STAGE_CHANGED).exists()


def test_another_workspaces_stage_is_refused(
    alice_client: Client, ws: Any, leads: list[Contact], charlie: Any, workspace_of: Any
) -> None:
    theirs = stage_named(workspace_of(charlie), "Closed")

    response = alice_client.post(
        BULK, {"action": "stage", "stage": theirs.id, "ids": [leads[0].id]}, follow=True
    )

    assert "Choose one of your pipeline&#x27;s stages." in response.content.decode()
    assert fresh(ws, leads[0]).stage.name == "New"


# --- assign --------------------------------------------------------------------------------------
def test_assigning_gives_the_contacts_to_a_teammate_and_back_to_nobody(
    alice_client: Client, ws: Any, bob: Any, leads: list[Contact]
) -> None:
    alice_client.post(
        BULK, {"action": "assign", "assignee": bob.id, "ids": [leads[0].id, leads[1].id]}
    )

    assert fresh(ws, leads[0]).assigned_to == bob
    assert fresh(ws, leads[1]).assigned_to == bob
    assert fresh(ws, leads[2]).assigned_to is None

    alice_client.post(BULK, {"action": "assign", "assignee": "nobody", "ids": [leads[0].id]})

    assert fresh(ws, leads[0]).assigned_to is None


def test_assigning_to_someone_outside_the_workspace_is_refused(
    alice_client: Client, ws: Any, charlie: Any, leads: list[Contact]
) -> None:
    response = alice_client.post(
        BULK, {"action": "assign", "assignee": charlie.id, "ids": [leads[0].id]}, follow=True
    )

    assert "Choose a member of your workspace." in response.content.decode()
    assert fresh(ws, leads[0]).assigned_to is None


def test_the_assign_service_refuses_a_non_member(
    ws: Any, charlie: Any, leads: list[Contact]
) -> None:
    with pytest.raises(ValueError, match="member of the workspace"):
        services.contacts_bulk_assign(workspace=ws, ids=[leads[0].id], assignee=charlie)


# --- foreign ids and bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    "action",
    [{"action": "tag", "tag": "vip"}, {"action": "untag", "tag": "buyer"}, {"action": "delete"}],
)
def test_another_workspaces_contact_ids_are_ignored(
    alice_client: Client, ws: Any, leads: list[Contact], charlies_lead: Contact,
    charlie: Any, workspace_of: Any, action: dict[str, str],
) -> None:  # fmt: skip
    theirs = workspace_of(charlie)

    alice_client.post(BULK, {**action, "ids": [leads[0].id, charlies_lead.id]})

    after = fresh(theirs, charlies_lead)
    assert after.deleted_at is None
    assert {t.name for t in after.tags.all()} == {"buyer"}


def test_another_workspaces_contact_is_not_moved_or_assigned(
    alice_client: Client, ws: Any, bob: Any, charlies_lead: Contact, charlie: Any, workspace_of: Any
) -> None:
    theirs = workspace_of(charlie)

    alice_client.post(
        BULK, {"action": "stage", "stage": stage_named(ws, "Lost").id, "ids": [charlies_lead.id]}
    )
    alice_client.post(BULK, {"action": "assign", "assignee": bob.id, "ids": [charlies_lead.id]})

    after = fresh(theirs, charlies_lead)
    assert after.stage.name == "New"
    assert after.assigned_to is None
    assert (
        not Activity.objects.for_workspace(theirs).filter(kind=Activity.Kind.STAGE_CHANGED).exists()
    )


def test_no_selection_is_explained(alice_client: Client, leads: list[Contact]) -> None:
    response = alice_client.post(BULK, {"action": "delete"}, follow=True)

    assert "Select at least one contact first." in response.content.decode()


@pytest.mark.parametrize("ids", [["abc"], ["-1"], [str(2**63)]])
def test_malformed_ids_change_nothing(
    alice_client: Client, ws: Any, leads: list[Contact], ids: list[str]
) -> None:
    response = alice_client.post(BULK, {"action": "delete", "ids": ids}, follow=True)

    assert "The selection was not understood" in response.content.decode()
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 3


def test_bulk_goes_back_to_the_list_as_it_was_and_never_elsewhere(
    alice_client: Client, leads: list[Contact]
) -> None:
    data = {"action": "tag", "tag": "x", "ids": [leads[0].id]}

    kept = alice_client.post(BULK, {**data, "next": "/contacts/?q=lead&sort=name"})
    elsewhere = alice_client.post(BULK, {**data, "next": "https://evil.example/contacts/"})
    sideways = alice_client.post(BULK, {**data, "next": "/contacts/../admin/"})

    assert kept["Location"] == "/contacts/?q=lead&sort=name"
    assert elsewhere["Location"] == "/contacts/"
    assert sideways["Location"] == "/contacts/"


def test_bulk_and_undo_only_accept_post(alice_client: Client) -> None:
    assert alice_client.get(BULK).status_code == 405
    assert alice_client.get(UNDO).status_code == 405


# --- delete and undo -----------------------------------------------------------------------------
def test_delete_hides_the_contacts_and_offers_an_undo_that_restores_them(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    ids = [leads[0].id, leads[1].id]

    response = alice_client.post(BULK, {"action": "delete", "ids": ids}, follow=True)

    body = response.content.decode()
    assert [c.id for c in response.context["contacts"]] == [leads[2].id]
    assert "Deleted 2 contacts." in body
    assert 'action="/contacts/bulk/undo/"' in body
    assert all(fresh(ws, c).deleted_at is not None for c in leads[:2])
    assert "Deleted 2 contacts." not in alice_client.get("/contacts/").content.decode()  # once

    undone = alice_client.post(UNDO, {"ids": ids}, follow=True)

    assert "Restored 2 contacts." in undone.content.decode()
    assert {c.id for c in undone.context["contacts"]} == {c.id for c in leads}
    assert all(fresh(ws, c).deleted_at is None for c in leads)


def test_undo_after_the_window_restores_nothing(
    alice_client: Client, ws: Any, leads: list[Contact]
) -> None:
    alice_client.post(BULK, {"action": "delete", "ids": [leads[0].id]})

    later = timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=1)
    with time_machine.travel(later):
        response = alice_client.post(UNDO, {"ids": [leads[0].id]}, follow=True)

    assert "Nothing to restore" in response.content.decode()
    assert fresh(ws, leads[0]).deleted_at is not None


def test_undo_cannot_restore_another_workspaces_contacts(
    charlie_client: Client, ws: Any, leads: list[Contact]
) -> None:
    services.contacts_delete(workspace=ws, ids=[leads[0].id], actor=None)

    charlie_client.post(UNDO, {"ids": [leads[0].id]})

    assert fresh(ws, leads[0]).deleted_at is not None


# --- purge ---------------------------------------------------------------------------------------
def test_purge_erases_contacts_deleted_longer_ago_than_the_undo_window(
    ws: Any, alice: Any, leads: list[Contact]
) -> None:
    services.note_add(contact=leads[0], author=alice, body="Call back")
    services.contacts_delete(workspace=ws, ids=[leads[0].id, leads[1].id], actor=None)
    services.contacts_restore(workspace=ws, ids=[leads[1].id])

    with time_machine.travel(timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS - 1)):
        contacts_purge_deleted()
    assert Contact.objects.for_workspace(ws).filter(id=leads[0].id).exists()

    with time_machine.travel(timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS + 1)):
        contacts_purge_deleted()
        contacts_purge_deleted()  # a second run finds nothing more and fails on nothing

    assert not Contact.objects.for_workspace(ws).filter(id=leads[0].id).exists()
    assert not Note.objects.for_workspace(ws).exists()
    assert set(Contact.objects.for_workspace(ws).values_list("id", flat=True)) == {
        leads[1].id, leads[2].id,
    }  # fmt: skip


def test_purge_works_through_every_workspace_in_batches(
    ws: Any, leads: list[Contact], charlies_lead: Contact, charlie: Any, workspace_of: Any
) -> None:
    theirs = workspace_of(charlie)
    services.contacts_delete(workspace=ws, ids=[c.id for c in leads], actor=None)
    services.contacts_delete(workspace=theirs, ids=[charlies_lead.id], actor=None)

    with time_machine.travel(timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS + 1)):
        erased = services.contacts_purge_deleted(batch_size=2)

    assert erased == 4
    assert not Contact.objects.for_workspace(ws).exists()
    assert not Contact.objects.for_workspace(theirs).exists()


@pytest.mark.worker
def test_a_real_worker_runs_the_purge(celery_worker: Any, ws: Any, leads: list[Contact]) -> None:
    services.contacts_delete(workspace=ws, ids=[leads[0].id], actor=None)
    # The worker runs in real time: put the delete outside the undo window instead.
    Contact.objects.for_workspace(ws).filter(id=leads[0].id).update(
        deleted_at=timezone.now() - timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=5)
    )

    contacts_purge_deleted.delay()

    wait_for(lambda: not Contact.objects.for_workspace(ws).filter(id=leads[0].id).exists())
    assert Contact.objects.for_workspace(ws).count() == 2
