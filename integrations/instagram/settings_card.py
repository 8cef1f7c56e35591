"""Instagram's card on the Settings page (the Social position), registered from apps.py into
alt.accounts.settings_cards, replacing the "coming soon" placeholder."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from alt.accounts.settings_cards import Card
from integrations.instagram.models import InstagramAccount
from integrations.instagram.services import live_accounts


def social_settings_card(request: HttpRequest) -> Card:
    """Connect, Manage or Reconnect, by the state of the workspace's Instagram accounts."""
    workspace = getattr(request, "workspace", None)
    accounts = live_accounts(workspace) if workspace is not None else []
    if not accounts:
        badge, link = "", "Connect"
    elif any(a.status == InstagramAccount.Status.NEEDS_RECONNECT for a in accounts):
        badge, link = "Needs reconnect", "Reconnect"
    else:
        badge, link = "Connected", "Manage"
    return Card(
        "Social",
        "Connect your Instagram business account to answer DMs and comments.",
        reverse("instagram:settings"),
        link_text=link,
        badge=badge,
    )
