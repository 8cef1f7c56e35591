from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from alt.accounts.seams import banner_flags


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base template needs on every page."""
    return {
        "SANDBOX": settings.SANDBOX,
        "SITE_NAME": settings.SITE_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "current_workspace": getattr(request, "workspace", None),
    }


def banners(request: HttpRequest) -> dict[str, Any]:
    """The page banners' yes/no (alt.accounts.seams.banner_flags), for a signed-in member."""
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return {}
    return banner_flags(workspace, user)
