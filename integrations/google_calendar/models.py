"""One Google Calendar connection per (workspace, user): the OAuth grant ALT pushes events with.

Tokens are EncryptedTextField (AES-256-GCM, GC-6) and never shown in the admin (GC-10). Only the
push (push.py, connection.py), services.py and the OAuth views write this model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import models

from alt.lib.fields import EncryptedTextField
from alt.lib.tenancy import TenantManager, TenantModel, TenantQuerySet

if TYPE_CHECKING:
    from alt.accounts.models import Workspace


class CalendarConnectionQuerySet(TenantQuerySet["CalendarConnection"]):
    def connected(self) -> CalendarConnectionQuerySet:
        return self.filter(status=CalendarConnection.Status.CONNECTED)


class CalendarConnectionManager(TenantManager["CalendarConnection"]):
    _queryset_class = CalendarConnectionQuerySet  # type: ignore[assignment]

    def for_workspace(self, workspace: Workspace) -> CalendarConnectionQuerySet:
        return cast(CalendarConnectionQuerySet, super().for_workspace(workspace))


class CalendarConnection(TenantModel):
    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    token_expiry = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=300, blank=True)
    google_email = models.EmailField(blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Set when the "please reconnect" email went out, cleared on reconnect: one email per outage.
    reconnect_email_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CalendarConnectionManager()

    class Meta:
        # Django's machinery (admin, relations) uses the unscoped manager, as TenantModel says.
        default_manager_name = "all_workspaces"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user"], name="calendar_connection_one_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"Google Calendar of user {self.user_id} ({self.status})"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED
