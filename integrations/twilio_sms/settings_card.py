"""The SMS card on the Settings page (the SMS position), registered from apps.py into
alt.accounts.settings_cards, replacing the "coming soon" placeholder."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from alt.accounts.settings_cards import Card
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.services import live_account


def sms_settings_card(request: HttpRequest) -> Card:
    """Set up, or the number's state (Sending works / Blocked / Not tested yet)."""
    workspace = getattr(request, "workspace", None)
    account = live_account(workspace) if workspace is not None else None
    if account is None:
        badge, link = "", "Set up"
    else:
        badge, link = account.get_status_display(), "Manage"
        if account.status == TwilioAccount.Status.UNCHECKED:
            badge = "Not tested yet"
    return Card(
        "SMS",
        "Text your leads from ALT with a Twilio number.",
        reverse("twilio_sms:settings"),
        link_text=link,
        badge=badge,
    )
