"""Formatting for the inbox pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

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
