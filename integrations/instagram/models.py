"""A workspace's connected Instagram professional account, and its posts and comments.

The access token is an EncryptedTextField (AES-256-GCM, IG-2) and never shown in the admin.
Direct messages live in the channel-agnostic inbox (contacts.Conversation / contacts.Message);
what only Instagram has (posts, comments) lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from alt.lib.fields import EncryptedTextField
from alt.lib.tenancy import TenantManager, TenantModel


class InstagramAccountManager(TenantManager["InstagramAccount"]):
    """Scoped like every tenant manager, plus the two lookups where Meta names an account and the
    workspace is what we are trying to learn: webhooks (`entry[].id`, the professional id) and
    Meta's signed callbacks (`user_id`, the app-scoped id). The only unscoped reads of this table.
    """

    def live_by_ig_user_id(self, ig_user_id: str) -> InstagramAccount | None:
        """The connected or needs-reconnect account with this professional id (at most one, by
        constraint), or None: a disconnected account's deliveries are dropped (IG-6)."""
        return (
            self._queryset()
            .filter(ig_user_id=str(ig_user_id))
            .exclude(status=InstagramAccount.Status.DISCONNECTED)
            .select_related("workspace")
            .first()
        )

    def accepting_events(self, *ig_user_ids: str) -> bool:
        """True when webhook deliveries for any of these professional ids should be stored
        (IG-6). One query however many entries a delivery batches."""
        sql, params = self.accepting_events_sql(*ig_user_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sql}", params)
            row = cursor.fetchone()
        return bool(row and row[0])

    def accepting_events_sql(self, *ig_user_ids: str) -> tuple[str, list[Any]]:
        """`accepting_events` as a SQL boolean expression and its parameters, for a statement
        that checks it itself (the webhook's INSERT ... WHERE, one round trip per delivery)."""
        table = InstagramAccount._meta.db_table
        return (
            f"EXISTS (SELECT 1 FROM {table} WHERE ig_user_id = ANY(%s) AND status = %s)",  # noqa: S608 (the table name is ours; values are bound)
            [[str(i) for i in ig_user_ids], InstagramAccount.Status.CONNECTED.value],
        )

    def by_app_user_id(self, app_user_id: str) -> list[InstagramAccount]:
        """Every account (any workspace, any status) Meta's signed callbacks may mean (IG-7)."""
        return list(self._queryset().filter(app_user_id=str(app_user_id)))

    def insights_due(self, before: datetime) -> list[tuple[int, int, datetime | None]]:
        """(id, workspace_id, insights_refreshed_at) of connected accounts, in any workspace,
        whose insights were last refreshed before `before` (or never): the daily job's work."""
        return list(
            self._queryset()
            .filter(status=InstagramAccount.Status.CONNECTED)
            .filter(Q(insights_refreshed_at=None) | Q(insights_refreshed_at__lt=before))
            .values_list("id", "workspace_id", "insights_refreshed_at")[:1000]
        )


