from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import member_label, render_local
from contacts.bulk import services as bulk
from contacts.models import BulkJob, PipelineStage


@require_safe
@vary_on_headers("HX-Request")
@workspace_required
def bulk_job_detail(request: WorkspaceRequest, bulk_job_id: int) -> HttpResponse:
    job = bulk.access_bulk_job(request.workspace, bulk_job_id)
    context = {"job": job, "summary": job_summary(job), "undoable": bulk.bulk_job_undoable(job)}
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "contacts/bulk_job.html#progress" if partial else "contacts/bulk_job.html"
    return render_local(request, template, context)


@require_safe
@workspace_required
def bulk_job_list(request: WorkspaceRequest) -> HttpResponse:
    jobs = bulk.recent_bulk_jobs(request.workspace)
    stages = dict(PipelineStage.objects.for_workspace(request.workspace).values_list("id", "name"))
    rows = [(job, _list_summary(job, stages)) for job in jobs]
    return render_local(request, "contacts/bulk_jobs.html", {"rows": rows})


def _list_summary(job: BulkJob, stages: dict[int, str]) -> str:
    n, params = contacts_count(job.expected), job.params
    if job.action == BulkJob.Action.TAG:
        return f"Tag {n} “{params.get('tag', '')}”"
    if job.action == BulkJob.Action.UNTAG:
        return f"Remove “{params.get('tag', '')}” from {n}"
    if job.action == BulkJob.Action.STAGE:
        return f"Move {n} to {stages.get(params.get('stage_id'), 'a deleted stage')}"
    if job.action == BulkJob.Action.ASSIGN:
        return f"Assign {n}"
    if job.action == BulkJob.Action.SMS:
        return f"Text {n}"
    return f"Delete {n}"


@require_POST
@workspace_required
def bulk_job_retry(request: WorkspaceRequest, bulk_job_id: int) -> HttpResponse:
    job = bulk.access_bulk_job(request.workspace, bulk_job_id)
    if bulk.bulk_job_retry(job=job):
        messages.success(request, "Trying again from where it stopped.")
    return redirect("contacts:bulk_job", bulk_job_id=job.id)


@require_POST
@workspace_required
def bulk_job_undo(request: WorkspaceRequest, bulk_job_id: int) -> HttpResponse:
    job = bulk.access_bulk_job(request.workspace, bulk_job_id)
    try:
        undone = bulk.bulk_job_undo(job=job, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("contacts:bulk_job", bulk_job_id=job.id)
    if undone is None:
        messages.info(request, f"Undoing: putting {contacts_count(job.changed)} back.")
        return redirect("contacts:bulk_job", bulk_job_id=job.id)
    messages.success(request, f"Undone: {contacts_count(undone)} put back.")
    return redirect("contacts:list")


@require_POST
@workspace_required
def bulk_job_undo_retry(request: WorkspaceRequest, bulk_job_id: int) -> HttpResponse:
    job = bulk.access_bulk_job(request.workspace, bulk_job_id)
    if bulk.bulk_job_undo_retry(job=job, actor=request.user):
        messages.success(request, "Trying the undo again.")
    return redirect("contacts:bulk_job", bulk_job_id=job.id)


# --- what to tell the agent ----------------------------------------------------------------------
def contacts_count(n: int) -> str:
    return f"{n:,} contact" if n == 1 else f"{n:,} contacts"


def _stage_name(workspace: Any, stage_id: int | None) -> str:
    stages = PipelineStage.objects.for_workspace(workspace)
    stage = stages.filter(id=stage_id).first() if stage_id is not None else None
    return stage.name if stage else "a deleted stage"


def _assignee_name(workspace: Any, params: dict[str, Any]) -> str:
    user_id = params.get("assignee_id")
    if user_id is None:
        return "nobody"
    user = bulk.workspace_member(workspace, user_id)
    return member_label(user) if user else "a former teammate"


def action_summary(workspace: Any, action: str, params: dict[str, Any], count: int) -> str:
    """The confirmation's question: what will happen to how many contacts."""
    every = f"all {contacts_count(count)} matching this filter"
    if action == BulkJob.Action.TAG:
        return f"Add the tag “{params['tag']}” to {every}?"
    if action == BulkJob.Action.UNTAG:
        return f"Remove the tag “{params['tag']}” from {every}?"
    if action == BulkJob.Action.STAGE:
        return f"Move {every} to {_stage_name(workspace, params['stage_id'])}?"
    if action == BulkJob.Action.ASSIGN:
        return f"Assign {every} to {_assignee_name(workspace, params)}?"
    return f"Delete {every}?"


def job_summary(job: BulkJob) -> str:
    """What the job did (or is doing) in one sentence."""
    n, params = contacts_count(job.changed), job.params
    if job.action == BulkJob.Action.TAG:
        return f"Tagged {n} “{params['tag']}”."
    if job.action == BulkJob.Action.UNTAG:
        return f"Removed “{params['tag']}” from {n}."
    if job.action == BulkJob.Action.STAGE:
        return f"Moved {n} to {_stage_name(job.workspace, params['stage_id'])}."
    if job.action == BulkJob.Action.ASSIGN:
        return f"Assigned {n} to {_assignee_name(job.workspace, params)}."
    if job.action == BulkJob.Action.SMS:
        texts = "text" if job.changed == 1 else "texts"
        return (
            f"Queued {job.changed:,} {texts}; the others were skipped (no phone or no consent). "
            "Texts to contacts outside 08:00-21:00 their time wait for their morning."
        )
    return f"Deleted {n}."


def job_message(request: WorkspaceRequest, job: BulkJob) -> None:
    """The flash after a job that ran in the request: what it did and an Undo button, or why it
    stopped and a link to retry."""
    page = reverse("contacts:bulk_job", args=[job.id])
    if job.state == BulkJob.State.FAILED:
        messages.error(request, format_html('{} <a href="{}">Retry</a>', job.error, page))
        return
    if not bulk.bulk_job_undoable(job):
        messages.success(request, job_summary(job))
        return
    trash = ""
    if job.action == BulkJob.Action.DELETE:
        trash = format_html(' <a href="{}">Recently deleted</a>', reverse("contacts:trash"))
    messages.success(
        request,
        format_html(
            '{} <form method="post" action="{}" class="flash-action">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" class="link">Undo</button></form>{}',
            job_summary(job),
            reverse("contacts:bulk_job_undo", args=[job.id]),
            get_token(request),
            trash,
        ),
    )
