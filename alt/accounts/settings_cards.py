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

# position -> the factory of the card shown there.
_registry: dict[int, CardFactory] = {}


def register_settings_card(factory: CardFactory, *, position: int) -> CardFactory:
    """Show the card `factory(request)` builds on the Settings page, at `position`. A card
    registered at a taken position replaces the one there (an integration's card its "coming
    soon" placeholder); registering the same card again is harmless."""
    _registry[position] = factory
    return factory


def settings_cards(request: HttpRequest) -> list[Card]:
    """Every registered card, in position order, built for this request."""
    return [_registry[position](request) for position in sorted(_registry)]


def _fixed_card(title: str, body: str, url_name: str | None) -> CardFactory:
    """A card that reads nothing from the request: a page of alt/accounts or contacts, or a
    "coming soon" placeholder (no URL) until its integration registers its own card."""

    def build(request: HttpRequest) -> Card:
        if url_name is None:
            return Card(title, body, badge="Coming soon")
        return Card(title, body, reverse(url_name))

    return build


for _position, _title, _body, _url_name in [
    (
        ACCOUNT_POSITION,
        "Account",
        "Your name, time zone, email, password and two-factor sign-in.",
        "accounts:account",
    ),
    (
        WORKSPACE_POSITION,
        "Workspace & team",
        "Rename your workspace and invite teammates.",
        "accounts:workspace",
    ),
    (
        PIPELINE_POSITION,
        "Pipeline & fields",
        "Your lead stages, in order, and your own fields on every contact.",
        "contacts:pipeline",
    ),
    (
        SOCIAL_POSITION,
        "Social",
        "Connect your Instagram business account to answer DMs and comments.",
        None,
    ),
    (SMS_POSITION, "SMS", "Text your leads from ALT with a Twilio number.", None),
    (BILLING_POSITION, "Billing", "Your subscription and receipts.", None),
    (
        AI_POSITION,
        "AI Training & Privacy",
        "Choose whether your scrubbed AI prompts may improve ALT's models.",
        None,
    ),
]:
    register_settings_card(_fixed_card(_title, _body, _url_name), position=_position)
