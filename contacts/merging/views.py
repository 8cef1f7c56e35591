from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from contacts.merging import services as merging
from contacts.merging.forms import MergeForm
from contacts.models import CustomField, DuplicateFlag, Merge
from contacts.services import access_contact

DUPLICATES_SHOWN = 100


@workspace_required
def duplicate_list(request: WorkspaceRequest) -> HttpResponse:
    flags = list(
        DuplicateFlag.objects.for_workspace(request.workspace)
        .filter(status=DuplicateFlag.Status.OPEN)
        .filter(contact_a__deleted_at=None, contact_a__merged_into=None)
        .filter(contact_b__deleted_at=None, contact_b__merged_into=None)
        .select_related("contact_a__stage", "contact_b__stage")
        .order_by("-created_at", "-id")[: DUPLICATES_SHOWN + 1]
    )
    context = {"flags": flags[:DUPLICATES_SHOWN], "more": len(flags) > DUPLICATES_SHOWN}
    return render(request, "contacts/duplicates.html", context)


@require_POST
@workspace_required
def duplicate_dismiss(request: WorkspaceRequest, flag_id: int) -> HttpResponse:
    flag = merging.access_duplicate_flag(request.workspace, flag_id)
    merging.duplicate_dismiss(flag=flag)
    if request.headers.get("HX-Request"):
        return HttpResponse("")  # the row is swapped out of the list
    messages.success(request, "Marked as not a duplicate.")
    return redirect("contacts:duplicates")


@workspace_required
def contact_merge_view(request: WorkspaceRequest, contact_id: int, other_id: int) -> HttpResponse:
    survivor = access_contact(request.workspace, contact_id)
    merged = access_contact(request.workspace, other_id)
    if survivor.id == merged.id:
        messages.error(request, "A contact can't be merged with itself.")
        return redirect("contacts:detail", contact_id=survivor.id)
    labels = dict(CustomField.objects.for_workspace(request.workspace).values_list("key", "label"))
    choices = merging.merge_field_choices(survivor=survivor, merged=merged, labels=labels)
    form = MergeForm(request.POST or None, field_choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            merge = merging.contact_merge(
                survivor=survivor, merged=merged, choices=form.choices(), actor=request.user
            )
        except merging.MergeError as exc:
            messages.error(request, str(exc))
            return redirect("contacts:duplicates")
        messages.success(request, _merged_message(request, merge))
        return redirect("contacts:detail", contact_id=survivor.id)
    sides = merging.merge_sides(survivor=survivor, merged=merged)
    context = {"survivor": survivor, "merged": merged, "form": form, "sides": sides}
    return render(request, "contacts/merge.html", context, status=400 if form.errors else 200)


@require_POST
@workspace_required
def merge_undo_view(request: WorkspaceRequest, merge_id: int) -> HttpResponse:
    merge = merging.access_merge(request.workspace, merge_id)
    try:
        undone = merging.merge_undo(merge=merge, actor=request.user)
    except merging.MergeError as exc:
        messages.error(request, str(exc))
    else:
        if undone:
            messages.success(request, f"Merge undone: {merge.merged.name} is back.")
        else:
            messages.info(request, "This merge was already undone.")
    return redirect("contacts:detail", contact_id=merge.survivor_id)


def _merged_message(request: WorkspaceRequest, merge: Merge) -> SafeString:
    # The flash carries its own Undo form (a plain POST, so it works without JavaScript).
    return format_html(
        '{} was merged into {}. <form class="flash-action" method="post" action="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button class="link" type="submit">Undo</button></form>',
        merge.merged.name,
        merge.survivor.name,
        reverse("contacts:merge_undo", args=[merge.id]),
        get_token(request),
    )
