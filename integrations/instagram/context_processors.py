from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from integrations.instagram.services import needs_reconnect


def instagram_banner(request: HttpRequest) -> dict[str, Any]:
    """`instagram_needs_reconnect` for the banner in base.html: an Instagram account of the
    current workspace needs reconnecting. Cached: no query per page."""
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return {}
    return {"instagram_needs_reconnect": needs_reconnect(workspace)}
