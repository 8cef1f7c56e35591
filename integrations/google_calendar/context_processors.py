from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from integrations.google_calendar.connection import needs_reconnect


def calendar_banner(request: HttpRequest) -> dict[str, Any]:
    """`calendar_needs_reconnect` for the banner in base.html (GC-8): the signed-in user's Google
    Calendar connection in the current workspace needs reconnecting. Cached: no query per page."""
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return {}
    return {"calendar_needs_reconnect": needs_reconnect(workspace=workspace, user=user)}
