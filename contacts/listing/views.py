from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import member_label
from contacts import services
from contacts.bulk import services as bulk
from contacts.bulk import views as bulk_views
from contacts.listing import services as listing
from contacts.listing.forms import BulkActionForm, ContactListForm, SavedListForm, UndoForm
from contacts.models import DuplicateFlag

# The ids of the last bulk delete, shown once on the list with an Undo button.
UNDO_SESSION_KEY = "contacts_undo_ids"


@require_safe
@vary_on_headers("HX-Request")
@workspace_required
def contact_list(request: WorkspaceRequest) -> HttpResponse:
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    choices = listing.list_choices(request.workspace, with_counts=not partial)
    form = ContactListForm(request.GET, choices=choices)
    query = form.to_query()
    page = listing.contacts_page(request.workspace, query, user=request.user)
    context: dict[str, Any] = {
        "form": form,
        "query": query,
        "choices": choices,
        "contacts": page.contacts,
        "next_page_query": query.urlencode(cursor=page.next_cursor) if page.next_cursor else "",
        "sort_label": listing.Sort(query.sort).label,
        "filters_open": bool(form.errors) or any(k != "q" for k in query.params()),
        "matching_count": _matching_count(
            request, query, choices, counted=not partial, more=bool(page.next_cursor)
        ),
        # Reversed once per page, not once per row and link: {% url %} cost as much as a row.
        "list_url": reverse("contacts:list"),
        "detail_url": _url_around_id("contacts:detail"),
    }
    if partial:
        template = "contacts/list.html#rows" if query.cursor else "contacts/list.html#results"
        return render(request, template, context)
    context.update(_sidebar(request))
    return render(request, "contacts/list.html", context)


@require_safe
@workspace_required  # type: ignore[arg-type]  # it types views as returning HttpResponse
def contact_export(request: WorkspaceRequest) -> StreamingHttpResponse:
    choices = listing.list_choices(request.workspace)
    query = ContactListForm(request.GET, choices=choices).to_query()
    rows = listing.export_rows(request.workspace, query, user=request.user)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    filename = f"contacts-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@workspace_required
def contact_bulk(request: WorkspaceRequest) -> HttpResponse:
    choices = listing.list_choices(request.workspace)
    form = BulkActionForm(request.POST, workspace=request.workspace, choices=choices)
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(_back_to_list(request))
    if form.matching:
        return _bulk_matching(request, form)
    if form.cleaned_data["action"] == BulkActionForm.Action.DELETE:
        deleted = services.contacts_delete(
            workspace=request.workspace, ids=form.cleaned_data["ids"], actor=request.user
        )
        if deleted:
            request.session[UNDO_SESSION_KEY] = deleted
        else:
            messages.info(request, "Those contacts were already gone; nothing was deleted.")
    else:
        messages.success(request, _bulk_apply(request, form))
    return redirect(_back_to_list(request))


@require_POST
@workspace_required
def contact_bulk_undo(request: WorkspaceRequest) -> HttpResponse:
    form = UndoForm(request.POST)
    restored: list[int] = []
    if form.is_valid():
        restored = services.contacts_restore(
            workspace=request.workspace, ids=form.cleaned_data["ids"], actor=request.user
        )
    if restored:
        messages.success(request, f"Restored {_contacts(len(restored))}.")
    else:
        hours = settings.CONTACT_UNDO_HOURS
        messages.error(request, f"Nothing to restore: a delete can be undone for {hours} hours.")
    return redirect(_back_to_list(request))


@require_POST
@workspace_required
def saved_list_create(request: WorkspaceRequest) -> HttpResponse:
    choices = listing.list_choices(request.workspace)
    query = ContactListForm(request.POST, choices=choices).to_query()
    form = SavedListForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["name"][0]))
        return redirect(_list_url(query))
    saved = listing.saved_list_create(
        workspace=request.workspace, owner=request.user, name=form.cleaned_data["name"], query=query
    )
    messages.success(request, f"Saved “{saved.name}”. It is in the sidebar.")
    return redirect(_list_url(query))


@require_POST
@workspace_required
def saved_list_delete(request: WorkspaceRequest, saved_list_id: int) -> HttpResponse:
    saved = listing.access_saved_list(request.workspace, saved_list_id)
    listing.saved_list_delete(saved_list=saved)
    messages.success(request, f"Deleted the list “{saved.name}”. Its contacts are untouched.")
    return redirect("contacts:list")


