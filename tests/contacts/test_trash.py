"""Recently deleted: who deleted what and when, newest first, how long until it is erased, and
Restore (one or a selection) that brings a contact back with everything it had and says so on its
timeline. Past the undo window a contact is neither listed nor restorable; another workspace's
deleted contacts are neither."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from contacts import services
from contacts.models import Activity, Contact, ContactEmail, ContactPhone, Note
from tests.contacts.conftest import add_contact, bulk_contacts

pytestmark = pytest.mark.django_db

TRASH = "/contacts/deleted/"
RESTORE = "/contacts/deleted/restore/"


def listed(client: Client) -> list[str]:
    response = client.get(TRASH)
    assert response.status_code == 200
    return [c.name for c in response.context["contacts"]]


def deleted_at(ws: Any, contact: Contact) -> Any:
    return Contact.objects.for_workspace(ws).get(id=contact.id).deleted_at


def test_recently_deleted_lists_the_newest_delete_first_with_who_and_time_left(
    alice_client: Client, alice: Any, bob: Any, ws: Any
) -> None:
    older = add_contact(ws, "Older", "Lead")
    newer = add_contact(ws, "נועה", "כהן")  # right-to-left names show as typed
    add_contact(ws, "Still", "Here")
    services.contacts_delete(workspace=ws, ids=[older.id], actor=alice)
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        services.contacts_delete(workspace=ws, ids=[newer.id], actor=bob)
        response = alice_client.get(TRASH)

    body = response.content.decode()
    assert [c.name for c in response.context["contacts"]] == ["נועה כהן", "Older Lead"]
    assert "by Bob Teammate" in body
    assert "by Alice Agent" in body
    # Older Lead was deleted 3 hours ago: of the 24-hour window, 20 h 59 min are left.
    assert "erased in 20\xa0hours" in body
    assert "Still Here" not in body


def test_who_deleted_is_recorded_and_cleared_on_restore(alice: Any, ws: Any) -> None:
    lead = add_contact(ws, "Maria", "Lopez")

    services.contacts_delete(workspace=ws, ids=[lead.id], actor=alice)
    assert Contact.objects.for_workspace(ws).get(id=lead.id).deleted_by == alice

    services.contacts_restore(workspace=ws, ids=[lead.id], actor=alice)
    assert Contact.objects.for_workspace(ws).get(id=lead.id).deleted_by is None


def test_restore_brings_the_contact_back_with_everything_and_logs_it(
    alice_client: Client, alice: Any, ws: Any
) -> None:
    lead = add_contact(
        ws, "Maria", "Lopez", emails=["maria@example.com"], phones=["(415) 555-0134"],
        tags=["Buyer"],
    )  # fmt: skip
    services.note_add(contact=lead, author=alice, body="Wants a yard")
    timeline_before = Activity.objects.for_workspace(ws).filter(contact=lead).count()
    active_before = Contact.objects.for_workspace(ws).get(id=lead.id).last_activity_at
    alice_client.post(f"/contacts/{lead.id}/delete/")
    assert alice_client.get(f"/contacts/{lead.id}/").status_code == 404

    response = alice_client.post(RESTORE, {"ids": [lead.id]}, follow=True)

    assert "Restored 1 contact." in response.content.decode()
    assert list(response.context["contacts"]) == []  # no longer in Recently deleted
    back = Contact.objects.for_workspace(ws).get(id=lead.id)
    assert back.deleted_at is None
    assert back.last_activity_at == active_before  # restoring is not a touch with the lead
    assert [t.name for t in back.tags.all()] == ["Buyer"]
    assert ContactEmail.objects.for_workspace(ws).filter(contact=lead).count() == 1
    assert ContactPhone.objects.for_workspace(ws).filter(contact=lead).count() == 1
    assert Note.objects.for_workspace(ws).filter(contact=lead).count() == 1
    entries = Activity.objects.for_workspace(ws).filter(contact=lead)
    assert entries.count() == timeline_before + 1
    restored = entries.get(kind=Activity.Kind.RESTORED)
    assert restored.actor == alice
    page = alice_client.get(f"/contacts/{lead.id}/").content.decode()
    assert "Restored from Recently deleted" in page
    assert "Wants a yard" in page


def test_restoring_a_selection_restores_those_and_leaves_the_rest(
    alice_client: Client, alice: Any, ws: Any
) -> None:
    leads = [add_contact(ws, "Lead", str(i)) for i in range(3)]
    services.contacts_delete(workspace=ws, ids=[c.id for c in leads], actor=alice)

    response = alice_client.post(RESTORE, {"ids": [leads[0].id, leads[2].id]}, follow=True)

    assert "Restored 2 contacts." in response.content.decode()
    assert [c.name for c in response.context["contacts"]] == ["Lead 1"]
    assert deleted_at(ws, leads[0]) is None
    assert deleted_at(ws, leads[2]) is None


def test_a_contact_past_the_undo_window_is_not_listed_and_cannot_be_restored(
    alice_client: Client, alice: Any, ws: Any
) -> None:
    lead = add_contact(ws, "Too", "Late")
    services.contacts_delete(workspace=ws, ids=[lead.id], actor=alice)

    later = timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=1)
    with time_machine.travel(later):
        assert listed(alice_client) == []
        response = alice_client.post(RESTORE, {"ids": [lead.id]}, follow=True)
        single = alice_client.post(f"/contacts/{lead.id}/restore/", follow=True)

    assert "1 could not be restored: deleted more than 24 hours ago" in response.content.decode()
    assert "deleted too long ago to be restored" in single.content.decode()
    assert deleted_at(ws, lead) is not None
    assert not Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.RESTORED).exists()


def test_a_contact_just_inside_the_window_is_listed_and_restorable(
    alice_client: Client, alice: Any, ws: Any
) -> None:
    lead = add_contact(ws, "Just", "InTime")
    services.contacts_delete(workspace=ws, ids=[lead.id], actor=alice)

    later = timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=-1)
    with time_machine.travel(later):
        assert listed(alice_client) == ["Just InTime"]
        alice_client.post(RESTORE, {"ids": [lead.id]})

    assert deleted_at(ws, lead) is None


def test_another_workspaces_deleted_contacts_are_not_listed_or_restorable(
    charlie_client: Client, alice: Any, ws: Any
) -> None:
    lead = add_contact(ws, "Secret", "Lead")
    services.contacts_delete(workspace=ws, ids=[lead.id], actor=alice)

    assert listed(charlie_client) == []
    response = charlie_client.post(RESTORE, {"ids": [lead.id]}, follow=True)

    assert "Secret" not in response.content.decode()
    assert deleted_at(ws, lead) is not None


def test_a_live_contact_posted_for_restore_is_left_alone(alice_client: Client, ws: Any) -> None:
    lead = add_contact(ws, "Never", "Deleted")

    response = alice_client.post(RESTORE, {"ids": [lead.id]}, follow=True)

    assert "1 could not be restored" in response.content.decode()
    assert not Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.RESTORED).exists()


@pytest.mark.parametrize("ids", [[], ["abc"], [str(2**63)]])
def test_a_malformed_restore_is_explained_and_changes_nothing(
    alice_client: Client, alice: Any, ws: Any, ids: list[str]
) -> None:
    lead = add_contact(ws, "Kept", "Deleted")
    services.contacts_delete(workspace=ws, ids=[lead.id], actor=alice)

    response = alice_client.post(RESTORE, {"ids": ids}, follow=True)

    body = response.content.decode()
    assert "Select at least one contact first." in body or "not understood" in body
    assert deleted_at(ws, lead) is not None


def test_the_list_and_every_undo_flash_link_to_recently_deleted(
    alice_client: Client, ws: Any
) -> None:
    leads = [add_contact(ws, "Lead", str(i)) for i in range(2)]

    bulk = alice_client.post(
        "/contacts/bulk/", {"action": "delete", "ids": [leads[0].id]}, follow=True
    )
    single = alice_client.post(f"/contacts/{leads[1].id}/delete/", follow=True)

    flash = bulk.content.decode().split('class="flash flash-success undo-flash"')[1]
    assert 'href="/contacts/deleted/"' in flash.split("</div>")[0]
    assert 'href="/contacts/deleted/">Recently deleted</a>' in single.content.decode()
    assert 'href="/contacts/deleted/"' in alice_client.get("/contacts/").content.decode()


def test_recently_deleted_is_paged_newest_first(alice_client: Client, alice: Any, ws: Any) -> None:
    rows = bulk_contacts(ws, [{"first_name": f"Gone{i:02d}"} for i in range(55)])
    base = timezone.now()
    for i, contact in enumerate(rows):
        Contact.objects.for_workspace(ws).filter(id=contact.id).update(
            deleted_at=base - timedelta(minutes=i), deleted_by=alice
        )

    first = alice_client.get(TRASH)
    second = alice_client.get(TRASH, {"page": 2})
    nonsense = alice_client.get(TRASH, {"page": "99999999999999999999"})

    assert [c.first_name for c in first.context["contacts"]][:2] == ["Gone00", "Gone01"]
    assert len(first.context["contacts"]) == 50
    assert [c.first_name for c in second.context["contacts"]] == [
        f"Gone{i:02d}" for i in range(50, 55)
    ]
    assert nonsense.status_code == 200


def test_only_get_lists_and_only_post_restores(alice_client: Client) -> None:
    assert alice_client.post(TRASH).status_code == 405
    assert alice_client.get(RESTORE).status_code == 405
