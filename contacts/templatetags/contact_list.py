"""Formatting for the contact list: phone numbers and "3d ago". Formatting only."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django import template
from django.utils import timezone

from contacts.normalize import phone_display

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """'+14155550134' -> '(415) 555-0134'; other countries in international format."""
    return phone_display(e164) if e164 else ""


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago, as short as a phone row needs: 'just now', '5m ago', '3h ago', '3d ago',
    '6w ago', '4mo ago', '2y ago'."""
    if moment is None:
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit_seconds, suffix, limit in (
        (60, "m", 60),
        (3600, "h", 24),
        (86400, "d", 14),
        (7 * 86400, "w", 9),
        (30 * 86400, "mo", 12),
    ):
        amount = seconds // unit_seconds
        if amount < limit:
            return f"{amount}{suffix} ago"
    return f"{max(1, seconds // (365 * 86400))}y ago"


@register.filter
def urlencode_params(params: object) -> str:
    """A saved list's stored parameters as a query string (anything but text is dropped)."""
    if not isinstance(params, dict):
        return ""
    return urlencode({k: v for k, v in params.items() if isinstance(k, str) and isinstance(v, str)})
