"""Recently deleted: the contacts deleted within the undo window, with Restore."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST, require_safe

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import render_local
from contacts import services
from contacts.listing.forms import UndoForm

PAGE_SIZE = 50


@require_safe
@workspace_required
def contact_trash(request: WorkspaceRequest) -> HttpResponse:
    deleted = services.contacts_recently_deleted(request.workspace)
    page = Paginator(deleted, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "contacts": page.object_list,
        "undo_hours": settings.CONTACT_UNDO_HOURS,
    }
    return render_local(request, "contacts/trash.html", context)


@require_POST
@workspace_required
def contact_trash_restore(request: WorkspaceRequest) -> HttpResponse:
    form = UndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["ids"][0]))
        return redirect("contacts:trash")
    wanted = form.cleaned_data["ids"]
    restored = services.contacts_restore(
        workspace=request.workspace, ids=wanted, actor=request.user
    )
    if restored:
        n = len(restored)
        messages.success(request, f"Restored {n} contact{'s' if n != 1 else ''}.")
    if len(restored) < len(wanted):
        missed, hours = len(wanted) - len(restored), settings.CONTACT_UNDO_HOURS
        messages.error(
            request,
            f"{missed} could not be restored: deleted more than {hours} hours ago, "
            "or already restored.",
        )
    return redirect("contacts:trash")
