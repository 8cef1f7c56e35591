"""The banner on every page while the workspace's texts cannot go out: Twilio refused the account
(its credentials, or a number it does not own). Read through the cache (one round trip for every
banner, alt.accounts.seams); every change of the account's state forgets the cached answer after
its commit."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from alt.accounts.models import User, Workspace
from alt.accounts.seams import BannerFlag
from integrations.twilio_sms.models import TwilioAccount

BANNER_CACHE_SECONDS = 300


def _banner_key(workspace_id: int) -> str:
    return f"sms:blocked:{workspace_id}"


def sms_blocked(workspace: Workspace, user: User | None = None) -> bool:
    """Whether the workspace's live Twilio account is blocked, asked of the database."""
    return (
        TwilioAccount.objects.for_workspace(workspace)
        .filter(status=TwilioAccount.Status.BLOCKED)
        .exists()
    )


BANNER = BannerFlag(
    name="sms_blocked",
    key=lambda workspace, _user: _banner_key(workspace.id),
    ask=sms_blocked,
    timeout_s=BANNER_CACHE_SECONDS,
)


def banner_forget(workspace_id: int) -> None:
    """Drop the cached answer once the surrounding transaction commits (at once outside one)."""
    key = _banner_key(workspace_id)
    transaction.on_commit(lambda: cache.delete(key))
