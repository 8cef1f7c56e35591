"""Publishing an image post or story a person composed in ALT (IG-8), EXTERNAL_APIS.md §3.8.

post_create -> (worker) post_publish_step, repeated by the task with a countdown, never a sleep:
  1. quota check (content_publishing_limit) and container create (POST /<IG_ID>/media);
  2. once a minute, up to 5 times: container status; FINISHED -> media_publish -> InstagramMedia.
Every failure ends the post FAILED with an error a person understands, and Retry starts again.

Only what a person composed goes out (IG-8): a post is created only by post_create, from a
person's form, with its author; a post whose author is gone is never published, and the caption
and image sent are exactly the ones stored.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from alt.accounts.models import User, Workspace
from integrations.instagram import client
from integrations.instagram.client import InstagramError
from integrations.instagram.images import JpegImage
from integrations.instagram.models import InstagramAccount, InstagramMedia, InstagramPost

log = logging.getLogger(__name__)

POLL_SECONDS = 60  # §3.8: poll once a minute ...
MAX_POLLS = 5  # ... for up to 5 minutes
# A step this early is a duplicate of a chain that already moved on: it stops.
EARLY_TOLERANCE = timedelta(seconds=5)
# The sweeper re-sends a step overdue by this much (its broker message was lost).
OVERDUE = timedelta(minutes=2)

NOT_CONNECTED = "Instagram is not connected. Connect the account in Settings → Social, then retry."
AUTHOR_GONE = (
    "The person who wrote this post is no longer in the workspace, so ALT will not publish it."
)
BAD_IMAGE = (
    "Instagram could not fetch the image, or it is not a JPEG. Upload a JPEG photo, or paste "
    "the https address of a JPEG anyone can open, then retry."
)
QUOTA_REACHED = (
    "Instagram allows 100 posts per 24 hours through apps like ALT, and this account has "
    "reached it. Retry in a few hours."
)
STILL_PROCESSING = (
    "Instagram was still processing the image after 5 minutes. Retry; if it happens again, "
    "try a smaller JPEG."
)
EXPIRED = (
    "Instagram discarded the prepared post: it was not published within 24 hours. Retry to "
    "prepare it again."
)
GAVE_UP = "Instagram kept failing to answer. Nothing was published; retry in a few minutes."


@dataclass(frozen=True)
class PostInput:
    kind: str  # InstagramPost.Kind
    caption: str
    image: JpegImage | None = None  # an upload, checked (JPEG, size, ratio)
    image_url: str = ""  # or a pasted https URL of a JPEG


def account_for(workspace: Workspace) -> InstagramAccount | None:
    """The workspace's Instagram account that is connected or needs reconnecting, or None."""
    return (
        InstagramAccount.objects.for_workspace(workspace)
        .exclude(status=InstagramAccount.Status.DISCONNECTED)
        .order_by("-connected_at", "-id")
        .first()
    )


def access_post(workspace: Workspace, post_id: int | str) -> InstagramPost:
    """The workspace's post, or Http404."""
    posts = InstagramPost.objects.for_workspace(workspace).defer("image_data")
    return posts.get_or_404("post", id=post_id)


def image_public_url(post: InstagramPost) -> str:
    """Where Meta fetches the image: the pasted URL, or our unguessable URL of the upload."""
    if post.image_token:
        path = reverse("instagram_webhooks:post_image", kwargs={"token": post.image_token})
        return settings.SITE_URL + path
    return post.image_url


def post_create(
    *, workspace: Workspace, author: User, account: InstagramAccount, data: PostInput, publish: bool
) -> InstagramPost:
    """Store what `author` composed (IG-8) and, with `publish`, start publishing it.

    Side effects: one row; with `publish`, the instagram_post_publish task on commit.
    """
    post = InstagramPost(
        workspace=workspace,
        account=account,
        author=author,
        kind=data.kind,
        caption="" if data.kind == InstagramPost.Kind.STORY else data.caption,
        image_url="" if data.image else data.image_url,
    )
    if data.image is not None:
        post.image_token = secrets.token_urlsafe(32)
        post.image_data = data.image.data
        post.image_width, post.image_height = data.image.width, data.image.height
    with transaction.atomic():
        post.save()
        if publish:
            post_publish(post=post)
    return post


