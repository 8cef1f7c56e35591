from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.seams import contact_panels
from alt.accounts.shortcuts import member_label, render_local
from alt.lib.dates import When, format_when, local_day
from alt.lib.keyset import cursor_for, cursor_parse
from contacts import custom_fields, services
from contacts.consent import consent_overview
from contacts.forms import (
    SECTIONS,
    ContactCreateForm,
    ContactForm,
    NoteForm,
    TaskForm,
    TaskPageForm,
)
from contacts.models import (
    Activity,
    Contact,
    CustomField,
    DuplicateFlag,
    Task,
)
from contacts.normalize import phone_display
from contacts.quiet_hours import area_code_zones

TIMELINE_PAGE = 50


@workspace_required
def contact_create(request: WorkspaceRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = ContactCreateForm(data, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        contact = services.contact_create(
            workspace=request.workspace, actor=request.user, data=form.to_input()
        )
        if _is_flagged(contact):
            messages.warning(
                request,
                format_html(
                    "Added {}. It looks like a contact you already have: "
                    '<a href="{}">review possible duplicates</a>.',
                    contact.name,
                    reverse("contacts:duplicates"),
                ),
            )
        else:
            messages.success(request, f"Added {contact.name}.")
        return redirect("contacts:detail", contact_id=contact.id)
    status = 400 if form.errors else 200
    return _render(request, "contacts/create.html", {"form": form}, status=status)


@workspace_required
def contact_detail(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id, with_reach=True)
    return _render(request, "contacts/detail.html", _detail_context(request, contact))


@workspace_required
def contact_edit_section(request: WorkspaceRequest, contact_id: int, section: str) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id)
    if section not in SECTIONS:
        raise Http404("No such section")
    data = request.POST if request.method == "POST" else None
    form = ContactForm(data, workspace=request.workspace, contact=contact, section=section)
    if request.method == "POST" and form.is_valid():
        services.contact_update(contact=contact, actor=request.user, **form.update_kwargs())
        if not request.htmx:
            messages.success(request, f"Saved {contact.name}.")
            return redirect("contacts:detail", contact_id=contact.id)
        # Read back with the emails, phones and tags the save may have changed.
        contact = services.access_contact(request.workspace, contact.id, with_reach=True)
        context = _detail_context(request, contact, timeline=False)
        response = _render(
            request, "contacts/detail.html#section_saved", _with_section(context, section)
        )
        return trigger_client_event(response, "timeline-changed")
    context = {"contact": contact, "form": form, "section": SECTIONS[section]}
    if request.htmx:
        return _render(request, "contacts/detail.html#section_form", context)
    status = 400 if form.errors else 200
    return _render(request, "contacts/section_edit.html", context, status=status)


@workspace_required
def contact_timeline(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id)
    before = request.GET.get("before", "")
    if not request.htmx:
        url = reverse("contacts:detail", args=[contact.id])
        return redirect(f"{url}?before={before}#timeline" if before else f"{url}#timeline")
    entries, older = _timeline(request, contact, cursor_parse(before))
    partial = "timeline_page" if before else "timeline"
    context = {"contact": contact, "entries": entries, "older_cursor": older}
    return _render(request, f"contacts/detail.html#{partial}", context)


@require_POST
@workspace_required
def note_create(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, contact, "note_form", note_form=form)
    note = services.note_add(contact=contact, author=request.user, body=form.cleaned_data["body"])
    if not request.htmx:
        messages.success(request, "Note added.")
        return redirect("contacts:detail", contact_id=contact.id)
    entry = _entry_for(request, contact, Q(kind=Activity.Kind.NOTE, data__note_id=note.id))
    context = {"contact": contact, "entry": entry, "note_form": NoteForm()}
    return _render(request, "contacts/detail.html#note_added", context)


@require_POST
@workspace_required
def task_create(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id)
    form = TaskForm(request.POST, time_zone=request.user.timezone)
    if not form.is_valid():
        return _invalid(request, contact, "task_form", task_form=form)
    task = services.task_add(
        workspace=request.workspace,
        contact=contact,
        actor=request.user,
        title=form.cleaned_data["title"],
        due_at=form.due_at(),
    )
    if not request.htmx:
        messages.success(request, f"Task added: {task.title}.")
        return redirect("contacts:detail", contact_id=contact.id)
    entry = _entry_for(request, contact, Q(kind=Activity.Kind.TASK_CREATED, data__task_id=task.id))
    task_form = TaskForm(time_zone=request.user.timezone)
    back = reverse("contacts:detail", args=[contact.id])
    context = {
        "contact": contact,
        "entry": entry,
        "task": task,
        "task_form": task_form,
        "back": back,
    }
    return _render(request, "contacts/detail.html#task_added", context)


@require_POST
@workspace_required
def contact_delete(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id)
    services.contacts_delete(workspace=request.workspace, ids=[contact.id], actor=request.user)
    messages.success(
        request,
        format_html(
            '{} moved to the trash. <form method="post" action="{}" class="flash-action">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" class="link">Undo</button></form> '
            '<a href="{}">Recently deleted</a>',
            contact.name,
            reverse("contacts:restore", args=[contact.id]),
            get_token(request),
            reverse("contacts:trash"),
        ),
    )
    return redirect("contacts:list")


@require_POST
@workspace_required
def contact_restore(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = services.access_contact(request.workspace, contact_id, include_deleted=True)
    if contact.deleted_at is None:
        return redirect("contacts:detail", contact_id=contact.id)
    restored = services.contacts_restore(
        workspace=request.workspace, ids=[contact.id], actor=request.user
    )
    if not restored:
        messages.error(request, f"{contact.name} was deleted too long ago to be restored.")
        return redirect("contacts:list")
    messages.success(request, f"Restored {contact.name}.")
    return redirect("contacts:detail", contact_id=contact.id)


@workspace_required
def task_list(request: WorkspaceRequest) -> HttpResponse:
    query = request.GET.get("contact_q", "")[:100]
    data = request.POST if request.method == "POST" else None
    form = TaskPageForm(data, workspace=request.workspace, user=request.user, contact_query=query)
    if request.htmx and "contact_q" in request.GET:
        return _render(request, "contacts/tasks.html#contact_select", {"form": form})
    if request.method == "POST" and _task_form_valid(form):
        try:
            task = services.task_add(
                workspace=request.workspace, actor=request.user, **form.service_kwargs()
            )
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            mine = task.assigned_to_id == request.user.id
            whose = (
                "" if mine or task.assigned_to is None else f" for {member_label(task.assigned_to)}"
            )
            messages.success(request, f"Task added{whose}: {task.title}.")
            return redirect("contacts:tasks")
    context = _task_list_context(request, form, query)
    return _render(request, "contacts/tasks.html", context, status=400 if form.errors else 200)


@workspace_required
def task_edit(request: WorkspaceRequest, task_id: int) -> HttpResponse:
    task = services.access_task(request.workspace, task_id)
    data = request.POST if request.method == "POST" else None
    query = request.GET.get("contact_q", "")[:100]
    form = TaskPageForm(
        data, workspace=request.workspace, user=request.user, task=task, contact_query=query
    )
    if request.htmx and "contact_q" in request.GET:
        return _render(request, "contacts/tasks.html#contact_select", {"form": form})
    if request.method == "POST" and _task_form_valid(form):
        try:
            services.task_update(task=task, **form.service_kwargs())
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved: {form.cleaned_data['title']}.")
            return redirect("contacts:tasks")
    context = {"form": form, "task": task, "contact_q": query}
    status = 400 if form.errors else 200
    return _render(request, "contacts/task_edit.html", context, status=status)


@require_POST
@workspace_required
def task_delete_view(request: WorkspaceRequest, task_id: int) -> HttpResponse:
    task = services.access_task(request.workspace, task_id)
    services.task_delete(task=task)
    ended = " The series ends with it." if task.repeat and task.completed_at is None else ""
    messages.success(request, f"Deleted: {task.title}.{ended}")
    return redirect("contacts:tasks")


@require_POST
@workspace_required
def task_stop_repeating_view(request: WorkspaceRequest, task_id: int) -> HttpResponse:
    task = services.access_task(request.workspace, task_id)
    services.task_stop_repeating(task=task)
    messages.success(request, f"“{task.title}” no longer repeats; this one stays on your list.")
    return redirect("contacts:task_edit", task_id=task.id)


@require_POST
@workspace_required
def task_complete_view(request: WorkspaceRequest, task_id: int) -> HttpResponse:
    task = services.access_task(request.workspace, task_id)
    services.task_complete(task=task, actor=request.user)
    next_task = services.task_next_occurrence(task=task)
    if request.htmx:
        context = {"task": task, "next_task": next_task, "back": request.POST.get("next", "")}
        return _render(request, "contacts/tasks.html#task_done", context)
    tz = ZoneInfo(request.user.timezone)
    again = f" Next one: {format_when(next_task.due_at, tz=tz)}." if next_task else ""
    messages.success(request, f"Done: {task.title}.{again}")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=False):
        return redirect(back)
    return redirect("contacts:tasks")


# --- helpers -------------------------------------------------------------------------------------
def _render(
    request: WorkspaceRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render_local(request, template, context, status=status)


def _task_form_valid(form: TaskPageForm) -> bool:
    # A posted id of another workspace's contact is a 404, never a hint that it exists.
    valid = form.is_valid()
    if form.has_error("contact", "invalid_choice"):
        raise Http404("No such contact")
    return valid


def _task_list_context(request: WorkspaceRequest, form: TaskPageForm, query: str) -> dict[str, Any]:
    """My open tasks by day (about live contacts, or none); `?without=contact` keeps only those
    without a contact."""
    mine = (
        Task.objects.for_workspace(request.workspace)
        .filter(assigned_to=request.user, completed_at=None)
        .filter(Q(contact=None) | Q(contact__deleted_at=None, contact__merged_into=None))
    )
    without_contact = request.GET.get("without") == "contact"
    shown = mine.filter(contact=None) if without_contact else mine
    tasks = list(shown.select_related("contact").order_by("due_at", "id")[:500])
    groups = tasks_by_day(tasks, ZoneInfo(request.user.timezone))
    return {
        "groups": groups,
        "has_tasks": bool(tasks),
        "without_contact": without_contact,
        "without_contact_count": mine.filter(contact=None).count(),
        "form": form,
        "contact_q": query,
        "back": request.get_full_path() if request.method == "GET" else reverse("contacts:tasks"),
    }


def _is_flagged(contact: Contact) -> bool:
    return (
        DuplicateFlag.objects.for_workspace(contact.workspace)
        .filter(Q(contact_a=contact) | Q(contact_b=contact), status=DuplicateFlag.Status.OPEN)
        .exists()
    )


def tasks_by_day(tasks: list[Task], tz: ZoneInfo) -> list[tuple[str, str, list[Task]]]:
    """Open tasks split into overdue, due today and upcoming, by the agent's local day."""
    now = timezone.now()
    today = timezone.localdate(now, tz)
    groups: dict[str, list[Task]] = {"overdue": [], "today": [], "upcoming": []}
    for task in tasks:
        if task.due_at < now:
            groups["overdue"].append(task)
        elif local_day(task.due_at, tz) == today:
            groups["today"].append(task)
        else:
            groups["upcoming"].append(task)
    labels = {"overdue": "Overdue", "today": "Today", "upcoming": "Upcoming"}
    return [(key, labels[key], items) for key, items in groups.items()]


class TimelineEntry(TypedDict):
    """One timeline entry as the page shows it, every label made in the view: a dict, because
    the template engine tries a name as a key before an attribute (50 model instances through
    `|when` and `|timesince`, one by one, were a third of the contact page's time)."""

    kind: str  # the CSS class tl-<kind>
    label: str  # "Task added"
    summary: str  # after the label; empty for a note, whose body says it all
    body: str
    by: str  # the person, or "Automatic"
    at_iso: str  # <time datetime>
    at: str  # 'Wed, Jul 10, 9:00 AM' in the agent's zone
    ago: str  # '3 hours ago', 'just now'


_KIND_LABELS: dict[str, str] = dict(Activity.Kind.choices)
_ENTRY_FIELDS = (
    "kind", "summary", "body", "occurred_at", "actor_id", "actor__full_name", "actor__email",
)  # fmt: skip


def _entries(request: WorkspaceRequest, contact: Contact) -> QuerySet[Activity]:
    return Activity.objects.for_workspace(request.workspace).filter(contact=contact)


def _present(row: dict[str, Any], when: When) -> TimelineEntry:
    kind, actor_id = row["kind"], row["actor_id"]
    return {
        "kind": kind,
        "label": _KIND_LABELS.get(kind, kind),
        "summary": "" if kind == Activity.Kind.NOTE else row["summary"],
        "body": row["body"],
        "by": (row["actor__full_name"] or row["actor__email"]) if actor_id else "Automatic",
        "at_iso": when.when(row["occurred_at"], "iso"),
        "at": when.when(row["occurred_at"]),
        "ago": when.ago(row["occurred_at"]),
    }


def _timeline(
    request: WorkspaceRequest, contact: Contact, before: tuple[datetime, int] | None
) -> tuple[list[TimelineEntry], str]:
    """One page of the timeline, newest first, in one query; and the cursor of the next page."""
    qs = _entries(request, contact)
    if before is not None:
        occurred_at, last_id = before
        qs = qs.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, id__lt=last_id))
    rows = list(
        qs.order_by("-occurred_at", "-id").values(*_ENTRY_FIELDS, "id")[: TIMELINE_PAGE + 1]
    )
    when = When(ZoneInfo(request.user.timezone))
    entries = [_present(row, when) for row in rows[:TIMELINE_PAGE]]
    last = rows[TIMELINE_PAGE - 1] if len(rows) > TIMELINE_PAGE else None
    older = cursor_for(last["occurred_at"], last["id"]) if last else ""
    return entries, older