class InstagramAccount(TenantModel):
    """One Instagram professional account connected to a workspace.

    `ig_user_id` is the professional account id from GET /me (`user_id`): the id webhooks carry in
    `entry[].id` and the Send API uses. It is not the app-scoped id the token exchange returns
    (`app_user_id`, EXTERNAL_APIS.md §3.4, §9 item 10). Both can exceed 2^53: strings.

    The row outlives a disconnect (status DISCONNECTED, token erased at once, IG-6) so a workspace
    that kept its history still knows whose conversations they were; reconnecting reuses it.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ig_user_id = models.CharField(max_length=32)
    app_user_id = models.CharField(max_length=32, blank=True)
    username = models.CharField(max_length=30, blank=True)
    name = models.CharField(max_length=150, blank=True)
    account_type = models.CharField(max_length=20, blank=True)
    profile_picture_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    access_token = EncryptedTextField(blank=True)  # "" once disconnected
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    permissions = models.CharField(max_length=500, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # Set when the "please reconnect" email went out, cleared on reconnect: one email per outage.
    reconnect_email_sent_at = models.DateTimeField(null=True, blank=True)
    # IG-4: automations act only once the user switched them on.
    keyword_triggers_enabled = models.BooleanField(default=False)
    # The daily insights refresh claims an account by moving this forward (conditional UPDATE).
    insights_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The token refresh job's lease (claimed by a conditional UPDATE): until then no other
    # worker refreshes this account.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = InstagramAccountManager()

    class Meta:
        default_manager_name = "all_workspaces"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "ig_user_id"], name="instagram_account_once_per_workspace"
            ),
            # Webhooks name the account, not the workspace: a live account routes to one workspace.
            models.UniqueConstraint(
                fields=["ig_user_id"],
                condition=~Q(status="disconnected"),
                name="instagram_account_live_once",
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.username or self.ig_user_id} ({self.status})"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class InstagramMedia(TenantModel):
    """A post or story of the connected account, as far as ALT has seen it (comments, insights,
    or published from ALT)."""

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="media")
    media_id = models.CharField(max_length=32)
    media_product_type = models.CharField(max_length=16, blank=True)  # FEED, STORY, REELS, AD
    media_type = models.CharField(max_length=16, blank=True)  # IMAGE, VIDEO, CAROUSEL_ALBUM
    caption = models.TextField(blank=True)
    permalink = models.URLField(max_length=1000, blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    # The latest insights fetched ({"reach": 12, ...}; a metric Meta has no data for is absent).
    insights = models.JSONField(default=dict, blank=True)
    insights_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "media_id"], name="instagram_media_once")
        ]

    def __str__(self) -> str:
        return f"media {self.media_id}"


class InstagramComment(TenantModel):
    """A comment on one of the account's posts (webhook field `comments`), or our public reply.

    `comment_id` is unique: Meta's retries and double deliveries are stored once.
    """

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="comments")
    media = models.ForeignKey(
        InstagramMedia, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    comment_id = models.CharField(max_length=32, unique=True)
    parent_comment_id = models.CharField(max_length=32, blank=True)
    from_id = models.CharField(max_length=32, blank=True)
    from_username = models.CharField(max_length=30, blank=True)
    text = models.TextField(blank=True)
    commented_at = models.DateTimeField(default=timezone.now)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Written by us (a public reply) rather than received.
    is_ours = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    # One private reply per comment, within 7 days (EXTERNAL_APIS.md §3.6): set when sent.
    private_reply_sent_at = models.DateTimeField(null=True, blank=True)
    private_reply_message = models.ForeignKey(
        "contacts.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["account", "-commented_at"], name="instagram_comment_recent")
        ]

    def __str__(self) -> str:
        return f"comment {self.comment_id}"


class KeywordTrigger(TenantModel):
    """A keyword rule the user configured (IG-4, IG-8): a comment or DM whose text matches
    `keywords` under `match_mode` gets `reply_text` as a DM (a private reply to a comment, or an
    auto-reply in the thread), and for comments optionally `public_reply_text` under the comment.

    Nothing fires unless both the account's `keyword_triggers_enabled` and this `enabled` are on.
    `media` narrows a comment trigger to one post (None: every post).
    """

    class Kind(models.TextChoices):
        COMMENT_DM = "comment_dm", "Comment → private reply DM"
        DM_REPLY = "dm_reply", "DM keyword → auto-reply"

    class MatchMode(models.TextChoices):
        ANY = "any", "Any keyword, as a whole word"
        EXACT = "exact", "The whole text equals a keyword"
        CONTAINS = "contains", "Contains a keyword anywhere"

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMENT_DM)
    # The comma-separated list as the user typed it; triggers.keyword_list() splits it.
    keywords = models.CharField(max_length=500)
    match_mode = models.CharField(max_length=10, choices=MatchMode.choices, default=MatchMode.ANY)
    # One post, or None for every post. CASCADE, not SET_NULL: a deleted post must not widen a
    # trigger to every post.
    media = models.ForeignKey(
        InstagramMedia, null=True, blank=True, on_delete=models.CASCADE, related_name="triggers"
    )
    reply_text = models.TextField()
    public_reply_text = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=False)
    # The person who configured it: automated replies go out on their authority (IG-8).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name or self.keywords[:40]


class KeywordTriggerFiring(TenantModel):
    """One trigger acting on one comment or one inbound DM, at most once (unique per pair): the
    record that a duplicate signal, a retried task or a second worker finds and stops at.

    State: pending (matched, about to send) → sending (claimed by one task) → sent, skipped
    (paused by a human reply, the comment already answered ...) or failed (`detail` says why).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    trigger = models.ForeignKey(KeywordTrigger, on_delete=models.CASCADE, related_name="firings")
    comment = models.ForeignKey(
        InstagramComment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        "contacts.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    detail = models.CharField(max_length=300, blank=True)
    # What went out: the DM (an OUTBOUND Message, author AUTOMATION) and the public reply.
    reply_message = models.ForeignKey(
        "contacts.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_reply = models.ForeignKey(
        InstagramComment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "comment"],
                condition=Q(comment__isnull=False),
                name="keyword_firing_once_per_comment",
            ),
            models.UniqueConstraint(
                fields=["trigger", "message"],
                condition=Q(message__isnull=False),
                name="keyword_firing_once_per_message",
            ),
            models.CheckConstraint(
                condition=Q(comment__isnull=False, message__isnull=True)
                | Q(comment__isnull=True, message__isnull=False),
                name="keyword_firing_comment_or_message",
            ),
        ]

    def __str__(self) -> str:
        return f"firing of trigger {self.trigger_id} ({self.state})"


