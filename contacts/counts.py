"""Counts over a workspace's live contacts that pages show on every load (the list's sidebar, the
dashboard), kept in the cache until one of the workspace's contacts is written (contacts_changed
in contacts.models bumps the version on every write path), so no page load counts every contact.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from alt.accounts.models import Workspace
from alt.lib.versioned_cache import entry
from contacts.models import Contact, PipelineStage, contacts_scope

# "Quiet" on the dashboard: no timeline activity for this many days.
STALE_DAYS = 14


def stages_with_counts(workspace: Workspace) -> list[PipelineStage]:
    """The workspace's stages in pipeline order, each with `contact_count` (its live contacts)
    and `stale_count` (those quiet for STALE_DAYS).

    One query either way, so a page costs the same number of queries with the cache warm or
    cold: the plain stages when the counts are cached, else the stages with the counts in the
    same query (per stage, a range of the partial index of live rows, contact_ws_stage_live,
    read without touching the table), which are then cached."""
    stages = PipelineStage.objects.for_workspace(workspace).order_by("position", "id")
    cached = entry(contacts_scope(workspace.id), "live_per_stage")
    if cached.hit:
        counts: dict[int, tuple[int, int]] = cached.value
        rows = list(stages)
        for stage in rows:
            stage.contact_count, stage.stale_count = counts.get(stage.id, (0, 0))
        return rows
    in_stage = (
        Contact.objects.for_workspace(workspace)
        .live()
        .filter(stage=OuterRef("pk"))
        .order_by()
        .values("stage")
    )
    stale_before = timezone.now() - timedelta(days=STALE_DAYS)

    def count(of: Any) -> Coalesce:
        # COUNT(*), not COUNT(id): id is not in the index and would cost a heap read per row.
        return Coalesce(Subquery(of.annotate(n=Count("*")).values("n")), 0)

    rows = list(
        stages.annotate(
            contact_count=count(in_stage),
            stale_count=count(in_stage.filter(last_activity_at__lt=stale_before)),
        )
    )
    # Plain tuples in the cache: nothing a later release could fail to unpickle.
    cached.store({s.id: (s.contact_count, s.stale_count) for s in rows})
    return rows
