"""Posts, comment replies, content publishing and insights (EXTERNAL_APIS.md §3.7-§3.9).
Routes are added by the comments and publishing work."""

from __future__ import annotations

from integrations.sandbox.instagram.core import InstagramCore


class InstagramMediaRoutes(InstagramCore):
    pass
