"""Background work of the CSV import."""

from __future__ import annotations

from celery import shared_task

from contacts.imports.services import import_run, imports_sweep_stale

__all__ = ["contacts_import_run", "contacts_imports_sweep_stale"]


# The name it was registered under in contacts/tasks/imports.py: queued messages carry it.
@shared_task(name="contacts.tasks.imports.contacts_import_run")
def contacts_import_run(import_id: int, workspace_id: int) -> None:
    # Claim by conditional UPDATE (queued → validating) in import_run: a redelivery does nothing.
    import_run(workspace_id=workspace_id, import_id=import_id)


@shared_task(name="contacts.tasks.imports.contacts_imports_sweep_stale")
def contacts_imports_sweep_stale() -> None:
    # State guard: each stale job is re-queued or failed by an UPDATE conditioned on the attempt
    # and status it was seen with, so two sweeps (or a worker finishing meanwhile) act once.
    imports_sweep_stale()
