"""Bulk actions on every contact matching a filter of the list ("Select all N matching").

    the list's filter (validated) + action -> a BulkJob row -> the filter is evaluated when the
    job starts -> its ids are worked through in batches -> done, with what undo needs

A set up to CONTACT_BULK_INLINE_MAX contacts runs in the request; a larger one in the worker
(contacts.tasks.bulk_job_run) while the page polls its progress. Each batch commits its changes,
its undo entries and the progress together, so a failed job shows where it stopped, and a retry
goes on from there. The sweeper (contacts.tasks.bulk_jobs_sweep) re-sends jobs whose message was
lost and stops, for a person to retry, jobs whose worker went quiet.

Every query runs through the job's workspace: a filter naming another workspace's stage, tag or
teammate matches nothing, never another workspace's contacts.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts import services
from contacts.listing.services import ASSIGNEE_MINE, ContactListQuery, contacts_filtered
from contacts.models import BulkJob, Contact, PipelineStage, Tag

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# A queued job not started this long after it was queued had its message lost: send it again.
REQUEUE_AFTER = timedelta(minutes=2)
# A running job whose last batch finished this long ago has lost its worker: stop it.
STALE_AFTER = timedelta(minutes=5)
FAILED_UNEXPECTEDLY = (
    "Something went wrong on our side. What was done so far is kept; retry to finish the rest."
)
STOPPED_QUIETLY = (
    "The job stopped before it finished (the worker may have restarted). What was done so far "
    "is kept; retry to finish the rest."
)


class BulkJobError(Exception):
    """A job cannot go on, for a reason a person can read (a stage deleted meanwhile, ...)."""


# An action a higher layer provides (SMS: contacts sits below the integrations and never imports
# them): apply(job, ids) does it to one batch, inside the batch's transaction, and returns
# {contact id: what to record} for each contact it acted on. Such actions are not undoable.
BulkApply = Callable[[BulkJob, list[int]], dict[str, int | None]]
_registered: dict[str, BulkApply] = {}


def register_bulk_action(action: str, apply: BulkApply) -> None:
    """Let bulk jobs run `action` (a BulkJob.Action value) through `apply`."""
    _registered[action] = apply


def access_bulk_job(workspace: Workspace, bulk_job_id: int | str) -> BulkJob:
    """The workspace's bulk job (without its id and undo lists), or Http404."""
    jobs = BulkJob.objects.for_workspace(workspace).defer("contact_ids", "undo")
    return jobs.select_related("created_by").get_or_404("bulk action", id=bulk_job_id)


def recent_bulk_jobs(workspace: Workspace, *, limit: int = 30) -> list[BulkJob]:
    """The workspace's latest bulk actions, newest first (without their id and undo lists)."""
    jobs = BulkJob.objects.for_workspace(workspace).defer("contact_ids", "undo", "query")
    return list(jobs.select_related("created_by").order_by("-created_at", "-id")[:limit])


def bulk_matching_count(workspace: Workspace, query: ContactListQuery, *, user: User) -> int:
    """How many of the workspace's live contacts match `query` now (what a confirmation states)."""
    return contacts_filtered(workspace, query, user=user).order_by().count()


def bulk_job_start(
    *,
    workspace: Workspace,
    actor: User,
    action: str,
    params: dict[str, Any],
    query: ContactListQuery | None,
    ids: list[int] | None = None,
) -> BulkJob:
    """Record a bulk `action` (BulkJob.Action) with its `params` on every live contact matching
    `query` (or on the selected `ids`, the workspace's live ones among them), and run it: in this
    call when at most CONTACT_BULK_INLINE_MAX contacts match (the job comes back finished), else
    in the worker (contacts.tasks.bulk_job_run, sent after commit; the job comes back queued).
    Raises ValueError for an unknown action."""
    from contacts.tasks import bulk_job_run as bulk_job_task

    if action not in BulkJob.Action.values:
        raise ValueError(f"Unknown bulk action {action!r}")
    contact_ids: list[int] | None = None
    if query is None:
        live = Contact.objects.for_workspace(workspace).live().filter(id__in=ids or [])
        contact_ids = list(live.order_by("id").values_list("id", flat=True))
        expected = len(contact_ids)
    else:
        expected = bulk_matching_count(workspace, query, user=actor)
    job = BulkJob.objects.create(
        workspace=workspace,
        created_by=actor,
        action=action,
        params=params,
        query=query.params() if query is not None else {},
        expected=expected,
        contact_ids=contact_ids,
        total=len(contact_ids or []),
        heartbeat_at=timezone.now(),
    )
    if expected <= settings.CONTACT_BULK_INLINE_MAX:
        bulk_job_run(workspace_id=workspace.id, bulk_job_id=job.id)
    else:
        bulk_job_task.delay_on_commit(job.id, workspace.id)
    job.refresh_from_db()
    return job


