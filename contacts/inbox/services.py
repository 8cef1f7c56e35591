"""The inbox's workflows, channel-agnostic: threads, messages in and out, the party's reads,
unsends, edits and reactions, the contact behind a thread and the suggestions to link one.

A channel's ingest (integrations/instagram/ingest.py, Twilio later) calls these with what the
provider said, already parsed; nothing here knows a provider's wire format. Every function runs in
one transaction and is safe to call again with the same input (providers retry and reorder):

- a thread is unique per (workspace, channel, our account, their id), opened with INSERT ... ON
  CONFLICT, so a first burst processed by several workers at once opens one;
- a message is unique per (channel, external id): a second delivery is a no-op (None);
- the thread's row is locked (SELECT ... FOR UPDATE) before a message is written to it, so its
  counters (unread, awaiting a reply, the last message) are computed from a consistent view;
- changes that name a message not stored yet (an unsend, an edit, a reaction) wait in
  MessageChange and are applied when it arrives; an unsend leaves a tombstone there, so a
  message delivered again after it was unsent is not stored again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Max, Min, Q, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.inbox.signals import message_received
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    Conversation,
    ConversationLinkSuggestion,
    Message,
    MessageChange,
)
from contacts.normalize import emails_in_text, phone_display, phones_in_text
from contacts.services import ContactInput, activity_record, contact_create

# Meta retries for up to 36 hours (EXTERNAL_APIS.md §3.5); a change is kept well beyond that.
MESSAGE_CHANGES_KEPT = timedelta(days=7)
_CHANNEL_LABEL = dict(Conversation.Channel.choices)


# --- threads -------------------------------------------------------------------------------------
def conversation_get_or_create(
    *,
    workspace: Workspace,
    channel: str,
    channel_account: str,
    party_id: str,
    party_handle: str = "",
    party_name: str = "",
) -> Conversation:
    """The thread between our `channel_account` and `party_id`, opened if new.

    One INSERT ... ON CONFLICT DO NOTHING on the unique (workspace, channel, channel_account,
    party_id): two workers ingesting a first burst at once open one thread (the second waits for
    the first's commit, then finds its row). A handle or name given for a thread that has none
    yet is filled in. No external side effects.
    """
    conversation, _created = _conversation_upsert(
        workspace=workspace,
        channel=channel,
        channel_account=channel_account,
        party_id=party_id,
        party_handle=party_handle,
        party_name=party_name,
    )
    return conversation


def _conversation_upsert(
    *,
    workspace: Workspace,
    channel: str,
    channel_account: str,
    party_id: str,
    party_handle: str,
    party_name: str,
) -> tuple[Conversation, bool]:
    table = Conversation._meta.db_table
    party_handle, party_name = party_handle[:64], party_name[:150]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, channel, channel_account, party_id, party_handle, "  # noqa: S608 (the table name is ours; values are bound)
            "party_name, unread_count, created_at) VALUES (%s, %s, %s, %s, %s, %s, 0, %s) "
            "ON CONFLICT ON CONSTRAINT conversation_one_per_party DO NOTHING RETURNING id",
            [
                workspace.id,
                channel,
                channel_account[:64],
                party_id[:64],
                party_handle,
                party_name,
                timezone.now(),
            ],
        )
        created = cursor.fetchone() is not None
        conversations = Conversation.objects.for_workspace(workspace)
        key = {
            "channel": channel,
            "channel_account": channel_account[:64],
            "party_id": party_id[:64],
        }
        if not created:
            fill = {}
            if party_handle:
                fill["party_handle"] = Case(
                    When(party_handle="", then=Value(party_handle)), default=F("party_handle")
                )
            if party_name:
                fill["party_name"] = Case(
                    When(party_name="", then=Value(party_name)), default=F("party_name")
                )
            if fill:
                conversations.filter(**key).filter(Q(party_handle="") | Q(party_name="")).update(
                    **fill
                )
        conversation = conversations.get(**key)
    conversation.workspace = workspace
    return conversation, created


def _lock_external_id(channel: str, external_id: str) -> None:
    """Serialise, until the transaction ends, everything done to one provider message id: its
    delivery, its unsend, edits and reactions may be processed by several workers at once, and
    an unsend must see the message another worker is storing (or that worker its tombstone).
    Always taken before the thread's row lock, so the two never deadlock."""
    external_ids_lock([(channel, external_id)])


def external_ids_lock(keys: Iterable[tuple[str, str]]) -> None:
    """Take the transaction-long locks of several (channel, external id) pairs at once, in one
    global order (by their hash), so two workers each processing a batch that names the same ids
    in another order wait for each other instead of deadlocking. A channel's ingest takes them
    all before it touches a thread; the services' own lock of one id is then already held. Other
    provider objects (a comment id) may be locked the same way under their own "channel" name."""
    names = sorted({f"{channel}:{external_id}" for channel, external_id in keys if external_id})
    if not names:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
            "FROM unnest(%s::text[]) AS k ORDER BY h) AS ordered",
            [names],
        )


