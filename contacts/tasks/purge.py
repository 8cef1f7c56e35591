"""Hourly (CELERY_BEAT_SCHEDULE): erase contacts whose delete was not undone within
CONTACT_UNDO_HOURS."""

from __future__ import annotations

from celery import shared_task

from contacts import services

__all__ = ["contacts_purge_deleted"]


@shared_task
def contacts_purge_deleted() -> None:
    # State guard: each batch is deleted only while deleted_at is still past the undo window, so a
    # second run (or a contact restored meanwhile) erases nothing more.
    services.contacts_purge_deleted()
