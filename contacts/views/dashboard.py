from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.models import Membership
from contacts.models import Contact, ContactQuerySet, PipelineStage, Task

STALE_DAYS = 14
TASKS_SHOWN = 10


@workspace_required
def dashboard(request: WorkspaceRequest) -> HttpResponse:
    tz = ZoneInfo(request.user.timezone)
    now = timezone.now()
    stages = _leads_per_stage(request)
    counts = _contact_counts(request, now, tz)
    context: dict[str, Any] = {
        "stages": stages,
        "most": max((s["leads"] for s in stages), default=0) or 1,
        "counts": counts,
        "first_run": counts["total"] == 0,
        "stale_days": STALE_DAYS,
        "stale_url": f"{reverse('contacts:list')}?stale={STALE_DAYS}",
        "tasks": _my_tasks_due(request, now, tz),
        "back": reverse("dashboard"),
        "now": now,
    }
    if context["first_run"]:
        context["team_size"] = Membership.objects.filter(workspace=request.workspace).count()
    with timezone.override(tz):
        return render(request, "contacts/dashboard.html", context)


@workspace_required
def coming_soon(request: WorkspaceRequest, section: str) -> HttpResponse:
    return render(request, "coming_soon.html", {"section": section})


def _leads_per_stage(request: WorkspaceRequest) -> list[dict[str, Any]]:
    # One GROUP BY over the (workspace, stage) index; stages without leads still show, with 0.
    live = Q(contacts__deleted_at=None, contacts__merged_into=None)
    return list(
        PipelineStage.objects.for_workspace(request.workspace)
        .values("id", "name", "outcome")
        .annotate(leads=Count("contacts", filter=live))
        .order_by("position", "id")
    )


def _contact_counts(request: WorkspaceRequest, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    today = timezone.localdate(now, tz)
    week_start = datetime.combine(today - timedelta(days=today.weekday()), time.min, tzinfo=tz)
    stale_before = now - timedelta(days=STALE_DAYS)
    contacts = cast(ContactQuerySet, Contact.objects.for_workspace(request.workspace))
    return contacts.live().aggregate(
        total=Count("id"),
        new_this_week=Count("id", filter=Q(created_at__gte=week_start)),
        stale=Count("id", filter=Q(last_activity_at__lt=stale_before)),
    )


def _my_tasks_due(request: WorkspaceRequest, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """My open tasks that are overdue or due before the end of my day, soonest first."""
    tomorrow = timezone.localdate(now, tz) + timedelta(days=1)
    end_of_day = datetime.combine(tomorrow, time.min, tzinfo=tz)
    due = (
        Task.objects.for_workspace(request.workspace)
        .filter(assigned_to=request.user, completed_at=None, due_at__lt=end_of_day)
        .filter(Q(contact=None) | Q(contact__deleted_at=None, contact__merged_into=None))
        .select_related("contact")
        .order_by("due_at", "id")
    )
    rows = list(due[: TASKS_SHOWN + 1])
    shown = rows[:TASKS_SHOWN]
    return {
        "overdue": [t for t in shown if t.due_at < now],
        "today": [t for t in shown if t.due_at >= now],
        "more": len(rows) > TASKS_SHOWN,
    }