def bulk_job_run(*, workspace_id: int, bulk_job_id: int) -> None:
    """Run a queued job: claim it (queued → running, a conditional UPDATE that also counts the
    attempt), evaluate its filter on the first attempt, then apply the action batch by batch.
    Each batch re-checks under a lock that this attempt still owns the job, so a job the sweeper
    stopped, or a second delivery of the task, changes nothing twice. A failure leaves the job
    "failed" with a message a person can read; what earlier batches did is kept. Raises nothing.
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    jobs = BulkJob.objects.for_workspace(workspace)
    claimed = jobs.filter(id=bulk_job_id, state=BulkJob.State.QUEUED).update(
        state=BulkJob.State.RUNNING, attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    if not claimed:
        return
    job = jobs.select_related("created_by").get(id=bulk_job_id)
    try:
        if job.contact_ids is None:
            job.contact_ids = _matching_ids(job)
            job.total = len(job.contact_ids)
            jobs.filter(id=job.id).update(contact_ids=job.contact_ids, total=job.total)
        while _run_batch(job):
            pass
    except BulkJobError as exc:
        _stop(job, str(exc))
    except Exception:
        log.exception("bulk job %s failed", job.id)
        _stop(job, FAILED_UNEXPECTEDLY)


def _matching_ids(job: BulkJob) -> list[int]:
    query = ContactListQuery.from_params(job.query)
    if job.created_by is None and query.assignee == ASSIGNEE_MINE:
        raise BulkJobError("The teammate who started this is no longer in the workspace.")
    # The user only matters to "mine" (handled above); an unsaved User stands in for the others.
    user = job.created_by if job.created_by is not None else User()
    qs = contacts_filtered(job.workspace, query, user=user)
    return list(qs.values_list("id", flat=True))


def _run_batch(job: BulkJob) -> bool:
    """Apply the action to the next batch; False when there is nothing left to do."""
    jobs = BulkJob.objects.for_workspace(job.workspace)
    with transaction.atomic():
        # State guard and fencing: only the attempt that claimed the job may go on with it.
        locked = (
            jobs.select_for_update()
            .filter(id=job.id, state=BulkJob.State.RUNNING, attempts=job.attempts)
            .only("id", "done", "total")
            .first()
        )
        if locked is None:
            return False
        assert job.contact_ids is not None
        if locked.done >= locked.total:
            jobs.filter(id=job.id).update(
                state=BulkJob.State.DONE, finished_at=timezone.now(), contact_ids=[]
            )
            return False
        batch = job.contact_ids[locked.done : locked.done + BATCH_SIZE]
        changes = _apply(job, batch)
        jobs.filter(id=job.id).update(
            done=locked.done + len(batch),
            changed=F("changed") + len(changes),
            # jsonb || jsonb: this batch's undo entries join the earlier ones in the database.
            undo=RawSQL('"undo" || %s::jsonb', [json.dumps(changes)]),
            heartbeat_at=timezone.now(),
        )
    return True


def _apply(job: BulkJob, ids: list[int]) -> dict[str, int | None]:
    """Apply the job's action to `ids`; return {contact id: what undo puts back} for each
    contact it changed (None where there is no value: a tag added or removed, a delete)."""
    ws, params, Action = job.workspace, job.params, BulkJob.Action
    if job.action in _registered:
        return _registered[job.action](job, ids)
    if job.action == Action.TAG:
        added = services.contacts_bulk_tag(workspace=ws, ids=ids, tag_name=params["tag"])
        return dict.fromkeys(map(str, added))
    if job.action == Action.UNTAG:
        removed = services.contacts_bulk_untag(workspace=ws, ids=ids, tag_name=params["tag"])
        return dict.fromkeys(map(str, removed))
    if job.action == Action.STAGE:
        stage = _stage(job)
        if stage is None:
            raise BulkJobError("The stage was deleted after the action started.")
        moved = services.contacts_bulk_set_stage(
            workspace=ws, ids=ids, stage=stage, actor=job.created_by
        )
        return {str(k): v for k, v in moved.items()}
    if job.action == Action.ASSIGN:
        assignee = workspace_member(ws, params.get("assignee_id"))
        if params.get("assignee_id") is not None and assignee is None:
            raise BulkJobError("That teammate is no longer in the workspace.")
        assigned = services.contacts_bulk_assign(workspace=ws, ids=ids, assignee=assignee)
        return {str(k): v for k, v in assigned.items()}
    deleted = services.contacts_delete(workspace=ws, ids=ids, actor=job.created_by)
    return dict.fromkeys(map(str, deleted))


def _stage(job: BulkJob) -> PipelineStage | None:
    stages = PipelineStage.objects.for_workspace(job.workspace)
    return stages.filter(id=job.params.get("stage_id")).first()


def workspace_member(workspace: Workspace, user_id: int | None) -> User | None:
    """The member of `workspace` with this id, or None (also for None)."""
    if user_id is None:
        return None
    return User.objects.filter(id=user_id, memberships__workspace=workspace).first()


def _stop(job: BulkJob, message: str) -> None:
    BulkJob.objects.for_workspace(job.workspace).filter(
        id=job.id, state=BulkJob.State.RUNNING, attempts=job.attempts
    ).update(state=BulkJob.State.FAILED, error=message[:300], finished_at=timezone.now())


def bulk_job_retry(*, job: BulkJob) -> bool:
    """Queue a failed job again (sends contacts.tasks.bulk_job_run after commit); it goes on
    from the first batch not done. A job that is not failed is left alone (returns False)."""
    from contacts.tasks import bulk_job_run as bulk_job_task

    with transaction.atomic():
        # State guard: a double click queues the job once.
        queued = (
            BulkJob.objects.for_workspace(job.workspace)
            .filter(id=job.id, state=BulkJob.State.FAILED)
            .update(
                state=BulkJob.State.QUEUED, error="", finished_at=None, heartbeat_at=timezone.now()
            )
        )
        if queued:
            bulk_job_task.delay_on_commit(job.id, job.workspace_id)
    return bool(queued)


def bulk_job_undoable(job: BulkJob) -> bool:
    """Done, not undone yet, changed something, and finished within CONTACT_UNDO_HOURS."""
    return (
        job.state == BulkJob.State.DONE
        and job.action not in _registered  # a text sent cannot be taken back
        and job.undone_at is None
        and job.changed > 0
        and job.finished_at is not None
        and job.finished_at >= services.undo_window_start()
    )


def bulk_job_undo(*, job: BulkJob, actor: User) -> int | None:
    """Put back what a finished job changed, within CONTACT_UNDO_HOURS: restore what it deleted,
    take off the tag it added, put back the tag it removed, and move back (with a timeline
    entry) or reassign each contact still where the job put it. A contact changed again since
    is left as it is now.

    Claimed once under a row lock (undone_at). Up to CONTACT_BULK_INLINE_MAX changed contacts are
    put back in this call, which returns how many; a larger undo runs in the worker
    (contacts.tasks.bulk_job_undo_run, sent after commit) and this returns None while the job
    page shows its state. Raises ValueError when the job cannot be undone (not done, undone
    already, too old)."""
    from contacts.tasks import bulk_job_undo_run as undo_task

    with transaction.atomic():
        jobs = BulkJob.objects.for_workspace(job.workspace)
        locked = jobs.select_for_update().filter(id=job.id).first()
        if locked is None or not bulk_job_undoable(locked):
            hours = settings.CONTACT_UNDO_HOURS
            raise ValueError(f"This can no longer be undone: undo works once, for {hours} hours.")
        now = timezone.now()
        if locked.changed > settings.CONTACT_BULK_INLINE_MAX:
            jobs.filter(id=job.id).update(
                undone_at=now, undo_state=BulkJob.UndoState.QUEUED, heartbeat_at=now
            )
            undo_task.delay_on_commit(job.id, job.workspace_id, actor.id)
            job.undone_at, job.undo_state = now, BulkJob.UndoState.QUEUED
            return None
        undone = _revert(locked, actor)
        jobs.filter(id=job.id).update(
            undone_at=now, undo_state=BulkJob.UndoState.DONE, undone_count=undone
        )
    job.undone_at, job.undo_state, job.undone_count = now, BulkJob.UndoState.DONE, undone
    return undone


def bulk_job_undo_run(*, workspace_id: int, bulk_job_id: int, actor_id: int | None) -> None:
    """Run a queued undo in the worker: claim it (queued → running, a conditional UPDATE), put
    everything back, record how many. Putting back is idempotent (a restored contact, a tag
    already off, a contact no longer where the job left it are skipped), so a retry after a
    failure finishes the rest without touching what was done. A failure leaves the undo "failed"
    with a message and a Retry. Raises nothing."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    jobs = BulkJob.objects.for_workspace(workspace)
    claimed = jobs.filter(id=bulk_job_id, undo_state=BulkJob.UndoState.QUEUED).update(
        undo_state=BulkJob.UndoState.RUNNING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return
    job = jobs.get(id=bulk_job_id)
    actor = workspace_member(workspace, actor_id) or job.created_by
    try:
        with transaction.atomic():
            undone = _revert(job, actor)
            jobs.filter(id=job.id, undo_state=BulkJob.UndoState.RUNNING).update(
                undo_state=BulkJob.UndoState.DONE, undone_count=undone, undo_error=""
            )
    except Exception:
        log.exception("undo of bulk job %s failed", job.id)
        jobs.filter(id=job.id, undo_state=BulkJob.UndoState.RUNNING).update(
            undo_state=BulkJob.UndoState.FAILED, undo_error=FAILED_UNEXPECTEDLY
        )


def bulk_job_undo_retry(*, job: BulkJob, actor: User) -> bool:
    """Queue a failed undo again (sends contacts.tasks.bulk_job_undo_run after commit). Returns
    False when the undo is not failed (a double click queues it once)."""
    from contacts.tasks import bulk_job_undo_run as undo_task

    with transaction.atomic():
        queued = (
            BulkJob.objects.for_workspace(job.workspace)
            .filter(id=job.id, undo_state=BulkJob.UndoState.FAILED)
            .update(undo_state=BulkJob.UndoState.QUEUED, undo_error="", heartbeat_at=timezone.now())
        )
        if queued:
            undo_task.delay_on_commit(job.id, job.workspace_id, actor.id)
    return bool(queued)


def _revert(job: BulkJob, actor: User | None) -> int:
    ws, Action = job.workspace, BulkJob.Action
    ids = [int(k) for k in job.undo]
    if job.action == Action.DELETE:
        return len(services.contacts_restore(workspace=ws, ids=ids, actor=actor))
    if job.action == Action.TAG:
        tag = Tag.objects.for_workspace(ws).filter(name__iexact=job.params["tag"]).first()
        if tag is None:  # deleted since: nobody has it any more
            return 0
        return len(services.contacts_bulk_untag(workspace=ws, ids=ids, tag_name=tag.name))
    if job.action == Action.UNTAG:
        return len(services.contacts_bulk_tag(workspace=ws, ids=ids, tag_name=job.params["tag"]))
    by_previous: dict[int | None, list[int]] = defaultdict(list)
    for contact_id, previous in job.undo.items():
        by_previous[previous].append(int(contact_id))
    if job.action == Action.STAGE:
        return _revert_stages(job, by_previous, actor)
    return _revert_assignees(job, by_previous)


def _still(job: BulkJob, ids: list[int], **where_the_job_left_them: Any) -> list[int]:
    """The live contacts among `ids` that nobody has changed since the job (still where it put
    them): only those are put back."""
    live = Contact.objects.for_workspace(job.workspace).live()
    return list(live.filter(id__in=ids, **where_the_job_left_them).values_list("id", flat=True))


def _revert_stages(job: BulkJob, by_previous: dict[Any, list[int]], actor: User | None) -> int:
    reverted = 0
    stages = PipelineStage.objects.for_workspace(job.workspace)
    for stage_id, group in by_previous.items():
        stage = stages.filter(id=stage_id).first()
        if stage is None:
            continue  # that stage was deleted since: nowhere to move them back to
        ids = _still(job, group, stage_id=job.params["stage_id"])
        reverted += len(
            services.contacts_bulk_set_stage(
                workspace=job.workspace, ids=ids, stage=stage, actor=actor
            )
        )
    return reverted


def _revert_assignees(job: BulkJob, by_previous: dict[Any, list[int]]) -> int:
    reverted = 0
    for user_id, group in by_previous.items():
        previous_user = workspace_member(job.workspace, user_id)
        if user_id is not None and previous_user is None:
            continue  # that teammate left the workspace: nobody to give the contacts back to
        ids = _still(job, group, assigned_to_id=job.params.get("assignee_id"))
        reverted += len(
            services.contacts_bulk_assign(workspace=job.workspace, ids=ids, assignee=previous_user)
        )
    return reverted


# --- the sweeper ---------------------------------------------------------------------------------
# The sweep serves every workspace, so it finds jobs in SQL rather than through a
# workspace-scoped manager (as contacts.tasks does for reminders); it only changes their state.
_STOP_STALE_SQL = f"""
    UPDATE {BulkJob._meta.db_table} SET state = 'failed', error = %(error)s, finished_at = %(now)s
    WHERE state = 'running' AND heartbeat_at < %(stale_before)s
"""  # noqa: S608 (the table name is ours; values are parameters)
_LOST_SQL = f"""
    UPDATE {BulkJob._meta.db_table} SET heartbeat_at = %(now)s
    WHERE id IN (
        SELECT id FROM {BulkJob._meta.db_table}
        WHERE state = 'queued' AND heartbeat_at < %(requeue_before)s
        ORDER BY heartbeat_at LIMIT 100
        FOR UPDATE SKIP LOCKED
    ) AND state = 'queued'
    RETURNING id, workspace_id
"""  # noqa: S608 (the table name is ours; values are parameters)


_STOP_STALE_UNDO_SQL = f"""
    UPDATE {BulkJob._meta.db_table} SET undo_state = 'failed', undo_error = %(error)s
    WHERE undo_state = 'running' AND heartbeat_at < %(stale_before)s
"""  # noqa: S608 (the table name is ours; values are parameters)
_LOST_UNDO_SQL = f"""
    UPDATE {BulkJob._meta.db_table} SET heartbeat_at = %(now)s
    WHERE id IN (
        SELECT id FROM {BulkJob._meta.db_table}
        WHERE undo_state = 'queued' AND heartbeat_at < %(requeue_before)s
        ORDER BY heartbeat_at LIMIT 100
        FOR UPDATE SKIP LOCKED
    ) AND undo_state = 'queued'
    RETURNING id, workspace_id, created_by_id
"""  # noqa: S608 (the table name is ours; values are parameters)


def bulk_undos_sweep() -> list[tuple[int, int, int | None]]:
    """The sweeper's half for undos: a running undo quiet for STALE_AFTER shows as failed, with
    a retry; (job id, workspace id, creator id) of queued undos waiting longer than
    REQUEUE_AFTER come back for the caller to send again (the claim makes that harmless)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _STOP_STALE_UNDO_SQL, {"error": STOPPED_QUIETLY, "stale_before": now - STALE_AFTER}
        )
        cursor.execute(_LOST_UNDO_SQL, {"now": now, "requeue_before": now - REQUEUE_AFTER})
        return [(j, w, u) for j, w, u in cursor.fetchall()]


def bulk_jobs_sweep() -> list[tuple[int, int]]:
    """Stop running jobs whose worker has been quiet for STALE_AFTER (they show as failed, with
    a retry), and return (job id, workspace id) of queued jobs waiting longer than REQUEUE_AFTER,
    whose task the caller sends again (harmless if the first message turns up: the claim)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _STOP_STALE_SQL,
            {"error": STOPPED_QUIETLY, "now": now, "stale_before": now - STALE_AFTER},
        )
        # Each lost job is re-sent at most once per REQUEUE_AFTER: its heartbeat moves on.
        cursor.execute(_LOST_SQL, {"now": now, "requeue_before": now - REQUEUE_AFTER})
        return [(job_id, workspace_id) for job_id, workspace_id in cursor.fetchall()]
