from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base template needs on every page."""
    return {
        "SANDBOX": settings.SANDBOX,
        "SITE_NAME": settings.SITE_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "current_workspace": getattr(request, "workspace", None),
    }
