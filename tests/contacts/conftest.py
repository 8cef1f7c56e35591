"""Fixtures and helpers of the contact tests: Alice's bare workspace, contacts made the way the app
makes them, reading the contact list, and CSV imports run in this process without a worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import User, Workspace
from contacts.imports import services as importer
from contacts.models import Contact, CustomField, ImportJob, PipelineStage, Source
from contacts.normalize import phone_to_e164
from contacts.pipeline.services import lead_source_for_key, pipeline_create_defaults
from tests.conftest import workspace_of
from tests.factories import create_contact


@pytest.fixture
def ws(alice: User) -> Workspace:
    """Alice's workspace as the factory leaves it: no pipeline stages until something makes them."""
    return workspace_of(alice)


# --- contacts and the list ----------------------------------------------------------------------
def add_contact(
    workspace: Any,
    first: str = "",
    last: str = "",
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    **fields: Any,
) -> Contact:
    """A contact made the way the app makes them (search text, primary email/phone, timeline), with
    phones in any format and no duplicate flags."""
    return create_contact(
        workspace=workspace,
        actor=None,
        flag_duplicates=False,
        first_name=first,
        last_name=last,
        emails=list(emails),
        phones=[phone_to_e164(p) for p in phones],
        **fields,
    )


def bulk_contacts(workspace: Any, rows: Sequence[dict[str, Any]]) -> list[Contact]:
    """Many plain contacts in one INSERT (no emails, phones or timeline), for paging tests; their
    source is "Manual", as contact_create gives, unless a row names another source's key."""
    stage = stage_named(workspace, "New")
    keys = {str(row.get("source", Source.MANUAL)) for row in rows}
    sources = {key: lead_source_for_key(workspace=workspace, key=key) for key in keys}
    return Contact.objects.for_workspace(workspace).bulk_create(
        Contact(
            workspace=workspace,
            **{"stage": stage, **row, "source": sources[str(row.get("source", Source.MANUAL))]},
        )
        for row in rows
    )


def source_key(contact: Contact) -> str:
    """The key of the contact's lead source ("" without one)."""
    return contact.source.key if contact.source is not None else ""


def stage_named(workspace: Any, name: str) -> PipelineStage:
    pipeline_create_defaults(workspace=workspace)
    return PipelineStage.objects.for_workspace(workspace).get(name=name)


def names_on_page(client: Client, url: str, **params: Any) -> list[str]:
    response = client.get(url, params)
    assert response.status_code == 200
    return [c.name for c in response.context["contacts"]]


# --- CSV imports --------------------------------------------------------------------------------
def upload(workspace: Any, actor: Any, text: str | bytes, filename: str = "leads.csv") -> ImportJob:
    content = text.encode() if isinstance(text, str) else text
    return importer.import_upload_create(
        workspace=workspace, actor=actor, filename=filename, content=content
    )


def run_import(
    workspace: Any,
    actor: Any,
    text: str | bytes,
    *,
    mapping: dict[int, str] | None = None,
    dedupe: str = ImportJob.Dedupe.SKIP,
    all_or_nothing: bool = False,
    value_mapping: dict[str, dict[str, str]] | None = None,
    filename: str = "leads.csv",
    capture: Any,
) -> ImportJob:
    """Upload, map (the guessed mapping unless given), queue and run an import in this process.

    Without `value_mapping`, stage, source, agent and tag values must match existing ones by name
    (tags are created). `capture` is pytest-django's django_capture_on_commit_callbacks: the task
    the mapping sends is captured, not run, and the import runs here instead."""
    job = upload(workspace, actor, text, filename)
    if mapping is None:
        custom_fields = CustomField.objects.for_workspace(workspace)
        mapping = importer.import_mapping_guess(job.headers, custom_fields)
    with capture(execute=False) as callbacks:
        importer.import_mapping_save(
            job=job, mapping=mapping, dedupe=dedupe, all_or_nothing=all_or_nothing
        )
        if job.status == ImportJob.Status.MAPPED:
            importer.import_start(job=job, value_mapping=value_mapping or {})
    # One import task was sent (other callbacks are cache-version bumps of what the start wrote).
    assert sum("contacts_import_run" in repr(c) for c in callbacks) == 1
    importer.import_run(workspace_id=workspace.id, import_id=job.id)
    job.refresh_from_db()
    return job


def errors_of(job: ImportJob) -> list[str]:
    return [error["message"] for error in job.errors]
