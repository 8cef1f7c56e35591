"""Background work of the CSV import."""

from __future__ import annotations

from celery import shared_task

from contacts.imports.services import import_run

__all__ = ["contacts_import_run"]


# The name it was registered under in contacts/tasks/imports.py: queued messages carry it.
@shared_task(name="contacts.tasks.imports.contacts_import_run")
def contacts_import_run(import_id: int, workspace_id: int) -> None:
    # Claim by conditional UPDATE (queued → validating) in import_run: a redelivery does nothing.
    import_run(workspace_id=workspace_id, import_id=import_id)
