"""Google Calendar's card on the Settings page, registered from apps.py into
alt.accounts.settings_cards (the seam that keeps alt/accounts free of integration imports)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from alt.accounts.models import User
from alt.accounts.settings_cards import Card
from integrations.google_calendar.connection import connection_for


def calendar_settings_card(request: HttpRequest) -> Card:
    """Connect, Manage or Reconnect, by the state of the user's connection in this workspace."""
    workspace = getattr(request, "workspace", None)
    user = request.user
    connection = (
        connection_for(workspace=workspace, user=user)
        if workspace and isinstance(user, User)
        else None
    )
    if connection is None:
        badge, link = "", "Connect"
    elif connection.is_connected:
        badge, link = "Connected", "Manage"
    else:
        badge, link = "Needs reconnect", "Reconnect"
    return Card(
        "Calendar Sync",
        "Push appointments one-way to your primary Google Calendar.",
        reverse("google_calendar:settings"),
        link_text=link,
        badge=badge,
    )
