"""The banner on every page while the workspace's texts cannot go out: Twilio refused the account
(its credentials, or a number it does not own). Read through the cache (one round trip for every
banner, alt.accounts.seams); every change of the account's state forgets the cached answer after
its commit."""

from __future__ import annotations

from alt.accounts.models import User, Workspace
from alt.accounts.seams import BannerFlag
from integrations.twilio_sms.models import TwilioAccount

BANNER_CACHE_SECONDS = 300


def sms_blocked(workspace: Workspace, user: User | None = None) -> bool:
    """Whether the workspace's live Twilio account is blocked, asked of the database."""
    return (
        TwilioAccount.objects.for_workspace(workspace)
        .filter(status=TwilioAccount.Status.BLOCKED)
        .exists()
    )


BANNER = BannerFlag(name="sms_blocked", ask=sms_blocked, timeout_s=BANNER_CACHE_SECONDS)


def banner_forget(workspace_id: int) -> None:
    BANNER.forget(workspace_id)