def post_publish(*, post: InstagramPost) -> bool:
    """Start publishing a draft or failed post (Publish / Retry): a new attempt from step 1.
    Returns False when the post is not in a state to publish (already publishing or published).

    Side effects: claims the row by a conditional UPDATE; the instagram_post_publish task on commit.
    """
    from integrations.instagram.tasks import instagram_post_publish

    now = timezone.now()
    with transaction.atomic():
        claimed = (
            InstagramPost.objects.for_workspace(post.workspace)
            .filter(id=post.id, state__in=[InstagramPost.State.DRAFT, InstagramPost.State.FAILED])
            .update(
                state=InstagramPost.State.PUBLISHING,
                attempt=F("attempt") + 1,
                error="",
                container_id="",
                container_created_at=None,
                polls=0,
                next_step_at=now,
            )
        )
        if not claimed:
            return False
        post.refresh_from_db()
        instagram_post_publish.delay_on_commit(post.workspace_id, post.id, post.attempt)
    return True


def post_publish_step(*, workspace_id: int, post_id: int, attempt: int) -> float | None:
    """Take the next publishing step of `post_id`'s attempt `attempt`; returns in how many seconds
    the next step is due, or None when there is none (published, failed, or not ours to take).

    Side effects: Graph calls (quota, container create, status, media_publish), the post row,
    an InstagramMedia row once published. Raises InstagramError only for transient failures
    (the task retries); permanent ones end the post FAILED with a plain message.
    """
    now = timezone.now()
    with transaction.atomic():
        post = (
            InstagramPost.objects.for_workspace(Workspace(id=workspace_id))
            .select_for_update(of=("self",))
            .select_related("account")
            .defer("image_data")  # up to 8 MB, served to Meta by its own view
            .filter(id=post_id, state=InstagramPost.State.PUBLISHING, attempt=attempt)
            .first()
        )
        if post is None:
            return None
        if post.next_step_at is not None and post.next_step_at > now + EARLY_TOLERANCE:
            return None  # a duplicate of a chain that already took this step
        account = post.account
        if post.author_id is None:  # IG-8
            return _fail(post, AUTHOR_GONE)
        if not account.is_connected or not account.access_token:
            return _fail(post, NOT_CONNECTED)
        try:
            if not post.container_id:
                return _create_container(post, account, now)
            return _poll_and_publish(post, account, now)
        except InstagramError as exc:
            if not exc.permanent:
                raise
            if exc.needs_reconnect:
                account_needs_reconnect(account, exc)
            return _fail(post, _plain(exc))


def post_publish_give_up(*, workspace_id: int, post_id: int, attempt: int) -> None:
    """After the task's last retry: the attempt ends FAILED (nothing was published)."""
    InstagramPost.objects.for_workspace(Workspace(id=workspace_id)).filter(
        id=post_id, state=InstagramPost.State.PUBLISHING, attempt=attempt
    ).update(state=InstagramPost.State.FAILED, error=GAVE_UP, next_step_at=None)


def posts_sweep_claim() -> list[tuple[int, int, int]]:
    """Posts whose next step is overdue (a lost broker message): claimed by moving next_step_at
    forward in a conditional UPDATE, returned as (workspace_id, post_id, attempt) to re-send."""
    now = timezone.now()
    claimed = []
    for post_id, workspace_id, attempt, due in InstagramPost.objects.overdue_steps(now - OVERDUE):
        moved = (
            InstagramPost.objects.for_workspace(Workspace(id=workspace_id))
            .filter(id=post_id, attempt=attempt, next_step_at=due)
            .update(next_step_at=now)
        )
        if moved:
            claimed.append((workspace_id, post_id, attempt))
    return claimed


