"""Comments on the connected account's posts: what the comments page shows, refreshing posts and
comments from Meta, and the two answers a comment allows (EXTERNAL_APIS.md §3.6, §3.7):

- a public reply under it (POST /<COMMENT_ID>/replies), stored as our own InstagramComment;
- one private reply, a DM to its author, only within 7 days of the comment (Send API with
  `recipient.comment_id`), stored as an OUTBOUND Message in a Conversation with the commenter
  (party_id = the commenter's `from.id`) and marked on the comment.

IG-8: every reply names who is behind it: `sent_by` (a person wrote it) or `trigger` (a person
configured the keyword trigger that produced it). A call with neither is refused before Meta is
called. The 7-day and once-per-comment rules are checked here before Meta is called, and Meta's
own refusal is handled too (its clock and its record are the ones that count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.models import Conversation, Message
from integrations.instagram import client
from integrations.instagram.client import InstagramError
from integrations.instagram.models import InstagramAccount, InstagramComment, InstagramMedia

if TYPE_CHECKING:
    from integrations.instagram.models import KeywordTrigger

PRIVATE_REPLY_WINDOW = timedelta(days=7)
# How long keyword triggers stay quiet with a contact after a person answered them by hand
# (the inbox's own replies set the same pause; the lead aligns the two values at merge).
HUMAN_REPLY_PAUSE = timedelta(hours=24)
MAX_DM_LENGTH = 1000  # the Send API's text limit (§3.6)
MAX_COMMENT_LENGTH = 2200  # Instagram's comment limit
REFRESH_POSTS = 12
REFRESH_COMMENTS_PER_POST = 50
PAGE_POSTS = 20
PAGE_COMMENTS_PER_POST = 50


class ReplyRefused(Exception):
    """ALT will not send this reply (no author, already answered, too late, not connected); the
    message says why in plain words. Nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def instagram_account_of(workspace: Workspace) -> InstagramAccount | None:
    """The workspace's Instagram account that is not disconnected (the newest), or None."""
    return (
        InstagramAccount.objects.for_workspace(workspace)
        .exclude(status=InstagramAccount.Status.DISCONNECTED)
        .order_by("-id")
        .first()
    )


def access_comment(workspace: Workspace, comment_id: int | str) -> InstagramComment:
    """The workspace's comment with this primary key, or Http404 (another workspace's too)."""
    comment: InstagramComment = (
        InstagramComment.objects.for_workspace(workspace)
        .select_related("account", "media", "private_reply_message")
        .get_or_404("comment", id=comment_id)
    )
    return comment


def private_reply_refusal(comment: InstagramComment, *, now: datetime | None = None) -> str:
    """Why a private reply cannot go out now ("" when it can). No I/O beyond the loaded rows."""
    now = now or timezone.now()
    if comment.is_ours:
        return "This is a reply from your account."
    if comment.private_reply_sent_at is not None:
        return "A private reply was already sent: Instagram allows one per comment."
    pending = comment.private_reply_message
    if pending is not None and pending.status != Message.Status.FAILED:
        return "A private reply is being sent."
    if now - comment.commented_at > PRIVATE_REPLY_WINDOW:
        return "Instagram allows a private reply only within 7 days of the comment."
    if not comment.from_id:
        return "Instagram did not say who wrote this comment, so it cannot be answered privately."
    return ""


# --- the page ------------------------------------------------------------------------------------
@dataclass
class CommentRow:
    comment: InstagramComment
    replies: list[InstagramComment] = field(default_factory=list)
    private_reply_refusal: str = ""


@dataclass
class PostRow:
    media: InstagramMedia | None  # None: comments on posts ALT has not fetched yet
    comments: list[CommentRow] = field(default_factory=list)