def _sidebar(request: WorkspaceRequest) -> dict[str, Any]:
    """Saved lists and the duplicates count: two queries, on full page loads only."""
    open_duplicates = (
        DuplicateFlag.objects.for_workspace(request.workspace)
        .filter(status=DuplicateFlag.Status.OPEN)
        .filter(contact_a__deleted_at=None, contact_a__merged_into=None)
        .filter(contact_b__deleted_at=None, contact_b__merged_into=None)
    )
    return {
        "saved_lists": listing.saved_lists_for(request.workspace),
        "duplicate_count": open_duplicates.count(),
        "undo_ids": request.session.pop(UNDO_SESSION_KEY, None),
    }


def _matching_count(
    request: WorkspaceRequest,
    query: listing.ContactListQuery,
    choices: listing.ListChoices,
    *,
    counted: bool,
    more: bool,
) -> int | None:
    """For "Select all N matching", offered when the matches go beyond this page: 0 when not
    offered; N when it is known without a query (unfiltered, on a full load the sidebar's cached
    count of live contacts); None otherwise, so no list load counts a filter's matches: the
    confirmation page states N before anything changes."""
    if not more or query.cursor:
        return 0
    if counted and not query.is_filtered:
        return choices.total
    return None


def _bulk_matching(request: WorkspaceRequest, form: BulkActionForm) -> HttpResponse:
    """An action on all N matching: a confirmation stating N, then the job (run here if small,
    else in the worker, whose progress page the agent is sent to)."""
    query = form.cleaned_data["query"]
    if not form.cleaned_data["confirmed"]:
        count = bulk.bulk_matching_count(request.workspace, query, user=request.user)
        context = {"form": form, "count": count, "query": query, "back": _back_to_list(request)}
        context["undo_hours"] = settings.CONTACT_UNDO_HOURS
        action, params = form.cleaned_data["action"], form.job_params()
        context["summary"] = bulk_views.action_summary(request.workspace, action, params, count)
        return render(request, "contacts/bulk_confirm.html", context)
    job = bulk.bulk_job_start(
        workspace=request.workspace,
        actor=request.user,
        action=form.cleaned_data["action"],
        params=form.job_params(),
        query=query,
    )
    if not job.is_finished:
        return redirect("contacts:bulk_job", bulk_job_id=job.id)
    bulk_views.job_message(request, job)
    return redirect(_back_to_list(request))


def _bulk_apply(request: WorkspaceRequest, form: BulkActionForm) -> str:
    """Run the chosen bulk action; return what to tell the agent."""
    data, ws, Action = form.cleaned_data, request.workspace, BulkActionForm.Action
    ids = data["ids"]
    if data["action"] == Action.TAG:
        n = len(services.contacts_bulk_tag(workspace=ws, ids=ids, tag_name=data["tag"]))
        return f"Tagged {_contacts(n)} “{data['tag'].strip()}”."
    if data["action"] == Action.UNTAG:
        n = len(services.contacts_bulk_untag(workspace=ws, ids=ids, tag_name=data["tag"]))
        return f"Removed “{data['tag'].strip()}” from {_contacts(n)}."
    if data["action"] == Action.STAGE:
        stage = data["stage"]
        moved = services.contacts_bulk_set_stage(
            workspace=ws, ids=ids, stage=stage, actor=request.user
        )
        n = len(moved)
        return f"Moved {_contacts(n)} to {stage.name}."
    assignee = form.assignee_user
    n = len(services.contacts_bulk_assign(workspace=ws, ids=ids, assignee=assignee))
    who = member_label(assignee) if assignee else "nobody"
    return f"Assigned {_contacts(n)} to {who}."


def _url_around_id(name: str) -> tuple[str, str]:
    """The URL named `name` for an object id, as what comes before and after the id."""
    sentinel = 987654321987
    head, tail = reverse(name, args=[sentinel]).split(str(sentinel))
    return head, tail


def _contacts(n: int) -> str:
    return f"{n} contact" if n == 1 else f"{n} contacts"


def _list_url(query: listing.ContactListQuery) -> str:
    params = query.urlencode()
    return reverse("contacts:list") + (f"?{params}" if params else "")


def _back_to_list(request: WorkspaceRequest) -> str:
    """The list as the agent left it (the `next` the form carried), never another site or page."""
    list_url = reverse("contacts:list")
    back = urlsplit(request.POST.get("next", ""))
    if back.scheme or back.netloc or back.path != list_url:
        return list_url
    return f"{list_url}?{back.query}" if back.query else list_url


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    # A byte order mark, so Excel opens the UTF-8 file with its accents intact.
    yield "\ufeff"
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)
