"""Formatting for the inbox pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from contacts.templatetags.dates import duration

register = template.Library()


@register.filter
def time_left(closes_at: datetime | None) -> str:
    """How long until `closes_at`, as an agent reads it: "3 h 12 min", "45 min", "under a minute";
    "" once it has passed. Whole seconds (floored), so a window never reads longer than it is."""
    if closes_at is None:
        return ""
    seconds = int((closes_at - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    return "under a minute" if seconds < 60 else duration(seconds)


# A channel's icon, drawn inline (no request, no CDN); hidden from screen readers, which read the
# channel's name beside it. Never colour alone.
_ICONS = {
    "sms": '<path fill="currentColor" d="M2 2h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6l-3.5 3v-3H2a1 1 0 '
    '0 1-1-1V3a1 1 0 0 1 1-1z"/>',
    "instagram": '<path fill="none" stroke="currentColor" stroke-width="1.6" d="M4.5 1.8h7a2.7 2.7 '
    "0 0 1 2.7 2.7v7a2.7 2.7 0 0 1-2.7 2.7h-7a2.7 2.7 0 0 1-2.7-2.7v-7a2.7 2.7 0 0 1 2.7-2.7zM8 "
    '5.2a2.8 2.8 0 1 0 0 5.6 2.8 2.8 0 0 0 0-5.6z"/>',
}
_LABELS = {"sms": "SMS", "instagram": "Instagram"}
_BADGES: dict[str, SafeString] = {}


@register.filter
def channel_badge(channel: str) -> SafeString:
    """A channel's badge: its icon and its name ("SMS", "Instagram"), built once per channel."""
    badge = _BADGES.get(channel)
    if badge is None:
        icon = _ICONS.get(channel, "")
        svg = (
            '<svg class="channel-icon" aria-hidden="true" focusable="false" viewBox="0 0 16 16" '
            f'width="12" height="12">{icon}</svg> '
            if icon
            else ""
        )
        badge = format_html(
            '<span class="badge channel-badge channel-{}">{}{}</span>',
            channel,
            SafeString(svg),
            _LABELS.get(channel, channel),
        )
        _BADGES[channel] = badge
    return badge
