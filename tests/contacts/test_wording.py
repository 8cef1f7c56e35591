"""How pages word numbers and events: thousands separators, nouns that agree with their count,
"Added by hand" rather than "Added from Manual", amounts formatted on the merge page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity, CustomField, Source
from contacts.pipeline.services import custom_field_create
from contacts.properties.services import PropertyInput, property_create, property_link
from contacts.services import ContactInput, contact_create, note_add, task_add
from contacts.templatetags.numbers import counted, number

pytestmark = pytest.mark.django_db


def test_numbers_get_thousands_separators_and_nouns_agree_with_their_count() -> None:
    assert number(54298) == "54,298"
    assert number(1_250_000.0) == "1,250,000"
    assert number(1234.5) == "1,234.5"
    assert number(None) == ""
    assert number("n/a") == "n/a"
    assert counted(1, "property,properties") == "1 property"
    assert counted(0, "property,properties") == "0 properties"
    assert counted(54298, "lead") == "54,298 leads"
    assert counted(None, "row") == "0 rows"


def test_a_new_contact_s_timeline_says_how_it_came_in_in_plain_words(
    alice_client: Client, ws_with_stages: Any, alice: Any
) -> None:
    contact = contact_create(
        workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Dana")
    )

    page = alice_client.get(reverse("contacts:detail", args=[contact.id])).content.decode()

    assert "Added by hand" in page
    assert "Added from Manual" not in page
    assert {s.created_summary for s in Source} == {
        "Added from Instagram", "Added from a text message", "Added from the website",
        "Added as a referral", "Added at an open house", "Added by hand", "Added by an import",
    }  # fmt: skip


def test_older_timelines_are_reworded_and_the_rewording_can_be_undone(
    ws_with_stages: Any, alice: Any
) -> None:
    migration = __import__(
        "contacts.migrations.0004_a11y_created_summaries", fromlist=["forwards", "backwards"]
    )
    contact = contact_create(
        workspace=ws_with_stages,
        actor=alice,
        data=ContactInput(first_name="Old", source="open_house"),
    )
    created = Activity.objects.for_workspace(ws_with_stages).get(contact=contact, kind="created")
    Activity.objects.for_workspace(ws_with_stages).filter(id=created.id).update(
        summary="Added from Open house"
    )
    note = note_add(contact=contact, author=alice, body="Added from Manual")  # not a created entry

    migration.forwards(apps, None)
    created.refresh_from_db()
    assert created.summary == "Added at an open house"
    note_entry = Activity.objects.for_workspace(ws_with_stages).get(data__note_id=note.id)
    assert note_entry.summary == "Note"

    migration.backwards(apps, None)
    created.refresh_from_db()
    assert created.summary == "Added from Open house"


def test_the_merge_page_formats_amounts_and_counts_agree(
    alice_client: Client, ws_with_stages: Any, alice: Any
) -> None:
    custom_field_create(workspace=ws_with_stages, label="Commission", kind=CustomField.Kind.NUMBER)
    survivor = contact_create(
        workspace=ws_with_stages, actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", budget_min=450_000,
                          custom_fields={"commission": 54298}),
    )  # fmt: skip
    merged = contact_create(
        workspace=ws_with_stages, actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", budget_max=54_298,
                          custom_fields={"commission": 1250.5}),
    )  # fmt: skip
    prop = property_create(
        workspace=ws_with_stages,
        data=PropertyInput(street="12 Oak St", city="San Diego", state="CA", zip_code="92104"),
    )
    property_link(property=prop, contact=survivor, role="interested", actor=alice)
    note_add(contact=survivor, author=alice, body="Prefers texts")
    for title in ("Call", "Send comps"):
        task_add(
            workspace=ws_with_stages, contact=merged, actor=alice, title=title,
            due_at=timezone.now(),
        )  # fmt: skip

    page = alice_client.get(reverse("contacts:merge", args=[survivor.id, merged.id]))
    body = page.content.decode()

    assert page.status_code == 200
    assert "$450,000 and up" in body
    assert "up to $54,298" in body
    assert "54,298" in body  # the custom number field
    assert "1,250.5" in body
    has = re.findall(r"<dt>Has</dt><dd>(.*?)</dd>", body)
    assert has == ["1 note, 3 timeline entries, 1 property", "2 tasks, 3 timeline entries"]


def test_the_dashboard_agrees_with_one_lead(
    alice_client: Client, ws_with_stages: Any, alice: Any
) -> None:
    contact_create(workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Solo"))

    page = alice_client.get(reverse("dashboard")).content.decode()

    assert '<span class="stat-label">lead</span>' in page
