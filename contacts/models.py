"""The CRM's core records: contacts and their emails/phones, pipeline stages, tags, custom fields,
properties, notes, tasks, the activity timeline, saved lists, duplicates, merges and imports.

Every model is a TenantModel: it carries `workspace` and is queried through
`Model.objects.for_workspace(ws)` (alt.lib.tenancy).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from alt.lib.tenancy import M, TenantManager, TenantModel, TenantQuerySet
from alt.lib.versioned_cache import version_bump
from contacts.normalize import phone_display, search_terms

if TYPE_CHECKING:
    from alt.accounts.models import Workspace


class VersionedQuerySet(TenantQuerySet[M]):
    """A tenant queryset whose writes (update, delete, bulk_create) mark the workspace's cached
    values of the model out of date, through `changed(workspace ids)`; the model's own save and
    delete call it too. So no service has to remember to."""

    # The workspace for_workspace() scoped this queryset to: a write then names the workspace it
    # changed without asking the database.
    _scope_id: int | None = None

    @staticmethod
    def changed(*workspace_ids: int) -> None:
        raise NotImplementedError

    def for_workspace(self, workspace: Workspace) -> VersionedQuerySet[M]:
        qs = cast(VersionedQuerySet[M], super().for_workspace(workspace))
        qs._scope_id = workspace.pk if isinstance(workspace, models.Model) else workspace
        return qs

    def _clone(self) -> VersionedQuerySet[M]:
        clone = cast(VersionedQuerySet[M], super()._clone())  # type: ignore[misc]
        clone._scope_id = self._scope_id
        return clone

    def _written_workspace_ids(self) -> set[int]:
        if self._scope_id is not None:
            return {self._scope_id}
        return set(self.order_by().values_list("workspace_id", flat=True).distinct())

    def update(self, **kwargs: Any) -> int:
        workspace_ids = self._written_workspace_ids()
        updated = super().update(**kwargs)
        if updated:
            self.changed(*workspace_ids)
        return updated

    def delete(self) -> tuple[int, dict[str, int]]:
        workspace_ids = self._written_workspace_ids()
        deleted = super().delete()
        if deleted[0]:
            self.changed(*workspace_ids)
        return deleted

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[M]:
        created = super().bulk_create(objs, *args, **kwargs)
        self.changed(*{row.workspace_id for row in created})  # type: ignore[attr-defined]
        return created


def stages_scope(workspace_id: int) -> str:
    """The versioned-cache scope of a workspace's pipeline stages (every list and board page)."""
    return f"stages:{workspace_id}"


def stages_changed(*workspace_ids: int) -> None:
    """These workspaces' stages were written: their cached list is out of date."""
    for workspace_id in workspace_ids:
        version_bump(stages_scope(workspace_id))


class PipelineStageQuerySet(VersionedQuerySet["PipelineStage"]):
    changed = staticmethod(stages_changed)


class PipelineStageManager(TenantManager["PipelineStage"]):
    _queryset_class = PipelineStageQuerySet  # type: ignore[assignment]


def tags_scope(workspace_id: int) -> str:
    """The versioned-cache scope of a workspace's tags (the list's tag filter and bulk bar)."""
    return f"tags:{workspace_id}"


def tags_changed(*workspace_ids: int) -> None:
    """These workspaces' tags were written: their cached list is out of date."""
    for workspace_id in workspace_ids:
        version_bump(tags_scope(workspace_id))


class TagQuerySet(VersionedQuerySet["Tag"]):
    changed = staticmethod(tags_changed)


class TagManager(TenantManager["Tag"]):
    _queryset_class = TagQuerySet  # type: ignore[assignment]


