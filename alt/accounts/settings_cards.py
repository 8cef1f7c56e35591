"""The cards on the Settings page, and the seam other apps register theirs through.

alt/accounts sits below the integrations, so it never imports them: an integration registers a
function that builds its card from its AppConfig.ready() (`register_settings_card`), with a
position that keeps the page's order explicit. An integration's issue replaces its "coming soon"
card here with its registered one.
"""

from __future__ import annotations

from collections.abc import Callable
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


CardFactory = Callable[[HttpRequest], Card]

# Where each card sits on the page, top left first. Gaps leave room for cards to come.
ACCOUNT_POSITION = 10
WORKSPACE_POSITION = 20
PIPELINE_POSITION = 30
CALENDAR_POSITION = 40
SOCIAL_POSITION = 50
SMS_POSITION = 60
BILLING_POSITION = 70
AI_POSITION = 80

# "module.qualname" -> (position, factory): registering the same function twice is harmless.
_registry: dict[str, tuple[int, CardFactory]] = {}


def register_settings_card(factory: CardFactory, *, position: int) -> CardFactory:
    """Show the card `factory(request)` builds on the Settings page, at `position`."""
    _registry[f"{factory.__module__}.{factory.__qualname__}"] = (position, factory)
    return factory


def settings_cards(request: HttpRequest) -> list[Card]:
    """Every registered card, in position order, built for this request."""
    ordered = sorted(_registry.values(), key=lambda entry: entry[0])
    return [factory(request) for _position, factory in ordered]


def _account_card(request: HttpRequest) -> Card:
    return Card(
        "Account",
        "Your name, time zone, email, password and two-factor sign-in.",
        reverse("accounts:account"),
    )


def _workspace_card(request: HttpRequest) -> Card:
    return Card(
        "Workspace & team",
        "Rename your workspace and invite teammates.",
        reverse("accounts:workspace"),
    )


def _pipeline_card(request: HttpRequest) -> Card:
    return Card(
        "Pipeline & fields",
        "Your lead stages, in order, and your own fields on every contact.",
        reverse("contacts:pipeline"),
    )


def _social_card(request: HttpRequest) -> Card:
    return Card(
        "Social",
        "Connect your Instagram business account to answer DMs and comments.",
        badge="Coming soon",
    )


def _sms_card(request: HttpRequest) -> Card:
    return Card("SMS", "Text your leads from ALT with a Twilio number.", badge="Coming soon")


def _billing_card(request: HttpRequest) -> Card:
    return Card("Billing", "Your subscription and receipts.", badge="Coming soon")


def _ai_card(request: HttpRequest) -> Card:
    return Card(
        "AI Training & Privacy",
        "Choose whether your scrubbed AI prompts may improve ALT's models.",
        badge="Coming soon",
    )


register_settings_card(_account_card, position=ACCOUNT_POSITION)
register_settings_card(_workspace_card, position=WORKSPACE_POSITION)
register_settings_card(_pipeline_card, position=PIPELINE_POSITION)
register_settings_card(_social_card, position=SOCIAL_POSITION)
register_settings_card(_sms_card, position=SMS_POSITION)
register_settings_card(_billing_card, position=BILLING_POSITION)
register_settings_card(_ai_card, position=AI_POSITION)
