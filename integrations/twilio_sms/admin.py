from __future__ import annotations

from django.contrib import admin

from integrations.admin import IntegrationRecordAdmin
from integrations.twilio_sms.models import TwilioAccount


@admin.register(TwilioAccount)
class TwilioAccountAdmin(IntegrationRecordAdmin):
    """The number and its state only. The auth token is never shown (SEC-2); texts are not listed."""

    list_display = ("from_number", "workspace", "status", "checked_at", "last_inbound_at")
    list_filter = ("status",)
    search_fields = ("from_number", "account_sid")
    exclude = ("auth_token",)
    readonly_fields = (
        "workspace",
        "account_sid",
        "from_number",
        "messaging_service_sid",
        "status",
        "status_detail",
        "checked_at",
        "last_inbound_at",
        "connected_by",
        "created_at",
    )
