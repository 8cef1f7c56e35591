"""The contact page: header, quick actions, details edited in place (htmx and without JS), delete
with undo."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.consent import consent_record
from contacts.models import Activity, Contact, CustomField, PipelineStage, Tag
from tests.contacts.conftest import source_key
from tests.factories import create_appointment, create_contact, create_property, create_task

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def maria(ws_with_stages: Any, alice: Any) -> Contact:
    """Maria with an email, a phone, a tag and a role, for the header and the edits."""
    return create_contact(
        workspace=ws_with_stages,
        actor=alice,
        first_name="Maria",
        last_name="Lopez",
        emails=["maria@example.com"],
        phones=["+14155550123"],
        tags=["pre-approved"],
        role="buyer",
    )


def stage_named(contact: Contact, name: str) -> PipelineStage:
    return PipelineStage.objects.for_workspace(contact.workspace).get(name=name)


def reload(contact: Contact) -> Contact:
    return Contact.objects.for_workspace(contact.workspace).get(id=contact.id)


def test_the_header_shows_name_stage_tags_and_links_to_call_and_email(
    alice_client: Client, maria: Contact
) -> None:
    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert "<h1>Maria Lopez</h1>" in page
    assert 'class="badge stage-badge outcome-open">New</span>' in page
    assert 'href="tel:+14155550123"' in page
    assert "(415) 555-0123" in page
    assert 'href="mailto:maria@example.com"' in page
    assert '<span class="badge tag">pre-approved</span>' in page


def test_the_page_costs_the_same_seven_queries_for_a_bare_contact_and_a_busy_one(
    alice_client: Client, alice: Any, bob: Any, maria: Contact
) -> None:
    bare = create_contact(workspace=maria.workspace, actor=alice, first_name="Otto")
    alice_client.get(f"/contacts/{bare.id}/")  # warm the per-user flags the page caches
    with CaptureQueriesContext(connection) as for_bare:
        alice_client.get(f"/contacts/{bare.id}/")
    CustomField.objects.create(workspace=maria.workspace, key="lender", label="Lender", kind="text")
    Contact.objects.for_workspace(maria.workspace).filter(id=maria.id).update(
        custom_fields={"lender": "First Bank"}
    )
    home = create_property(workspace=maria.workspace, street="9 Elm St")
    for day in (1, 2):  # a teammate's, at a property: their names come in the same query
        create_appointment(
            contact=maria, actor=bob, title=f"Tour {day}", property=home,
            starts_at=timezone.now() + timedelta(days=day),
        )  # fmt: skip
    for title in ("Send comps", "Call the lender"):
        create_task(contact=maria, actor=alice, title=title)
    for channel in ("sms", "email", "instagram"):  # consent histories: one query for all three
        for kind in ("opt_in", "stop", "start"):
            consent_record(maria, channel, kind, by=bob)

    with CaptureQueriesContext(connection) as for_busy:
        page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert len(for_busy.captured_queries) == len(for_bare.captured_queries) == 7
    assert "Tour 2" in page
    assert "Bob Teammate" in page
    assert "Call the lender" in page
    assert "First Bank" in page
    assert '<span class="badge tag">pre-approved</span>' in page


def test_the_details_list_main_email_and_phone_first_and_tags_by_name_of_this_workspace_only(
    alice_client: Client, alice: Any, charlie: Any, maria: Contact
) -> None:
    otto = create_contact(
        workspace=maria.workspace, actor=alice, first_name="Otto",
        emails=["main@example.com", "b@example.com"], phones=["+14155550199", "+14155550100"],
        tags=["zeta", "alpha"],
    )  # fmt: skip
    theirs = Tag.objects.create(workspace=charlie.memberships.get().workspace, name="aaa-theirs")
    Contact.tags.through.objects.create(contact_id=otto.id, tag_id=theirs.id)  # a bad row

    page = alice_client.get(f"/contacts/{otto.id}/").content.decode()

    details = page.split('id="section-details"')[1].split('id="section-pipeline"')[0]
    assert details.index("main@example.com") < details.index("b@example.com")
    assert details.index("0199") < details.index("0100")
    assert '<span class="badge tag">alpha</span><span class="badge tag">zeta</span>' in page
    assert "aaa-theirs" not in page


def test_quick_actions_link_only_to_pages_that_exist(alice_client: Client, maria: Contact) -> None:
    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert 'href="#note-form"' in page
    assert 'href="#task-form"' in page
    assert f'<a class="qa" href="/appointments/new/?contact={maria.id}">' in page
    assert f'<a class="qa" href="/inbox/?contact={maria.id}">' in page
    assert '<span class="qa is-soon" aria-disabled="true" title="Coming soon: AI drafts">' in page


def test_the_edit_link_returns_the_sections_form_as_a_fragment(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.get(f"/contacts/{maria.id}/edit/details/", headers=HTMX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert 'id="section-details"' in fragment
    assert 'name="first_name" value="Maria"' in fragment
    assert "(415) 555-0123</textarea>" in fragment
    assert 'name="stage"' not in fragment


def test_saving_a_section_in_place_returns_its_updated_view_and_header(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.post(
        f"/contacts/{maria.id}/edit/details/",
        {
            "first_name": "María",
            "last_name": "López-Ruiz",
            "emails": "maria@example.com\nMaria.Work@Example.com",
            "phones": "415-555-0123, 1 (628) 555 0188",
        },
        headers=HTMX,
    )

    fragment = response.content.decode()
    maria = reload(maria)
    assert response.status_code == 200
    assert "<form" not in fragment.split('id="contact-header"')[0]
    assert "María López-Ruiz" in fragment
    assert 'href="tel:+16285550188"' in fragment
    assert 'id="contact-header" hx-swap-oob="true"' in fragment
    assert "timeline-changed" in json.loads(response["HX-Trigger"])
    assert maria.name == "María López-Ruiz"
    assert [e.email for e in maria.emails.all()] == ["maria@example.com", "maria.work@example.com"]
    assert [p.e164 for p in maria.phones.all()] == ["+14155550123", "+16285550188"]
    assert "628" in maria.search_text


def test_an_invalid_value_in_place_returns_the_form_with_the_error_next_to_the_field(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.post(
        f"/contacts/{maria.id}/edit/details/",
        {"first_name": "Maria", "last_name": "Lopez", "emails": "", "phones": "555-12"},
        headers=HTMX,
    )

    fragment = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_phones_error"><li>“555-12” is not a valid' in fragment
    assert "<form" in fragment
    assert [p.e164 for p in reload(maria).phones.all()] == ["+14155550123"]


def test_a_stage_change_is_saved_and_appears_on_the_timeline(
    alice_client: Client, maria: Contact, bob: Any
) -> None:
    showing = stage_named(maria, "Showing")

    response = alice_client.post(
        f"/contacts/{maria.id}/edit/pipeline/",
        {"stage": showing.id, "source": "referral", "assigned_to": bob.id, "tags": "hot, vip"},
        headers=HTMX,
    )

    maria = reload(maria)
    assert response.status_code == 200
    assert (maria.stage, source_key(maria), maria.assigned_to) == (showing, "referral", bob)
    assert sorted(t.name for t in maria.tags.all()) == ["hot", "vip"]
    change = Activity.objects.for_workspace(maria.workspace).get(kind="stage_changed")
    assert change.summary == "Stage: New → Showing"
    timeline = alice_client.get(f"/contacts/{maria.id}/timeline/", headers=HTMX).content.decode()
    assert "Stage: New → Showing" in timeline


def test_every_consent_box_can_be_cleared(alice_client: Client, maria: Contact) -> None:
    Contact.objects.for_workspace(maria.workspace).filter(id=maria.id).update(
        consent_email=True, consent_sms=True, consent_instagram=True
    )

    response = alice_client.post(f"/contacts/{maria.id}/edit/consent/", {}, headers=HTMX)

    maria = reload(maria)
    assert response.status_code == 200
    assert (maria.consent_email, maria.consent_sms, maria.consent_instagram) == (
        False,
        False,
        False,
    )


def test_the_buyer_section_explains_a_reversed_budget(alice_client: Client, maria: Contact) -> None:
    response = alice_client.post(
        f"/contacts/{maria.id}/edit/buyer/",
        {"role": "buyer", "budget_min": "900k", "budget_max": "400k", "timeframe": ""},
        headers=HTMX,
    )

    assert "the second amount must be the larger one" in response.content.decode()
    assert reload(maria).budget_min is None


def test_the_custom_section_keeps_values_of_other_fields(
    alice_client: Client, maria: Contact
) -> None:
    CustomField.objects.create(workspace=maria.workspace, key="lender", label="Lender", kind="text")
    CustomField.objects.create(
        workspace=maria.workspace, key="has_agent", label="Has an agent", kind="yes_no"
    )
    Contact.objects.for_workspace(maria.workspace).filter(id=maria.id).update(
        custom_fields={"lender": "First Bank", "deleted_field": "kept"}
    )

    response = alice_client.post(
        f"/contacts/{maria.id}/edit/custom/", {"cf_lender": "", "cf_has_agent": "yes"}, headers=HTMX
    )

    assert response.status_code == 200
    assert "Has an agent" in response.content.decode()
    assert reload(maria).custom_fields == {"has_agent": True, "deleted_field": "kept"}


def test_an_unknown_section_is_not_found(alice_client: Client, maria: Contact) -> None:
    assert alice_client.get(f"/contacts/{maria.id}/edit/secrets/").status_code == 404
    assert alice_client.post(f"/contacts/{maria.id}/edit/secrets/", {}).status_code == 404


def test_without_javascript_the_edit_link_opens_a_form_page_that_saves_and_returns(
    alice_client: Client, maria: Contact
) -> None:
    page = alice_client.get(f"/contacts/{maria.id}/edit/buyer/")
    invalid = alice_client.post(f"/contacts/{maria.id}/edit/buyer/", {"budget_min": "lots"})
    saved = alice_client.post(
        f"/contacts/{maria.id}/edit/buyer/",
        {"role": "seller", "budget_min": "", "budget_max": "1.2m", "timeframe": "now"},
    )

    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert invalid.status_code == 400
    assert "Enter an amount in dollars" in invalid.content.decode()
    assert saved.status_code == 302
    assert saved["Location"] == f"/contacts/{maria.id}/"
    maria = reload(maria)
    assert (maria.role, maria.budget_max, maria.timeframe) == ("seller", 1_200_000, "now")


def test_another_workspaces_contact_is_not_found(charlie_client: Client, maria: Contact) -> None:
    for url in (
        f"/contacts/{maria.id}/",
        f"/contacts/{maria.id}/edit/details/",
        f"/contacts/{maria.id}/timeline/",
    ):
        assert charlie_client.get(url, headers=HTMX).status_code == 404
    response = charlie_client.post(f"/contacts/{maria.id}/edit/details/", {"first_name": "X"})
    assert response.status_code == 404
    assert reload(maria).first_name == "Maria"


def test_deleting_a_contact_hides_it_and_offers_an_undo(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.post(f"/contacts/{maria.id}/delete/")

    assert response.status_code == 302
    assert reload(maria).deleted_at is not None
    assert alice_client.get(f"/contacts/{maria.id}/").status_code == 404
    flash = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert len(flash) == 1
    assert "Maria Lopez moved to the trash." in flash[0]
    assert f'action="/contacts/{maria.id}/restore/"' in flash[0]
    assert ">Undo</button>" in flash[0]

    restored = alice_client.post(f"/contacts/{maria.id}/restore/")

    assert restored["Location"] == f"/contacts/{maria.id}/"
    assert reload(maria).deleted_at is None
    assert alice_client.get(f"/contacts/{maria.id}/").status_code == 200


def test_a_delete_cannot_be_undone_after_the_undo_window(
    alice_client: Client, maria: Contact, settings: Any
) -> None:
    alice_client.post(f"/contacts/{maria.id}/delete/")

    with time_machine.travel(
        timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=1)
    ):
        response = alice_client.post(f"/contacts/{maria.id}/restore/", follow=False)

    assert response.status_code == 302
    assert reload(maria).deleted_at is not None


def test_delete_and_restore_only_answer_posts(alice_client: Client, maria: Contact) -> None:
    assert alice_client.get(f"/contacts/{maria.id}/delete/").status_code == 405
    assert alice_client.get(f"/contacts/{maria.id}/restore/").status_code == 405
    assert reload(maria).deleted_at is None
