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
from alt.lib.versioned_cache import Entry, entries, entry, value_of
from contacts.models import Contact, PipelineStage, contacts_scope, stages_scope

# "Quiet" on the dashboard: no timeline activity for this many days.
STALE_DAYS = 14


_STAGE_COLUMNS = ("id", "name", "position", "outcome")


def stage_entries(workspace: Workspace) -> tuple[tuple[str, str], tuple[str, str]]:
    """What stages_with_counts reads of the cache (the stages, their counts), for a page that
    reads more in the same round trip (versioned_cache.entries)."""
    return (stages_scope(workspace.id), "all"), (contacts_scope(workspace.id), "live_per_stage")


def stages_of(workspace: Workspace, found: Entry | None = None) -> list[PipelineStage]:
    """The workspace's stages in pipeline order, from the cache while none of them is written
    (PipelineStage's writes bump stages_scope; `found`, when the page read it already), else
    one query. Cached as plain tuples, rebuilt as the instances a query gives."""
    found = found or entry(stages_scope(workspace.id), "all")
    rows = value_of(
        found,
        lambda: list(
            PipelineStage.objects.for_workspace(workspace)
            .order_by("position", "id")
            .values_list(*_STAGE_COLUMNS)
        ),
    )
    return [_stage(workspace, row) for row in rows]


def _stage(workspace: Workspace, row: tuple[Any, ...]) -> PipelineStage:
    stage = PipelineStage.from_db("default", _STAGE_COLUMNS, row)
    stage.workspace = workspace
    return stage


def stages_with_counts(
    workspace: Workspace, found: tuple[Entry, Entry] | None = None
) -> list[PipelineStage]:
    """The workspace's stages in pipeline order, each with `contact_count` (its live contacts)
    and `stale_count` (those quiet for STALE_DAYS). `found`: the two entries of stage_entries(),
    when the page read them with others (else read here, in one round trip).

    No query when both are cached; else one: the stages alone when only they are missing
    (stages_of), or, when the counts are, the stages with the counts in the same query (per
    stage, a range of the partial index of live rows, contact_ws_stage_live, read without
    touching the table), both of which are then cached."""
    stages_found, counts_found = found or entries(*stage_entries(workspace))
    if counts_found.hit:
        counts: dict[int, tuple[int, int]] = counts_found.value
        cached_stages = stages_of(workspace, stages_found)
        for stage in cached_stages:
            stage.contact_count, stage.stale_count = counts.get(stage.id, (0, 0))  # type: ignore[attr-defined]
        return cached_stages
    stages = PipelineStage.objects.for_workspace(workspace).order_by("position", "id")
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

    rows: list[PipelineStage] = list(
        stages.annotate(
            contact_count=count(in_stage),
            stale_count=count(in_stage.filter(last_activity_at__lt=stale_before)),
        )
    )
    # Plain tuples in the cache: nothing a later release could fail to unpickle.
    counts_found.store({s.id: (s.contact_count, s.stale_count) for s in rows})  # type: ignore[attr-defined]
    if not stages_found.hit:
        stages_found.store([tuple(getattr(s, c) for c in _STAGE_COLUMNS) for s in rows])
    return rows
