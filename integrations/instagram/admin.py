from __future__ import annotations

from django.contrib import admin

from integrations.admin import IntegrationRecordAdmin
from integrations.instagram.models import InstagramAccount, InstagramDeletionRequest


@admin.register(InstagramAccount)
class InstagramAccountAdmin(IntegrationRecordAdmin):
    """Status only. The token is never shown (SEC-2); DMs and comments are not listed."""

    list_display = ("username", "workspace", "status", "connected_at", "token_expires_at")
    list_filter = ("status",)
    search_fields = ("username", "ig_user_id")
    exclude = ("access_token",)
    readonly_fields = (
        "workspace",
        "connected_by",
        "ig_user_id",
        "app_user_id",
        "username",
        "name",
        "account_type",
        "profile_picture_url",
        "status",
        "token_expires_at",
        "token_refreshed_at",
        "permissions",
        "connected_at",
        "disconnected_at",
        "last_event_at",
        "last_error",
        "reconnect_email_sent_at",
        "keyword_triggers_enabled",
        "refresh_claimed_until",
        "created_at",
    )


@admin.register(InstagramDeletionRequest)
class InstagramDeletionRequestAdmin(IntegrationRecordAdmin):
    """Meta's data-deletion requests (IG-7) and their progress."""

    list_display = ("confirmation_code", "status", "requested_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("confirmation_code",)
    readonly_fields = ("confirmation_code", "status", "targets", "requested_at", "completed_at")
