"""The inbox pages' reads and the small writes of opening a thread: fetch-and-authorize, the thread
list in answer-first order with keyset paging, a thread's newest messages, marking read, linking
a contact or creating a lead from a thread.

Channel-agnostic: what differs by channel (Instagram's 24-hour window) comes from the registered
Channel (contacts/inbox/channels.py), which does no I/O, so a page's query count does not grow
with its threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import BigIntegerField, Case, F, OuterRef, Q, Subquery, Sum, When
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.keyset import cursor_for, cursor_parse
from contacts import services
from contacts.inbox import accounts, channels
from contacts.inbox import services as inbox_services
from contacts.models import Contact, Conversation, Message, Source
from contacts.normalize import phone_display

THREADS_PAGE = 50
MESSAGES_PAGE = 50
# A contact's threads shown in one timeline: one per channel and number in practice; a merged
# contact may carry a few more, never enough to make the page's queries grow.
TIMELINE_THREADS = 20
PREVIEW_CHARS = 140
# A message still "sending" after this long was claimed by a worker that never reported back.
UNCONFIRMED_AFTER = timedelta(minutes=10)

# Meta serves DM media from these hosts (lookaside.fbsbx.com/ig_messaging_cdn, scontent-*.
# cdninstagram.com, scontent-*.fbcdn.net): only those are embedded as <img>, anything else is a link.
IMAGE_HOSTS = ("lookaside.fbsbx.com",)
IMAGE_HOST_SUFFIXES = (".cdninstagram.com", ".fbcdn.net")

ATTACHMENT_LABELS = {
    "image": "Photo",
    "video": "Video",
    "audio": "Voice message",
    "file": "File",
    "share": "Shared post",
    "ig_reel": "Reel",
    "reel": "Reel",
    "ig_post": "Post",
    "ig_story": "Story",
    "story_mention": "Mentioned you in their story",
    "media": "Media",
    "template": "Template message",
}


# --- access ------------------------------------------------------------------------------------
def access_conversation(workspace: Workspace, conversation_id: int | str) -> Conversation:
    """The workspace's conversation with this id (its contact loaded), or Http404 (also for
    another workspace's id)."""
    conversations = Conversation.objects.for_workspace(workspace).select_related("contact")
    conversation = conversations.get_or_404("conversation", id=conversation_id)
    conversation.workspace = workspace  # the thread's reads are scoped by it: not loaded again
    return conversation


def access_message(conversation: Conversation, message_id: int | str) -> Message:
    """The message of `conversation` with this id, or Http404."""
    messages = Message.objects.for_workspace(conversation.workspace).filter(
        conversation=conversation
    )
    return messages.get_or_404("message", id=message_id)


# --- the thread list ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A thread's reply window as the list and the thread show it."""

    open: bool
    closes_at: datetime | None
    reason: str


def reply_window(conversation: Conversation) -> Window | None:
    """The channel's reply window for `conversation` (None: the channel has none to show)."""
    channel = channels.channel_for(conversation.channel)
    if channel is None:
        return None
    window = channel.reply_window(conversation)
    if window.open and window.closes_at is None:  # always open (SMS): nothing to show
        return None
    return Window(open=window.open, closes_at=window.closes_at, reason=window.reason)


def _waiting_first(conversations: Any) -> Any:
    # Threads waiting for an answer first, the longest-waiting on top; then the rest, most
    # recent first. One ORDER BY, so keyset paging runs through both groups in one query.
    return conversations.annotate(
        activity_at=Coalesce("last_message_at", "created_at"),
    ).order_by(
        F("awaiting_reply_since").asc(nulls_last=True),
        Case(When(awaiting_reply_since__isnull=True, then=F("activity_at"))).desc(),
        Case(
            When(awaiting_reply_since__isnull=True, then=-F("id")),
            default=F("id"),
            output_field=BigIntegerField(),
        ).asc(),
    )


