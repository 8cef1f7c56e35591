"""Background jobs of the Instagram integration. Thin: ids in, one service call, nothing returned.
Each feature has its own section."""

from __future__ import annotations

from typing import Any

from alt.lib.celery_typing import shared_task
from alt.lib.retry import MAX_RETRIES, retry_transient
from integrations.instagram.client import InstagramError
from integrations.instagram.insights import insights_due_claim, insights_refresh
from integrations.instagram.publishing import (
    post_publish_give_up,
    post_publish_step,
    posts_sweep_claim,
)


# --- Publishing ---------------------------------------------------------------------------------
@shared_task(bind=True)
def instagram_post_publish(self: Any, workspace_id: int, post_id: int, attempt: int) -> None:
    # Safe to run twice: the row lock serialises steps, and the state (publishing), the attempt
    # and next_step_at guard each one (an early duplicate stops). Polls come back by countdown,
    # never by a sleeping worker.
    try:
        delay = post_publish_step(workspace_id=workspace_id, post_id=post_id, attempt=attempt)
    except InstagramError as exc:  # transient only: permanent ones ended the post FAILED
        if self.request.retries >= MAX_RETRIES:
            post_publish_give_up(workspace_id=workspace_id, post_id=post_id, attempt=attempt)
            return
        retry_transient(self, exc)
    if delay is not None:
        instagram_post_publish.apply_async((workspace_id, post_id, attempt), countdown=delay)


@shared_task
def instagram_posts_sweep() -> None:
    # Safe to run twice: overdue posts are claimed by a conditional UPDATE of next_step_at.
    for workspace_id, post_id, attempt in posts_sweep_claim():
        instagram_post_publish.delay(workspace_id, post_id, attempt)


# --- Insights -----------------------------------------------------------------------------------
@shared_task
def instagram_insights_refresh_due() -> None:
    # Safe to run twice: each account is claimed by a conditional UPDATE of insights_refreshed_at.
    for workspace_id, account_id in insights_due_claim():
        instagram_insights_refresh.delay(workspace_id, account_id)


@shared_task(bind=True)
def instagram_insights_refresh(self: Any, workspace_id: int, account_id: int) -> None:
    # Safe to run twice: it overwrites one row per (account, day) and each post's latest numbers.
    try:
        insights_refresh(workspace_id=workspace_id, account_id=account_id)
    except InstagramError as exc:  # transient only
        retry_transient(self, exc)
