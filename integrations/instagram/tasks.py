"""Background jobs of the Instagram integration. Thin: ids in, one service call, nothing returned.
Each feature has its own section: connect, publishing, insights."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from alt.accounts.models import Workspace
from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import MAX_RETRIES, retry_transient
from integrations.instagram import ingest, services
from integrations.instagram.client import InstagramError
from integrations.instagram.insights import insights_due_claim, insights_refresh
from integrations.instagram.models import InstagramAccount
from integrations.instagram.publishing import (
    post_publish_give_up,
    post_publish_step,
    posts_sweep_claim,
)

log = logging.getLogger(__name__)


@shared_task
def instagram_tokens_refresh() -> None:
    # Safe to run twice: accounts are claimed by a conditional UPDATE (a lease, FOR UPDATE SKIP
    # LOCKED), so two beats or workers never refresh the same account.
    for workspace_id, account_id in services.instagram_tokens_refresh_claim():
        instagram_token_refresh.delay(workspace_id, account_id)


@shared_task(bind=True)
def instagram_token_refresh(self: Any, workspace_id: int, account_id: int) -> None:
    # Safe to run twice: state guard (connected only), and the claim's lease keeps others off.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    try:
        services.instagram_token_refresh(workspace=workspace, account_id=account_id)
    except IntegrationError as exc:  # transient: back off, bounded; the next run tries again
        retry_transient(self, exc)


@shared_task(bind=True)
def instagram_reconnect_email_send(self: Any, workspace_id: int, account_id: int) -> None:
    # Sent once: the caller claimed it by setting reconnect_email_sent_at in a conditional UPDATE;
    # this job re-checks that the account still needs reconnecting.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    account = (
        InstagramAccount.objects.for_workspace(workspace)
        .filter(id=account_id, status=InstagramAccount.Status.NEEDS_RECONNECT)
        .first()
    )
    if account is None:
        return
    recipients = services.reconnect_email_recipients(account)
    if not recipients:
        return
    context = {
        "account": account,
        "workspace": workspace,
        "reconnect_url": settings.SITE_URL + reverse("instagram:settings"),
    }
    try:
        send_mail(
            "Reconnect Instagram to keep receiving your DMs and comments in ALT",
            render_to_string("instagram/email/reconnect.txt", context),
            None,
            recipients,
        )
    except IntegrationError as exc:
        if exc.permanent:
            log.warning("instagram reconnect email for account %s refused: %s", account_id, exc)
            return
        retry_transient(self, exc)


@shared_task
def instagram_data_delete(workspace_id: int, ig_user_id: str) -> None:
    # Safe to run twice: each batch deletes what is left; it re-sends itself until none is.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    if not services.instagram_data_delete(workspace=workspace, ig_user_id=ig_user_id):
        instagram_data_delete.delay(workspace_id, ig_user_id)


@shared_task
def instagram_deletion_request_run(request_id: int) -> None:
    # Safe to run twice: state guard (pending only); each batch deletes what is left.
    if not services.instagram_deletion_request_run(request_id=request_id):
        instagram_deletion_request_run.delay(request_id)


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


# --- Ingest ---------------------------------------------------------------------------------------
@shared_task(bind=True)
def instagram_profile_fill(self: Any, workspace_id: int, conversation_id: int) -> None:
    # Safe to run twice: the fill only writes what is still empty (state guard).
    try:
        ingest.profile_fill(workspace_id=workspace_id, conversation_id=conversation_id)
    except IntegrationError as exc:  # transient only: permanent ones are logged and dropped
        retry_transient(self, exc)