def _after(cursor: str) -> Q | None:
    """The rows after a cursor of _cursor_of; None for a cursor that is not one."""
    group, rest = cursor[:1], cursor[1:]
    parsed = cursor_parse(rest)
    if parsed is None or group not in ("w", "r"):
        return None
    moment, row_id = parsed
    if group == "w":
        return (
            Q(awaiting_reply_since__gt=moment)
            | Q(awaiting_reply_since=moment, id__gt=row_id)
            | Q(awaiting_reply_since__isnull=True)
        )
    return Q(awaiting_reply_since__isnull=True) & (
        Q(activity_at__lt=moment) | Q(activity_at=moment, id__lt=row_id)
    )


def _cursor_of(conversation: Any) -> str:
    if conversation.awaiting_reply_since is not None:
        return "w" + cursor_for(conversation.awaiting_reply_since, conversation.id)
    return "r" + cursor_for(conversation.activity_at, conversation.id)


def conversations_page(
    workspace: Workspace, *, channel: str = "", after: str = "", limit: int = THREADS_PAGE
) -> tuple[list[Any], str]:
    """One page of the workspace's threads, waiting-for-an-answer first, each annotated with its
    last message (`preview_text`, `preview_direction`, `preview_type`), `.url` and `.window`.
    Returns (threads, the cursor of the next page or ""). One query, whatever the count."""
    last = Message.objects.for_workspace(workspace).filter(conversation=OuterRef("pk"))
    last = last.order_by("-sent_at", "-id")
    conversations = Conversation.objects.for_workspace(workspace).select_related("contact")
    if channel:
        conversations = conversations.filter(channel=channel)
    conversations = _waiting_first(conversations).annotate(
        preview_text=Subquery(last.values("text")[:1]),
        preview_direction=Subquery(last.values("direction")[:1]),
        preview_type=Subquery(last.annotate(kind=KT("attachments__0__type")).values("kind")[:1]),
    )
    where = _after(after) if after else None
    if where is not None:
        conversations = conversations.filter(where)
    rows = list(conversations[: limit + 1])
    base = reverse("inbox:list")  # one reverse() for the page, not one a row
    for row in rows:
        row.url = f"{base}{row.id}/"
        row.window = reply_window(row)
        row.preview = preview_of(row.preview_text, row.preview_type)
    next_cursor = _cursor_of(rows[limit - 1]) if len(rows) > limit else ""
    return rows[:limit], next_cursor


def unread_by_channel(workspace: Workspace) -> dict[str, int]:
    """Unread messages per channel, and under "" all of them, for the inbox's channel filter.
    One query over the threads that have any unread (the partial index conversation_unread),
    never a count over messages, so it does not grow with the workspace's history."""
    rows = (
        Conversation.objects.for_workspace(workspace)
        .filter(unread_count__gt=0)
        .values("channel")
        .annotate(unread=Sum("unread_count"))
        .order_by()
    )
    counts = {row["channel"]: int(row["unread"]) for row in rows}
    return {"": sum(counts.values()), **counts}


def preview_of(text: str | None, attachment_type: str | None) -> str:
    """One line for the list: the text with its line breaks flattened, cut at PREVIEW_CHARS, or
    what was attached."""
    line = " ".join((text or "").split())
    if not line and attachment_type:
        line = ATTACHMENT_LABELS.get(attachment_type, "Attachment")
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def latest_for_contact(workspace: Workspace, contact_id: int) -> Conversation | None:
    """The contact's most recent thread, if any."""
    threads = Conversation.objects.for_workspace(workspace).filter(contact_id=contact_id)
    return threads.order_by(F("last_message_at").desc(nulls_last=True), "-id").first()


# --- one thread --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attachment:
    """An attachment as the thread shows it: what it is, and a URL only when it is safe to use."""

    label: str
    image_url: str = ""  # https on Meta's CDN: shown as <img>
    link_url: str = ""  # any other http(s) URL: shown as a link, never embedded
    title: str = ""


def _http_url(value: Any) -> str:
    url = str(value or "")
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.hostname else ""


