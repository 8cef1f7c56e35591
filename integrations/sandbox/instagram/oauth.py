"""Connecting: the authorize page, both token exchanges, refresh, /me, subscribed_apps
(EXTERNAL_APIS.md §3.1-§3.4). Routes are added by the connect work."""

from __future__ import annotations

from integrations.sandbox.instagram.core import InstagramCore


class InstagramOAuthRoutes(InstagramCore):
    pass