def conversations_lock(conversations: Sequence[Conversation]) -> None:
    """Lock several threads of one workspace for the rest of the transaction, in id order (a
    batch's ingest takes them all first, workspace by workspace in id order, so two workers never
    hold one each and wait for the other's)."""
    ids = sorted({c.id for c in conversations})
    if not ids:
        return
    workspace = conversations[0].workspace
    list(
        Conversation.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id__in=ids)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _lock(conversation: Conversation) -> Conversation:
    """Re-read the thread under a row lock, for the rest of the caller's transaction."""
    locked = (
        Conversation.objects.for_workspace(conversation.workspace)
        .select_for_update(of=("self",))
        .select_related("contact", "workspace")
        .get(id=conversation.id)
    )
    if locked.contact is not None:
        locked.contact.workspace = locked.workspace  # the timeline writes read it
    return locked


# --- the contact behind a thread -----------------------------------------------------------------
def conversation_contact_ensure(
    *,
    conversation: Conversation,
    source_key: str,
    instagram_handle: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    create: bool = True,
) -> tuple[Contact | None, bool]:
    """The contact of the thread: the one already linked; else the live contact of the workspace
    with this Instagram handle, or with this phone number (E.164, an SMS thread's party; the
    oldest such contact when several share it); else, when `create`, a new lead (source
    `source_key`, the handle or the phone, and the profile's name). Returns (contact, created).

    A handle learnt later for a linked contact without one is filled in. Runs under the thread's
    row lock, so two workers never create two leads for one thread. No external side effects;
    a new contact is logged on its timeline and flagged against duplicates (contact_create).
    """
    handle = instagram_handle.lstrip("@")[:30]
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation)
        contact = conversation.contact
        if contact is not None and (contact.deleted_at or contact.merged_into_id):
            contact = None
        created = False
        if contact is None and handle:
            contact = (
                Contact.objects.for_workspace(conversation.workspace)
                .live()
                .filter(instagram_handle__iexact=handle)
                .order_by("id")
                .first()
            )
        if contact is None and phone:
            contact = (
                Contact.objects.for_workspace(conversation.workspace)
                .live()
                .filter(phones__e164=phone)
                .order_by("id")
                .first()
            )
        if contact is None and create:
            contact = contact_create(
                workspace=conversation.workspace,
                actor=None,
                data=ContactInput(
                    first_name=first_name[:80],
                    last_name=last_name[:80],
                    phones=[phone] if phone else [],
                    source=source_key,
                ),
            )
            created = True
        if contact is None:
            return None, False
        if handle and not contact.instagram_handle:
            contact.instagram_handle = handle
            Contact.objects.for_workspace(conversation.workspace).filter(id=contact.id).update(
                instagram_handle=handle
            )
        if created and not (first_name or last_name) and handle:
            # A lead made before its profile could be read has no name: the handle is the best one.
            Contact.objects.for_workspace(conversation.workspace).filter(
                id=contact.id, first_name="", last_name=""
            ).update(first_name=f"@{handle}"[:80])
        if conversation.contact_id != contact.id:
            Conversation.objects.for_workspace(conversation.workspace).filter(
                id=conversation.id
            ).update(contact=contact)
    return contact, created


