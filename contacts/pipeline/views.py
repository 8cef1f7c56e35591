from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import render_local
from contacts.listing.forms import ContactListForm
from contacts.listing.services import ContactListQuery, list_choices
from contacts.models import Contact, CustomField, LeadSource, PipelineStage
from contacts.pipeline import services
from contacts.pipeline.forms import (
    ContactMoveForm,
    CustomFieldForm,
    LeadSourceForm,
    StageDeleteForm,
    StageForm,
)
from contacts.services import access_contact, contacts_bulk_set_stage

ONLY_OWNERS = "Only the workspace owner can change this."


@workspace_required
def pipeline_edit(request: WorkspaceRequest) -> HttpResponse:
    if request.method != "POST":
        return _pipeline_page(request)
    return _owner_action(request, _STAGE_ACTIONS, "contacts:pipeline")


@workspace_required
def lead_sources_edit(request: WorkspaceRequest) -> HttpResponse:
    if request.method != "POST":
        return _sources_page(request)
    return _owner_action(request, _SOURCE_ACTIONS, "contacts:lead_sources")


@workspace_required
def custom_fields_edit(request: WorkspaceRequest) -> HttpResponse:
    if request.method != "POST":
        return _fields_page(request)
    return _owner_action(request, _FIELD_ACTIONS, "contacts:custom_fields")


def _owner_action(
    request: WorkspaceRequest,
    actions: dict[str, Callable[[WorkspaceRequest], HttpResponse]],
    page: str,
) -> HttpResponse:
    """Run the POSTed `action` of a setup page: owners only; a refused change goes back to the
    page with the service's explanation."""
    if not request.membership.is_owner:
        raise PermissionDenied(ONLY_OWNERS)
    handler = actions.get(request.POST.get("action", ""))
    if handler is None:
        return HttpResponseBadRequest("Unknown action.")
    try:
        return handler(request)
    except services.SetupError as exc:
        messages.error(request, str(exc))
        return redirect(page)


# --- pipeline actions: each parses its form, calls one service, and redirects --------------------
def _stage_add(request: WorkspaceRequest) -> HttpResponse:
    form = StageForm(request.POST, prefix="new", workspace=request.workspace)
    if not form.is_valid():
        return _pipeline_page(request, add_form=form, status=400)
    stage = services.stage_add(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, f"Added the stage {stage.name}.")
    return redirect("contacts:pipeline")


def _stage_save(request: WorkspaceRequest) -> HttpResponse:
    stage = services.access_stage(request.workspace, request.POST.get("stage_id", ""))
    form = StageForm(request.POST, prefix=f"s{stage.id}", workspace=request.workspace, stage=stage)
    if not form.is_valid():
        return _pipeline_page(request, bound={stage.id: form}, status=400)
    services.stage_update(stage=stage, **form.cleaned_data)
    messages.success(request, f"Saved the stage {stage.name}.")
    return redirect("contacts:pipeline")


def _stage_move(offset: int) -> Callable[[WorkspaceRequest], HttpResponse]:
    def move(request: WorkspaceRequest) -> HttpResponse:
        stage = services.access_stage(request.workspace, request.POST.get("stage_id", ""))
        services.stage_move(stage=stage, offset=offset)
        return redirect("contacts:pipeline")

    return move


def _stage_delete(request: WorkspaceRequest) -> HttpResponse:
    stage = services.access_stage(request.workspace, request.POST.get("stage_id", ""))
    form = StageDeleteForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        raise services.SetupError(str(form.errors["move_to"][0]))
    move_to = form.cleaned_data["move_to"]
    moved = services.stage_delete(stage=stage, move_to=move_to, actor=request.user)
    moved_note = f" and moved {_contacts(moved)} to {move_to.name}" if moved else ""
    messages.success(request, f"Deleted the stage {stage.name}{moved_note}.")
    return redirect("contacts:pipeline")


def _contacts(n: int) -> str:
    return f"{n} contact" if n == 1 else f"{n} contacts"


_STAGE_ACTIONS: dict[str, Callable[[WorkspaceRequest], HttpResponse]] = {
    "add": _stage_add,
    "save": _stage_save,
    "up": _stage_move(-1),
    "down": _stage_move(+1),
    "delete": _stage_delete,
}