class PipelineStage(TenantModel):
    """One column of a workspace's lead pipeline. Editable per workspace."""

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    DEFAULTS: ClassVar[list[tuple[str, str]]] = [
        ("New", "open"),
        ("Contacted", "open"),
        ("Qualified", "open"),
        ("Showing", "open"),
        ("Under contract", "open"),
        ("Closed", "won"),
        ("Lost", "lost"),
    ]

    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OPEN)

    objects = PipelineStageManager()

    class Meta:
        # As before `objects` was its own: relations and forms use the unscoped manager.
        default_manager_name = "all_workspaces"
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                "workspace", Lower("name"), name="stage_name_unique_per_workspace"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        stages_changed(self.workspace_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        stages_changed(self.workspace_id)
        return deleted


class Tag(TenantModel):
    name = models.CharField(max_length=40)

    objects = TagManager()

    class Meta:
        # As before `objects` was its own: a contact's tags (contact.tags.set()) and forms use
        # the unscoped manager.
        default_manager_name = "all_workspaces"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "workspace", Lower("name"), name="tag_name_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        tags_changed(self.workspace_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        tags_changed(self.workspace_id)
        return deleted


class CustomField(TenantModel):
    """A workspace's own contact field, from a small typed set."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        YES_NO = "yes_no", "Yes / no"
        CHOICE = "choice", "Choice"

    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return self.label


def contact_name(first_name: str, last_name: str, email: str, phone: str) -> str:
    """How a contact is named on every page (Contact.name, and the board's plain rows)."""
    full = f"{first_name} {last_name}".strip()
    # A lead known only by the number that texted is named by it as people write it.
    return full or email or (phone_display(phone) if phone else "") or "Unnamed contact"


def contacts_scope(workspace_id: int) -> str:
    """The versioned-cache scope of a workspace's contacts: what is cached under it (stage counts,
    contacts.counts) is recomputed after any write to one of its contacts."""
    return f"contacts:{workspace_id}"


def contacts_changed(*workspace_ids: int) -> None:
    """These workspaces' contacts were written: their cached counts are out of date. Called by
    every write path of Contact (save, delete, and the queryset's update, delete, bulk_create), so
    a service never has to remember it."""
    for workspace_id in workspace_ids:
        version_bump(contacts_scope(workspace_id))


class ContactQuerySet(VersionedQuerySet["Contact"]):
    changed = staticmethod(contacts_changed)

    def for_workspace(self, workspace: Workspace) -> ContactQuerySet:
        return cast(ContactQuerySet, super().for_workspace(workspace))

    def live(self) -> ContactQuerySet:
        return self.filter(deleted_at=None, merged_into=None)

    def search(self, query: str) -> ContactQuerySet:
        """Name, email or phone in any format. Every word must match (trigram index on
        search_text); a query that reads as a phone number matches its E.164 form exactly."""
        words, e164 = search_terms(query)
        qs = self
        if e164:
            # An exact match on the (workspace, e164) index of phones: a lookup, where a trigram
            # scan of search_text for the number took ~10 ms at 50k contacts. Naming the phone's
            # workspace lets PostgreSQL use that index (it equals the contact's, already scoped).
            qs = qs.filter(phones__e164=e164, phones__workspace_id=F("workspace_id"))
        for word in words:
            qs = qs.filter(search_text__contains=word)
        return qs

    def stale(self, days: int) -> ContactQuerySet:
        """No timeline activity for `days` days."""
        return self.filter(last_activity_at__lt=timezone.now() - timedelta(days=days))

    def follow_up_due(self) -> ContactQuerySet:
        return self.filter(next_follow_up_on__lte=timezone.localdate())


class ContactManager(TenantManager["Contact"]):
    """Scoped like every tenant manager; `for_workspace` hands back the contact queryset."""

    _queryset_class = ContactQuerySet  # type: ignore[assignment]

    def for_workspace(self, workspace: Workspace) -> ContactQuerySet:
        return cast(ContactQuerySet, super().for_workspace(workspace))


class Source(models.TextChoices):
    """The keys of the lead sources the app itself assigns (a contact from an Instagram DM, an
    import...). Each workspace's sources are LeadSource rows; these keys find (or add) them."""

    INSTAGRAM = "instagram", "Instagram"
    SMS = "sms", "SMS"
    WEBSITE = "website", "Website"
    REFERRAL = "referral", "Referral"
    OPEN_HOUSE = "open_house", "Open house"
    MANUAL = "manual", "Manual"
    IMPORT = "import", "Import"

    @property
    def created_summary(self) -> str:
        """How the timeline says a contact came in: "Added by hand", not "Added from Manual"."""
        return CREATED_SUMMARIES[self.value]


# Also rewritten into older timelines by migration 0003_a11y_created_summaries.
CREATED_SUMMARIES = {
    "instagram": "Added from Instagram",
    "sms": "Added from a text message",
    "website": "Added from the website",
    "referral": "Added as a referral",
    "open_house": "Added at an open house",
    "manual": "Added by hand",
    "import": "Added by an import",
}


def created_summary(source: LeadSource | None) -> str:
    """How the timeline says a contact came in: the app's own sources in words ("Added by hand",
    not "Added from Manual"), the workspace's by name ("Added from Zillow")."""
    if source is None:
        return "Added"
    return CREATED_SUMMARIES.get(source.key) or f"Added from {source.name}"


def lead_sources_scope(workspace_id: int) -> str:
    """The versioned-cache scope of a workspace's lead sources (the list's source filter)."""
    return f"lead-sources:{workspace_id}"


def lead_sources_changed(*workspace_ids: int) -> None:
    """These workspaces' lead sources were written: their cached list is out of date."""
    for workspace_id in workspace_ids:
        version_bump(lead_sources_scope(workspace_id))


class LeadSourceQuerySet(VersionedQuerySet["LeadSource"]):
    changed = staticmethod(lead_sources_changed)


class LeadSourceManager(TenantManager["LeadSource"]):
    _queryset_class = LeadSourceQuerySet  # type: ignore[assignment]


class LeadSource(TenantModel):
    """Where a workspace's leads come from: a list the workspace extends (Settings → Lead sources),
    preset with the portals and channels agents use. `key` is the stable name the app and URLs use
    (`?source=zillow`); `name` is what people see and may be renamed."""

    # A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
    DEFAULTS: ClassVar[list[tuple[str, str]]] = [
        ("zillow", "Zillow"), ("realtor_com", "Realtor.com"), ("redfin", "Redfin"),
        ("homes_com", "Homes.com"), ("open_house", "Open house"), ("sign_call", "Sign call"),
        ("referral", "Referral"), ("sphere", "Sphere"), ("past_client", "Past client"),
        ("website", "Website"), ("instagram", "Instagram"), ("facebook", "Facebook"),
        ("google", "Google"), ("manual", "Manual"),
    ]  # fmt: skip

    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    objects = LeadSourceManager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="lead_source_key_unique"),
            models.UniqueConstraint(
                "workspace", Lower("name"), name="lead_source_name_unique_per_workspace"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        lead_sources_changed(self.workspace_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        lead_sources_changed(self.workspace_id)
        return deleted


class Contact(TenantModel):
    class Role(models.TextChoices):
        BUYER = "buyer", "Buyer"
        SELLER = "seller", "Seller"
        BOTH = "both", "Buyer & seller"
        OTHER = "", "—"

    class Timeframe(models.TextChoices):
        NOW = "now", "Now (0–3 months)"  # noqa: RUF001
        SOON = "soon", "3–6 months"  # noqa: RUF001
        LATER = "later", "6–12 months"  # noqa: RUF001
        SOMEDAY = "someday", "12+ months"
        UNKNOWN = "", "Unknown"

    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="contacts")
    source = models.ForeignKey(
        LeadSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.OTHER, blank=True)
    budget_min = models.PositiveIntegerField(null=True, blank=True)
    budget_max = models.PositiveIntegerField(null=True, blank=True)
    timeframe = models.CharField(max_length=8, choices=Timeframe.choices, default="", blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    next_follow_up_on = models.DateField(null=True, blank=True)
    consent_email = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_instagram = models.BooleanField(default=False)

    # Denormalised for the list page (one query per page) and search (one trigram index):
    # maintained by contacts.services whenever names, emails or phones change.
    primary_email = models.CharField(max_length=254, blank=True)
    primary_phone = models.CharField(max_length=20, blank=True)
    # The contact's Instagram username without "@" (Instagram allows 30 characters).
    instagram_handle = models.CharField(max_length=30, blank=True)
    # An IANA zone ("America/Chicago") when known; quiet hours for automated texts read it, and
    # guess from the phone's area code when it is blank (contacts.quiet_hours).
    time_zone = models.CharField(max_length=64, blank=True)
    search_text = models.TextField(blank=True, editable=False)
    last_activity_at = models.DateTimeField(default=timezone.now)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft states that can be undone; a periodic job purges deleted contacts after the undo window.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Who deleted it, for "Recently deleted" (None: deleted before this was recorded, or by a
    # teammate whose account is gone).
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ContactManager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="contact_ws_created"),
            models.Index(
                fields=["workspace", "last_name", "first_name", "id"], name="contact_ws_name"
            ),
            models.Index(
                fields=["workspace", "last_activity_at", "id"], name="contact_ws_activity"
            ),
            models.Index(fields=["workspace", "stage", "id"], name="contact_ws_stage"),
            # Stage counts in the list sidebar, stage and quiet-lead counts on the dashboard:
            # index-only scans over live rows. It carries created_at and id as well, so a list
            # filtered by stage (and quiet days) picks its page's ids from the index alone
            # (contacts.listing.services.contacts_page). The planner estimates stage filters
            # with the statistics of migration 0010 (a stage belongs to one workspace).
            models.Index(
                fields=["workspace", "stage", "last_activity_at"],
                include=["created_at", "id"],
                condition=Q(deleted_at=None, merged_into=None),
                name="contact_ws_stage_live",
            ),
            models.Index(fields=["workspace", "assigned_to", "id"], name="contact_ws_assignee"),
            # "Recently deleted", newest first, and the hourly purge: only the deleted rows.
            models.Index(
                fields=["workspace", "-deleted_at", "-id"],
                condition=Q(deleted_at__isnull=False),
                name="contact_ws_deleted",
            ),
            models.Index(fields=["workspace", "next_follow_up_on"], name="contact_ws_follow_up"),
            # btree_gin lets the trigram index start with the workspace.
            GinIndex(
                fields=["workspace", "search_text"],
                name="contact_search_trgm",
                opclasses=["int8_ops", "gin_trgm_ops"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_min__isnull=True)
                | Q(budget_max__isnull=True)
                | Q(budget_max__gte=models.F("budget_min")),
                name="contact_budget_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        contacts_changed(self.workspace_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        contacts_changed(self.workspace_id)
        return deleted

    @property
    def name(self) -> str:
        return contact_name(self.first_name, self.last_name, self.primary_email, self.primary_phone)

    def get_source_display(self) -> str:
        """The lead source's name ("" without one); the name Django gives a choices field's
        label, kept since templates and the export call it."""
        return self.source.name if self.source is not None else ""

    @property
    def initials(self) -> str:
        letters = (self.first_name[:1] + self.last_name[:1]) or self.name[:1]
        return letters.upper()


class ContactChannel(TenantModel):
    """What a contact's email addresses and phone numbers share: a label, and which is the main
    one (listed first; copied to Contact.primary_email / primary_phone)."""

    label = models.CharField(max_length=20, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        abstract = True
        ordering = ["-is_primary", "id"]


class ContactEmail(ContactChannel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField()  # stored lower-cased by contacts.services

    class Meta(ContactChannel.Meta):
        indexes = [models.Index(fields=["workspace", "email"], name="contact_email_ws_email")]
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="contact_email_unique")
        ]

    def __str__(self) -> str:
        return self.email


class ContactPhone(ContactChannel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    e164 = models.CharField(max_length=20)  # +14155550123, normalised with phonenumbers

    class Meta(ContactChannel.Meta):
        indexes = [models.Index(fields=["workspace", "e164"], name="contact_phone_ws_e164")]
        constraints = [
            models.UniqueConstraint(fields=["contact", "e164"], name="contact_phone_unique")
        ]

    def __str__(self) -> str:
        return self.e164


class Property(TenantModel):
    class Status(models.TextChoices):
        COMING_SOON = "coming_soon", "Coming soon"
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending"
        SOLD = "sold", "Sold"
        OFF_MARKET = "off_market", "Off market"

    street = models.CharField(max_length=120)
    unit = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=80)
    state = models.CharField(max_length=2)
    zip_code = models.CharField(max_length=10)
    price = models.PositiveIntegerField(null=True, blank=True)
    beds = models.PositiveSmallIntegerField(null=True, blank=True)
    baths = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    sqft = models.PositiveIntegerField(null=True, blank=True)
    mls_number = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "properties"
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="property_ws_created"),
            models.Index(fields=["workspace", "mls_number"], name="property_ws_mls"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(baths__gte=Decimal("0")) | Q(baths__isnull=True),
                name="property_baths_nonneg",
            ),
        ]

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.street}{unit}, {self.city}, {self.state} {self.zip_code}"


class PropertyLink(TenantModel):
    class Role(models.TextChoices):
        INTERESTED = "interested", "Interested"
        OWNER = "owner", "Owner"
        BUYER = "buyer", "Buyer"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="property_links")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.INTERESTED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["property", "contact", "role"], name="property_link_unique"
            ),
        ]


