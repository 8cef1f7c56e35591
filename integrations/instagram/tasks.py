"""Background jobs of the Instagram connection. Thin: ids in, one service call, nothing returned."""

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
from alt.lib.retry import retry_transient
from integrations.instagram import services
from integrations.instagram.models import InstagramAccount

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
