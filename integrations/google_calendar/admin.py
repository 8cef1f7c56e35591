from __future__ import annotations

from django.contrib import admin

from integrations.admin import IntegrationRecordAdmin
from integrations.google_calendar.models import CalendarConnection


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(IntegrationRecordAdmin):
    """Status only. Tokens are never shown (GC-10, SEC-2) and calendar data is not listed."""

    list_display = ("user", "workspace", "status", "connected_at", "reconnect_email_sent_at")
    list_filter = ("status",)
    search_fields = ("user__email",)
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "workspace",
        "user",
        "status",
        "token_expiry",
        "scopes",
        "google_email",
        "connected_at",
        "reconnect_email_sent_at",
        "last_error",
    )
