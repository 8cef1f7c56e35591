from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.models import Membership
from alt.accounts.seams import dashboard_cards
from alt.accounts.shortcuts import render_local
from contacts.counts import STALE_DAYS, stages_with_counts
from contacts.dashboard.speed import speed_to_lead
from contacts.models import Contact, Task

TASKS_SHOWN = 10


@workspace_required
def dashboard(request: WorkspaceRequest) -> HttpResponse:
    tz = ZoneInfo(request.user.timezone)
    now = timezone.now()
    stages = _leads_per_stage(request)
    counts = _contact_counts(request, stages, now, tz)
    context: dict[str, Any] = {
        "stages": stages,
        "most": max((s["leads"] for s in stages), default=0) or 1,
        "counts": counts,
        "first_run": counts["total"] == 0,
        "stale_days": STALE_DAYS,
        "stale_url": f"{reverse('contacts:list')}?stale={STALE_DAYS}",
        "tasks": _my_tasks_due(request, now, tz),
        # Cards of apps above contacts (appointments: today's agenda), first in the grid.
        "cards": dashboard_cards(request),
        "back": reverse("dashboard"),
    }
    if context["first_run"]:
        context["team_size"] = Membership.objects.filter(workspace=request.workspace).count()
    else:
        context["speed"] = speed_to_lead(workspace=request.workspace, tz=tz, now=now)
    return render_local(request, "contacts/dashboard.html", context)


def _leads_per_stage(request: WorkspaceRequest) -> list[dict[str, Any]]:
    """Live leads per stage, with how many of them went quiet for STALE_DAYS, counted once per
    change of the workspace's contacts (contacts.counts). Stages without leads show 0."""
    return [
        {
            "id": stage.id,
            "name": stage.name,
            "outcome": stage.outcome,
            "leads": stage.contact_count,  # type: ignore[attr-defined]
            "stale": stage.stale_count,  # type: ignore[attr-defined]
        }
        for stage in stages_with_counts(request.workspace)
    ]


def _contact_counts(
    request: WorkspaceRequest, stages: list[dict[str, Any]], now: datetime, tz: ZoneInfo
) -> dict[str, int]:
    today = timezone.localdate(now, tz)
    week_start = datetime.combine(today - timedelta(days=today.weekday()), time.min, tzinfo=tz)
    contacts = Contact.objects.for_workspace(request.workspace)
    return {
        "total": sum(stage["leads"] for stage in stages),
        "stale": sum(stage["stale"] for stage in stages),
        # A range of the (workspace, created_at) index: only this week's rows are read.
        "new_this_week": contacts.live().filter(created_at__gte=week_start).count(),
    }


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