def _entry_for(request: WorkspaceRequest, contact: Contact, which: Q) -> TimelineEntry | None:
    row = _entries(request, contact).filter(which).order_by("-id").values(*_ENTRY_FIELDS).first()
    return _present(row, When(ZoneInfo(request.user.timezone))) if row else None


def _detail_context(
    request: WorkspaceRequest, contact: Contact, *, timeline: bool = True, **forms: Any
) -> dict[str, Any]:
    """The contact page's context; `contact` as access_contact(with_reach=True) reads it."""
    emails, phones, tags = _emails_phones_tags(contact)
    tz = ZoneInfo(request.user.timezone)
    fields = list(CustomField.objects.for_workspace(request.workspace))
    context: dict[str, Any] = {
        "contact": contact,
        "sections": list(SECTIONS.values()),
        "emails": emails,
        "phones": [(e164, phone_display(e164)) for e164 in phones],
        "tags": tags,
        "primary_phone": phone_display(contact.primary_phone),
        "custom_values": [
            (f.label, custom_fields.display(f, contact.custom_fields.get(f.key), tz=tz))
            for f in fields
        ],
        "has_custom_fields": bool(fields),
        "undo_hours": settings.CONTACT_UNDO_HOURS,
        "back": reverse("contacts:detail", args=[contact.id]),
        "today": timezone.localdate(timezone.now(), tz),
        "note_form": forms.get("note_form") or NoteForm(),
        "task_form": forms.get("task_form") or TaskForm(time_zone=request.user.timezone),
        "consents": consent_overview(contact, workspace=request.workspace),
        "zone_guess": (
            area_code_zones(contact.primary_phone, at=timezone.now())
            if contact.primary_phone and not contact.time_zone
            else []
        ),
    }
    if timeline:
        before = cursor_parse(request.GET.get("before", ""))
        context["entries"], context["older_cursor"] = _timeline(request, contact, before)
        context["open_tasks"] = list(
            Task.objects.for_workspace(request.workspace)
            .filter(contact=contact, completed_at=None)
            .order_by("due_at", "id")[:20]
        )
        # Panels of apps above contacts (appointments: the upcoming ones), under the actions.
        context["panels"] = contact_panels(request, contact)
    return context


def _emails_phones_tags(contact: Contact) -> tuple[list[str], list[str], list[str]]:
    """What access_contact(with_reach=True) read with the contact: its emails and phones (main
    one first) and tag names."""
    return contact.email_list, contact.phone_list, contact.tag_names  # type: ignore[attr-defined]


def _with_section(context: dict[str, Any], key: str) -> dict[str, Any]:
    return {**context, "section": SECTIONS[key]}


def _invalid(
    request: WorkspaceRequest, contact: Contact, partial: str, **forms: Any
) -> HttpResponse:
    """A note or task form with errors: the form alone for htmx (swapped in place of the form),
    else the whole contact page with the form's errors."""
    if request.htmx:
        context = {"contact": contact, **forms}
        response = _render(request, f"contacts/detail.html#{partial}", context)
        return reswap(retarget(response, f"#{partial.replace('_', '-')}"), "outerHTML")
    contact = services.access_contact(request.workspace, contact.id, with_reach=True)
    context = _detail_context(request, contact, **forms)
    return _render(request, "contacts/detail.html", context, status=400)
