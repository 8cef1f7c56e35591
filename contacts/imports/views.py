from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from contacts.imports import services
from contacts.imports.forms import ImportMappingForm, ImportUploadForm, ImportValuesForm
from contacts.models import CustomField, ImportJob

RECENT_IMPORTS = 10


@workspace_required
def import_upload(request: WorkspaceRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_upload_create(
                workspace=request.workspace,
                actor=request.user,
                filename=form.cleaned_data["file"].name,
                content=form.content(),
            )
        except services.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("contacts:import_detail", import_id=job.id)
    recent = (
        ImportJob.objects.for_workspace(request.workspace)
        .defer("content", "errors", "rejected_csv", "undo_data")
        .order_by("-created_at")[:RECENT_IMPORTS]
    )
    history = [(job, services.import_can_undo(job)) for job in recent]
    context = {"form": form, "history": history, "max_rows": services.MAX_ROWS}
    status = 400 if form.errors else 200
    return render(request, "contacts/import_upload.html", context, status=status)


@workspace_required
def import_detail(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    if job.status == ImportJob.Status.MAPPED:
        return _values_page(request, job)
    if job.status != ImportJob.Status.UPLOADED:
        if request.method == "POST":  # the mapping was already posted (a double submit)
            return redirect("contacts:import_detail", import_id=job.id)
        progress = services.import_progress_get(job=job)
        context = {"job": job, "progress": progress, "can_undo": services.import_can_undo(job)}
        return render(request, "contacts/import_progress.html", context)
    custom_fields = list(CustomField.objects.for_workspace(request.workspace))
    form = ImportMappingForm(request.POST or None, job=job, custom_fields=custom_fields)
    if request.method == "POST" and form.is_valid():
        services.import_mapping_save(
            job=job,
            mapping=form.mapping(),
            dedupe=form.cleaned_data["dedupe"],
            all_or_nothing=form.cleaned_data["all_or_nothing"],
        )
        return redirect("contacts:import_detail", import_id=job.id)
    preview = services.import_preview(job=job)
    context = {"job": job, "form": form, "columns": form.columns(preview), "preview": preview}
    status = 400 if form.errors else 200
    return render(request, "contacts/import_mapping.html", context, status=status)


def _values_page(request: WorkspaceRequest, job: ImportJob) -> HttpResponse:
    found = services.import_values_found(job=job)
    form = ImportValuesForm(request.POST or None, workspace=request.workspace, found=found)
    if request.method == "POST" and form.is_valid():
        services.import_start(job=job, value_mapping=form.value_mapping())
        return redirect("contacts:import_detail", import_id=job.id)
    status = 400 if form.errors else 200
    context = {"job": job, "form": form, "max_values": services.MAX_DISTINCT_VALUES}
    return render(request, "contacts/import_values.html", context, status=status)


@require_GET
@workspace_required
def import_progress(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    progress = services.import_progress_get(job=job)
    context = {"job": job, "progress": progress, "can_undo": services.import_can_undo(job)}
    return render(request, "contacts/import_progress.html#progress", context)


@require_GET
@workspace_required
def import_rejected(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    content = services.import_rejected_csv(job=job)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    stem = job.filename.rsplit(".", 1)[0] or "import"
    filename = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)[:80]
    response["Content-Disposition"] = f'attachment; filename="{filename}-rejected-rows.csv"'
    return response


@require_POST
@workspace_required
def import_undo(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    try:
        removed = services.import_undo(job=job, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        noun = "contact" if removed == 1 else "contacts"
        messages.success(
            request, f"Import undone: {removed} {noun} removed, updated contacts restored."
        )
    return redirect("contacts:import_detail", import_id=job.id)