def _own_path(value: Any) -> str:
    """A path on ALT itself ("/sms/media/12/"), never another origin ("//host", a scheme)."""
    path = str(value or "")
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else ""


def _meta_cdn(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host in IMAGE_HOSTS or host.endswith(IMAGE_HOST_SUFFIXES))


def attachments_of(message: Message) -> list[Attachment]:
    """The message's attachments for display. A type ALT does not know is named plainly."""
    shown = []
    for item in message.attachments if isinstance(message.attachments, list) else []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or "")
        label = ATTACHMENT_LABELS.get(kind, "An attachment Instagram does not show outside the app")
        url = _http_url(item.get("url"))
        image = url if kind in ("image", "story_mention", "ig_story") and _meta_cdn(url) else ""
        served = _own_path(item.get("path"))
        if served:  # a copy ALT serves itself (an MMS picture fetched from Twilio)
            url, image = served, served if kind == "image" else ""
        shown.append(
            Attachment(
                label=label,
                image_url=image,
                link_url="" if image else url,
                title=str(item.get("title") or "")[:200],
            )
        )
    return shown


def story_link(message: Message) -> str:
    """The URL of the story a message replies to (meta {"story": {"url": ...}}), if safe."""
    story = message.meta.get("story") if isinstance(message.meta, dict) else None
    return _http_url(story.get("url")) if isinstance(story, dict) else ""


def _decorate(messages: list[Message], timeline: list[Conversation]) -> list[Message]:
    unconfirmed_before = timezone.now() - UNCONFIRMED_AFTER
    by_id = {thread.id: thread for thread in timeline}
    for message in messages:
        message.conversation = by_id[message.conversation_id]  # for its channel's words
        message.shown_attachments = attachments_of(message)  # type: ignore[attr-defined]
        message.story_url = story_link(message)  # type: ignore[attr-defined]
        # A send whose worker died mid-call may or may not have gone out: never re-sent by ALT,
        # so the person is told to look (the echo webhook, if it arrives, settles it).
        # A provider id means the provider has it (SMS waits "sending" for Twilio's status
        # callback); sent_at, restamped when a held message is claimed, is when the call began.
        message.unconfirmed = (  # type: ignore[attr-defined]
            message.status == Message.Status.SENDING
            and not message.external_id
            and message.sent_at < unconfirmed_before
        )
    return messages


def timeline_of(conversation: Conversation) -> list[Conversation]:
    """The threads shown together with `conversation`: every thread of its contact, on every
    channel (an Instagram thread and an SMS thread side by side), or only itself when it has no
    contact. `conversation` itself is in the list, as given. At most one query."""
    if conversation.contact_id is None:
        return [conversation]
    others = (
        Conversation.objects.for_workspace(conversation.workspace)
        .filter(contact_id=conversation.contact_id)
        .exclude(id=conversation.id)
        .order_by(F("last_message_at").desc(nulls_last=True), "-id")[: TIMELINE_THREADS - 1]
    )
    timeline = [conversation, *others]
    for thread in timeline:
        thread.contact = conversation.contact
    return timeline


def _messages_of(timeline: list[Conversation]) -> Any:
    return Message.objects.for_workspace(timeline[0].workspace).filter(
        conversation_id__in=[c.id for c in timeline]
    )


def messages_page(
    conversation: Conversation, *, before: str = "", timeline: list[Conversation] | None = None
) -> tuple[list[Message], str]:
    """The newest MESSAGES_PAGE messages of the timeline's threads (default: `conversation`
    alone), merged by sent_at, or those before the cursor `before`; oldest first, and the cursor
    of the older page ("" when there is none). Each message's `.conversation` is its thread.
    One query: with several threads, each thread's newest page is read from its own index
    (_newest_of_each), so a contact with 20,000 messages reads a page per thread, not all."""
    timeline = timeline or [conversation]
    parsed = cursor_parse(before) if before else None
    older_than = Q()
    if parsed is not None:
        moment, row_id = parsed
        older_than = Q(sent_at__lt=moment) | Q(sent_at=moment, id__lt=row_id)
    rows = list(
        _messages_of(timeline)
        .filter(older_than)
        .filter(_newest_of_each(timeline, parsed))
        .select_related("sent_by")
        .order_by("-sent_at", "-id")[: MESSAGES_PAGE + 1]
    )
    older = (
        cursor_for(rows[MESSAGES_PAGE - 1].sent_at, rows[MESSAGES_PAGE - 1].id)
        if len(rows) > MESSAGES_PAGE
        else ""
    )
    return _decorate(list(reversed(rows[:MESSAGES_PAGE])), timeline), older