class InstagramDeletionRequest(models.Model):
    """One data-deletion request from Meta's callback (IG-7), for its public status page.

    Not a tenant row: one Instagram user's data may sit in several workspaces. It never says
    whose data it was: `targets` lists (workspace id, professional account id) pairs still to
    delete and is emptied when done; the page shows only the code, the status and the dates.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "In progress"
        DONE = "done", "Completed"

    confirmation_code = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    targets = models.JSONField(default=list, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"deletion {self.confirmation_code} ({self.status})"


# --- Publishing and insights ---------------------------------------------------------------------
CAPTION_MAX_CHARS = 2200  # Instagram's caption limit


class InstagramPostManager(TenantManager["InstagramPost"]):
    """Scoped like every tenant manager, plus the one lookup where Meta names a post and the
    workspace is unknown: Meta fetching an uploaded image by its unguessable token."""

    def image_by_token(self, token: str) -> bytes | None:
        """The uploaded JPEG behind `token` while Meta may still need it (the post is not yet
        published), or None. The token is the secret: 32 random url-safe bytes."""
        if not token:
            return None
        row = (
            self._queryset()
            .filter(image_token=token)
            .exclude(state=InstagramPost.State.PUBLISHED)
            .values_list("image_data", flat=True)
            .first()
        )
        return bytes(row) if row else None

    def overdue_steps(self, before: datetime) -> list[tuple[int, int, int, datetime | None]]:
        """(id, workspace_id, attempt, next_step_at) of posts, in any workspace, whose next
        publishing step was due before `before`: the sweeper's work (a lost broker message)."""
        return list(
            self._queryset()
            .filter(state=InstagramPost.State.PUBLISHING, next_step_at__lt=before)
            .order_by("next_step_at")
            .values_list("id", "workspace_id", "attempt", "next_step_at")[:500]
        )


class InstagramPost(TenantModel):
    """An image post or story a person composed in ALT (IG-8: only what they authored goes out).

    Publishing is Meta's three steps (EXTERNAL_APIS.md §3.8): a container is created from a public
    JPEG URL, polled until FINISHED, then published. The image is either a pasted https URL or an
    upload kept here and served at a public, unguessable URL of ours until the post is published.
    `attempt` grows with every Publish/Retry, so the polls of an earlier attempt stop by themselves.
    """

    class Kind(models.TextChoices):
        POST = "post", "Post"
        STORY = "story", "Story"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="posts")
    # IG-8: the person who wrote it. A post whose author left is never published.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.POST)
    caption = models.TextField(blank=True)
    image_url = models.URLField(max_length=2000, blank=True)  # pasted by the author
    image_token = models.CharField(max_length=64, blank=True)  # uploaded: served by token
    image_data = models.BinaryField(null=True, blank=True, editable=False)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    error = models.CharField(max_length=300, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    container_id = models.CharField(max_length=32, blank=True)
    container_created_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveSmallIntegerField(default=0)
    # When the worker is due to take the next step; the sweeper re-sends a step that is overdue.
    next_step_at = models.DateTimeField(null=True, blank=True)
    media = models.ForeignKey(
        InstagramMedia, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = InstagramPostManager()

    class Meta:
        default_manager_name = "all_workspaces"
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("caption"), CAPTION_MAX_CHARS),
                name="instagram_post_caption_limit",
            ),
            models.UniqueConstraint(
                fields=["image_token"],
                condition=~Q(image_token=""),
                name="instagram_post_image_token_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="instagram_post_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def can_publish(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.FAILED)


class InstagramDailyInsight(TenantModel):
    """One day of an account's metrics (GET /<IG_ID>/insights, period=day, §3.9).

    `metrics` holds what Meta returned ({"reach": 224, "views": 310, ...}); a metric Meta had no
    data for is absent, never 0.
    """

    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="daily_insights"
    )
    date = models.DateField()
    metrics = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="instagram_insight_daily")
        ]

    def __str__(self) -> str:
        return f"insights {self.account_id} {self.date}"