def conversation_profile_fill(
    *,
    conversation: Conversation,
    party_handle: str,
    party_name: str,
    first_name: str = "",
    last_name: str = "",
) -> Conversation:
    """Fill what a channel learnt late about the party (their profile could not be read when the
    thread opened): the thread's handle and name, and a linked contact's empty handle and name.
    When the handle is another contact's, a link suggestion says so. No external side effects."""
    handle = party_handle.lstrip("@")[:30]
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation)
        updates: dict[str, Any] = {}
        if handle and not conversation.party_handle:
            updates["party_handle"] = handle
        if party_name and not conversation.party_name:
            updates["party_name"] = party_name[:150]
        if updates:
            Conversation.objects.for_workspace(conversation.workspace).filter(
                id=conversation.id
            ).update(**updates)
            for field, value in updates.items():
                setattr(conversation, field, value)
        contact = conversation.contact
        if contact is None or not handle:
            return conversation
        contacts = Contact.objects.for_workspace(conversation.workspace)
        if not contact.instagram_handle:
            contacts.filter(id=contact.id).update(instagram_handle=handle)
        if first_name or last_name:
            placeholder = Q(first_name="", last_name="") | Q(first_name=f"@{handle}", last_name="")
            contacts.filter(placeholder, id=contact.id).update(
                first_name=first_name[:80], last_name=last_name[:80]
            )
        other = (
            contacts.live()
            .filter(instagram_handle__iexact=handle)
            .exclude(id=contact.id)
            .order_by("id")
            .first()
        )
        if other is not None:
            _suggest(
                conversation,
                other,
                f"Is @{handle} on Instagram, the handle of {other.name}",
                message=None,
            )
    return conversation


# --- messages ------------------------------------------------------------------------------------
def message_ingest(
    *,
    conversation: Conversation,
    direction: str,
    author: str,
    sent_at: datetime,
    external_id: str = "",
    text: str = "",
    attachments: Sequence[dict[str, Any]] = (),
    meta: dict[str, Any] | None = None,
    status: str | None = None,
    sent_by: User | None = None,
    created_contact: bool = False,
) -> Message | None:
    """Store one message of the thread, once. Returns it, or None when a message with this
    external id is already stored (a provider's retry, or the echo of one we sent, which is then
    only confirmed: pending -> sent) or was unsent (its tombstone).

    Keeps the thread consistent under its row lock: last message, last inbound (the reply window),
    unread count and `awaiting_reply_since` (the first of their messages after the last reply a
    PERSON wrote; an automation's reply does not count, IG-8). An outgoing message the party has
    already read up to (a read receipt that came first) is stored READ. Changes that waited for
    it (an edit, a reaction) are applied.

    Side effects: a MESSAGE_IN / MESSAGE_OUT entry on the linked contact's timeline; for a new
    inbound message, `contacts.inbox.signals.message_received` after commit.
    """
    inbound = direction == Message.Direction.INBOUND
    if status is None:
        status = Message.Status.RECEIVED if inbound else Message.Status.SENT
    channel = conversation.channel
    with transaction.atomic(savepoint=False):
        if external_id:
            _lock_external_id(channel, external_id)
        conversation = _lock(conversation)
        workspace = conversation.workspace
        pending = None
        if external_id:
            pending = (
                MessageChange.objects.for_workspace(workspace)
                .filter(channel=channel, external_id=external_id)
                .first()
            )
            if pending is not None and pending.deleted:
                return None
        if (
            not inbound
            and status == Message.Status.SENT
            and conversation.party_read_at is not None
            and sent_at <= conversation.party_read_at
        ):
            status = Message.Status.READ
        message = Message(
            workspace=workspace,
            conversation=conversation,
            channel=channel,
            direction=direction,
            author=author,
            sent_by=sent_by,
            external_id=external_id[:255],
            text=text,
            attachments=list(attachments),
            meta=dict(meta or {}),
            status=status,
            sent_at=sent_at,
        )
        if pending is not None:
            _apply_changes(message, pending.changes)
        try:
            with transaction.atomic():  # a savepoint: the duplicate rolls back alone
                message.save(force_insert=True)
        except IntegrityError:
            if not external_id:
                raise
            Message.objects.for_workspace(workspace).filter(
                channel=channel, external_id=external_id, status=Message.Status.PENDING
            ).update(status=Message.Status.SENT)
            return None
        if pending is not None:
            pending.delete()
            if pending.changes.get("read"):  # a read receipt for it came first
                _read_up_to(conversation, message.sent_at)
        _count_message(conversation, message)
        _timeline(conversation, message)
        if inbound:
            transaction.on_commit(
                lambda: message_received.send(
                    sender=Message, message=message, created_contact=created_contact
                )
            )
    return message


