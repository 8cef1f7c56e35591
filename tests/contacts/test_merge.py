"""Merging duplicates: every related record moves to the survivor, the agent picks the values, and
an undo puts every row back exactly as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.merging import services as merging
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateFlag,
    Merge,
    Note,
    Property,
    PropertyLink,
    Task,
)
from contacts.services import ContactInput, contact_create, note_add, task_add

pytestmark = pytest.mark.django_db


def make(ws: Any, actor: Any, **data: Any) -> Contact:
    return contact_create(workspace=ws, actor=actor, data=ContactInput(**data))


@pytest.fixture
def pair(ws: Any, alice: Any, bob: Any) -> tuple[Contact, Contact]:
    """Maria twice: the older record and a newer one with more, partly overlapping, details."""
    survivor = make(
        ws, alice, first_name="Maria", last_name="Lopez", emails=["maria@example.com"],
        phones=["+14155550101"], tags=["Buyer", "VIP"], budget_min=400_000, budget_max=600_000,
        custom_fields={"lender": "Chase"},
    )  # fmt: skip
    merged = make(
        ws, alice, first_name="Mary", last_name="Lopez-Diaz", emails=["maria@example.com", "mld@work.example"],
        phones=["+14155550101", "+14155550177"], tags=["VIP", "Relocating"], role="buyer",
        budget_min=500_000, budget_max=700_000, assigned_to=bob,
        custom_fields={"lender": "Wells", "pre_approved": True},
    )  # fmt: skip
    note_add(contact=merged, author=alice, body="Prefers texts")
    task_add(
        workspace=ws, contact=merged, actor=alice, title="Send listings", due_at=timezone.now()
    )
    shared = Property.objects.create(
        workspace=ws, street="1 Main St", city="SF", state="CA", zip_code="94110"
    )
    other = Property.objects.create(
        workspace=ws, street="2 Oak St", city="SF", state="CA", zip_code="94110"
    )
    PropertyLink.objects.create(workspace=ws, property=shared, contact=survivor, role="interested")
    PropertyLink.objects.create(workspace=ws, property=shared, contact=merged, role="interested")
    PropertyLink.objects.create(workspace=ws, property=other, contact=merged, role="owner")
    Contact.objects.for_workspace(ws).filter(id=merged.id).update(
        last_contacted_at=timezone.now() - timedelta(days=1)
    )
    merged.refresh_from_db()
    return survivor, merged


def snapshot(ws: Any) -> dict[str, list[Any]]:
    """Every row of every table a merge touches (a contact's updated_at aside)."""

    def rows(qs: Any, *exclude: str) -> list[Any]:
        return sorted(
            (
                tuple(sorted((k, repr(v)) for k, v in r.items() if k not in exclude))
                for r in qs.values()
            ),
        )

    return {
        "contacts": rows(Contact.objects.for_workspace(ws), "updated_at"),
        "emails": rows(ContactEmail.objects.for_workspace(ws)),
        "phones": rows(ContactPhone.objects.for_workspace(ws)),
        "notes": rows(Note.objects.for_workspace(ws)),
        "tasks": rows(Task.objects.for_workspace(ws)),
        "activities": rows(Activity.objects.for_workspace(ws)),
        "property_links": rows(PropertyLink.objects.for_workspace(ws)),
        "tags": rows(Contact.tags.through.objects.filter(contact__workspace=ws)),
        "flags": rows(DuplicateFlag.objects.for_workspace(ws)),
    }


def test_a_merge_moves_every_related_record_to_the_survivor(
    ws: Any, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    merged_activities = set(
        Activity.objects.for_workspace(ws).filter(contact=merged).values_list("id", flat=True)
    )

    merge = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)

    def of(model: Any, contact: Contact) -> Any:
        return model.objects.for_workspace(ws).filter(contact=contact)

    assert [e.email for e in of(ContactEmail, survivor).order_by("id")] == [
        "maria@example.com",
        "mld@work.example",
    ]
    assert [(p.e164, p.is_primary) for p in of(ContactPhone, survivor).order_by("id")] == [
        ("+14155550101", True), ("+14155550177", False),
    ]  # fmt: skip
    assert [n.body for n in of(Note, survivor)] == ["Prefers texts"]
    assert [t.title for t in of(Task, survivor)] == ["Send listings"]
    assert merged_activities < set(of(Activity, survivor).values_list("id", flat=True))
    assert sorted(of(PropertyLink, survivor).values_list("property__street", "role")) == [
        ("1 Main St", "interested"), ("2 Oak St", "owner"),
    ]  # fmt: skip
    assert sorted(t.name for t in survivor.tags.all()) == ["Buyer", "Relocating", "VIP"]
    # What the survivor already had stays behind on the hidden contact; nothing is lost or doubled.
    assert [e.email for e in of(ContactEmail, merged)] == ["maria@example.com"]
    assert [p.e164 for p in of(ContactPhone, merged)] == ["+14155550101"]
    assert of(PropertyLink, merged).count() == 1
    assert merge.moved["rows"]["contacts.Note"] == list(
        of(Note, survivor).values_list("id", flat=True)
    )
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.id
    assert not Contact.objects.for_workspace(ws).filter(id=merged.id, merged_into=None).exists()
    survivor.refresh_from_db()
    assert "mld@work.example" in survivor.search_text
    assert "4155550177" in survivor.search_text
    assert survivor.last_contacted_at == merged.last_contacted_at
    flag = DuplicateFlag.objects.for_workspace(ws).get()
    assert flag.status == "merged"
    entry = of(Activity, survivor).get(kind="merged")
    assert (entry.summary, entry.actor) == ("Merged Mary Lopez-Diaz into this contact", alice)


def test_the_chosen_values_are_applied_and_the_rest_kept_from_the_survivor(
    ws: Any, alice: Any, bob: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    choices = {"first_name": "merged", "last_name": "survivor", "budget": "merged",
               "assigned_to": "merged", "custom:lender": "survivor", "custom:pre_approved": "merged"}  # fmt: skip

    merging.contact_merge(survivor=survivor, merged=merged, choices=choices, actor=alice)

    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.last_name) == ("Mary", "Lopez")
    assert (survivor.budget_min, survivor.budget_max) == (500_000, 700_000)
    assert survivor.assigned_to == bob
    assert survivor.role == ""
    assert survivor.custom_fields == {"lender": "Chase", "pre_approved": True}


def test_undo_restores_every_row_exactly(
    ws: Any, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    before = snapshot(ws)
    merge = merging.contact_merge(
        survivor=survivor, merged=merged, actor=alice,
        choices={"first_name": "merged", "budget": "merged", "role": "merged", "custom:lender": "merged"},
    )  # fmt: skip
    assert snapshot(ws) != before

    assert merging.merge_undo(merge=merge, actor=alice) is True

    assert snapshot(ws) == before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert DuplicateFlag.objects.for_workspace(ws).get().status == "open"


def test_undoing_twice_does_nothing(ws: Any, alice: Any, pair: tuple[Contact, Contact]) -> None:
    survivor, merged = pair
    merge = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)
    merging.merge_undo(merge=merge, actor=alice)
    after_first_undo = snapshot(ws)

    assert merging.merge_undo(merge=merge, actor=alice) is False

    assert snapshot(ws) == after_first_undo


def test_a_contact_cannot_be_merged_with_itself_or_twice(
    ws: Any, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair

    with pytest.raises(merging.MergeError, match="can't be merged with itself"):
        merging.contact_merge(survivor=survivor, merged=survivor, choices={}, actor=alice)
    merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)
    with pytest.raises(merging.MergeError, match="already merged"):
        merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)