def recent_posts_with_comments(account: InstagramAccount) -> list[PostRow]:
    """The newest posts (by post time, then by their newest comment) with their comments, newest
    first, our replies under the comment they answer. Three queries whatever the counts."""
    workspace = account.workspace
    media = list(
        InstagramMedia.objects.for_workspace(workspace)
        .filter(account=account)
        .order_by(F("posted_at").desc(nulls_last=True), "-id")[:PAGE_POSTS]
    )
    comments = list(
        InstagramComment.objects.for_workspace(workspace)
        .filter(account=account)
        .filter(Q(media__in=media) | Q(media__isnull=True))
        .select_related("private_reply_message")
        .order_by("-commented_at", "-id")[: PAGE_POSTS * PAGE_COMMENTS_PER_POST]
    )
    now = timezone.now()
    rows = {m.id: PostRow(media=m) for m in media}
    orphans = PostRow(media=None)
    by_comment_id: dict[str, CommentRow] = {}
    tops = [c for c in comments if not c.parent_comment_id]
    for comment in tops:
        row = CommentRow(comment, private_reply_refusal=private_reply_refusal(comment, now=now))
        by_comment_id[comment.comment_id] = row
        post = rows.get(comment.media_id) if comment.media_id else orphans
        if post is not None and len(post.comments) < PAGE_COMMENTS_PER_POST:
            post.comments.append(row)
    for comment in reversed([c for c in comments if c.parent_comment_id]):  # oldest reply first
        parent = by_comment_id.get(comment.parent_comment_id)
        if parent is not None:
            parent.replies.append(comment)
    result = list(rows.values())
    if orphans.comments:
        result.append(orphans)
    return result


# --- refresh from Meta -----------------------------------------------------------------------------
def comments_refresh(*, account: InstagramAccount) -> int:
    """Fetch the account's recent posts and their comments from Meta and store what ALT lacks
    (posts updated, comments inserted once by their unique id). Returns how many comments were
    new. Sends no comment_received: a comment found by a refresh may be days old, and keyword
    triggers answer comments as they arrive. External calls: GET /media, GET /<media>/comments.
    Raises InstagramError (a dead token also marks the account needs-reconnect)."""
    token = account.access_token
    if not account.is_connected or not token:
        return 0
    try:
        items = client.recent_media(token=token, ig_user_id=account.ig_user_id, limit=REFRESH_POSTS)
        fetched = [
            (item, client.media_comments(token=token, media_id=item.media_id, limit=REFRESH_COMMENTS_PER_POST))
            for item in items
        ]  # fmt: skip
    except InstagramError as exc:
        _note_instagram_error(account, exc)
        raise
    new = 0
    with transaction.atomic():
        for item, comments in fetched:
            media, _ = InstagramMedia.objects.for_workspace(account.workspace).update_or_create(
                workspace=account.workspace,
                account=account,
                media_id=item.media_id,
                defaults={
                    "caption": item.caption,
                    "media_type": item.media_type[:16],
                    "media_product_type": item.media_product_type[:16],
                    "permalink": item.permalink[:1000],
                    "posted_at": item.posted_at,
                },
            )
            rows = [
                InstagramComment(
                    workspace=account.workspace,
                    account=account,
                    media=media,
                    comment_id=c.comment_id,
                    parent_comment_id=c.parent_id,
                    from_id=c.from_id,
                    from_username=c.from_username[:30],
                    text=c.text,
                    commented_at=c.commented_at or timezone.now(),
                    is_ours=c.from_id == account.ig_user_id,
                )
                for c in comments
            ]
            existing = set(
                InstagramComment.objects.for_workspace(account.workspace)
                .filter(comment_id__in=[r.comment_id for r in rows])
                .values_list("comment_id", flat=True)
            )
            # ignore_conflicts: the webhook ingest may store the same comment at the same time.
            created = InstagramComment.objects.for_workspace(account.workspace).bulk_create(
                [r for r in rows if r.comment_id not in existing], ignore_conflicts=True
            )
            new += len(created)
    return new