def _count_message(conversation: Conversation, message: Message) -> None:
    """Move the thread's counters for one new message (the thread is locked)."""
    messages = Message.objects.for_workspace(conversation.workspace).filter(
        conversation=conversation
    )
    at = message.sent_at
    updates: dict[str, Any] = {"last_message_at": Greatest(F("last_message_at"), Value(at))}
    if message.direction == Message.Direction.INBOUND:
        updates["last_inbound_at"] = Greatest(F("last_inbound_at"), Value(at))
        answered = messages.filter(
            direction=Message.Direction.OUTBOUND, author=Message.Author.PERSON, sent_at__gte=at
        ).exists()
        if not answered:  # out of order: a reply written after it may have been stored first
            updates["awaiting_reply_since"] = Least(F("awaiting_reply_since"), Value(at))
            updates["unread_count"] = F("unread_count") + 1
    elif message.author == Message.Author.PERSON:
        # A person answered everything they had written until now; what they wrote after it (a
        # delivery that came late) is still waiting. A person who replies has read the thread.
        # This reply may be older than one stored before it (out of order): the latest counts.
        last_reply = messages.filter(
            direction=Message.Direction.OUTBOUND, author=Message.Author.PERSON
        ).aggregate(last=Max("sent_at"))["last"]
        updates["awaiting_reply_since"] = messages.filter(
            direction=Message.Direction.INBOUND, sent_at__gt=last_reply
        ).aggregate(first=Min("sent_at"))["first"]
        if conversation.awaiting_reply_since is None or conversation.awaiting_reply_since <= at:
            updates["unread_count"] = 0
    Conversation.objects.for_workspace(conversation.workspace).filter(id=conversation.id).update(
        **updates
    )


def _summary(message: Message) -> str:
    channel = _CHANNEL_LABEL.get(message.channel, message.channel)
    what = message.text.strip().splitlines()[0] if message.text.strip() else ""
    if not what and message.attachments:
        kinds = {str(a.get("type", "attachment")).replace("_", " ") for a in message.attachments}
        what = f"({', '.join(sorted(kinds))})"
    if not what and message.meta.get("story_reply"):
        what = "(replied to a story)"
    verb = "message from" if message.direction == Message.Direction.INBOUND else "message to"
    name = message.conversation.party_handle or message.conversation.party_name
    head = f"{channel} {verb} @{name}" if name else f"{channel} message"
    return f"{head}: {what}"[:300] if what else head


def _timeline(conversation: Conversation, message: Message) -> None:
    if conversation.contact is None:
        return
    inbound = message.direction == Message.Direction.INBOUND
    activity_record(
        contact=conversation.contact,
        kind=Activity.Kind.MESSAGE_IN if inbound else Activity.Kind.MESSAGE_OUT,
        summary=_summary(message),
        actor=message.sent_by,
        body=message.text[:5000],
        data={
            "conversation_id": conversation.id,
            "message_id": message.id,
            "channel": message.channel,
        },
        occurred_at=message.sent_at,
    )


def message_mark_sent(*, message: Message, external_id: str) -> Message:
    """Record the provider's id of an outgoing message we sent (status SENT).

    The provider's echo of it may have been ingested first, as a message a person sent from the
    phone (EXTERNAL_APIS.md §3.5: no ordering): that stand-in row is removed, with its timeline
    entry, so the thread keeps one message, ours, with its author (person or automation, IG-8).
    """
    with transaction.atomic(savepoint=False):
        _lock_external_id(message.channel, external_id)
        _lock(message.conversation)
        workspace = message.workspace
        stand_in = (
            Message.objects.for_workspace(workspace)
            .filter(channel=message.channel, external_id=external_id)
            .exclude(id=message.id)
            .first()
        )
        status = Message.Status.SENT
        if stand_in is not None:
            if stand_in.status == Message.Status.READ:
                status = Message.Status.READ
            _message_remove(stand_in)
        Message.objects.for_workspace(workspace).filter(id=message.id).update(
            external_id=external_id[:255], status=status, error=""
        )
        message.external_id, message.status, message.error = external_id[:255], status, ""
        # A delivery status the provider reported before we recorded its id (Twilio's callback
        # can beat our UPDATE after the API call) waited in MessageChange: applied now.
        pending = (
            MessageChange.objects.for_workspace(workspace)
            .filter(channel=message.channel, external_id=external_id[:255])
            .first()
        )
        if pending is not None and isinstance(pending.changes.get("status"), dict):
            _status_apply(message, pending.changes["status"])
            pending.delete()
    return message


