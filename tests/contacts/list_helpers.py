"""Small builders for the contact-list tests (list, search, bulk, export, saved lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.test import Client

from contacts.models import Contact, PipelineStage
from contacts.normalize import phone_to_e164
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create


def add_contact(
    workspace: Any,
    first: str = "",
    last: str = "",
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    **fields: Any,
) -> Contact:
    """A contact made the way the app makes them (search text, primary email/phone, timeline)."""
    data = ContactInput(
        first_name=first,
        last_name=last,
        emails=list(emails),
        phones=[phone_to_e164(p) for p in phones],
        **fields,
    )
    return contact_create(workspace=workspace, actor=None, data=data, flag_duplicates=False)


def bulk_contacts(workspace: Any, rows: Sequence[dict[str, Any]]) -> list[Contact]:
    """Many plain contacts in one INSERT (no emails, phones or timeline), for paging tests."""
    stage = stage_named(workspace, "New")
    return Contact.objects.for_workspace(workspace).bulk_create(
        Contact(workspace=workspace, stage=stage, **row) for row in rows
    )


def stage_named(workspace: Any, name: str) -> PipelineStage:
    pipeline_create_defaults(workspace=workspace)
    return PipelineStage.objects.for_workspace(workspace).get(name=name)


def names_on_page(client: Client, url: str, **params: Any) -> list[str]:
    response = client.get(url, params)
    assert response.status_code == 200
    return [c.name for c in response.context["contacts"]]