# --- replies -------------------------------------------------------------------------------------
def _check_author(sent_by: User | None, trigger: KeywordTrigger | None) -> None:
    # IG-8: a reply goes out only when a person wrote it or configured the trigger behind it.
    if (sent_by is None) == (trigger is None):
        raise ReplyRefused("A reply needs exactly one author: a person, or their keyword trigger.")


def _connected_token(account: InstagramAccount) -> str:
    if not account.is_connected or not account.access_token:
        raise ReplyRefused("Instagram is not connected: connect it again in Settings → Social.")
    return str(account.access_token)


def _note_instagram_error(account: InstagramAccount, exc: InstagramError) -> None:
    """A dead token marks the account needs-reconnect: the banner, and one email."""
    if exc.needs_reconnect:
        from integrations.instagram.services import instagram_needs_reconnect

        instagram_needs_reconnect(
            workspace=account.workspace, account_id=account.id, reason=exc.message
        )


def conversation_with(
    account: InstagramAccount, *, party_id: str, handle: str = ""
) -> Conversation:
    """The inbox thread between the account and this Instagram user, created if new (the unique
    (workspace, channel, channel_account, party_id) keeps it one under concurrency)."""
    workspace = account.workspace
    conversation: Conversation
    try:
        with transaction.atomic():
            conversation, _ = Conversation.objects.for_workspace(workspace).get_or_create(
                workspace=workspace,
                channel=Conversation.Channel.INSTAGRAM,
                channel_account=account.ig_user_id,
                party_id=party_id,
                defaults={"party_handle": handle[:64]},
            )
    except IntegrityError:  # created by another worker between our read and insert
        conversation = Conversation.objects.for_workspace(workspace).get(
            channel=Conversation.Channel.INSTAGRAM,
            channel_account=account.ig_user_id,
            party_id=party_id,
        )
    return conversation


def with_disclosure(conversation: Conversation, account: InstagramAccount, text: str) -> str:
    """`text`, followed on first contact by the line saying it is automated: the first time ALT's
    automation messages this person (no earlier automated message that did not fail)."""
    earlier = (
        Message.objects.for_workspace(conversation.workspace)
        .filter(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            author=Message.Author.AUTOMATION,
        )
        .exclude(status=Message.Status.FAILED)
        .exists()
    )
    if earlier:
        return text
    name = f"@{account.username}" if account.username else "this account"
    return f"{text}\n\n— automated reply from {name}"


def comment_private_reply(
    *,
    comment: InstagramComment,
    text: str,
    sent_by: User | None = None,
    trigger: KeywordTrigger | None = None,
) -> Message:
    """Send the comment's one private reply: a DM to its author, within 7 days of the comment.

    Write, then send: the OUTBOUND Message (pending) and the comment's link to it are committed
    before Meta is called, so a second click or a retried task finds the claim. An automated
    reply (`trigger`) carries the first-contact disclosure. On success the message gets Meta's id
    and `comment.private_reply_sent_at` is set; a person's reply pauses the automations with
    this contact for HUMAN_REPLY_PAUSE. External call: the Send API.
    Raises ReplyRefused (nothing sent) or InstagramError (Meta refused or failed; the message is
    marked failed; a transient one leaves the comment answerable for a retry)."""
    _check_author(sent_by, trigger)
    text = text.strip()
    if not text:
        raise ReplyRefused("Write the reply first.")
    account = comment.account
    token = _connected_token(account)
    workspace = comment.workspace
    with transaction.atomic():
        locked = (
            InstagramComment.objects.for_workspace(workspace)
            .select_for_update(of=("self",))
            .select_related("private_reply_message")
            .get(id=comment.id)
        )
        refusal = private_reply_refusal(locked)
        if refusal:
            raise ReplyRefused(refusal)
        conversation = conversation_with(
            account, party_id=locked.from_id, handle=locked.from_username
        )
        if trigger is not None:
            text = with_disclosure(conversation, account, text)
        if len(text) > MAX_DM_LENGTH:
            raise ReplyRefused(f"Instagram allows {MAX_DM_LENGTH} characters in a message.")
        now = timezone.now()
        message: Message = Message.objects.create(
            workspace=workspace,
            conversation=conversation,
            channel=Conversation.Channel.INSTAGRAM,
            direction=Message.Direction.OUTBOUND,
            author=Message.Author.AUTOMATION if trigger else Message.Author.PERSON,
            sent_by=sent_by,
            text=text,
            status=Message.Status.PENDING,
            meta={"private_reply_to": locked.comment_id}
            | ({"trigger_id": trigger.id} if trigger else {}),
            sent_at=now,
            created_at=now,
        )
        locked.private_reply_message = message
        locked.save(update_fields=["private_reply_message"])
    try:
        sent = client.send_private_reply(
            token=token, ig_user_id=account.ig_user_id, comment_id=locked.comment_id, text=text
        )
    except InstagramError as exc:
        _private_reply_failed(locked, message, exc)
        raise
    message.external_id = sent.message_id
    message.status = Message.Status.SENT
    message.sent_at = timezone.now()
    message.save(update_fields=["external_id", "status", "sent_at"])
    locked.private_reply_sent_at = message.sent_at
    locked.save(update_fields=["private_reply_sent_at"])
    changes: dict[str, Any] = {"last_message_at": message.sent_at}
    if sent_by is not None:  # a person took this contact over: automations stay quiet a while
        changes["automation_paused_until"] = message.sent_at + HUMAN_REPLY_PAUSE
    Conversation.objects.for_workspace(workspace).filter(id=conversation.id).update(**changes)
    comment.private_reply_sent_at = locked.private_reply_sent_at
    comment.private_reply_message = message
    return message