def account_needs_reconnect(account: InstagramAccount, exc: InstagramError) -> None:
    """Meta refused the token (190/102): the account needs reconnecting, with the banner and one
    email (services.instagram_needs_reconnect, a conditional UPDATE)."""
    from integrations.instagram.services import instagram_needs_reconnect

    instagram_needs_reconnect(
        workspace=account.workspace, account_id=account.id, reason=exc.message
    )


# --- the steps ------------------------------------------------------------------------------------
def _create_container(
    post: InstagramPost, account: InstagramAccount, now: datetime
) -> float | None:
    quota = client.publishing_quota(token=account.access_token, ig_user_id=account.ig_user_id)
    if quota.exhausted:
        return _fail(post, QUOTA_REACHED)
    post.container_id = client.media_container_create(
        token=account.access_token,
        ig_user_id=account.ig_user_id,
        image_url=image_public_url(post),
        caption=post.caption,
        story=post.kind == InstagramPost.Kind.STORY,
    )
    post.container_created_at = timezone.now()
    return _next_poll(post)


def _poll_and_publish(
    post: InstagramPost, account: InstagramAccount, now: datetime
) -> float | None:
    status = client.media_container_status(
        token=account.access_token, container_id=post.container_id
    )
    if status.status_code == "ERROR":
        detail = f" ({status.status})" if status.status else ""
        return _fail(post, f"Instagram could not process the image{detail}. {BAD_IMAGE}")
    if status.status_code == "EXPIRED":
        return _fail(post, EXPIRED)
    if status.status_code == "PUBLISHED":  # an earlier run published it, then lost the answer
        return _published(post, account, media_id="")
    if status.status_code != "FINISHED":  # IN_PROGRESS (or a status Meta adds later)
        return _still_processing(post)
    try:
        media_id = client.media_publish(
            token=account.access_token,
            ig_user_id=account.ig_user_id,
            container_id=post.container_id,
        )
    except InstagramError as exc:
        if client.is_not_ready(exc):  # 9007/2207027: FINISHED was reported a moment too soon
            return _still_processing(post)
        if client.is_quota_reached(exc):
            return _fail(post, QUOTA_REACHED)
        raise
    return _published(post, account, media_id=media_id)


def _still_processing(post: InstagramPost) -> float | None:
    post.polls += 1
    if post.polls >= MAX_POLLS:
        return _fail(post, STILL_PROCESSING)
    return _next_poll(post)


def _next_poll(post: InstagramPost) -> float:
    post.next_step_at = timezone.now() + timedelta(seconds=POLL_SECONDS)
    post.save(update_fields=["container_id", "container_created_at", "polls", "next_step_at"])
    return POLL_SECONDS


def _published(post: InstagramPost, account: InstagramAccount, *, media_id: str) -> float | None:
    now = timezone.now()
    if media_id:
        media, _created = InstagramMedia.objects.for_workspace(post.workspace).get_or_create(
            account=account,
            media_id=media_id,
            defaults={
                "workspace": post.workspace,
                "media_product_type": "STORY" if post.kind == InstagramPost.Kind.STORY else "FEED",
                "media_type": "IMAGE",
                "caption": post.caption,
                "posted_at": now,
            },
        )
        post.media = media
    post.state = InstagramPost.State.PUBLISHED
    post.published_at = now
    post.next_step_at = None
    post.error = ""
    # Meta copied the image: the upload is no longer needed (nor served).
    post.image_data = None
    post.save(
        update_fields=["media", "state", "published_at", "next_step_at", "error", "image_data"]
    )
    return None


def _fail(post: InstagramPost, error: str) -> float | None:
    """The attempt ends FAILED with `error`; there is no next step (None)."""
    post.state = InstagramPost.State.FAILED
    post.error = error[:300]
    post.next_step_at = None
    post.save(update_fields=["container_id", "polls", "state", "error", "next_step_at"])
    return None


def _plain(exc: InstagramError) -> str:
    if client.is_bad_image(exc):
        return BAD_IMAGE
    if client.is_quota_reached(exc):
        return QUOTA_REACHED
    return exc.message
