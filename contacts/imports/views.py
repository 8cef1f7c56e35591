from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from contacts.imports import services
from contacts.imports.forms import ImportMappingForm, ImportUploadForm
from contacts.models import CustomField, ImportJob

RECENT_IMPORTS = 5


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
        .defer("content", "errors")
        .order_by("-created_at")[:RECENT_IMPORTS]
    )
    context = {"form": form, "recent": recent, "max_rows": services.MAX_ROWS}
    status = 400 if form.errors else 200
    return render(request, "contacts/import_upload.html", context, status=status)


@workspace_required
def import_detail(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    if job.status != ImportJob.Status.UPLOADED:
        if request.method == "POST":  # the mapping was already posted (a double submit)
            return redirect("contacts:import_detail", import_id=job.id)
        progress = services.import_progress_get(job=job)
        return render(request, "contacts/import_progress.html", {"job": job, "progress": progress})
    custom_fields = list(CustomField.objects.for_workspace(request.workspace))
    form = ImportMappingForm(request.POST or None, job=job, custom_fields=custom_fields)
    if request.method == "POST" and form.is_valid():
        services.import_start(job=job, mapping=form.mapping(), dedupe=form.cleaned_data["dedupe"])
        return redirect("contacts:import_detail", import_id=job.id)
    preview = services.import_preview(job=job)
    context = {"job": job, "form": form, "columns": form.columns(preview), "preview": preview}
    status = 400 if form.errors else 200
    return render(request, "contacts/import_mapping.html", context, status=status)


@require_GET
@workspace_required
def import_progress(request: WorkspaceRequest, import_id: int) -> HttpResponse:
    job = services.access_import(request.workspace, import_id)
    progress = services.import_progress_get(job=job)
    context = {"job": job, "progress": progress}
    return render(request, "contacts/import_progress.html#progress", context)
