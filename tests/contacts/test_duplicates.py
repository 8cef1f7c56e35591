"""Duplicates: contacts sharing an email or a phone are listed for review, and can be dismissed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.merging import services as merging
from contacts.models import Contact, DuplicateFlag
from contacts.services import ContactInput, contact_create

pytestmark = pytest.mark.django_db


def make(ws: Any, actor: Any, **data: Any) -> Contact:
    return contact_create(workspace=ws, actor=actor, data=ContactInput(**data))


@pytest.fixture
def twins(ws: Any, alice: Any) -> tuple[Contact, Contact]:
    first = make(ws, alice, first_name="Maria", last_name="Lopez", phones=["+14155550101"])
    second = make(ws, alice, first_name="Mary", last_name="L", phones=["+14155550101"])
    return first, second


def test_the_page_lists_open_pairs_with_their_reason_and_actions(
    alice_client: Client, ws: Any, twins: tuple[Contact, Contact]
) -> None:
    first, second = twins
    flag = DuplicateFlag.objects.for_workspace(ws).get()

    response = alice_client.get(reverse("contacts:duplicates"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Maria Lopez" in body
    assert "Mary L" in body
    assert "Same phone (415) 555-0101" in body
    assert reverse("contacts:merge", args=[first.id, second.id]) in body
    assert reverse("contacts:duplicate_dismiss", args=[flag.id]) in body


def test_dismissed_merged_and_deleted_pairs_are_not_listed(
    alice_client: Client, ws: Any, alice: Any, twins: tuple[Contact, Contact]
) -> None:
    first, _second = twins
    third = make(ws, alice, first_name="Tom", emails=["tom@example.com"])
    fourth = make(ws, alice, first_name="Thomas", emails=["tom@example.com"])
    make(ws, alice, first_name="Ann", emails=["ann@example.com"])
    sixth = make(ws, alice, first_name="Annie", emails=["ann@example.com"])
    merging.duplicate_dismiss(flag=DuplicateFlag.objects.for_workspace(ws).get(contact_a=first))
    merging.contact_merge(survivor=third, merged=fourth, choices={}, actor=alice)
    Contact.objects.for_workspace(ws).filter(id=sixth.id).update(deleted_at=timezone.now())
    make(ws, alice, first_name="Zoe", phones=["+14155550199"])
    make(ws, alice, first_name="Zoey", phones=["+14155550199"])

    response = alice_client.get(reverse("contacts:duplicates"))

    assert [
        (f.contact_a.first_name, f.contact_b.first_name) for f in response.context["flags"]
    ] == [("Zoe", "Zoey")]


def test_not_a_duplicate_dismisses_the_pair(
    alice_client: Client, ws: Any, twins: tuple[Contact, Contact]
) -> None:
    flag = DuplicateFlag.objects.for_workspace(ws).get()

    response = alice_client.post(reverse("contacts:duplicate_dismiss", args=[flag.id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:duplicates")
    flag.refresh_from_db()
    assert flag.status == "dismissed"
    assert "Maria Lopez" not in alice_client.get(reverse("contacts:duplicates")).content.decode()


def test_not_a_duplicate_through_htmx_removes_the_row(
    alice_client: Client, ws: Any, twins: tuple[Contact, Contact]
) -> None:
    flag = DuplicateFlag.objects.for_workspace(ws).get()

    response = alice_client.post(
        reverse("contacts:duplicate_dismiss", args=[flag.id]), headers={"HX-Request": "true"}
    )

    assert (response.status_code, response.content) == (200, b"")
    flag.refresh_from_db()
    assert flag.status == "dismissed"


def test_dismissing_needs_a_post(
    alice_client: Client, ws: Any, twins: tuple[Contact, Contact]
) -> None:
    flag = DuplicateFlag.objects.for_workspace(ws).get()

    response = alice_client.get(reverse("contacts:duplicate_dismiss", args=[flag.id]))

    assert response.status_code == 405
    flag.refresh_from_db()
    assert flag.status == "open"


def test_another_workspace_neither_sees_nor_dismisses_the_pair(
    charlie_client: Client, ws: Any, twins: tuple[Contact, Contact]
) -> None:
    flag = DuplicateFlag.objects.for_workspace(ws).get()

    listing = charlie_client.get(reverse("contacts:duplicates"))
    dismiss = charlie_client.post(reverse("contacts:duplicate_dismiss", args=[flag.id]))

    assert "Maria" not in listing.content.decode()
    assert dismiss.status_code == 404
    flag.refresh_from_db()
    assert flag.status == "open"
