"""What a stored Instagram delivery means, acted on (EXTERNAL_APIS.md §3.5).

Two halves:
- `parse_delivery(payload)`: pure. Reads every shape Meta sends, defensively: several entries and
  several items per POST; `entry.messaging[]`, `entry.standby[]`, `entry.changes[]` (comments, and
  messaging items in `value`, as the dashboard's test button sends them) and the flat
  `entry.field` / `entry.value`; `timestamp` as a number or a string, in ms or s; messages with
  text, attachments of every documented type or neither; echoes, unsends (`is_deleted` true or
  "true"), reads with or without parties, edits (usually without text), reactions, postbacks,
  ad referrals, story replies and mentions. `is_self` test messages and unknown items are skipped.
- `delivery_process(body)`, and `deliveries_prepare(bodies)` for a drain's batch of them: the
  worker's part. Finds each entry's live account, learns who new people are (the User Profile
  API, before any lock is taken; a failure loses nothing, the lead is made without a handle and
  filled in from a later message), takes every lock the batch needs in one global order, then
  hands each event to the channel-agnostic inbox services
  (contacts/inbox/services.py) and stores comments. Any order and any repetition of deliveries
  converge to the same rows (the services' unique external ids, tombstones and waiting changes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alt.accounts.models import Workspace
from contacts.inbox import services as inbox
from contacts.models import Contact, Conversation, Message
from integrations.instagram import client
from integrations.instagram.models import InstagramAccount, InstagramComment, InstagramMedia
from integrations.instagram.signals import comment_received

log = logging.getLogger(__name__)

CHANNEL = Conversation.Channel.INSTAGRAM
# How stale an account's `last_event_at` may be.
LAST_EVENT_PRECISION = timedelta(minutes=1)
# Profile lookups per delivery at most (a delivery holds up to 1000 updates, §3.5); the others
# are looked up when those people write again.
MAX_PROFILE_LOOKUPS = 20
_MESSAGING_FIELDS = {
    "messages",
    "messaging_seen",
    "message_reactions",
    "messaging_postbacks",
    "messaging_referral",
    "message_edit",
    "standby",
}
_COMMENT_FIELDS = {"comments", "live_comments"}
# A timestamp outside these bounds is not believed (a year 9999 would pin a thread to the top).
_EARLIEST = datetime(2010, 10, 6, tzinfo=UTC)  # Instagram's launch
_FUTURE_SLACK = timedelta(days=1)


# --- parsing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DmEvent:
    """One messaging item, with the roles settled: `party_id` is the customer, whoever sent it."""

    kind: Literal["message", "postback", "unsend", "read", "reaction", "edit", "referral"]
    account_id: str
    party_id: str  # "" for a read receipt captured without sender and recipient
    from_business: bool  # an echo: sent by the account (from ALT or the Instagram app)
    at: datetime
    mid: str = ""
    text: str = ""
    attachments: tuple[dict[str, str], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    num_edit: int = 0
    action: str = ""  # reaction: "react" / "unreact"
    emoji: str = ""
    reaction: str = ""


@dataclass(frozen=True)
class CommentEvent:
    account_id: str
    field: str  # "comments" or "live_comments"
    comment_id: str
    from_id: str
    from_username: str
    text: str
    media_id: str
    media_product_type: str
    parent_id: str
    at: datetime


Event = DmEvent | CommentEvent


def parse_delivery(payload: Any) -> list[Event]:
    """Every event of a delivery, in delivery order. Never raises on odd shapes: what cannot be
    read is skipped (and logged)."""
    events: list[Event] = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        account_id = _id(entry.get("id"))
        entry_at = _when(entry.get("time"), timezone.now())
        items: list[Any] = [*_list(entry.get("messaging")), *_list(entry.get("standby"))]
        changes = _list(entry.get("changes"))
        if "field" in entry and "value" in entry:  # the flat form of the docs page (§9 item 11)
            changes.append({"field": entry.get("field"), "value": entry.get("value")})
        for change in changes:
            if not isinstance(change, dict):
                continue
            name = str(change.get("field") or "")
            if name in _COMMENT_FIELDS:
                comment = _comment(account_id, name, change.get("value"), entry_at)
                if comment is not None:
                    events.append(comment)
            elif name in _MESSAGING_FIELDS:
                items.append(change.get("value"))
        for item in items:
            event = _messaging(account_id, item, entry_at)
            if event is not None:
                events.append(event)
    return events


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or value is None:
        return ""
    return str(value)[:64]


def _str(value: Any, limit: int = 2000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _when(value: Any, fallback: datetime) -> datetime:
    """Meta's timestamps: a number or a numeric string, in milliseconds (messaging items) or
    seconds (comment entries, the dashboard's test). Anything else, or an absurd date, is the
    fallback."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fallback
    if number > 1e11:  # milliseconds: 1e11 s would be the year 5138
        number /= 1000
    try:
        moment = datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return fallback
    if moment < _EARLIEST or moment > timezone.now() + _FUTURE_SLACK:
        return fallback
    return moment


def _attachments(value: Any) -> tuple[dict[str, str], ...]:
    """Attachments as the inbox shows them: {"type", "url", and "title" / "id" when given}."""
    out = []
    for item in _list(value)[:20]:
        if not isinstance(item, dict):
            continue
        kind = _str(item.get("type"), 40) or "attachment"
        payload = _dict(item.get("payload"))
        shown: dict[str, str] = {"type": kind}
        url = (
            _str(payload.get("url"))
            or _str(payload.get("story_media_url"))
            or _str(payload.get("link"))
        )
        if url:
            shown["url"] = url
        title = _str(payload.get("title"), 300)
        if not title and isinstance(payload.get("generic"), dict):
            elements = _list(payload["generic"].get("elements"))
            first = elements[0] if elements and isinstance(elements[0], dict) else {}
            title = _str(first.get("title"), 300)
        if title:
            shown["title"] = title
        for key in ("reel_video_id", "ig_post_media_id", "story_media_id"):
            if payload.get(key) is not None:
                shown["id"] = _id(payload.get(key))
        out.append(shown)
    return tuple(out)


def _messaging(account_id: str, item: Any, entry_at: datetime) -> DmEvent | None:
    if not isinstance(item, dict):
        return None
    sender, recipient = _id(item.get("sender")), _id(item.get("recipient"))
    at = _when(item.get("timestamp"), entry_at)
    from_business = bool(sender) and sender == account_id
    base: dict[str, Any] = {"account_id": account_id, "at": at}

    def party(echo: bool) -> str:
        return recipient if echo else sender

    body = item.get("message")
    if isinstance(body, dict):
        echo = from_business or _truthy(body.get("is_echo"))
        if _truthy(body.get("is_self")):  # a test message to oneself (§3.5)
            return None
        mid = _str(body.get("mid"), 255)
        if _truthy(body.get("is_deleted")):
            return DmEvent("unsend", **base, party_id=party(echo), from_business=echo, mid=mid)
        if not mid or not party(echo):
            return None
        attachments = _attachments(body.get("attachments"))
        return DmEvent(
            "message",
            **base,
            party_id=party(echo),
            from_business=echo,
            mid=mid,
            text=_str(body.get("text"), 20000),
            attachments=attachments,
            meta=_message_meta(body, attachments),
        )
    for key, kind in (("read", "read"), ("reaction", "reaction"), ("message_edit", "edit")):
        value = item.get(key)
        if not isinstance(value, dict):
            continue
        if kind == "read" and value.get("watermark") is not None:
            base["at"] = _when(value.get("watermark"), at)  # Messenger's older receipt form
        return DmEvent(
            kind,  # type: ignore[arg-type]
            **base,
            party_id=party(from_business),
            from_business=from_business,
            mid=_str(value.get("mid"), 255),
            text=_str(value.get("text"), 20000),
            num_edit=_int(value.get("num_edit")),
            action=_str(value.get("action"), 10),
            emoji=_str(value.get("emoji"), 16),
            reaction=_str(value.get("reaction"), 32),
        )
    postback = item.get("postback")
    if isinstance(postback, dict) and party(from_business):
        title = _str(postback.get("title"), 1000)
        mid = _str(postback.get("mid"), 255) or f"postback:{sender}:{int(at.timestamp() * 1000)}"
        return DmEvent(
            "postback",
            **base,
            party_id=party(from_business),
            from_business=from_business,
            mid=mid,
            text=title,
            meta={"postback": {"title": title, "payload": _str(postback.get("payload"), 1000)}},
        )
    if isinstance(item.get("referral"), dict) and party(from_business):
        return DmEvent(
            "referral",
            **base,
            party_id=party(from_business),
            from_business=from_business,
            meta={"referral": _referral(item["referral"])},
        )
    return None


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _referral(value: dict[str, Any]) -> dict[str, Any]:
    out = {k: _str(value.get(k), 300) for k in ("ref", "ad_id", "source", "type") if value.get(k)}
    if value.get("ad_id") is not None:
        out["ad_id"] = _id(value.get("ad_id"))
    context = value.get("ads_context_data")
    if isinstance(context, dict):
        out["ad_title"] = _str(context.get("ad_title"), 300)
        out["ad_photo_url"] = _str(context.get("photo_url"))
    return out


def _message_meta(body: dict[str, Any], attachments: tuple[dict[str, str], ...]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    reply_to = body.get("reply_to")
    if isinstance(reply_to, dict):
        story = reply_to.get("story")
        if isinstance(story, dict):
            meta["story_reply"] = {"id": _id(story.get("id")), "url": _str(story.get("url"))}
        elif reply_to.get("mid"):
            meta["reply_to"] = _str(reply_to.get("mid"), 255)
    for shown in attachments:
        if shown["type"] == "story_mention":
            meta["story_mention"] = {"url": shown.get("url", "")}
    if isinstance(body.get("referral"), dict):
        meta["referral"] = _referral(body["referral"])
    quick_reply = body.get("quick_reply")
    if isinstance(quick_reply, dict):
        meta["quick_reply"] = _str(quick_reply.get("payload"), 1000)
    if _truthy(body.get("is_unsupported")) or any(
        a["type"] == "unsupported_type" for a in attachments
    ):
        meta["unsupported"] = True
    return meta


def _comment(account_id: str, name: str, value: Any, entry_at: datetime) -> CommentEvent | None:
    if not isinstance(value, dict):
        return None
    comment_id = _id(value.get("id")) or _id(value.get("comment_id"))  # §3.5: both seen
    if not comment_id:
        return None
    sender, media = _dict(value.get("from")), _dict(value.get("media"))
    return CommentEvent(
        account_id=account_id,
        field=name,
        comment_id=comment_id[:32],
        from_id=_id(sender.get("id"))[:32],
        from_username=_str(sender.get("username"), 30),
        text=_str(value.get("text"), 20000),
        media_id=_id(media.get("id"))[:32],
        media_product_type=_str(media.get("media_product_type"), 16),
        parent_id=_id(value.get("parent_id"))[:32],
        at=_when(value.get("timestamp") or value.get("created_time"), entry_at),
    )


# --- processing ----------------------------------------------------------------------------------
def delivery_process(body: bytes) -> None:
    """Act on one stored delivery (the webhook receiver's `process`). Safe to run again on the same
    body, and on overlapping bodies in any order.

    Side effects: Graph API profile lookups (GET /<IGSID>) for people not known yet; rows in the
    inbox (threads, messages, leads, timeline entries, link suggestions) and InstagramComment /
    InstagramMedia; `message_received` and `comment_received` after commit; each account's
    `last_event_at`. Raises ValueError for a body that is not JSON (it was checked on arrival).
    """
    with transaction.atomic(savepoint=False):
        deliveries_prepare({0: body})(0)


def deliveries_prepare(bodies: Mapping[int, bytes]) -> Callable[[int], None]:
    """The shared half of processing several stored deliveries (the webhook receiver's `prepare`),
    done once for all: their accounts, the profiles of new people (before any lock), every lock the
    batch needs in one global order, every thread it writes to. Returns the other half: acting on
    one delivery's events by its key, which the caller runs per delivery (in its own savepoint).
    Must run inside the caller's transaction, which then holds the locks until it ends.

    Side effects: as `delivery_process`, for all the deliveries; the returned function raises
    ValueError for a body that is not JSON (the others are not affected).
    """
    parsed: dict[int, list[Event]] = {}
    unreadable: dict[int, ValueError] = {}
    for key, body in bodies.items():
        try:
            parsed[key] = parse_delivery(json.loads(body))
        except ValueError as exc:  # UnicodeDecodeError too
            unreadable[key] = exc
    events = [event for batch in parsed.values() for event in batch]
    accounts: dict[str, InstagramAccount | None] = {}
    for event in events:
        if event.account_id not in accounts:
            accounts[event.account_id] = InstagramAccount.objects.live_by_ig_user_id(
                event.account_id
            )
    live = [e for e in events if accounts.get(e.account_id) is not None]
    profiles, unreachable = _profiles(live, accounts, limit=MAX_PROFILE_LOOKUPS * len(bodies))
    _lock_all(live, accounts)
    threads = _threads(live, accounts, profiles)
    for thread_key in unreachable & set(threads):
        _profile_fill_later(threads[thread_key])
    now = timezone.now()
    for account in {a.id: a for a in accounts.values() if a is not None}.values():
        # At most once a minute: the row stays locked until the batch commits, and the
        # connection's health panel does not need it finer.
        InstagramAccount.objects.for_workspace(account.workspace).filter(
            Q(last_event_at=None) | Q(last_event_at__lt=now - LAST_EVENT_PRECISION), id=account.id
        ).update(last_event_at=now)

    def act(key: int) -> None:
        if key in unreadable:
            raise unreadable[key]
        for event in parsed[key]:
            account = accounts.get(event.account_id)
            if account is None:
                continue
            if isinstance(event, CommentEvent):
                _comment_store(account, event)
            else:
                _dm_apply(account, event, threads, profiles)

    return act


def _needs_thread(event: Event) -> bool:
    return (
        isinstance(event, DmEvent)
        and event.kind in ("message", "postback")
        and bool(event.party_id)
    )


def _profiles(
    events: list[Event],
    accounts: dict[str, InstagramAccount | None],
    *,
    limit: int = MAX_PROFILE_LOOKUPS,
) -> tuple[dict[tuple[str, str], client.InstagramProfile], set[tuple[str, str]]]:
    """The profiles of the people this batch opens or names a thread with that ALT has no handle
    for yet, and the people whose lookup failed for a passing reason (tried again later by
    instagram_profile_fill). Looked up before any lock is held; failures are logged."""
    wanted: dict[tuple[str, str], InstagramAccount] = {}
    for event in events:
        account = accounts[event.account_id]
        if account is not None and _needs_thread(event):
            assert isinstance(event, DmEvent)
            wanted.setdefault((account.ig_user_id, event.party_id), account)
    found: dict[tuple[str, str], client.InstagramProfile] = {}
    unreachable: set[tuple[str, str]] = set()
    if not wanted:
        return found, unreachable
    known: set[tuple[str, str]] = set()
    for account in {a.id: a for a in wanted.values()}.values():
        known.update(
            (account.ig_user_id, party_id)
            for party_id in Conversation.objects.for_workspace(account.workspace)
            .filter(
                channel=CHANNEL,
                channel_account=account.ig_user_id,
                party_id__in=[p for (a, p) in wanted if a == account.ig_user_id],
            )
            .exclude(party_handle="")
            .values_list("party_id", flat=True)
        )
    lookups = [key for key in wanted if key not in known][:limit]
    for key in lookups:
        account = wanted[key]
        if not account.access_token:
            continue
        try:
            found[key] = client.user_profile(token=account.access_token, igsid=key[1])
        except client.InstagramError as exc:
            log.info(
                "instagram profile of %s unavailable (%s %s): the lead waits for a handle",
                key[1],
                exc.meta_code,
                exc.code,
            )
            if not exc.permanent:
                unreachable.add(key)
    return found, unreachable


def _profile_fill_later(conversation: Conversation) -> None:
    from integrations.instagram.tasks import instagram_profile_fill  # the task calls this module

    instagram_profile_fill.delay_on_commit(conversation.workspace_id, conversation.id)


def profile_fill(*, workspace_id: int, conversation_id: int) -> None:
    """Look up the profile of a thread's party whose lookup failed while ingesting, and fill the
    thread and its lead (handle, name) with it. Nothing to do when the thread already has a
    handle, the account is no longer live, or Meta refuses for good (logged).
    Side effects: one Graph API call. Raises InstagramError for a transient failure (retried)."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    conversation = Conversation.objects.for_workspace(workspace).filter(id=conversation_id).first()
    if conversation is None or conversation.party_handle:
        return
    account = InstagramAccount.objects.live_by_ig_user_id(conversation.channel_account)
    if account is None or account.workspace_id != workspace_id or not account.access_token:
        return
    try:
        profile = client.user_profile(token=account.access_token, igsid=conversation.party_id)
    except client.InstagramError as exc:
        if not exc.permanent:
            raise
        log.info("instagram profile of %s refused (%s)", conversation.party_id, exc.meta_code)
        return
    first, last = _split_name(profile.name)
    inbox.conversation_profile_fill(
        conversation=conversation,
        party_handle=profile.username,
        party_name=profile.name,
        first_name=first,
        last_name=last,
    )


def _lock_all(events: list[Event], accounts: dict[str, InstagramAccount | None]) -> None:
    keys: list[tuple[str, str]] = []
    for event in events:
        if isinstance(event, CommentEvent):
            keys.append(("instagram-comment", event.comment_id))
            if event.media_id:
                keys.append(("instagram-media", f"{event.account_id}:{event.media_id}"))
        elif event.mid:
            keys.append((CHANNEL, event.mid))
    inbox.external_ids_lock(keys)


def _threads(
    events: list[Event],
    accounts: dict[str, InstagramAccount | None],
    profiles: dict[tuple[str, str], client.InstagramProfile],
) -> dict[tuple[str, str], Conversation]:
    """Open (or find) every thread the batch writes to, in one order, then lock them all. A read
    receipt only finds a thread: it never opens one."""
    wanted: dict[tuple[str, str], InstagramAccount] = {}
    reads: dict[tuple[str, str], InstagramAccount] = {}
    for event in events:
        account = accounts[event.account_id]
        if account is not None and isinstance(event, DmEvent) and event.party_id:
            if event.kind in ("message", "postback"):
                wanted.setdefault((account.ig_user_id, event.party_id), account)
            elif event.kind == "read":
                reads.setdefault((account.ig_user_id, event.party_id), account)
    threads: dict[tuple[str, str], Conversation] = {}
    for (account_id, party_id), account in reads.items():
        if (account_id, party_id) in wanted:
            continue
        found = (
            Conversation.objects.for_workspace(account.workspace)
            .filter(channel=CHANNEL, channel_account=account_id, party_id=party_id)
            .first()
        )
        if found is not None:
            threads[(account_id, party_id)] = found
    for key in sorted(wanted, key=lambda k: (wanted[k].workspace_id, k)):
        account, profile = wanted[key], profiles.get(key)
        threads[key] = inbox.conversation_get_or_create(
            workspace=account.workspace,
            channel=CHANNEL,
            channel_account=account.ig_user_id,
            party_id=key[1],
            party_handle=profile.username if profile else "",
            party_name=profile.name if profile else "",
        )
    by_workspace: dict[int, list[Conversation]] = {}
    for conversation in threads.values():
        by_workspace.setdefault(conversation.workspace_id, []).append(conversation)
    for workspace_id in sorted(by_workspace):
        inbox.conversations_lock(by_workspace[workspace_id])
    return threads


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _dm_apply(
    account: InstagramAccount,
    event: DmEvent,
    threads: dict[tuple[str, str], Conversation],
    profiles: dict[tuple[str, str], client.InstagramProfile],
) -> None:
    workspace: Workspace = account.workspace
    key = (account.ig_user_id, event.party_id)
    if event.kind == "unsend":
        inbox.message_unsend(workspace=workspace, channel=CHANNEL, external_id=event.mid)
    elif event.kind == "read":
        if not event.from_business:  # the customer read our messages
            inbox.conversation_read_by_party(
                workspace=workspace,
                channel=CHANNEL,
                read_at=event.at,
                external_id=event.mid,
                conversation=threads.get(key),
            )
    elif event.kind == "edit":
        inbox.message_edit(
            workspace=workspace,
            channel=CHANNEL,
            external_id=event.mid,
            num_edit=event.num_edit,
            text=event.text,
        )
    elif event.kind == "reaction":
        inbox.message_react(
            workspace=workspace,
            channel=CHANNEL,
            external_id=event.mid,
            action=event.action,
            at=event.at,
            emoji=event.emoji,
            reaction=event.reaction,
            by="business" if event.from_business else "party",
        )
    elif event.kind in ("message", "postback"):
        _dm_store(threads[key], event, profiles.get(key))
    else:  # a thread opened from an ad, no message yet: shown with the first message's referral
        log.info("instagram referral without a message from %s: nothing to store", event.party_id)


def _dm_store(
    conversation: Conversation, event: DmEvent, profile: client.InstagramProfile | None
) -> None:
    first, last = _split_name(profile.name) if profile else ("", "")
    handle = profile.username if profile else ""
    created = False
    if conversation.contact_id is None or profile is not None:  # else nothing to learn
        _contact, created = inbox.conversation_contact_ensure(
            conversation=conversation,
            source_key="instagram",
            instagram_handle=handle,
            first_name=first,
            last_name=last,
            create=not event.from_business,  # a lead is someone who wrote to us
        )
    if profile is not None and not created:
        inbox.conversation_profile_fill(
            conversation=conversation,
            party_handle=handle,
            party_name=profile.name,
            first_name=first,
            last_name=last,
        )
    message = inbox.message_ingest(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND if event.from_business else Message.Direction.INBOUND,
        # An echo not matching a message ALT sent was written by a person on the Instagram app.
        author=Message.Author.PERSON if event.from_business else Message.Author.PARTY,
        external_id=event.mid,
        text=event.text,
        attachments=event.attachments,
        meta=event.meta,
        sent_at=event.at,
        created_contact=created,
    )
    if message is not None and not event.from_business:
        inbox.link_suggestions_record(message=message)


def _comment_store(account: InstagramAccount, event: CommentEvent) -> None:
    workspace = account.workspace
    media = None
    if event.media_id:
        media, _ = InstagramMedia.objects.for_workspace(workspace).get_or_create(
            workspace=workspace,
            account=account,
            media_id=event.media_id,
            defaults={"media_product_type": event.media_product_type},
        )
    comments = InstagramComment.objects.for_workspace(workspace)
    if comments.filter(comment_id=event.comment_id).exists():
        return
    contact = None
    if event.from_username:
        contact = (
            Contact.objects.for_workspace(workspace)
            .live()
            .filter(instagram_handle__iexact=event.from_username)
            .order_by("id")
            .first()
        )
    try:
        with transaction.atomic():
            comment = comments.create(
                workspace=workspace,
                account=account,
                media=media,
                comment_id=event.comment_id,
                parent_comment_id=event.parent_id,
                from_id=event.from_id,
                from_username=event.from_username,
                text=event.text,
                commented_at=event.at,
                contact=contact,
                is_ours=event.from_id == account.ig_user_id,
            )
    except IntegrityError:  # stored meanwhile under another workspace's live account
        return
    if not comment.is_ours:
        transaction.on_commit(
            lambda: comment_received.send(sender=InstagramComment, comment=comment)
        )