class Note(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.body[:40]


class Task(TenantModel):
    """Something an agent must do by `due_at`, about a contact or on its own. A repeating task is
    one open row at a time: completing it creates the next occurrence (`previous` points back, one
    next per occurrence, a DB constraint), at the same wall-clock time in `repeat_time_zone`."""

    class Repeat(models.TextChoices):
        NONE = "", "Doesn't repeat"
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"
        MONTHLY = "monthly", "Every month"

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set when the reminder email went out; the sweeper claims rows by a conditional UPDATE on it.
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    repeat = models.CharField(max_length=8, choices=Repeat.choices, blank=True, default="")
    # The series' wall clock: each occurrence is due at `repeat_time` in this zone (so a DST change
    # moves the UTC time, not the local one) and, monthly, on `repeat_day` (or the month's last).
    repeat_time_zone = models.CharField(max_length=64, blank=True)
    repeat_time = models.TimeField(null=True, blank=True)
    repeat_day = models.PositiveSmallIntegerField(null=True, blank=True)
    # The occurrence whose completion created this one (unique: a task is followed at most once).
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_occurrence",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(repeat="") | (~Q(repeat_time_zone="") & Q(repeat_time__isnull=False)),
                name="task_repeat_has_wall_clock",
            ),
            models.CheckConstraint(
                condition=Q(repeat_day__isnull=True) | Q(repeat_day__gte=1, repeat_day__lte=31),
                name="task_repeat_day_in_month",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "assigned_to", "due_at"], name="task_ws_assignee_due"
            ),
            models.Index(
                fields=["due_at"],
                name="task_reminder_due",
                condition=Q(reminded_at=None, completed_at=None),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.due_at < timezone.now()


class Activity(TenantModel):
    """One entry of a contact's timeline. Every kind lives in this one table, so a timeline page is
    one indexed query whatever mix of notes, tasks, messages and appointments it shows."""

    class Kind(models.TextChoices):
        CREATED = "created", "Contact created"
        NOTE = "note", "Note"
        TASK_CREATED = "task_created", "Task added"
        TASK_COMPLETED = "task_completed", "Task completed"
        MESSAGE_IN = "message_in", "Message received"
        MESSAGE_OUT = "message_out", "Message sent"
        APPOINTMENT = "appointment", "Appointment"
        STAGE_CHANGED = "stage_changed", "Stage changed"
        AI_ACTION = "ai_action", "AI"
        UPDATED = "updated", "Details edited"
        MERGED = "merged", "Merged"
        IMPORTED = "imported", "Imported"
        RESTORED = "restored", "Restored"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # Links to the record behind the entry (note id, task id, ...) and small facts to render.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="activity_timeline")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.summary}"


class SavedList(TenantModel):
    """A named filter of the contact list ("smart list"), shown in the sidebar."""

    name = models.CharField(max_length=60)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    query = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DuplicateFlag(TenantModel):
    """Two contacts that share an email or phone. `contact_a_id < contact_b_id` keeps pairs unique."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Not a duplicate"
        MERGED = "merged", "Merged"

    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_a", "contact_b"], name="duplicate_pair_unique"
            ),
            models.CheckConstraint(
                condition=Q(contact_a__lt=models.F("contact_b")), name="duplicate_pair_ordered"
            ),
        ]


class Merge(TenantModel):
    """A merge of `merged` into `survivor`, with what is needed to undo it."""

    survivor = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The survivor's field values before the merge, and the ids of every row moved across.
    survivor_before = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)


class ImportJob(TenantModel):
    """A CSV (or vCard) upload, from mapping to done. Every row is validated before any row is
    written and the good rows are written in one transaction; rows with a problem are offered
    back as a CSV with a reason column. With `all_or_nothing` a single bad row fails the job and
    nothing is written."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for column mapping"
        MAPPED = "mapped", "Waiting for value mapping"
        QUEUED = "queued", "Queued"
        VALIDATING = "validating", "Checking rows"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Dedupe(models.TextChoices):
        SKIP = "skip", "Skip rows that match an existing contact"
        UPDATE = "update", "Update the matching contact"
        CREATE = "create", "Create a new contact anyway"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=200)
    # The upload itself, so any worker host can read it (no shared disk needed). Cleared when done.
    content = models.BinaryField()
    encoding = models.CharField(max_length=20, default="utf-8")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    # Per field (stage, source, assigned_to, tags): the file's value (lower-cased) -> an id,
    # "new" (create it) or "" (leave blank).
    value_mapping = models.JSONField(default=dict)
    dedupe = models.CharField(max_length=8, choices=Dedupe.choices, default=Dedupe.SKIP)
    all_or_nothing = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    # The rejected rows as they were in the file, plus a "Reason" column (formula-safe cells).
    rejected_csv = models.BinaryField(default=b"")
    failure = models.CharField(max_length=300, blank=True)
    # Liveness of a running job: a worker killed mid-import stops beating, and the stale-import
    # sweep re-queues the job (its write transaction rolled back) or fails it. `attempt` fences
    # a slow worker the sweep gave up on: it may only finish the attempt it claimed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    # What "Undo this import" needs: the contacts created, and the updated contacts' fields before
    # (with the email, phone, tag and note rows the import added to them).
    undo_data = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class BulkJob(TenantModel):
    """A bulk action on every contact matching a filter of the list ("all N matching").

    The filter is stored (validated parameters, never raw GET data) and evaluated when the job
    starts; the matching ids are then kept in `contact_ids` and worked through in batches, each
    batch committing its changes, its `undo` entries and `done` together, so a retry resumes
    exactly where a failure stopped. Small sets run in the request, large ones in the worker.
    """

    class Action(models.TextChoices):
        TAG = "tag", "Add tag"
        UNTAG = "untag", "Remove tag"
        STAGE = "stage", "Set stage"
        ASSIGN = "assign", "Assign"
        DELETE = "delete", "Delete"
        # Registered by the SMS integration (contacts.bulk.services.register_bulk_action): one
        # automated text per consented contact, queued through the inbox. Not undoable.
        SMS = "sms", "Send a text"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"

    class UndoState(models.TextChoices):
        NONE = "", "Not undone"
        QUEUED = "queued", "Undo waiting to start"
        RUNNING = "running", "Undoing"
        DONE = "done", "Undone"
        FAILED = "failed", "Undo stopped"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    # The action's argument: {"tag": name}, {"stage_id": id}, {"assignee_id": id or None} or
    # {"text": the text message}.
    params = models.JSONField(default=dict, blank=True)
    # ContactListQuery.params() of the list the agent was looking at.
    query = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    # How many matched when the agent confirmed (what the confirmation said).
    expected = models.PositiveIntegerField(default=0)
    contact_ids = models.JSONField(null=True, blank=True)  # set when the job starts
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    # What undoing needs: the ids that gained/lost the tag or were deleted (a list), or each
    # moved contact's previous stage / assignee ({contact id: previous id or None}).
    undo = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Touched by every batch: a running job whose heartbeat stops is found by the sweeper.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When undo was asked for (once: the claim). A large undo runs in the worker, like the job.
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_state = models.CharField(max_length=8, choices=UndoState.choices, blank=True)
    undo_error = models.CharField(max_length=300, blank=True)
    undone_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # The sweeper's question: which jobs are waiting or running (and maybe stuck)?
            models.Index(
                fields=["state", "heartbeat_at"],
                condition=Q(state__in=["queued", "running"]),
                name="bulkjob_active",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=F("total")), name="bulkjob_done_le_total"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def is_undoing(self) -> bool:
        return self.undo_state in (self.UndoState.QUEUED, self.UndoState.RUNNING)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, 100 * self.done // self.total) if self.total else 0