def _private_reply_failed(comment: InstagramComment, message: Message, exc: InstagramError) -> None:
    if exc.window_closed:
        error = "Instagram allows a private reply only within 7 days of the comment."
    elif exc.meta_code == 10:
        # §3.6 [O]: one private reply per comment; Meta's answer to a second one (perhaps sent
        # from the Instagram app) is a policy refusal. Its record counts: no more attempts.
        error = "Instagram says this comment already has its private reply."
        comment.private_reply_sent_at = timezone.now()
        comment.save(update_fields=["private_reply_sent_at"])
    else:
        error = exc.message
    _note_instagram_error(comment.account, exc)
    message.status = Message.Status.FAILED
    message.error = error[:300]
    message.save(update_fields=["status", "error"])
    exc.message = error


def comment_reply_public(
    *,
    comment: InstagramComment,
    text: str,
    sent_by: User | None = None,
    trigger: KeywordTrigger | None = None,
) -> InstagramComment:
    """Reply publicly under `comment` and store the reply as our own comment (is_ours).

    Not retried automatically: Meta takes no idempotency key for comments, so a blind retry could
    post twice; the person sees the error and decides. External call: POST /<id>/replies.
    Raises ReplyRefused (nothing sent) or InstagramError."""
    _check_author(sent_by, trigger)
    text = text.strip()
    if not text:
        raise ReplyRefused("Write the reply first.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise ReplyRefused(f"Instagram allows {MAX_COMMENT_LENGTH:,} characters in a comment.")
    account = comment.account
    token = _connected_token(account)
    try:
        reply_id = client.comment_reply(token=token, comment_id=comment.comment_id, text=text)
    except InstagramError as exc:
        _note_instagram_error(account, exc)
        raise
    workspace = comment.workspace
    # The webhook of our own reply may have stored it first: then it is marked ours.
    reply: InstagramComment
    reply, created = InstagramComment.objects.for_workspace(workspace).get_or_create(
        comment_id=reply_id,
        defaults={
            "workspace": workspace,
            "account": account,
            "media": comment.media,
            "parent_comment_id": comment.parent_comment_id or comment.comment_id,
            "from_id": account.ig_user_id,
            "from_username": account.username,
            "text": text,
            "is_ours": True,
        },
    )
    if not created and not reply.is_ours:
        reply.is_ours = True
        reply.save(update_fields=["is_ours"])
    return reply