@pytest.mark.promise("ACC-2")
def test_the_merge_service_itself_refuses_a_contact_of_another_workspace(
    ws: Any, alice: Any, charlie: Any, workspace_of: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, _ = pair
    theirs = make(workspace_of(charlie), charlie, first_name="Maria", last_name="Lopez")
    before = snapshot(ws)

    for one, other in ((survivor, theirs), (theirs, survivor)):
        with pytest.raises(merging.MergeError, match="different workspaces"):
            merging.contact_merge(survivor=one, merged=other, choices={}, actor=alice)

    assert snapshot(ws) == before
    theirs.refresh_from_db()
    assert theirs.merged_into_id is None


def test_a_merge_moves_appointments_to_the_survivor_and_undo_brings_them_back(
    ws: Any, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    from appointments.models import Appointment
    from appointments.services import appointment_create

    survivor, merged = pair
    starts_at = timezone.now() + timedelta(days=2)
    tour = appointment_create(
        workspace=ws, actor=alice, contact=merged, kind="tour", title="Tour 1 Main St",
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), location="1 Main St",
    )  # fmt: skip

    merge = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)

    assert Appointment.objects.for_workspace(ws).get(id=tour.id).contact_id == survivor.id
    assert merging.merge_undo(merge=merge, actor=alice)
    assert Appointment.objects.for_workspace(ws).get(id=tour.id).contact_id == merged.id


