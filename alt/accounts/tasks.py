from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from alt.accounts.models import Invite, Membership, User, Workspace
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient

log = logging.getLogger(__name__)


@shared_task(bind=True)
def invite_send_email(self: Any, invite_id: int, token: str) -> None:
    # State guard: only a pending invite is sent; a resend after revoke or accept does nothing.
    invite = Invite.objects.select_related("workspace", "invited_by").filter(id=invite_id).first()
    if invite is None or invite.status != "pending":
        return
    context = {
        "invite": invite,
        "accept_url": settings.SITE_URL + reverse("accounts:invite_accept", args=[token]),
        "expiry_days": settings.INVITE_EXPIRY_DAYS,
    }
    _send_or_retry(
        self,
        subject=f"You're invited to {invite.workspace.name} on Agent Lead Tracker",
        template="accounts/email/invite",
        to=invite.email,
        context=context,
        what=f"invite {invite_id} email",
    )


@shared_task(bind=True)
def membership_removed_email_send(
    self: Any, workspace_id: int, user_id: int, actor_id: int
) -> None:
    # State guard: sent only while the person is still out of the workspace (a rejoin since the
    # removal makes the notice wrong, so it is dropped).
    workspace = Workspace.objects.filter(id=workspace_id).first()
    user = User.objects.filter(id=user_id).first()
    if workspace is None or user is None:
        return
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        return
    context = {
        "user": user,
        "workspace": workspace,
        "actor": User.objects.filter(id=actor_id).first(),
        "support_email": settings.SUPPORT_EMAIL,
    }
    _send_or_retry(
        self,
        subject=f"You were removed from {workspace.name} on Agent Lead Tracker",
        template="accounts/email/member_removed",
        to=user.email,
        context=context,
        what=f"removal notice to user {user_id}",
    )


def _send_or_retry(
    task: Any, *, subject: str, template: str, to: str, context: dict[str, Any], what: str
) -> None:
    """Send one transactional email from `template`.txt and .html. A permanent refusal by the
    provider is logged and dropped; a transient failure re-queues `task` with backoff."""
    try:
        send_mail(
            subject,
            render_to_string(f"{template}.txt", context),
            None,
            [to],
            html_message=render_to_string(f"{template}.html", context),
        )
    except IntegrationError as exc:
        if exc.permanent:
            log.warning("%s refused by the provider: %s", what, exc)
            return
        retry_transient(task, exc)
