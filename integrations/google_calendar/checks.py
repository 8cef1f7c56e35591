from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def google_settings_complete(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A configured Google client needs its secret too (CONVENTIONS: refuse half-set integrations)."""
    if settings.GOOGLE_CLIENT_ID and not settings.GOOGLE_CLIENT_SECRET:
        return [
            Error(
                "GOOGLE_CLIENT_ID is set but GOOGLE_CLIENT_SECRET is empty.",
                hint="Set both from the OAuth client in Google Cloud Console, or neither.",
                id="google_calendar.E001",
            )
        ]
    return []
