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
    try:
        send_mail(
            f"You're invited to {invite.workspace.name} on Agent Lead Tracker",
            render_to_string("accounts/email/invite.txt", context),
            None,
            [invite.email],
            html_message=render_to_string("accounts/email/invite.html", context),
        )
    except IntegrationError as exc:
        if exc.permanent:
            log.warning("invite %s email refused by the provider: %s", invite_id, exc)
            return
        retry_transient(self, exc)


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
    try:
        send_mail(
            f"You were removed from {workspace.name} on Agent Lead Tracker",
            render_to_string("accounts/email/member_removed.txt", context),
            None,
            [user.email],
            html_message=render_to_string("accounts/email/member_removed.html", context),
        )
    except IntegrationError as exc:
        if exc.permanent:
            log.warning("removal notice to user %s refused by the provider: %s", user_id, exc)
            return
        retry_transient(self, exc)