# --- delivery status of outgoing messages --------------------------------------------------------
# Forward only (EXTERNAL_APIS.md §4.4: callbacks arrive out of order and repeated). A status ranks
# above the ones it may follow; FAILED is terminal (nothing moves a failed message but a person's
# retry), and so is DELIVERED but for READ: a failure reported after a delivery, or a delivery
# after a failure, cannot happen in practice and the first final word stays (the harsher rule:
# a message is never shown further back, nor flipped between outcomes).
_STATUS_RANK = {
    Message.Status.PENDING: 0,
    Message.Status.SENDING: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.READ: 3,
}


def status_after(current: str, reported: str) -> str:
    """The status an outgoing message has after the provider reports `reported` (pure)."""
    if current not in _STATUS_RANK:  # FAILED (terminal), or an inbound RECEIVED
        return current
    if reported == Message.Status.FAILED:
        return reported if _STATUS_RANK[current] <= _STATUS_RANK[Message.Status.SENT] else current
    if reported not in _STATUS_RANK:
        return current
    if current == Message.Status.DELIVERED and reported != Message.Status.READ:
        return current
    return reported if _STATUS_RANK[reported] > _STATUS_RANK[current] else current


def _status_apply(message: Message, change: dict[str, Any]) -> bool:
    reported = str(change.get("status") or "")
    new = status_after(message.status, reported)
    if new == message.status:
        return False
    updates: dict[str, Any] = {"status": new}
    if new == Message.Status.FAILED:
        updates["error"] = str(change.get("error") or "")[:300]
    if new == Message.Status.READ:
        updates["read_at"] = timezone.now()
    Message.objects.for_workspace(message.workspace).filter(id=message.id).update(**updates)
    for field, value in updates.items():
        setattr(message, field, value)
    return True


def message_status_advance(
    *, workspace: Workspace, channel: str, external_id: str, status: str, error: str = ""
) -> Message | None:
    """The provider reports a delivery status (Message.Status: SENT, DELIVERED, READ or FAILED
    with `error` in plain words) for our outgoing message `external_id`. The message moves
    forward only (`status_after`), so reports in any order and repeated converge. A report for a
    message whose id is not recorded yet (the callback came before our own UPDATE after the API
    call) waits in MessageChange and is applied by message_mark_sent. Returns the message when
    found, else None. No external side effects."""
    if not external_id:
        return None
    change = {"status": status, "error": error[:300]}
    with transaction.atomic(savepoint=False):
        _lock_external_id(channel, external_id)
        message = _find(workspace, channel, external_id)
        if message is None:
            pending = _change_pending(workspace, channel, external_id)
            waiting = pending.changes.get("status")
            current = str(waiting.get("status")) if isinstance(waiting, dict) else ""
            best = status_after(current or Message.Status.SENDING, status)
            if best != (current or Message.Status.SENDING):
                pending.changes = {**pending.changes, "status": change}
                pending.save(update_fields=["changes"])
            return None
        message.workspace = workspace
        _status_apply(message, change)
    return message


def _message_remove(message: Message) -> None:
    Activity.objects.for_workspace(message.workspace).filter(data__message_id=message.id).delete()
    message.delete()


def _find(workspace: Workspace, channel: str, external_id: str) -> Message | None:
    return (
        Message.objects.for_workspace(workspace)
        .filter(channel=channel, external_id=external_id)
        .select_related("conversation")
        .first()
    )


def _change_pending(
    workspace: Workspace, channel: str, external_id: str, *, deleted: bool = False
) -> MessageChange:
    """The locked change row for a message not stored (yet), created if missing."""
    changes = MessageChange.objects.for_workspace(workspace)
    try:
        with transaction.atomic():
            changes.create(workspace=workspace, channel=channel, external_id=external_id[:255])
    except IntegrityError:
        pass
    change = changes.select_for_update().get(channel=channel, external_id=external_id[:255])
    if deleted and not change.deleted:
        change.deleted, change.changes = True, {}
        change.save(update_fields=["deleted", "changes"])
    return change


