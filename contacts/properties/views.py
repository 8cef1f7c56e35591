from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.lib.keyset import cursor_for, cursor_parse
from contacts.models import Property, PropertyLink
from contacts.properties import services
from contacts.properties.forms import PropertyFilterForm, PropertyForm, PropertyLinkForm

PAGE_SIZE = 50


@workspace_required
def property_list(request: WorkspaceRequest) -> HttpResponse:
    filters = PropertyFilterForm(request.GET)
    filters.is_valid()
    q, status = filters.cleaned_data.get("q", ""), filters.cleaned_data.get("status", "")
    after = cursor_parse(request.GET.get("after", ""))
    rows = list(_page(_properties(request, q, status), after)[: PAGE_SIZE + 1])
    last = rows[PAGE_SIZE - 1] if len(rows) > PAGE_SIZE else None
    context = {
        "filters": filters,
        "properties": rows[:PAGE_SIZE],
        "next_cursor": cursor_for(last.created_at, last.id) if last else "",
        "is_later_page": after is not None,
        "q": q,
        "status": status,
    }
    template = "contacts/property_list.html"
    if request.htmx:
        template += "#rows" if after else "#results"
    return render(request, template, context)


@workspace_required
def property_create(request: WorkspaceRequest) -> HttpResponse:
    form = PropertyForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        prop = services.property_create(workspace=request.workspace, data=form.to_input())
        messages.success(request, f"Added {services.property_street_line(prop)}.")
        return redirect("contacts:property_detail", property_id=prop.id)
    status = 400 if form.errors else 200
    return render(request, "contacts/property_form.html", {"form": form}, status=status)


@workspace_required
def property_edit(request: WorkspaceRequest, property_id: int) -> HttpResponse:
    prop = services.access_property(request.workspace, property_id)
    form = PropertyForm(request.POST or None, workspace=request.workspace, instance=prop)
    if request.method == "POST" and form.is_valid():
        services.property_update(property=prop, data=form.to_input())
        messages.success(request, f"Saved {services.property_street_line(prop)}.")
        return redirect("contacts:property_detail", property_id=prop.id)
    context = {"form": form, "property": prop}
    return render(
        request, "contacts/property_form.html", context, status=400 if form.errors else 200
    )


@workspace_required
def property_detail(request: WorkspaceRequest, property_id: int) -> HttpResponse:
    prop = services.access_property(request.workspace, property_id)
    query = request.GET.get("contact_q", "")[:100]
    link_form = PropertyLinkForm(workspace=request.workspace, contact_query=query)
    if request.htmx and "contact_q" in request.GET:
        return render(
            request, "contacts/property_detail.html#contact_select", {"link_form": link_form}
        )
    context = _detail_context(request, prop, link_form, query)
    return render(request, "contacts/property_detail.html", context)


@require_POST
@workspace_required
def property_link_create(request: WorkspaceRequest, property_id: int) -> HttpResponse:
    prop = services.access_property(request.workspace, property_id)
    form = PropertyLinkForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        if form.has_error("contact", "invalid_choice"):
            raise Http404("No such contact")
        context = _detail_context(request, prop, form, "")
        return render(request, "contacts/property_detail.html", context, status=400)
    contact, role = form.cleaned_data["contact"], form.cleaned_data["role"]
    _link, created = services.property_link(
        property=prop, contact=contact, role=role, actor=request.user
    )
    label = PropertyLink.Role(role).label.lower()
    if created:
        messages.success(request, f"Linked {contact.name} as {label}.")
    else:
        messages.info(request, f"{contact.name} was already linked as {label}.")
    return redirect("contacts:property_detail", property_id=prop.id)


def _properties(request: WorkspaceRequest, q: str, status: str) -> QuerySet[Any]:
    links = (
        PropertyLink.objects.for_workspace(request.workspace)
        .filter(property=OuterRef("pk"), contact__deleted_at=None, contact__merged_into=None)
        .order_by()
        .values("property")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = Property.objects.for_workspace(request.workspace).annotate(
        link_count=Coalesce(Subquery(links), 0)
    )
    for word in q.split():
        qs = qs.filter(
            Q(street__icontains=word)
            | Q(unit__iexact=word)
            | Q(city__icontains=word)
            | Q(zip_code__startswith=word)
            | Q(mls_number__iexact=word)
        )
    return qs.filter(status=status) if status else qs


def _page(qs: QuerySet[Property], after: tuple[datetime, int] | None) -> QuerySet[Property]:
    # Keyset pagination on the (workspace, created_at, id) index: page 1,000 costs what page 1 does.
    if after is not None:
        created_at, last_id = after
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id))
    return qs.order_by("-created_at", "-id")


def _detail_context(
    request: WorkspaceRequest, prop: Property, link_form: PropertyLinkForm, query: str
) -> dict[str, object]:
    links = (
        PropertyLink.objects.for_workspace(request.workspace)
        .filter(property=prop, contact__deleted_at=None, contact__merged_into=None)
        .select_related("contact")
        .order_by("-created_at", "-id")
    )
    # The seller side first, then the buyer, then everyone who showed interest.
    order = [PropertyLink.Role.OWNER, PropertyLink.Role.BUYER, PropertyLink.Role.INTERESTED]
    by_role: dict[str, list[PropertyLink]] = {role: [] for role in order}
    for link in links:
        by_role[link.role].append(link)
    groups = [(PropertyLink.Role(role).label, items) for role, items in by_role.items()]
    return {
        "property": prop,
        "link_groups": groups,
        "has_links": any(items for _label, items in groups),
        "link_form": link_form,
        "contact_q": query,
    }
