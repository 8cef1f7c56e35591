"""Adding a contact by hand: every field, explained refusals, duplicates flagged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from contacts.models import Contact, CustomField, DuplicateFlag, PipelineStage
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from tests.contacts.conftest import source_key

pytestmark = pytest.mark.django_db


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "emails": "",
        "phones": "",
        "source": "open_house",
        "tags": "",
        "role": "",
        "budget_min": "",
        "budget_max": "",
        "timeframe": "",
        "next_follow_up_on": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def stages(alice: Any, workspace_of: Any) -> list[PipelineStage]:
    return pipeline_create_defaults(workspace=workspace_of(alice))


def errors_of(response: Any, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def test_it_creates_a_contact_with_every_field_and_opens_its_page(
    alice_client: Client, alice: Any, bob: Any, stages: list[PipelineStage], workspace_of: Any
) -> None:
    qualified = next(s for s in stages if s.name == "Qualified")

    response = alice_client.post(
        "/contacts/new/",
        form_data(
            emails="Maria.Lopez@Example.com, maria@work.example.com",
            phones="(415) 555-0123\n+44 20 7946 0958",
            stage=qualified.id,
            tags="first-time buyer, pre-approved",
            assigned_to=bob.id,
            role="buyer",
            budget_min="$450,000",
            budget_max="650k",
            timeframe="soon",
            next_follow_up_on="2030-03-14",
            consent_email="on",
            consent_sms="on",
        ),
    )

    contact = Contact.objects.for_workspace(workspace_of(alice)).get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.id}/"
    assert contact.name == "Maria Lopez"
    assert [e.email for e in contact.emails.all()] == [
        "maria.lopez@example.com",
        "maria@work.example.com",
    ]
    assert [p.e164 for p in contact.phones.all()] == ["+14155550123", "+442079460958"]
    assert contact.primary_phone == "+14155550123"
    assert contact.stage == qualified
    assert source_key(contact) == "open_house"
    assert sorted(t.name for t in contact.tags.all()) == ["first-time buyer", "pre-approved"]
    assert contact.assigned_to == bob
    assert (contact.budget_min, contact.budget_max) == (450_000, 650_000)
    assert (contact.role, contact.timeframe) == ("buyer", "soon")
    assert str(contact.next_follow_up_on) == "2030-03-14"
    assert (contact.consent_email, contact.consent_sms, contact.consent_instagram) == (
        True,
        True,
        False,
    )
    page = alice_client.get(response["Location"]).content.decode()
    assert "Added Maria Lopez." in page


def test_each_invalid_phone_is_explained_next_to_the_phones_field(
    alice_client: Client, alice: Any, stages: list[PipelineStage], workspace_of: Any
) -> None:
    response = alice_client.post(
        "/contacts/new/",
        form_data(phones="(415) 555-0123, 555-12, call me maybe", stage=stages[0].id),
    )

    assert response.status_code == 400
    problems = errors_of(response, "phones")
    assert "“555-12” is not a valid phone number." in problems
    assert "“call me maybe” is not a phone number." in problems
    page = response.content.decode()
    assert 'id="id_phones_error"' in page
    assert "“555-12” is not a valid phone number." in page
    assert not Contact.objects.for_workspace(workspace_of(alice)).exists()


def test_an_invalid_email_is_refused(alice_client: Client, stages: list[PipelineStage]) -> None:
    response = alice_client.post(
        "/contacts/new/", form_data(emails="maria@example.com, maria@", stage=stages[0].id)
    )

    assert response.status_code == 400
    assert errors_of(response, "emails") == ["“maria@” is not an email address."]


def test_a_budget_whose_maximum_is_below_its_minimum_is_explained(
    alice_client: Client, stages: list[PipelineStage]
) -> None:
    response = alice_client.post(
        "/contacts/new/",
        form_data(budget_min="700,000", budget_max="500000", stage=stages[0].id),
    )

    assert response.status_code == 400
    [problem] = errors_of(response, "budget_max")
    assert "$500,000" in problem
    assert "$700,000" in problem
    assert "larger" in problem


def test_a_budget_that_is_not_an_amount_is_explained(
    alice_client: Client, stages: list[PipelineStage]
) -> None:
    response = alice_client.post(
        "/contacts/new/", form_data(budget_min="about half a million", stage=stages[0].id)
    )

    assert errors_of(response, "budget_min") == [
        "Enter an amount in dollars, like 450000, $450,000 or 450k."
    ]


def test_a_contact_needs_a_name_an_email_or_a_phone(
    alice_client: Client, stages: list[PipelineStage], alice: Any, workspace_of: Any
) -> None:
    response = alice_client.post(
        "/contacts/new/", form_data(first_name="", last_name="", stage=stages[0].id)
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Give the contact a name, an email or a phone number."
    ]
    assert not Contact.objects.for_workspace(workspace_of(alice)).exists()


def test_only_members_of_the_workspace_can_be_assigned(
    alice_client: Client, stages: list[PipelineStage], charlie: Any
) -> None:
    response = alice_client.post(
        "/contacts/new/", form_data(assigned_to=charlie.id, stage=stages[0].id)
    )

    assert response.status_code == 400
    assert errors_of(response, "assigned_to") == ["Choose a member of your team."]
    assert "charlie@example.com" not in response.content.decode()
    assert "Charlie Other" not in response.content.decode()


def test_a_stage_of_another_workspace_is_refused(
    alice_client: Client, stages: list[PipelineStage], charlie: Any, workspace_of: Any
) -> None:
    charlies_stage = pipeline_create_defaults(workspace=workspace_of(charlie))[0]

    response = alice_client.post("/contacts/new/", form_data(stage=charlies_stage.id))

    assert response.status_code == 400
    assert errors_of(response, "stage") == ["Choose a stage of your pipeline."]


def test_custom_fields_are_validated_and_stored_by_type(
    alice_client: Client, alice: Any, stages: list[PipelineStage], workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    for key, kind, choices in [
        ("bedrooms_wanted", "number", []),
        ("pre_approved_on", "date", []),
        ("has_agent", "yes_no", []),
        ("school_district", "choice", ["North Park", "Hillcrest"]),
        ("lender", "text", []),
    ]:
        CustomField.objects.create(
            workspace=ws, key=key, label=key.replace("_", " ").title(), kind=kind, choices=choices
        )
    bad = alice_client.post(
        "/contacts/new/",
        form_data(
            stage=stages[0].id, cf_bedrooms_wanted="three", cf_pre_approved_on="last week",
            cf_has_agent="maybe", cf_school_district="Downtown",
        ),
    )  # fmt: skip

    assert bad.status_code == 400
    assert errors_of(bad, "cf_bedrooms_wanted") == [
        "Enter Bedrooms Wanted as a number, like 3 or 2.5."
    ]
    assert errors_of(bad, "cf_pre_approved_on") == [
        "Enter Pre Approved On as a date, like 2025-03-14."
    ]
    assert errors_of(bad, "cf_has_agent") == ["Answer Has Agent with yes or no."]
    assert errors_of(bad, "cf_school_district") == ["Choose one of: North Park, Hillcrest."]

    good = alice_client.post(
        "/contacts/new/",
        form_data(
            stage=stages[0].id, cf_bedrooms_wanted="2.5", cf_pre_approved_on="2030-01-31",
            cf_has_agent="no", cf_school_district="Hillcrest", cf_lender="",
        ),
    )  # fmt: skip

    assert good.status_code == 302
    contact = Contact.objects.for_workspace(ws).get()
    assert contact.custom_fields == {
        "bedrooms_wanted": 2.5,
        "pre_approved_on": "2030-01-31",
        "has_agent": False,
        "school_district": "Hillcrest",
    }


def test_a_possible_duplicate_is_flagged_and_the_message_links_to_the_duplicates(
    alice_client: Client, alice: Any, stages: list[PipelineStage], workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Maria", last_name="L", phones=["+14155550123"]),
    )  # fmt: skip

    response = alice_client.post(
        "/contacts/new/",
        form_data(phones="415.555.0123", stage=stages[0].id),
        follow=True,
    )

    assert DuplicateFlag.objects.for_workspace(ws).filter(status="open").count() == 1
    page = response.content.decode()
    assert "It looks like a contact you already have" in page
    assert 'href="/contacts/duplicates/"' in page


def test_the_form_offers_the_workspaces_stages_members_and_custom_fields(
    alice_client: Client, alice: Any, bob: Any, stages: list[PipelineStage], workspace_of: Any
) -> None:
    CustomField.objects.create(
        workspace=workspace_of(alice), key="lender", label="Lender", kind="text"
    )

    response = alice_client.get("/contacts/new/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Under contract" in page
    assert "Bob Teammate" in page
    assert 'name="cf_lender"' in page
