"""Formatting for the inbox pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def time_left(closes_at: datetime | None) -> str:
    """How long until `closes_at`, as an agent reads it: "3 h 12 min", "45 min", "under a minute";
    "" once it has passed."""
    if closes_at is None:
        return ""
    seconds = int((closes_at - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"