def message_unsend(*, workspace: Workspace, channel: str, external_id: str) -> bool:
    """The party unsent (deleted) a message: remove it and its timeline entry, and leave a
    tombstone so a late or repeated delivery of it is not stored again. Returns True when a
    stored message was removed. No external side effects."""
    if not external_id:
        return False
    with transaction.atomic(savepoint=False):
        _lock_external_id(channel, external_id)
        _change_pending(workspace, channel, external_id, deleted=True)
        message = _find(workspace, channel, external_id)
        if message is None:
            return False
        conversation = _lock(message.conversation)
        _message_remove(message)
        _recount(conversation)
    return True


def _recount(conversation: Conversation) -> None:
    """Recompute the thread's times from its messages (after one was removed)."""
    messages = Message.objects.for_workspace(conversation.workspace).filter(
        conversation=conversation
    )
    last_reply = (
        messages.filter(direction=Message.Direction.OUTBOUND, author=Message.Author.PERSON)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    inbound = messages.filter(direction=Message.Direction.INBOUND)
    waiting = inbound.filter(sent_at__gt=last_reply) if last_reply else inbound
    Conversation.objects.for_workspace(conversation.workspace).filter(id=conversation.id).update(
        last_message_at=messages.order_by("-sent_at").values_list("sent_at", flat=True).first(),
        last_inbound_at=inbound.order_by("-sent_at").values_list("sent_at", flat=True).first(),
        awaiting_reply_since=waiting.aggregate(first=Min("sent_at"))["first"],
        unread_count=Least(F("unread_count"), Value(waiting.count())),
    )


def _apply_changes(message: Message, changes: dict[str, Any]) -> None:
    """Merge waiting changes into a message (in memory): edits by their count, the reaction by
    its time, so any order of arrival gives the same result."""
    edit = changes.get("edit")
    if isinstance(edit, dict):
        num_edit = int(edit.get("num_edit") or 0)
        current = message.meta.get("edit") or {}
        if num_edit >= int(current.get("num_edit") or 0):
            merged = {"num_edit": num_edit}
            text = edit.get("text") or (
                current.get("text") if num_edit == current.get("num_edit") else None
            )
            if text:
                merged["text"] = text
                message.text = text
            message.meta["edit"] = merged
    reaction = changes.get("reaction")
    if isinstance(reaction, dict):
        current = message.meta.get("reaction")
        if not isinstance(current, dict) or _newer(reaction, current):
            message.meta["reaction"] = reaction


def _newer(candidate: dict[str, Any], current: dict[str, Any]) -> bool:
    # ISO times in UTC compare as strings; on a tie the removal wins (the harsher reading).
    if candidate.get("at", "") != current.get("at", ""):
        return str(candidate.get("at", "")) > str(current.get("at", ""))
    return candidate.get("action") == "unreact"


def _message_change(
    *, workspace: Workspace, channel: str, external_id: str, changes: dict[str, Any]
) -> Message | None:
    with transaction.atomic(savepoint=False):
        _lock_external_id(channel, external_id)
        message = _find(workspace, channel, external_id)
        if message is None:
            pending = _change_pending(workspace, channel, external_id)
            if pending.deleted:
                return None
            holder = Message(meta={}, text="")
            _apply_changes(holder, pending.changes)
            _apply_changes(holder, changes)
            pending.changes = {
                **pending.changes,
                **{k: holder.meta[k] for k in ("edit", "reaction") if k in holder.meta},
            }
            pending.save(update_fields=["changes"])
            return None
        message = Message.objects.for_workspace(workspace).select_for_update().get(id=message.id)
        before = (message.text, dict(message.meta))
        _apply_changes(message, changes)
        if (message.text, message.meta) != before:
            message.save(update_fields=["text", "meta"])
    return message


def message_edit(
    *, workspace: Workspace, channel: str, external_id: str, num_edit: int, text: str = ""
) -> Message | None:
    """The sender edited a message: record how many times (meta "edit"), and the new text when the
    provider gave it (Instagram usually does not, EXTERNAL_APIS.md §3.5). The highest edit count
    wins whatever the order of arrival; an edit of a message not stored yet waits for it.
    Returns the stored message, or None. No external side effects."""
    edit: dict[str, Any] = {"num_edit": max(int(num_edit or 0), 0)}
    if text:
        edit["text"] = text
    return _message_change(
        workspace=workspace, channel=channel, external_id=external_id, changes={"edit": edit}
    )


def message_react(
    *,
    workspace: Workspace,
    channel: str,
    external_id: str,
    action: str,
    at: datetime,
    emoji: str = "",
    reaction: str = "",
    by: str = "party",
) -> Message | None:
    """A reaction put on (action "react") or taken off ("unreact") a message, kept in meta
    "reaction"; the latest by time wins whatever the order of arrival. Returns the stored
    message, or None (it waits for the message). No external side effects."""
    record: dict[str, Any] = {
        "action": "unreact" if action == "unreact" else "react",
        "at": at.astimezone(UTC).isoformat(),
        "by": by,
    }
    if record["action"] == "react":
        record["emoji"] = emoji[:16]
        record["reaction"] = reaction[:32]
    return _message_change(
        workspace=workspace, channel=channel, external_id=external_id, changes={"reaction": record}
    )


def conversation_read_by_party(
    *,
    workspace: Workspace,
    channel: str,
    read_at: datetime,
    external_id: str = "",
    conversation: Conversation | None = None,
) -> int:
    """The party read the thread up to a message (`external_id`): our messages sent until it
    become READ, and the point is kept on the thread (`party_read_at`) so an outgoing message
    stored later is stored READ. A receipt for a message not stored yet waits for it (applied by
    message_ingest), so any order of arrival gives the same rows. A receipt with no message id
    (Messenger's `watermark` form) reads up to `read_at` in `conversation`. Returns how many
    messages were marked. No external side effects."""
    with transaction.atomic(savepoint=False):
        if external_id:
            _lock_external_id(channel, external_id)
            message = _find(workspace, channel, external_id)
            if message is None:
                pending = _change_pending(workspace, channel, external_id)
                if not pending.deleted:
                    pending.changes = {**pending.changes, "read": True}
                    pending.save(update_fields=["changes"])
                return 0
            return _read_up_to(message.conversation, message.sent_at)
        if conversation is None:
            return 0
        return _read_up_to(conversation, read_at)


def _read_up_to(conversation: Conversation, up_to: datetime) -> int:
    workspace = conversation.workspace
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation)
        Conversation.objects.for_workspace(workspace).filter(id=conversation.id).update(
            party_read_at=Greatest(F("party_read_at"), Value(up_to))
        )
        return (
            Message.objects.for_workspace(workspace)
            .filter(
                conversation=conversation,
                direction=Message.Direction.OUTBOUND,
                status__in=[Message.Status.SENT, Message.Status.DELIVERED],
                sent_at__lte=up_to,
            )
            .update(status=Message.Status.READ, read_at=timezone.now())
        )


