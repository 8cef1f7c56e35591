from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def instagram_settings_complete(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A configured Instagram app needs its secret (token exchanges, webhook and callback
    signatures) and the webhook verify token (CONVENTIONS: refuse half-set integrations)."""
    if not settings.INSTAGRAM_APP_ID:
        return []
    missing = [
        name
        for name in ("INSTAGRAM_APP_SECRET", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN")
        if not getattr(settings, name, "")
    ]
    if not missing:
        return []
    return [
        Error(
            f"INSTAGRAM_APP_ID is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty.",
            hint="Set them from the app's Instagram settings in the Meta dashboard, or unset "
            "INSTAGRAM_APP_ID.",
            id="instagram.E001",
        )
    ]