def _pipeline_page(
    request: WorkspaceRequest,
    *,
    add_form: StageForm | None = None,
    bound: dict[int, StageForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    ws = request.workspace
    counts = dict(
        Contact.objects.for_workspace(ws)
        .live()
        .order_by()
        .values_list("stage_id")
        .annotate(n=Count("id"))
    )
    stages = list(PipelineStage.objects.for_workspace(ws).order_by("position", "id"))
    rows = [
        {
            "stage": stage,
            "contact_count": counts.get(stage.id, 0),
            "others": [s for s in stages if s.id != stage.id],
            "form": (bound or {}).get(stage.id)
            or StageForm(prefix=f"s{stage.id}", workspace=ws, stage=stage),
        }
        for stage in stages
    ]
    context = {
        "rows": rows,
        "add_form": add_form or StageForm(prefix="new", workspace=ws),
        "can_edit": request.membership.is_owner,
        "max_stages": services.MAX_STAGES,
    }
    return render(request, "contacts/pipeline.html", context, status=status)


# --- custom field actions ------------------------------------------------------------------------
def _field_add(request: WorkspaceRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST, prefix="new", workspace=request.workspace)
    if not form.is_valid():
        return _fields_page(request, add_form=form, status=400)
    field = services.custom_field_create(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, f"Added the field {field.label}.")
    return redirect("contacts:custom_fields")


def _field_save(request: WorkspaceRequest) -> HttpResponse:
    field = services.access_custom_field(request.workspace, request.POST.get("field_id", ""))
    form = CustomFieldForm(
        request.POST, prefix=f"f{field.id}", workspace=request.workspace, field=field
    )
    if not form.is_valid():
        return _fields_page(request, bound={field.id: form}, status=400)
    services.custom_field_update(field=field, **form.cleaned_data)
    messages.success(request, f"Saved the field {field.label}.")
    return redirect("contacts:custom_fields")


def _field_delete(request: WorkspaceRequest) -> HttpResponse:
    field = services.access_custom_field(request.workspace, request.POST.get("field_id", ""))
    cleared = services.custom_field_delete(field=field)
    suffix = f" and its values on {cleared} contact{'s' if cleared != 1 else ''}" if cleared else ""
    messages.success(request, f"Deleted the field {field.label}{suffix}.")
    return redirect("contacts:custom_fields")


_FIELD_ACTIONS: dict[str, Callable[[WorkspaceRequest], HttpResponse]] = {
    "add": _field_add,
    "save": _field_save,
    "delete": _field_delete,
}


def _fields_page(
    request: WorkspaceRequest,
    *,
    add_form: CustomFieldForm | None = None,
    bound: dict[int, CustomFieldForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    ws = request.workspace
    fields = list(CustomField.objects.for_workspace(ws).order_by("position", "id"))
    rows = [
        {
            "field": field,
            "form": (bound or {}).get(field.id)
            or CustomFieldForm(prefix=f"f{field.id}", workspace=ws, field=field),
        }
        for field in fields
    ]
    context = {
        "rows": rows,
        "add_form": add_form or CustomFieldForm(prefix="new", workspace=ws),
        "can_edit": request.membership.is_owner,
    }
    return render(request, "contacts/custom_fields.html", context, status=status)


# --- the pipeline board --------------------------------------------------------------------------
@require_safe
@workspace_required
def board(request: WorkspaceRequest) -> HttpResponse:
    choices = list_choices(request.workspace, with_counts=True)
    form = ContactListForm(request.GET, choices=choices)
    query = form.to_query()
    columns = services.board_columns(
        request.workspace,
        query,
        user=request.user,
        stages=choices.stages,
        sources=choices.sources,
    )
    context = {
        "form": form,
        "query": query,
        "columns": columns,
        **_move_context(choices.stages, next_url=request.get_full_path()),
        "filters_open": bool(form.errors) or any(k not in ("q", "sort") for k in query.params()),
    }
    return render_local(request, "contacts/board.html", context)


@require_safe
@vary_on_headers("HX-Request")
@workspace_required
def board_column(request: WorkspaceRequest, stage_id: int) -> HttpResponse:
    choices = list_choices(request.workspace)
    stage = services.stage_among(choices.stages, stage_id)
    query = ContactListForm(request.GET, choices=choices).to_query()
    page_query = services.board_query(query, cursor=request.GET.get("cursor", ""))
    column = services.board_column_page(
        request.workspace, page_query, user=request.user, stage=stage, sources=choices.sources
    )
    next_url = _board_url(query) if request.htmx else request.get_full_path()
    context = {"query": query, "column": column, **_move_context(choices.stages, next_url=next_url)}
    template = "contacts/board.html#cards" if request.htmx else "contacts/board_column.html"
    return render_local(request, template, context)


@require_http_methods(["GET", "HEAD", "POST"])
@workspace_required
def board_move(request: WorkspaceRequest) -> HttpResponse:
    if request.method != "POST":
        return _move_page(request)
    contact = access_contact(request.workspace, request.POST.get("contact", ""))
    form = ContactMoveForm(request.POST, workspace=request.workspace)
    back = _back_to_board(request.POST.get("next", ""))
    if not form.is_valid():
        error = str(form.errors["stage"][0])
        if request.htmx:
            return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, error)
        return redirect(back)
    stage = form.cleaned_data["stage"]
    contacts_bulk_set_stage(
        workspace=request.workspace, ids=[contact.id], stage=stage, actor=request.user
    )
    if request.htmx:
        card = services.board_card(request.workspace, contact.id)
        context = {"card": card, "move_link": _move_link(back)}
        return render_local(request, "contacts/board.html#card", context)
    messages.success(request, f"Moved {contact.name} to {stage.name}.")
    return redirect(back)


def _move_page(request: WorkspaceRequest) -> HttpResponse:
    """The "Move to…" menu as a page of its own, where a card's menu button leads without
    JavaScript (with it, the board's shared menu opens instead)."""
    contact = access_contact(request.workspace, request.GET.get("contact", ""))
    stages = PipelineStage.objects.for_workspace(request.workspace).order_by("position", "id")
    context = {
        "contact": contact,
        **_move_context(stages, next_url=_back_to_board(request.GET.get("next", ""))),
    }
    return render_local(request, "contacts/board_move.html", context)


def _move_context(stages: Iterable[PipelineStage], *, next_url: str) -> dict[str, Any]:
    """What the board's one shared "Move to…" menu and its cards' menu buttons need."""
    return {
        # Ids as text, so the menu's options do not localize numbers.
        "move_choices": [(str(stage.id), stage.name) for stage in stages],
        "move_url": reverse("contacts:board_move"),
        "move_link": _move_link(next_url),
        "next_url": next_url,
    }


def _move_link(next_url: str) -> str:
    """The start of every card's menu button link, to which the card adds its contact's id:
    one string for the page rather than a {% url %} per card."""
    return f"{reverse('contacts:board_move')}?{urlencode({'next': next_url})}&contact="


def _board_url(query: ContactListQuery) -> str:
    params = query.urlencode()
    return reverse("contacts:board") + (f"?{params}" if params else "")


def _back_to_board(next_url: str) -> str:
    """The board (or a column's page) as the agent left it: the path and query of the `next` the
    form carried (never its host, so never another site), and never another page."""
    board_url = reverse("contacts:board")
    back = urlsplit(next_url)
    if not back.path.startswith(board_url) or ".." in back.path:
        return board_url
    return f"{back.path}?{back.query}" if back.query else back.path


# --- lead source actions -------------------------------------------------------------------------
def _source_add(request: WorkspaceRequest) -> HttpResponse:
    form = LeadSourceForm(request.POST, prefix="new", workspace=request.workspace)
    if not form.is_valid():
        return _sources_page(request, add_form=form, status=400)
    source = services.lead_source_add(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, f"Added the source {source.name}.")
    return redirect("contacts:lead_sources")


def _source_save(request: WorkspaceRequest) -> HttpResponse:
    source = services.access_lead_source(request.workspace, request.POST.get("source_id", ""))
    form = LeadSourceForm(
        request.POST, prefix=f"s{source.id}", workspace=request.workspace, source=source
    )
    if not form.is_valid():
        return _sources_page(request, bound={source.id: form}, status=400)
    services.lead_source_rename(source=source, **form.cleaned_data)
    messages.success(request, f"Saved the source {source.name}.")
    return redirect("contacts:lead_sources")


def _source_delete(request: WorkspaceRequest) -> HttpResponse:
    source = services.access_lead_source(request.workspace, request.POST.get("source_id", ""))
    cleared = services.lead_source_delete(source=source)
    suffix = (
        f"; {cleared} contact{'s' if cleared != 1 else ''} now have no source" if cleared else ""
    )
    messages.success(request, f"Deleted the source {source.name}{suffix}.")
    return redirect("contacts:lead_sources")


_SOURCE_ACTIONS: dict[str, Callable[[WorkspaceRequest], HttpResponse]] = {
    "add": _source_add,
    "save": _source_save,
    "delete": _source_delete,
}


def _sources_page(
    request: WorkspaceRequest,
    *,
    add_form: LeadSourceForm | None = None,
    bound: dict[int, LeadSourceForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    ws = request.workspace
    services.lead_sources_create_defaults(workspace=ws)
    counts = dict(
        Contact.objects.for_workspace(ws)
        .live()
        .order_by()
        .values_list("source_id")
        .annotate(n=Count("id"))
    )
    rows = [
        {
            "source": source,
            "contact_count": counts.get(source.id, 0),
            "form": (bound or {}).get(source.id)
            or LeadSourceForm(prefix=f"s{source.id}", workspace=ws, source=source),
        }
        for source in LeadSource.objects.for_workspace(ws).order_by("position", "id")
    ]
    context = {
        "rows": rows,
        "add_form": add_form or LeadSourceForm(prefix="new", workspace=ws),
        "can_edit": request.membership.is_owner,
        "max_sources": services.MAX_LEAD_SOURCES,
    }
    return render(request, "contacts/lead_sources.html", context, status=status)