def test_the_merge_page_shows_both_contacts_and_the_differing_fields(
    alice_client: Client, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair

    response = alice_client.get(reverse("contacts:merge", args=[survivor.id, merged.id]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Mary Lopez-Diaz will be merged into Maria Lopez." in body
    assert "mld@work.example" in body
    assert "(415) 555-0177" in body
    form = response.context["form"]
    assert {name: form[name].initial for name in form.fields} == {
        "first_name": "survivor",
        "last_name": "survivor",
        "assigned_to": "merged",  # the survivor has nobody assigned: the merge keeps Bob
        "role": "merged",
        "budget": "survivor",
        "custom:lender": "survivor",
        "custom:pre_approved": "merged",
    }
    assert "$400,000 to $600,000" in body
    assert 'value="merged"' in body


def test_posting_the_merge_form_merges_and_offers_undo(
    alice_client: Client, ws: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    data = {"first_name": "merged", "last_name": "survivor", "assigned_to": "survivor",
            "role": "merged", "budget": "survivor", "custom:lender": "survivor",
            "custom:pre_approved": "merged"}  # fmt: skip

    response = alice_client.post(reverse("contacts:merge", args=[survivor.id, merged.id]), data)

    merge = Merge.objects.for_workspace(ws).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[survivor.id])
    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.role, survivor.assigned_to) == ("Mary", "buyer", None)
    [flash] = list(response.wsgi_request._messages)  # type: ignore[attr-defined]
    assert "Mary Lopez-Diaz was merged into Mary Lopez." in str(flash)
    assert f'action="{reverse("contacts:merge_undo", args=[merge.id])}"' in str(flash)
    assert 'name="csrfmiddlewaretoken"' in str(flash)

    undo = alice_client.post(reverse("contacts:merge_undo", args=[merge.id]))

    assert undo.status_code == 302
    merged.refresh_from_db()
    assert merged.merged_into_id is None
    survivor.refresh_from_db()
    assert survivor.first_name == "Maria"


def test_the_undo_view_only_accepts_post(
    alice_client: Client, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    merge = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)

    response = alice_client.get(reverse("contacts:merge_undo", args=[merge.id]))

    assert response.status_code == 405
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_merging_a_contact_with_itself_is_refused_on_the_page(
    alice_client: Client, ws: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, _merged = pair

    response = alice_client.post(reverse("contacts:merge", args=[survivor.id, survivor.id]), {})

    assert response.status_code == 302
    assert not Merge.objects.for_workspace(ws).exists()


def test_merge_is_404_across_workspaces(
    alice_client: Client, charlie_client: Client, alice: Any, charlie: Any, workspace_of: Any,
    pair: tuple[Contact, Contact],
) -> None:  # fmt: skip
    survivor, merged = pair
    outsider = make(workspace_of(charlie), charlie, first_name="Carl", emails=["maria@example.com"])
    merge = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)
    merging.merge_undo(merge=merge, actor=alice)
    merge = Merge.objects.for_workspace(workspace_of(alice)).get()

    responses = [
        alice_client.get(reverse("contacts:merge", args=[survivor.id, outsider.id])),
        alice_client.post(reverse("contacts:merge", args=[outsider.id, survivor.id]), {}),
        charlie_client.get(reverse("contacts:merge", args=[survivor.id, merged.id])),
        charlie_client.post(reverse("contacts:merge", args=[outsider.id, merged.id]), {}),
        charlie_client.post(reverse("contacts:merge_undo", args=[merge.id])),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    outsider.refresh_from_db()
    assert outsider.merged_into_id is None
    merged.refresh_from_db()
    assert merged.merged_into_id is None
    assert Merge.objects.for_workspace(workspace_of(alice)).count() == 1


def test_undo_waits_for_a_later_merge_of_the_survivor_to_be_undone(
    ws: Any, alice: Any, pair: tuple[Contact, Contact]
) -> None:
    survivor, merged = pair
    third = make(ws, alice, first_name="M", emails=["m3@example.com"])
    first = merging.contact_merge(survivor=survivor, merged=merged, choices={}, actor=alice)
    second = merging.contact_merge(survivor=third, merged=survivor, choices={}, actor=alice)
    before = snapshot(ws)

    with pytest.raises(merging.MergeError, match="undo that merge first"):
        merging.merge_undo(merge=first, actor=alice)
    assert snapshot(ws) == before

    merging.merge_undo(merge=second, actor=alice)
    assert merging.merge_undo(merge=first, actor=alice) is True
