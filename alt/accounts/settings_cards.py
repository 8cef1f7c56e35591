"""The cards on the Settings page. An integration's issue replaces its "coming soon" card."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class Card:
    title: str
    body: str
    url: str | None = None
    link_text: str = "Open"
    badge: str = ""

    @property
    def coming_soon(self) -> bool:
        return self.url is None


def settings_cards(request: HttpRequest) -> list[Card]:
    return [
        Card(
            "Account",
            "Your name, time zone, email, password and two-factor sign-in.",
            reverse("accounts:account"),
        ),
        Card(
            "Workspace & team",
            "Rename your workspace and invite teammates.",
            reverse("accounts:workspace"),
        ),
        Card(
            "Pipeline & fields",
            "Your lead stages, in order, and your own fields on every contact.",
            reverse("contacts:pipeline"),
        ),
        _calendar_card(request),
        Card(
            "Social",
            "Connect your Instagram business account to answer DMs and comments.",
            badge="Coming soon",
        ),
        Card("SMS", "Text your leads from ALT with a Twilio number.", badge="Coming soon"),
        Card("Billing", "Your subscription and receipts.", badge="Coming soon"),
        Card(
            "AI Training & Privacy",
            "Choose whether your scrubbed AI prompts may improve ALT's models.",
            badge="Coming soon",
        ),
    ]


def _calendar_card(request: HttpRequest) -> Card:
    from integrations.google_calendar.services import connection_for

    workspace = getattr(request, "workspace", None)
    connection = connection_for(workspace=workspace, user=request.user) if workspace else None  # type: ignore[arg-type]
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
