"""A workspace's Twilio account and number (Settings -> SMS).

The workspace brings its own Twilio account: the Account SID and auth token (an
EncryptedTextField, AES-256-GCM, never shown in the admin) and the number texts come from, or a
Messaging Service SID. SMS messages themselves live in the channel-agnostic inbox
(contacts.Conversation / contacts.Message, channel "sms"); consent in contacts.Consent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alt.lib.fields import EncryptedTextField
from alt.lib.tenancy import TenantManager, TenantModel


class TwilioAccountManager(TenantManager["TwilioAccount"]):
    """Scoped like every tenant manager, plus the one lookup where Twilio names the account and
    the workspace is what we are trying to learn: an inbound webhook (AccountSid, To). The only
    unscoped read of this table."""

    def for_inbound(
        self, account_sid: str, to_number: str, messaging_service_sid: str = ""
    ) -> TwilioAccount | None:
        """The active account that owns `to_number` (our number the party texted), under the
        Account SID Twilio signed for, or None (a number we no longer serve: dropped).

        With a Messaging Service the number may be another one of the service's sender pool
        (§4.3, §4.4 carry `MessagingServiceSid`): the account whose service it is is found too."""
        if not account_sid or not (to_number or messaging_service_sid):
            return None
        match = Q(from_number=to_number) if to_number else Q(pk__in=[])
        if messaging_service_sid:
            match |= Q(messaging_service_sid=messaging_service_sid)
        return (
            self._queryset()
            .filter(match, account_sid=account_sid)
            .exclude(status=TwilioAccount.Status.REMOVED)
            .select_related("workspace")
            .order_by("-created_at")
            .first()
        )


class TwilioAccount(TenantModel):
    """The Twilio account and number one workspace texts from (at most one live per workspace)."""

    class Status(models.TextChoices):
        UNCHECKED = "unchecked", "Not tested yet"
        WORKING = "working", "Sending works"
        BLOCKED = "blocked", "Blocked"  # `status_detail` says why, in plain words
        REMOVED = "removed", "Removed"

    account_sid = models.CharField(max_length=34)  # AC + 32 hex
    auth_token = EncryptedTextField()
    # Our number in E.164; inbound texts arrive addressed To it. Required even with a Messaging
    # Service: it is how an inbound delivery finds its workspace.
    from_number = models.CharField(max_length=20)
    messaging_service_sid = models.CharField(max_length=34, blank=True)  # MG + 32 hex, optional
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNCHECKED)
    status_detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TwilioAccountManager()

    class Meta:
        default_manager_name = "all_workspaces"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=~Q(status="removed"),
                name="twilio_account_one_live_per_workspace",
            ),
            # One number belongs to one workspace: an inbound text must find exactly one.
            models.UniqueConstraint(
                fields=["from_number"],
                condition=~Q(status="removed"),
                name="twilio_account_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_number} ({self.get_status_display()})"