def message_changes_purge(*, older_than: timedelta = MESSAGE_CHANGES_KEPT) -> int:
    """Forget tombstones and waiting changes older than the providers' retry window. Returns how
    many were removed, in every workspace."""
    cutoff = timezone.now() - older_than
    removed = 0
    # Workspace by workspace, so even this sweep reads through for_workspace().
    for workspace in Workspace.objects.order_by("id").only("id").iterator():
        removed += (
            MessageChange.objects.for_workspace(workspace).filter(created_at__lt=cutoff).delete()[0]
        )
    return removed


# --- suggestions to link a thread to a contact ---------------------------------------------------
@dataclass(frozen=True)
class _Evidence:
    contact_id: int
    text: str


def link_suggestions_record(*, message: Message) -> list[ConversationLinkSuggestion]:
    """When the party wrote a phone number or an email address that belongs to another live
    contact of the workspace (not the thread's own), suggest linking the thread to it, with the
    evidence a person reads ("Wrote (415) 555-0100, the phone of Jane Doe"). Once per (thread,
    contact). No external side effects."""
    if message.direction != Message.Direction.INBOUND or not message.text:
        return []
    conversation = message.conversation
    workspace = conversation.workspace
    emails, phones = emails_in_text(message.text), phones_in_text(message.text)
    if not emails and not phones:
        return []
    found: list[_Evidence] = []
    for model, field, values, label in (
        (ContactPhone, "e164", phones, "phone"),
        (ContactEmail, "email", emails, "email"),
    ):
        if not values:
            continue
        rows = (
            model.objects.for_workspace(workspace)
            .filter(**{f"{field}__in": values})
            .filter(contact__deleted_at=None, contact__merged_into=None)
            .exclude(contact_id=conversation.contact_id)
            .values_list("contact_id", field)
        )
        for contact_id, value in rows:
            shown = phone_display(value) if label == "phone" else value
            found.append(_Evidence(contact_id, f"Wrote {shown}, the {label} of {{name}}"))
    if not found:
        return []
    contacts = Contact.objects.for_workspace(workspace).in_bulk([e.contact_id for e in found])
    suggestions = []
    for evidence in found:
        contact = contacts[evidence.contact_id]
        suggestion = _suggest(
            conversation, contact, evidence.text.format(name=contact.name), message=message
        )
        if suggestion is not None:
            suggestions.append(suggestion)
    return suggestions


