from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.models import InboundEvent
from integrations.webhooks import inbound_event_retry

if TYPE_CHECKING:  # generic for django-stubs only; Django's class is not subscriptable
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin


class IntegrationRecordAdmin(ModelAdmin):
    """What staff see of a record an integration keeps (a delivery, a connection): its state, never
    an add form, since only the provider or the app makes one. Secrets go in `exclude`."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(IntegrationRecordAdmin):
    """Deliveries and their processing state. The raw body (message text, phone numbers) is not
    shown: staff see that a delivery failed and why, and can send it back for processing."""

    list_display = ("provider", "external_id", "status", "received_at", "attempts", "last_error")
    list_filter = ("provider", "status")
    search_fields = ("external_id",)
    exclude = ("body",)
    readonly_fields = (
        "provider",
        "external_id",
        "content_type",
        "status",
        "received_at",
        "processed_at",
        "attempts",
        "last_error",
    )
    actions = ("retry",)

    @admin.action(description="Process the selected failed deliveries again")
    def retry(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        moved = sum(inbound_event_retry(event_id=event.id) for event in queryset)
        self.message_user(request, f"{moved} sent back for processing.", messages.SUCCESS)
