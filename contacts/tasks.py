"""Periodic jobs of the contacts app (CELERY_BEAT_SCHEDULE).

Task reminders: every minute, email each due task to its assignee, once.

A reminder is claimed before it is sent: one conditional UPDATE sets `reminded_at` on due rows
that do not have it yet and returns their ids, so two beats or two workers running at the same
time never claim, and never email, the same task twice.

Purge: hourly, erase contacts whose delete was not undone within CONTACT_UNDO_HOURS; daily,
forget the inbox's tombstones and waiting changes older than the providers' retry window.

Scheduled sends: every minute, hand the inbox's held messages (quiet hours, reminders) that are
due to the send task.

Bulk jobs: "all N matching" bulk actions too large to run in the request, and their sweeper.

Both tasks keep the names they were registered under when they lived in contacts/tasks/reminders.py
and contacts/tasks/purge.py: the beat schedule and messages already queued in production use them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alt.accounts.models import Membership, Workspace
from alt.lib.claims import claim_by_workspace
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient
from contacts import services
from contacts.bulk import services as bulk
from contacts.imports.tasks import contacts_import_run, contacts_imports_sweep_stale
from contacts.inbox import sending as inbox_sending
from contacts.inbox import services as inbox
from contacts.inbox.tasks import inbox_message_send
from contacts.models import Task

# The import and inbox tasks are imported so that Celery, which autodiscovers contacts.tasks,
# registers them.
__all__ = [
    "bulk_job_run",
    "bulk_job_undo_run",
    "bulk_jobs_sweep",
    "contacts_import_run",
    "contacts_imports_sweep_stale",
    "contacts_purge_deleted",
    "inbox_message_changes_purge",
    "inbox_message_send",
    "inbox_scheduled_sends",
    "task_reminders_send",
]

log = logging.getLogger(__name__)

BATCH_SIZE = 200

# The sweep serves every workspace, so it claims in SQL rather than through a workspace-scoped
# manager; every row it then reads is loaded through Task.objects.for_workspace(...).
_CLAIM_SQL = f"""
    UPDATE {Task._meta.db_table} SET reminded_at = %(now)s
    WHERE id IN (
        SELECT id FROM {Task._meta.db_table}
        WHERE due_at <= %(now)s AND reminded_at IS NULL AND completed_at IS NULL
        ORDER BY due_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AND reminded_at IS NULL AND completed_at IS NULL
    RETURNING id, workspace_id
"""  # noqa: S608 (the table name is ours; values are parameters)


def task_reminders_claim(*, now: datetime, limit: int = BATCH_SIZE) -> dict[int, list[int]]:
    """Mark up to `limit` due, open, not yet reminded tasks as reminded at `now`, in one
    conditional UPDATE. Returns {workspace_id: [task ids]} of the rows this call claimed."""
    return claim_by_workspace(_CLAIM_SQL, {"now": now, "limit": limit})


def task_reminder_email(*, task: Task) -> None:
    """Email the reminder of `task` to its assignee through Django's mail API, with the task's
    title, its contact and a link to the contact page (or the task list). Raises
    IntegrationError when the mail provider refuses or fails."""
    assignee = task.assigned_to
    assert assignee is not None
    link = reverse("contacts:detail", args=[task.contact_id]) if task.contact_id else None
    title = " ".join(task.title.split())  # one line: it goes in the subject
    context = {
        "task": task,
        "title": title,
        "contact": task.contact,
        "due_at": task.due_at,
        "url": settings.SITE_URL + (link or reverse("contacts:tasks")),
        "tasks_url": settings.SITE_URL + reverse("contacts:tasks"),
    }
    about = f" · {task.contact.name}" if task.contact is not None else ""
    with timezone.override(ZoneInfo(assignee.timezone)):
        text = render_to_string("contacts/email/task_reminder.txt", context)
        html = render_to_string("contacts/email/task_reminder.html", context)
    send_mail(
        f"Reminder: {title[:120]}{about}",
        text,
        None,
        [assignee.email],
        html_message=html,
    )


def _claimed_tasks(workspace: Workspace, task_ids: list[int]) -> list[Task]:
    """The claimed tasks that should be emailed: an assignee who is still in the workspace, and
    no contact, or one that is not deleted."""
    members = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    tasks = (
        Task.objects.for_workspace(workspace)
        .filter(id__in=task_ids)
        .select_related("contact", "assigned_to")
        .order_by("due_at", "id")
    )
    return [
        t
        for t in tasks
        if t.assigned_to_id in members and (t.contact is None or t.contact.deleted_at is None)
    ]


def task_reminders_deliver(*, batch_size: int = BATCH_SIZE) -> int:
    """Claim due tasks batch by batch and email one reminder per task to its assignee. Returns
    how many emails were sent.

    A provider's permanent refusal is logged and the reminder is not tried again. On a transient
    failure the claim of that task and of the rest of its batch is released (they go out on the
    next run) and the IntegrationError is raised for the caller to retry.
    """
    sent = 0
    while True:
        now = timezone.now()
        claimed = task_reminders_claim(now=now, limit=batch_size)
        if not claimed:
            return sent
        workspaces = Workspace.objects.in_bulk(list(claimed))
        for workspace_id, task_ids in claimed.items():
            workspace = workspaces[workspace_id]
            tasks = _claimed_tasks(workspace, task_ids)
            for index, task in enumerate(tasks):
                try:
                    task_reminder_email(task=task)
                except IntegrationError as exc:
                    if exc.permanent:
                        log.warning(
                            "reminder for task %s refused by the provider: %s", task.id, exc
                        )
                        continue
                    _release(workspace, [t.id for t in tasks[index:]], now)
                    _release_rest(claimed, workspaces, after=workspace_id, claimed_at=now)
                    raise
                sent += 1


def _release(workspace: Workspace, task_ids: list[int], claimed_at: datetime) -> None:
    Task.objects.for_workspace(workspace).filter(id__in=task_ids, reminded_at=claimed_at).update(
        reminded_at=None
    )


def _release_rest(
    claimed: dict[int, list[int]],
    workspaces: dict[int, Workspace],
    *,
    after: int,
    claimed_at: datetime,
) -> None:
    later = list(claimed)[list(claimed).index(after) + 1 :]
    for workspace_id in later:
        _release(workspaces[workspace_id], claimed[workspace_id], claimed_at)


@shared_task(bind=True, name="contacts.tasks.reminders.task_reminders_send")
def task_reminders_send(self: Any) -> None:
    # Claim by conditional UPDATE (reminded_at IS NULL -> now) before sending: a task is emailed
    # by whichever run claimed it, and only once.
    try:
        task_reminders_deliver()
    except IntegrationError as exc:
        retry_transient(self, exc)


@shared_task(name="contacts.tasks.purge.contacts_purge_deleted")
def contacts_purge_deleted() -> None:
    # State guard: each batch is deleted only while deleted_at is still past the undo window, so a
    # second run (or a contact restored meanwhile) erases nothing more.
    services.contacts_purge_deleted()


@shared_task(name="contacts.tasks.inbox_message_changes_purge")
def inbox_message_changes_purge() -> None:
    # State guard: only changes older than the providers' retry window are deleted; a second run
    # finds none left.
    inbox.message_changes_purge()


@shared_task(name="contacts.tasks.inbox_scheduled_sends")
def inbox_scheduled_sends() -> None:
    # Safe to run twice: it only sends tasks, and inbox_message_send claims each row by a
    # conditional UPDATE (pending -> sending), so a row handed twice is sent once.
    for message_id, workspace_id in inbox_sending.scheduled_sends_due():
        inbox_message_send.delay(message_id, workspace_id)


@shared_task(name="contacts.tasks.bulk_job_run")
def bulk_job_run(bulk_job_id: int, workspace_id: int) -> None:
    # Claim by conditional UPDATE (queued → running) and fence every batch on the attempt that
    # claimed it: a redelivery or a duplicate sent by the sweeper does nothing.
    bulk.bulk_job_run(workspace_id=workspace_id, bulk_job_id=bulk_job_id)


@shared_task(name="contacts.tasks.bulk_jobs_sweep")
def bulk_jobs_sweep() -> None:
    # Safe to run twice: stopping is a state guard (running → failed), and re-sending is harmless
    # because bulk_job_run claims each job once.
    for bulk_job_id, workspace_id in bulk.bulk_jobs_sweep():
        bulk_job_run.delay(bulk_job_id, workspace_id)
    for bulk_job_id, workspace_id, actor_id in bulk.bulk_undos_sweep():
        bulk_job_undo_run.delay(bulk_job_id, workspace_id, actor_id)


@shared_task(name="contacts.tasks.bulk_job_undo_run")
def bulk_job_undo_run(bulk_job_id: int, workspace_id: int, actor_id: int | None) -> None:
    # Claim by conditional UPDATE (undo queued → running): a redelivery does nothing, and
    # putting back is idempotent, so a retry after a failure only finishes the rest.
    bulk.bulk_job_undo_run(workspace_id=workspace_id, bulk_job_id=bulk_job_id, actor_id=actor_id)
