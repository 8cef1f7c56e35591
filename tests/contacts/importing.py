"""Helpers for the import tests: run a CSV through the import services without a worker."""

from __future__ import annotations

from typing import Any

from contacts.imports import services as importer
from contacts.models import CustomField, ImportJob


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
    capture: Any,
) -> ImportJob:
    """Upload, map (the guessed mapping unless given), queue and run an import in this process.

    `capture` is pytest-django's django_capture_on_commit_callbacks: the task the mapping sends
    is captured, not run, and the import runs here instead."""
    job = upload(workspace, actor, text)
    if mapping is None:
        custom_fields = CustomField.objects.for_workspace(workspace)
        mapping = importer.import_mapping_guess(job.headers, custom_fields)
    with capture(execute=False) as callbacks:
        importer.import_start(job=job, mapping=mapping, dedupe=dedupe)
    assert len(callbacks) == 1
    importer.import_run(workspace_id=workspace.id, import_id=job.id)
    job.refresh_from_db()
    return job


def errors_of(job: ImportJob) -> list[str]:
    return [error["message"] for error in job.errors]