def _newest_of_each(timeline: list[Conversation], before: tuple[datetime, int] | None) -> Q:
    # Postgres cannot merge one index's ranges for several conversation ids in order: it would
    # read and sort every message of the contact. One subquery per thread, each naming its
    # thread, takes only that thread's newest page from the message_thread index; the outer
    # query merges them. (A LATERAL over an array of ids hides the ids from the planner, which
    # then reads all 20,000 messages of a busy contact through the plain foreign-key index.)
    if len(timeline) == 1:
        return Q()
    table = Message._meta.db_table
    older = " AND (sent_at, id) < (%s, %s)" if before is not None else ""
    one = (
        f"(SELECT id FROM {table} WHERE conversation_id = %s{older} "  # noqa: S608 (the table name is ours; values are bound)
        "ORDER BY sent_at DESC, id DESC LIMIT %s)"
    )
    params: list[Any] = []
    for thread in timeline:
        params += [thread.id, *(before or ()), MESSAGES_PAGE + 1]
    sql = " UNION ALL ".join([one] * len(timeline))
    return Q(id__in=RawSQL(sql, params))  # noqa: S611 (values are bound)


def messages_since(
    conversation: Conversation,
    *,
    after_id: int,
    watching: list[int],
    timeline: list[Conversation] | None = None,
) -> tuple[list[Message], list[Message]]:
    """For the thread's poll: the messages of the timeline's threads (default: `conversation`
    alone) stored after the one with id `after_id`, oldest first, and those of `watching`
    (outgoing messages shown as queued or sending) whose status has moved on. One query."""
    timeline = timeline or [conversation]
    settled = [Message.Status.PENDING, Message.Status.SENDING]
    rows = list(
        _messages_of(timeline)
        .filter(Q(id__gt=after_id) | (Q(id__in=watching[:50]) & ~Q(status__in=settled)))
        .select_related("sent_by")
        .order_by("sent_at", "id")
    )
    new = [m for m in rows if m.id > after_id]
    changed = [m for m in rows if m.id <= after_id]
    return _decorate(new, timeline), _decorate(changed, timeline)


def conversation_mark_read(
    *, conversation: Conversation, timeline: list[Conversation] | None = None
) -> None:
    """Opening a thread reads it, and every thread shown beside it in the contact's timeline:
    unread_count 0 and read_at on their unread inbound messages. Nothing is written when nothing
    is unread. No external side effects."""
    unread = [c for c in timeline or [conversation] if c.unread_count]
    if not unread:
        return
    now = timezone.now()
    ids = [c.id for c in unread]
    with transaction.atomic():
        Message.objects.for_workspace(conversation.workspace).filter(
            conversation_id__in=ids, direction=Message.Direction.INBOUND, read_at__isnull=True
        ).update(read_at=now)
        Conversation.objects.for_workspace(conversation.workspace).filter(id__in=ids).update(
            unread_count=0
        )
    for thread in unread:
        thread.unread_count = 0


# --- the reply box -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplyOption:
    """A channel the reply box can send on: its thread, or (SMS to a contact's number with no
    thread yet) the thread to open on send, unsaved until then."""

    channel: str
    label: str
    conversation: Conversation
    window: Window | None

    @property
    def value(self) -> str:
        return self.channel


