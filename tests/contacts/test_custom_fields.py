"""Custom fields in settings: the owner adds, renames, edits and deletes fields of each kind with
unique keys and labels; an agent only sees them; another workspace's field is not found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from contacts.models import Contact, CustomField
from contacts.pipeline.services import custom_field_create
from contacts.services import ContactInput, contact_create

pytestmark = pytest.mark.django_db

URL = "/settings/custom-fields/"


def _fields(workspace: Any) -> list[CustomField]:
    return list(CustomField.objects.for_workspace(workspace).order_by("position", "id"))


def _add(client: Client, label: str, kind: str, choices: str = "") -> Any:
    return client.post(
        URL, {"action": "add", "new-label": label, "new-kind": kind, "new-choices": choices}
    )


@pytest.mark.parametrize(
    ("label", "kind", "key"),
    [
        ("Preferred school district", "text", "preferred_school_district"),
        ("Pre-approved amount", "number", "pre_approved_amount"),
        ("Lease ends", "date", "lease_ends"),
        ("Has a dog?", "yes_no", "has_a_dog"),
    ],
)
def test_the_owner_adds_a_field_of_each_simple_kind(
    alice_client: Client, alice: Any, workspace_of: Any, label: str, kind: str, key: str
) -> None:
    response = _add(alice_client, label, kind, choices="ignored\nfor this kind")

    (field,) = _fields(workspace_of(alice))
    assert response.status_code == 302
    assert (field.label, field.kind, field.key, field.choices) == (label, kind, key, [])


def test_a_choice_field_keeps_its_cleaned_choices(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    _add(
        alice_client, "Preferred area", "choice", " North Park \n\nHillcrest\nNorth Park\nLa Jolla"
    )

    (field,) = _fields(workspace_of(alice))
    assert field.kind == "choice"
    assert field.choices == ["North Park", "Hillcrest", "La Jolla"]


def test_a_choice_field_needs_two_choices_and_says_so(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    response = _add(alice_client, "Preferred area", "choice", "North Park")

    assert response.status_code == 400
    assert "List at least two choices, one per line." in response.content.decode()
    assert _fields(workspace_of(alice)) == []


def test_an_unknown_kind_is_refused(alice_client: Client, alice: Any, workspace_of: Any) -> None:
    response = _add(alice_client, "Shoe size", "shoe")

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert _fields(workspace_of(alice)) == []


def test_keys_are_unique_in_the_workspace_and_labels_too(
    alice_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    custom_field_create(workspace=workspace_of(charlie), label="Pets", kind="text")
    _add(alice_client, "Pets", "text")
    _add(alice_client, "Pets?", "yes_no")
    same_label = _add(alice_client, "pets", "number")
    _add(alice_client, "???", "text")

    assert [(f.label, f.key) for f in _fields(ws)] == [
        ("Pets", "pets"), ("Pets?", "pets_2"), ("???", "field"),
    ]  # fmt: skip
    assert same_label.status_code == 400
    assert "There is already a field called “pets”." in same_label.content.decode()


def test_renaming_keeps_the_key_and_the_kind(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    field = custom_field_create(workspace=ws, label="Lender", kind="text")

    response = alice_client.post(
        URL, {"action": "save", "field_id": field.id, f"f{field.id}-label": "Mortgage lender",
              f"f{field.id}-kind": "number"},
    )  # fmt: skip

    field.refresh_from_db()
    assert response.status_code == 302
    assert (field.label, field.key, field.kind) == ("Mortgage lender", "lender", "text")


def test_a_choice_fields_choices_can_be_edited(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    field = custom_field_create(
        workspace=workspace_of(alice), label="Area", kind="choice", choices=["A", "B"]
    )

    alice_client.post(
        URL, {"action": "save", "field_id": field.id, f"f{field.id}-label": "Area",
              f"f{field.id}-choices": "A\nB\nC"},
    )  # fmt: skip
    refused = alice_client.post(
        URL, {"action": "save", "field_id": field.id, f"f{field.id}-label": "Area",
              f"f{field.id}-choices": "A"},
    )  # fmt: skip

    field.refresh_from_db()
    assert field.choices == ["A", "B", "C"]
    assert refused.status_code == 400


def test_deleting_a_field_removes_its_values_from_contacts(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    field = custom_field_create(workspace=ws, label="Has a dog", kind="yes_no")
    kept = custom_field_create(workspace=ws, label="Lease ends", kind="date")
    zelda = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Zelda", custom_fields={field.key: True, kept.key: "2026-08-01"}),
    )  # fmt: skip

    response = alice_client.post(URL, {"action": "delete", "field_id": field.id}, follow=True)

    zelda = Contact.objects.for_workspace(ws).get(id=zelda.id)
    assert zelda.custom_fields == {kept.key: "2026-08-01"}
    assert _fields(ws) == [kept]
    assert "Deleted the field Has a dog and its values on 1 contact." in response.content.decode()


def test_an_agent_sees_the_fields_but_cannot_change_them(
    bob_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    field = custom_field_create(workspace=ws, label="Lender", kind="text")

    page = bob_client.get(URL)
    added = _add(bob_client, "Shoe size", "number")
    deleted = bob_client.post(URL, {"action": "delete", "field_id": field.id})

    assert "Lender" in page.content.decode()
    assert "Only the workspace owner can change custom fields." in page.content.decode()
    assert (added.status_code, deleted.status_code) == (403, 403)
    assert _fields(ws) == [field]


@pytest.mark.promise("SEC-3")
def test_another_workspaces_field_is_not_found(
    charlie_client: Client, alice: Any, workspace_of: Any
) -> None:
    field = custom_field_create(workspace=workspace_of(alice), label="ALICE-FIELD", kind="text")

    deleted = charlie_client.post(URL, {"action": "delete", "field_id": field.id})
    renamed = charlie_client.post(
        URL, {"action": "save", "field_id": field.id, f"f{field.id}-label": "Mine"}
    )

    assert (deleted.status_code, renamed.status_code) == (404, 404)
    assert _fields(workspace_of(alice)) == [field]
    assert "ALICE-FIELD" not in charlie_client.get(URL).content.decode()