class Conversation(TenantModel):
    """One thread of the inbox: a channel account of ours talking with one outside party.

    Channel-agnostic (DESIGN.md): an Instagram thread is (our professional account id, the
    customer's IGSID); an SMS thread is (our Twilio number, the customer's number). The unique
    (workspace, channel, channel_account, party_id) makes a first burst of messages land in one
    thread however many workers ingest it at once (ingest with INSERT ... ON CONFLICT).
    """

    class Channel(models.TextChoices):
        INSTAGRAM = "instagram", "Instagram"
        SMS = "sms", "SMS"

    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Our side: the Instagram professional account id, or our number in E.164.
    channel_account = models.CharField(max_length=64)
    # Their side: the Instagram-scoped user id (IGSID), or their number in E.164.
    party_id = models.CharField(max_length=64)
    # What the channel told us about them (Instagram username and profile name); display only.
    party_handle = models.CharField(max_length=64, blank=True)
    party_name = models.CharField(max_length=150, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Their last message: Instagram's 24-hour reply window runs from it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The oldest of their messages no person has answered yet (None: nothing waiting). The inbox
    # sorts by it, and speed to lead is measured from it.
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    # The latest point the party has read up to (a read receipt's message, or its time when that
    # message is unknown): our messages sent until then are READ, also those stored later (echoes
    # arrive out of order, EXTERNAL_APIS.md §3.5).
    party_read_at = models.DateTimeField(null=True, blank=True)
    # Automations (keyword triggers, AI auto-replies) stay quiet until then: a person replied.
    automation_paused_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "channel_account", "party_id"],
                name="conversation_one_per_party",
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "awaiting_reply_since", "-last_message_at"],
                name="conversation_inbox",
            ),
            models.Index(fields=["workspace", "-last_message_at"], name="conversation_recent"),
            # The inbox's unread counts per channel read only the threads with anything unread.
            models.Index(
                fields=["workspace", "channel"],
                name="conversation_unread",
                include=["unread_count"],
                condition=Q(unread_count__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.party_handle or self.party_id}"


class Message(TenantModel):
    """One message of a conversation, in or out, on any channel.

    `external_id` is the provider's id (Instagram `mid`, Twilio `MessageSid`), unique per channel
    when known, so a provider's retry or double delivery is stored once. An outgoing message is
    written before the provider is called (status `pending`, no external id yet) and updated with
    the provider's id after, so a retried send never sends twice.
    """

    class Direction(models.TextChoices):
        INBOUND = "in", "Received"
        OUTBOUND = "out", "Sent"

    class Author(models.TextChoices):
        PARTY = "party", "The contact"
        PERSON = "person", "A person on our side"  # typed in ALT, or on the phone app (echo)
        AUTOMATION = "automation", "An automation"  # keyword trigger or AI auto-reply (IG-8)

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PENDING = "pending", "Queued"  # stored, its send task not yet started
        # Claimed by one send task (conditional UPDATE pending -> sending): never sent twice.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(max_length=16, choices=Conversation.Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author = models.CharField(max_length=10, choices=Author.choices)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    # [{"type": "image"|"story_mention"|"ig_reel"|..., "url": ..., "title": ...}] as the channel
    # gave them, normalised by the channel's ingest.
    attachments = models.JSONField(default=list, blank=True)
    # Small channel facts to show: the story replied to, an ad referral, a reaction.
    meta = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.CharField(max_length=300, blank=True)
    # When it happened on the channel (the provider's timestamp), and when we stored it.
    sent_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # An automated outgoing message held until then (quiet hours, an appointment reminder's lead
    # time): stays PENDING, shown "scheduled for", and is handed to the send task by the
    # scheduled-sends sweeper once due, so a worker restart never loses it. Cleared when claimed.
    send_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="message_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "-sent_at", "-id"], name="message_thread"),
            # The sweeper's question, "which held messages are due?", over the few rows held.
            models.Index(
                fields=["send_after"],
                condition=Q(send_after__isnull=False, status="pending"),
                name="message_scheduled_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel} {self.external_id or self.id}"


class MessageChange(TenantModel):
    """A change the channel reported for a message by its external id (an unsend, an edit, a
    reaction), kept for the deliveries that arrive out of order or again later.

    Meta retries for up to 36 hours with no ordering guarantee (EXTERNAL_APIS.md §3.5): an unsend
    can come before the message it deletes, or the message can be delivered again after it was
    unsent. An unsend leaves a tombstone here (`deleted`, with no content), so the message is
    never stored again; an edit or reaction for a message not stored yet waits in `changes` and is
    applied when it arrives. Purged after a week (`message_changes_purge`).
    """

    channel = models.CharField(max_length=16, choices=Conversation.Channel.choices)
    external_id = models.CharField(max_length=255)
    deleted = models.BooleanField(default=False)
    # {"num_edit": 2, "text": "...", "reaction": {...}}: merged into the Message when it arrives.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="message_change_unique_external_id"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="message_change_age")]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id}{' deleted' if self.deleted else ''}"


class ConversationLinkSuggestion(TenantModel):
    """ "This conversation may be that contact": the party wrote a phone number or an email address
    that belongs to another contact of the workspace. Shown in the thread with its evidence until
    someone links the conversation or dismisses the suggestion."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="link_suggestions"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    # What a person reads: "Wrote 555-0100, the phone of Jane Doe".
    evidence = models.CharField(max_length=300)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "contact"], name="link_suggestion_once_per_contact"
            )
        ]

    def __str__(self) -> str:
        return self.evidence


class Consent(TenantModel):
    """Whether we may message one contact on one channel, and since when: one row per (contact,
    channel), created on its first event. `Contact.consent_<channel>` mirrors `state == OPTED_IN`
    for the list, the export and the merge; `contacts.consent.consent_record` is the only writer
    of both, so they never disagree. The history is ConsentEvent.

    SMS: opted in by the agent (a form, an import), out by STOP and its synonyms or by Twilio's
    21610, back in by START (EXTERNAL_APIS.md §4.6). Instagram: the 24-hour window is the
    channel's own rule and is recorded as events. Email: bounces later.
    """

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        INSTAGRAM = "instagram", "Instagram"
        EMAIL = "email", "Email"

    class State(models.TextChoices):
        UNKNOWN = "unknown", "Not asked"
        OPTED_IN = "opted_in", "Agreed"
        OPTED_OUT = "opted_out", "Opted out"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNKNOWN)
    # How the current state came to be, in a person's words ("Added by Ana", "Texted STOP").
    source = models.CharField(max_length=200, blank=True)
    opted_in_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="consent_one_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.state}"


class ConsentEvent(TenantModel):
    """One thing that changed or confirmed a contact's consent on a channel, kept as history."""

    class Kind(models.TextChoices):
        OPT_IN = "opt_in", "Agreed"  # a person on our side recorded the contact's agreement
        OPT_OUT = "opt_out", "Withdrew"  # a person on our side recorded a withdrawal
        STOP = "stop", "Texted STOP"  # STOP or a synonym (EXTERNAL_APIS.md §4.6)
        START = "start", "Texted START"  # START, YES, UNSTOP
        HELP = "help", "Texted HELP"  # HELP, INFO: answered, no change
        CARRIER_BLOCKED = "carrier_blocked", "Refused by the carrier"  # Twilio 21610
        WINDOW_OPENED = "window_opened", "Wrote to us"  # Instagram's 24-hour window opened
        BOUNCED = "bounced", "Email bounced"

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The number, handle or address it concerned (E.164 for SMS).
    address = models.CharField(max_length=254, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["consent", "-at"], name="consent_event_history")]

    def __str__(self) -> str:
        return f"{self.kind} {self.address}"