def reply_options(
    conversation: Conversation, timeline: list[Conversation]
) -> tuple[list[ReplyOption], str]:
    """The channels a reply can go out on, one per channel (its most recent thread; the open
    thread for its own channel), and the default: the channel of the contact's latest inbound
    message (the one they last used), else the open thread's. A contact with a phone and no SMS
    thread gets an SMS option when the workspace has a number (one query). No other I/O."""
    by_channel: dict[str, Conversation] = {}
    for thread in timeline:  # the open thread first, then the most recent first
        by_channel.setdefault(thread.channel, thread)
    contact = conversation.contact
    sms = Conversation.Channel.SMS
    if sms not in by_channel and contact is not None and contact.primary_phone:
        number = accounts.channel_account_for(conversation.workspace, sms)
        if number:
            by_channel[sms] = Conversation(
                workspace=conversation.workspace,
                channel=sms,
                channel_account=number,
                party_id=contact.primary_phone,
                contact=contact,
            )
    options = [
        ReplyOption(
            channel=channel,
            label=_option_label(thread),
            conversation=thread,
            window=reply_window(thread),
        )
        for channel, thread in sorted(by_channel.items())
    ]
    last_used = conversation
    for thread in timeline:
        latest = last_used.last_inbound_at
        if thread.last_inbound_at is not None and (
            latest is None or thread.last_inbound_at > latest
        ):
            last_used = thread
    return options, last_used.channel


def _option_label(thread: Conversation) -> str:
    if thread.channel == Conversation.Channel.SMS:
        return f"SMS to {phone_display(thread.party_id)}"
    handle = f" @{thread.party_handle}" if thread.party_handle else ""
    return f"{thread.get_channel_display()}{handle}"


def reply_conversation(*, option: ReplyOption) -> Conversation:
    """The thread a reply on `option` goes into: its own, or the SMS thread with the contact's
    number, opened now (INSERT ... ON CONFLICT, so two sends open one) and linked to the contact.
    No external side effects."""
    thread = option.conversation
    if thread.pk is not None:
        return thread
    opened = inbox_services.conversation_get_or_create(
        workspace=thread.workspace,
        channel=thread.channel,
        channel_account=thread.channel_account,
        party_id=thread.party_id,
    )
    if opened.contact_id is None and thread.contact is not None:
        conversation_link_contact(conversation=opened, contact=thread.contact)
    return opened


def conversation_link_contact(*, conversation: Conversation, contact: Contact) -> None:
    """Link the thread to one of the workspace's contacts. An Instagram thread also gives the
    contact its Instagram handle when it has none. No external side effects.
    Raises ValueError for a contact of another workspace."""
    if contact.workspace_id != conversation.workspace_id:
        raise ValueError("contact of another workspace")
    with transaction.atomic():
        Conversation.objects.for_workspace(conversation.workspace).filter(
            id=conversation.id
        ).update(contact=contact)
        handle = conversation.party_handle.lstrip("@")[:30]
        if (
            conversation.channel == Conversation.Channel.INSTAGRAM
            and handle
            and not contact.instagram_handle
        ):
            Contact.objects.for_workspace(contact.workspace).filter(id=contact.id).update(
                instagram_handle=handle
            )
    conversation.contact = contact


def conversation_create_lead(*, conversation: Conversation, actor: User) -> Contact:
    """A new lead from the thread's party (their name or handle; source Instagram or SMS; the
    handle, or the number), linked to the thread. Logged on the new contact's timeline like any
    contact_create. No external side effects."""
    instagram = conversation.channel == Conversation.Channel.INSTAGRAM
    handle = conversation.party_handle.lstrip("@")[:30]
    first, _, last = (conversation.party_name or handle or conversation.party_id).partition(" ")
    data = services.ContactInput(
        first_name=first[:80],
        last_name=last[:80],
        phones=[] if instagram else [conversation.party_id],
        source=Source.INSTAGRAM if instagram else Source.SMS,
    )
    with transaction.atomic():
        contact = services.contact_create(workspace=conversation.workspace, actor=actor, data=data)
        conversation_link_contact(conversation=conversation, contact=contact)
    contact.refresh_from_db()
    return contact