def _suggest(
    conversation: Conversation, contact: Contact, evidence: str, *, message: Message | None
) -> ConversationLinkSuggestion | None:
    suggestion, _ = ConversationLinkSuggestion.objects.for_workspace(
        conversation.workspace
    ).get_or_create(
        workspace=conversation.workspace,
        conversation=conversation,
        contact=contact,
        defaults={"evidence": evidence[:300], "message": message},
    )
    return suggestion


def link_suggestions_for(conversation: Conversation) -> list[ConversationLinkSuggestion]:
    """The open suggestions of a thread (not dismissed, the contact still live and not the one
    linked), oldest first, each with its contact loaded."""
    return list(
        ConversationLinkSuggestion.objects.for_workspace(conversation.workspace)
        .filter(conversation=conversation, dismissed_at=None)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .exclude(contact_id=conversation.contact_id)
        .select_related("contact")
        .order_by("created_at", "id")
    )


def link_suggestion_dismiss(*, suggestion: ConversationLinkSuggestion) -> None:
    """ "Not this contact": the suggestion is not shown again. No external side effects."""
    ConversationLinkSuggestion.objects.for_workspace(suggestion.workspace).filter(
        id=suggestion.id
    ).update(dismissed_at=timezone.now())


def conversation_link_contact(
    *, conversation: Conversation, contact: Contact, by_user: User | None
) -> Conversation:
    """Link the thread to `contact` (a suggestion accepted, or chosen by hand): the thread's
    message entries move to that contact's timeline, the contact learns the Instagram handle if it
    had none, and the suggestion for it is closed. The contact the thread had before (often the
    lead made from the first message) is left as it is, for a person to merge or delete.

    Raises ValueError for a contact of another workspace or one that is deleted or merged."""
    if (
        contact.workspace_id != conversation.workspace_id
        or contact.deleted_at is not None
        or contact.merged_into_id is not None
    ):
        raise ValueError("That contact cannot be linked to this conversation.")
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation)
        workspace = conversation.workspace
        previous_id = conversation.contact_id
        Conversation.objects.for_workspace(workspace).filter(id=conversation.id).update(
            contact=contact
        )
        conversation.contact = contact
        if previous_id and previous_id != contact.id:
            Activity.objects.for_workspace(workspace).filter(
                contact_id=previous_id,
                kind__in=[Activity.Kind.MESSAGE_IN, Activity.Kind.MESSAGE_OUT],
                data__conversation_id=conversation.id,
            ).update(contact=contact)
        handle = conversation.party_handle
        if conversation.channel == Conversation.Channel.INSTAGRAM and handle:
            Contact.objects.for_workspace(workspace).filter(
                id=contact.id, instagram_handle=""
            ).update(instagram_handle=handle[:30])
        ConversationLinkSuggestion.objects.for_workspace(workspace).filter(
            conversation=conversation, contact=contact, dismissed_at=None
        ).update(dismissed_at=timezone.now())
        channel = _CHANNEL_LABEL.get(conversation.channel, conversation.channel)
        who = f"@{handle}" if handle else conversation.party_name or conversation.party_id
        activity_record(
            contact=contact,
            kind=Activity.Kind.UPDATED,
            actor=by_user,
            summary=f"Linked to the {channel} conversation with {who}",
            data={"conversation_id": conversation.id},
        )
    return conversation
