"""Lead sources: a list each workspace extends (Settings → Lead sources), preset with the portals
and channels agents use; contacts, the list filter and the export name them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alt.accounts.services import workspace_create_for_user
from contacts.models import Contact, LeadSource, Source
from contacts.pipeline.services import lead_source_for_key, lead_sources_create_defaults
from tests.contacts.conftest import add_contact, names_on_page, source_key
from tests.factories import create_user

pytestmark = pytest.mark.django_db

URL = "/settings/lead-sources/"
PRESETS = [
    "Zillow", "Realtor.com", "Redfin", "Homes.com", "Open house", "Sign call", "Referral",
    "Sphere", "Past client", "Website", "Instagram", "Facebook", "Google", "Manual",
]  # fmt: skip


def source_names(ws: Any) -> list[str]:
    return list(LeadSource.objects.for_workspace(ws).values_list("name", flat=True))


def test_a_new_workspace_starts_with_the_sources_agents_use() -> None:
    ws = workspace_create_for_user(user=create_user(email="new@example.com"), name="New")

    assert source_names(ws) == PRESETS


def test_the_apps_own_sources_are_added_when_a_contact_first_needs_them(ws: Any) -> None:
    lead_sources_create_defaults(workspace=ws)

    contact = add_contact(ws, "Sam", "Text", source=Source.SMS)

    assert (source_key(contact), contact.get_source_display()) == ("sms", "SMS")
    assert source_names(ws) == [*PRESETS, "SMS"]
    assert lead_source_for_key(workspace=ws, key="sms") == contact.source


def test_the_owner_adds_renames_and_deletes_a_source(alice_client: Client, ws: Any) -> None:
    contact = add_contact(ws, "Ann", "Lee", source="zillow")

    added = alice_client.post(URL, {"action": "add", "new-name": "  Billboard  "})
    billboard = LeadSource.objects.for_workspace(ws).get(name="Billboard")
    zillow = LeadSource.objects.for_workspace(ws).get(key="zillow")
    renamed = alice_client.post(
        URL, {"action": "save", "source_id": zillow.id, f"s{zillow.id}-name": "Zillow Premier"}
    )
    deleted = alice_client.post(URL, {"action": "delete", "source_id": zillow.id})

    assert [r.status_code for r in (added, renamed, deleted)] == [302, 302, 302]
    assert billboard.key == "billboard"
    assert "Zillow" not in source_names(ws)
    contact.refresh_from_db()
    assert (contact.source, contact.get_source_display()) == (None, "")
    page = alice_client.get(f"/contacts/{contact.id}/")
    assert page.status_code == 200


def test_a_name_already_in_the_list_is_refused(alice_client: Client, ws: Any) -> None:
    lead_sources_create_defaults(workspace=ws)

    response = alice_client.post(URL, {"action": "add", "new-name": "zillow"})

    assert response.status_code == 400
    assert response.context["add_form"].errors["name"] == [
        "There is already a source called “zillow”."
    ]
    assert source_names(ws) == PRESETS


def test_an_agent_sees_the_sources_but_cannot_change_them(bob_client: Client, ws: Any) -> None:
    lead_sources_create_defaults(workspace=ws)
    zillow = LeadSource.objects.for_workspace(ws).get(key="zillow")

    page = bob_client.get(URL)
    attempts = [
        bob_client.post(URL, {"action": "add", "new-name": "X"}),
        bob_client.post(URL, {"action": "delete", "source_id": zillow.id}),
    ]

    assert page.status_code == 200
    assert "Zillow" in page.content.decode()
    assert [r.status_code for r in attempts] == [403, 403]
    assert source_names(ws) == PRESETS


def test_the_list_filters_by_a_sources_key_which_survives_a_rename(
    alice_client: Client, ws: Any
) -> None:
    add_contact(ws, "From", "Zillow", source="zillow")
    add_contact(ws, "From", "Referral", source="referral")
    LeadSource.objects.for_workspace(ws).filter(key="zillow").update(name="Zillow Flex")

    assert names_on_page(alice_client, "/contacts/", source="zillow") == ["From Zillow"]
    page = alice_client.get("/contacts/")
    assert '<option value="zillow">Zillow Flex</option>' in page.content.decode()


def test_a_long_right_to_left_source_name_is_stored_and_shown(
    alice_client: Client, ws: Any
) -> None:
    name = "\u0645\u0635\u062f\u0631 " + "\u0627" * 54  # right-to-left, 59 characters

    alice_client.post(URL, {"action": "add", "new-name": name})
    contact = add_contact(
        ws, "Ann", "Lee", source=LeadSource.objects.for_workspace(ws).get(name=name)
    )

    assert Contact.objects.for_workspace(ws).get().get_source_display() == name
    assert name in alice_client.get(f"/contacts/{contact.id}/").content.decode()
    too_long = alice_client.post(URL, {"action": "add", "new-name": "x" * 61})
    assert too_long.status_code == 400
