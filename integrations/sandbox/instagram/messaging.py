"""The Send API: DMs, the 24-hour window, private replies to comments (EXTERNAL_APIS.md §3.6).
Routes are added by the inbox work."""

from __future__ import annotations

from integrations.sandbox.instagram.core import InstagramCore


class InstagramMessagingRoutes(InstagramCore):
    pass
