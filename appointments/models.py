"""Appointments: tours, listing presentations, calls and open houses booked with a contact.

An appointment is written in ALT first; its copy on the agent's Google Calendar follows in the
background ("Write, then sync", DESIGN.md). The sync fields below belong to the sync engine in
integrations.google_calendar; the UI only reads `sync_state` / `sync_error` to show a badge.

`version` counts changes to the fields Google receives (title, times, location, notes,
property); `synced_version` is the version Google last got. The push task compares them,
so an edit racing an unfinished push is never lost and never pushed twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from django.conf import settings
from django.db import models
from django.db.models import Q

from alt.lib.tenancy import TenantManager, TenantModel, TenantQuerySet

if TYPE_CHECKING:
    from alt.accounts.models import Workspace


class AppointmentQuerySet(TenantQuerySet["Appointment"]):
    def live(self) -> AppointmentQuerySet:
        """Not deleted. Deleted rows wait (invisible) until Google's copy is deleted too."""
        return self.filter(deleted_at=None)


class AppointmentManager(TenantManager["Appointment"]):
    """Scoped like every tenant manager; `for_workspace` hands back the appointment queryset."""

    _queryset_class = AppointmentQuerySet  # type: ignore[assignment]

    def for_workspace(self, workspace: Workspace) -> AppointmentQuerySet:
        return cast(AppointmentQuerySet, super().for_workspace(workspace))


class Appointment(TenantModel):
    class Kind(models.TextChoices):
        TOUR = "tour", "Property tour"
        LISTING = "listing", "Listing presentation"
        CALL = "call", "Follow-up call"
        OPEN_HOUSE = "open_house", "Open house"
        OTHER = "other", "Other"

    class Sync(models.TextChoices):
        OFF = "off", "Not synced"  # the agent has no calendar connected
        PENDING = "pending", "Syncing…"
        SYNCED = "synced", "On Google Calendar"
        WAITING = "waiting", "Waiting for reconnect"  # the connection needs reconnecting (GC-8)
        FAILED = "failed", "Sync failed"  # permanent error; a person can retry
        # The event was deleted in Google Calendar (it sits in Google's trash, or was purged).
        # ALT leaves it deleted until the agent asks to put it back.
        REMOVED = "removed", "Removed from Google Calendar"

    # Fields whose change Google must hear about (each bumps `version`): the event's summary,
    # description, location (a property's address stands in for an empty one), start and end.
    SYNCED_FIELDS: ClassVar[tuple[str, ...]] = (
        "title",
        "starts_at",
        "ends_at",
        "location",
        "notes",
        "property",
    )

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    # Whose Google Calendar receives the event.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TOUR)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    property = models.ForeignKey(
        "contacts.Property",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # --- Google Calendar sync (written by integrations.google_calendar only) -----------------
    google_event_id = models.CharField(max_length=64, blank=True)  # set once Google has it (GC-4)
    sync_state = models.CharField(max_length=8, choices=Sync.choices, default=Sync.OFF)
    sync_error = models.CharField(max_length=300, blank=True)
    sync_attempts = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    synced_version = models.PositiveIntegerField(default=0)
    # When sync_state last became pending, or when the next try is due after a transient failure:
    # the sweeper re-sends rows pending for over a minute past it.
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    # When Google last confirmed the event (tells a reconnect's stale ids from this connection's).
    synced_at = models.DateTimeField(null=True, blank=True)
    # Set when the agent asks for an event deleted in Google back; cleared once Google has it.
    restore_requested_at = models.DateTimeField(null=True, blank=True)

    # Set when the agent's reminder email was claimed; cleared when the appointment moves, so the
    # reminder sweep (appointments/tasks.py) emails again before the new time.
    reminded_at = models.DateTimeField(null=True, blank=True)

    # Soft delete: the row stays (hidden everywhere) until Google's copy is deleted too.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentManager()

    class Meta:
        # Django's machinery (admin, relations) uses the unscoped manager, as TenantModel says.
        default_manager_name = "all_workspaces"
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["workspace", "starts_at"], name="appointment_ws_starts"),
            models.Index(fields=["workspace", "contact", "starts_at"], name="appointment_contact"),
            # The sweeper's scan: only rows that still owe Google something.
            models.Index(
                fields=["sync_requested_at"],
                name="appointment_sync_pending",
                condition=Q(sync_state="pending"),
            ),
            # The reminder sweep's scan: live rows whose reminder has not gone out.
            models.Index(
                fields=["starts_at"],
                name="appointment_reminder_due",
                condition=Q(reminded_at=None, deleted_at=None),
            ),
            models.Index(
                fields=["workspace", "agent", "sync_state"],
                name="appointment_agent_sync",
                condition=Q(sync_state__in=["pending", "waiting", "failed"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title
