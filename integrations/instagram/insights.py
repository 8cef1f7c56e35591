"""Instagram insights (EXTERNAL_APIS.md §3.9): refreshed daily per connected account, shown on
the dashboard as a 30-day chart of reach and views and the top posts by interactions.

Stored as Meta gives them: a day's account metrics in InstagramDailyInsight, a post's in
InstagramMedia.insights. A metric Meta has no data for (an empty `data` list) is absent, never
0; "Not enough viewers" (code 10) leaves a post without numbers and is not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest
from alt.accounts.models import Workspace
from alt.accounts.seams import Panel
from integrations.instagram import client
from integrations.instagram.client import InstagramError
from integrations.instagram.models import InstagramAccount, InstagramDailyInsight, InstagramMedia
from integrations.instagram.publishing import account_for, account_needs_reconnect

log = logging.getLogger(__name__)

CHART_DAYS = 30
REFRESH_EVERY = timedelta(hours=24)
# Meta's numbers may lag up to 48 hours (§3.9): the last days are fetched again each refresh.
REFETCH_DAYS = 3
RECENT_MEDIA_DAYS = 30
RECENT_MEDIA_MAX = 50
TOP_POSTS = 3
CHART_SERIES = ("reach", "views")


def insights_due_claim() -> list[tuple[int, int]]:
    """Connected accounts whose insights are a day old (or never fetched), each claimed by a
    conditional UPDATE of insights_refreshed_at, as (workspace_id, account_id)."""
    now = timezone.now()
    claimed = []
    for account_id, workspace_id, seen in InstagramAccount.objects.insights_due(
        now - REFRESH_EVERY
    ):
        moved = (
            InstagramAccount.objects.for_workspace(Workspace(id=workspace_id))
            .filter(id=account_id, insights_refreshed_at=seen)
            .update(insights_refreshed_at=now)
        )
        if moved:
            claimed.append((workspace_id, account_id))
    return claimed


def insights_refresh(*, workspace_id: int, account_id: int) -> None:
    """Fetch the account's daily metrics (the missing days of the last 30 and the last 3 again)
    and the metrics of its posts of the last 30 days.

    Side effects: Graph calls; InstagramDailyInsight rows; InstagramMedia.insights. A dead token
    marks the account needs-reconnect. Raises InstagramError for transient failures (the task
    retries); a post Meta no longer knows is skipped.
    """
    account = (
        InstagramAccount.objects.for_workspace(Workspace(id=workspace_id))
        .filter(id=account_id, status=InstagramAccount.Status.CONNECTED)
        .first()
    )
    if account is None or not account.access_token:
        return
    try:
        _refresh_days(account)
        _refresh_media(account)
    except InstagramError as exc:
        if not exc.permanent:
            raise
        if exc.needs_reconnect:
            account_needs_reconnect(account, exc)
            return
        log.warning("instagram insights of account %s refused: %s", account.id, exc)


def _days_to_fetch(account: InstagramAccount, today: date) -> list[date]:
    window = [today - timedelta(days=n) for n in range(CHART_DAYS, 0, -1)]
    known = set(
        InstagramDailyInsight.objects.for_workspace(account.workspace)
        .filter(account=account, date__gte=window[0])
        .values_list("date", flat=True)
    )
    recent = set(window[-REFETCH_DAYS:])
    return [day for day in window if day not in known or day in recent]


def _refresh_days(account: InstagramAccount) -> None:
    today = timezone.now().astimezone(UTC).date()
    for day in _days_to_fetch(account, today):
        since = datetime.combine(day, time.min, tzinfo=UTC)
        metrics = client.account_insights(
            token=account.access_token,
            ig_user_id=account.ig_user_id,
            since=int(since.timestamp()),
            until=int((since + timedelta(days=1)).timestamp()),
        )
        InstagramDailyInsight.objects.for_workspace(account.workspace).update_or_create(
            account=account,
            date=day,
            defaults={"metrics": metrics, "fetched_at": timezone.now()},
            create_defaults={
                "workspace": account.workspace,
                "metrics": metrics,
                "fetched_at": timezone.now(),
            },
        )


def _refresh_media(account: InstagramAccount) -> None:
    since = timezone.now() - timedelta(days=RECENT_MEDIA_DAYS)
    recent = list(
        InstagramMedia.objects.for_workspace(account.workspace)
        .filter(account=account, posted_at__gte=since)
        .order_by("-posted_at")[:RECENT_MEDIA_MAX]
    )
    for media in recent:
        try:
            found = client.media_insights(
                token=account.access_token,
                media_id=media.media_id,
                story=media.media_product_type == "STORY",
            )
        except InstagramError as exc:
            if not exc.permanent or exc.needs_reconnect:
                raise
            log.info("no insights for instagram media %s: %s", media.media_id, exc)
            continue
        media.insights = found.metrics
        media.insights_at = timezone.now()
    with transaction.atomic():
        InstagramMedia.objects.for_workspace(account.workspace).bulk_update(
            recent, ["insights", "insights_at"]
        )


# --- the dashboard card ---------------------------------------------------------------------------
@dataclass
class Chart:
    """A server-drawn line chart (inline SVG) with its values as a table for screen readers."""

    width: int = 300
    height: int = 120
    days: list[date] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    top: int = 0

    @property
    def empty(self) -> bool:
        return not any(s["segments"] for s in self.series)


def chart_build(insights: list[InstagramDailyInsight], today: date) -> Chart:
    """Reach and views of the last CHART_DAYS days as polyline segments (a day without data
    breaks the line rather than dropping to 0)."""
    chart = Chart(days=[today - timedelta(days=n) for n in range(CHART_DAYS, 0, -1)])
    by_day = {row.date: row.metrics for row in insights}
    values = [by_day.get(day, {}) for day in chart.days]
    chart.top = max([int(v[name]) for v in values for name in CHART_SERIES if name in v] or [0])
    scale = chart.top or 1
    step = chart.width / (len(chart.days) - 1)
    for name in CHART_SERIES:
        segments: list[list[str]] = []
        current: list[str] = []
        for index, metrics in enumerate(values):
            if name not in metrics:
                if current:
                    segments.append(current)
                current = []
                continue
            y = chart.height - (int(metrics[name]) / scale) * (chart.height - 4) - 2
            current.append(f"{index * step:.1f},{y:.1f}")
        if current:
            segments.append(current)
        chart.series.append(
            {
                "name": name,
                # A lone day is a dot: a polyline of one point draws nothing.
                "segments": [" ".join(s) for s in segments if len(s) > 1],
                "dots": [s[0].split(",") for s in segments if len(s) == 1],
                "total": sum(int(m[name]) for m in values if name in m),
            }
        )
    chart.rows = [
        {"day": day, **{name: metrics.get(name) for name in CHART_SERIES}}
        for day, metrics in zip(chart.days, values, strict=True)
        if metrics
    ]
    return chart


def insights_card(request: WorkspaceRequest) -> Panel | None:
    """The dashboard card: the last 30 days of reach and views, and the top posts (three
    queries, none when no Instagram account was ever connected beyond the first)."""
    account = account_for(request.workspace)
    if account is None:
        return None
    today = timezone.now().astimezone(UTC).date()
    insights = list(
        InstagramDailyInsight.objects.for_workspace(request.workspace)
        .filter(account=account, date__gte=today - timedelta(days=CHART_DAYS), date__lt=today)
        .order_by("date")
    )
    interactions = Cast(KeyTextTransform("total_interactions", "insights"), IntegerField())
    top_posts = list(
        InstagramMedia.objects.for_workspace(request.workspace)
        .filter(account=account, insights__has_key="total_interactions")
        .annotate(interactions=interactions)
        .order_by("-interactions", "-posted_at")[:TOP_POSTS]
    )
    context = {
        "account": account,
        "chart": chart_build(insights, today),
        "top_posts": top_posts,
        "posts_url": reverse("instagram:posts"),
    }
    return Panel("instagram/_dashboard_insights.html", context)
