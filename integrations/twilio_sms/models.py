"""A workspace's Twilio account and number (Settings -> SMS).

The workspace brings its own Twilio account: the Account SID and auth token (an
EncryptedTextField, AES-256-GCM, never shown in the admin) and the number texts come from, or a
Messaging Service SID. SMS messages themselves live in the channel-agnostic inbox
(contacts.Conversation / contacts.Message, channel "sms"); consent in contacts.Consent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, models
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
        return (
            self._inbound(account_sid, to_number, messaging_service_sid)
            .select_related("workspace")
            .order_by("-created_at")
            .first()
        )

    def inbound_credentials(
        self, account_sid: str, to_number: str, messaging_service_sid: str = ""
    ) -> tuple[str, str]:
        """(auth token, its stored ciphertext) of the account `for_inbound` finds, or ("", ""):
        the signature check of every webhook delivery. One narrow read in SQL (the ORM's compile
        cost was 4x the query's on a loaded machine; this endpoint is benchmarked against a bare
        view), decrypted by the field itself. The same rows as for_inbound: live, this SID, the
        number or the service. The ciphertext changes on every write of the token (a random
        nonce per encryption), so it names this version of the token: see inbound_token_sql."""
        if not account_sid or not (to_number or messaging_service_sid):
            return "", ""
        sql, params = self._inbound_token_select(account_sid, to_number, messaging_service_sid)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None or not row[0]:
            return "", ""
        field = TwilioAccount._meta.get_field("auth_token")
        return str(field.from_db_value(row[0], None, connection) or ""), str(row[0])

    def inbound_token_sql(
        self, account_sid: str, to_number: str, messaging_service_sid: str, stored: str
    ) -> tuple[str, list[Any]]:
        """A SQL boolean expression, with its parameters, that holds while the account
        `inbound_credentials` finds still has the token stored as `stored`: false (or null) once
        the token changed or the account was removed or renumbered. For a statement that checks
        it itself (the webhook's INSERT), so a cached token costs no round trip of its own."""
        sql, params = self._inbound_token_select(account_sid, to_number, messaging_service_sid)
        return f"({sql}) = %s", [*params, stored]

    def _inbound_token_select(
        self, account_sid: str, to_number: str, messaging_service_sid: str
    ) -> tuple[str, list[Any]]:
        table = TwilioAccount._meta.db_table
        return (
            f"SELECT auth_token FROM {table} WHERE account_sid = %s AND status <> %s "  # noqa: S608 (the table name is ours; values are bound)
            "AND (from_number = %s OR (%s <> '' AND messaging_service_sid = %s)) "
            "ORDER BY created_at DESC LIMIT 1",
            [
                account_sid,
                TwilioAccount.Status.REMOVED.value,
                to_number,
                messaging_service_sid,
                messaging_service_sid,
            ],
        )

    def _inbound(
        self, account_sid: str, to_number: str, messaging_service_sid: str
    ) -> models.QuerySet[TwilioAccount]:
        match = Q(from_number=to_number) if to_number else Q(pk__in=[])
        if messaging_service_sid:
            match |= Q(messaging_service_sid=messaging_service_sid)
        return (
            self._queryset()
            .filter(match, account_sid=account_sid)
            .exclude(status=TwilioAccount.Status.REMOVED)
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
    # Appointment reminders to clients by SMS: how long before the start they go out (None: off).
    # Set on Settings -> SMS -> Reminders (integrations/twilio_sms/reminders.py).
    reminder_lead_minutes = models.PositiveIntegerField(null=True, blank=True)
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


class SmsReminder(TenantModel):
    """One appointment reminder text to the client, or the plain-words reason it was not sent.

    Keyed on (appointment, starts_at): the row is the claim (INSERT ... ON CONFLICT DO NOTHING), so
    two beats never remind twice of one start, and a rescheduled appointment (a new start) gets a
    reminder of its own. Written by integrations/twilio_sms/reminders.py only.
    """

    class Outcome(models.TextChoices):
        QUEUED = "queued", "Text queued"  # `message` is the outgoing SMS (its status tells more)
        SKIPPED = "skipped", "Not sent"  # `reason` says why

    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()  # the start this reminder announced
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey(
        "contacts.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the text may go out (quiet hours: 08:00-21:00 in the client's zone).
    send_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "all_workspaces"
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "starts_at"], name="sms_reminder_one_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"reminder {self.appointment_id} {self.outcome}"


class SmsMedia(TenantModel):
    """One picture (or short video) of an inbound MMS, fetched from Twilio in the worker
    (integrations/twilio_sms/media.py) and served from here: the thread never points a browser at
    Twilio, whose media URLs need the account's credentials (§4.3, Twilio's "Enforce HTTP Auth on
    Media URLs"). `content_type` is what the bytes were checked to be, not what Twilio said."""

    message = models.ForeignKey("contacts.Message", on_delete=models.CASCADE, related_name="+")
    index = models.PositiveSmallIntegerField()  # N of MediaUrlN
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "all_workspaces"
        constraints = [
            models.UniqueConstraint(fields=["message", "index"], name="sms_media_one_per_index"),
            models.CheckConstraint(condition=Q(size__gt=0), name="sms_media_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type} {self.size} bytes"
