"""Keyword triggers (IG-4, IG-8): a comment or DM whose text matches a trigger's keywords gets
the reply its owner configured.

- Matching is pure and Unicode-aware: NFKC (full-width letters, ligatures and composed accents
  compare equal), casefold (ß = ss), emoji variation selectors ignored (❤ = ❤️), runs of
  white space as one space. Modes: `any` (any keyword as a whole word: not inside a longer word
  of letters or digits), `exact` (the whole text equals a keyword) and `contains` (a substring,
  the mode for scripts written without spaces, such as Chinese or Japanese).
- Firing: the receivers of `comment_received` and `message_received` only enqueue a task. The
  task records one KeywordTriggerFiring per (trigger, comment) or (trigger, message) under a
  unique constraint (a duplicate signal or a retried task finds it and stops) and sends the
  firing task, which claims it by a conditional UPDATE and sends.
- Nothing fires unless the account's `keyword_triggers_enabled` and the trigger's `enabled` are
  both on (IG-4), checked when matching and again when sending; never for our own comments or
  echoes; never while the conversation's `automation_paused_until` is ahead (a person replied).
- The first automated message to a person says it is automated (comments.with_disclosure).
  Automated messages never carry the HUMAN_AGENT tag.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from alt.accounts.models import User
from contacts.inbox.sending import SendRefused, message_send
from contacts.models import Conversation, Message
from integrations.instagram.client import InstagramError
from integrations.instagram.comments import (
    ReplyRefused,
    comment_private_reply,
    comment_reply_public,
    private_reply_refusal,
    with_disclosure,
)
from integrations.instagram.models import (
    InstagramAccount,
    InstagramComment,
    InstagramMedia,
    KeywordTrigger,
    KeywordTriggerFiring,
)

log = logging.getLogger(__name__)

MAX_KEYWORDS = 30
_SEPARATORS = re.compile(r"[,،、;]")  # NFKC already turned the full-width comma into ","
_VARIATION_SELECTORS = dict.fromkeys([0xFE0E, 0xFE0F])


# --- matching (pure) -------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """The form texts and keywords are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_VARIATION_SELECTORS).casefold()
    return " ".join(text.split())


def keyword_list(raw: str) -> list[str]:
    """The keywords of a comma-separated list, normalised, empty ones dropped, each once."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(unicodedata.normalize("NFKC", raw)):
        keyword = normalize(part)
        if keyword:
            seen.setdefault(keyword, None)
    return list(seen)


def text_matches(text: str, keywords: list[str], mode: str) -> bool:
    """Whether `text` matches any of the (normalised) `keywords` under `mode`."""
    subject = normalize(text)
    if not subject or not keywords:
        return False
    if mode == KeywordTrigger.MatchMode.EXACT:
        return subject in keywords
    if mode == KeywordTrigger.MatchMode.CONTAINS:
        return any(k in subject for k in keywords)
    # ANY: a whole word. \w is Unicode-aware, so "price" is not found in "prices" or "précieux",
    # and a keyword that is itself an emoji or punctuation only needs no letter glued to it.
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", subject) for k in keywords)


def trigger_matches_comment(trigger: KeywordTrigger, comment: InstagramComment) -> bool:
    """Scope (every post, or the trigger's one post) and text."""
    if trigger.media_id is not None and trigger.media_id != comment.media_id:
        return False
    return text_matches(comment.text, keyword_list(trigger.keywords), trigger.match_mode)


# --- settings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TriggerInput:
    name: str
    kind: str
    keywords: str
    match_mode: str
    media: InstagramMedia | None
    reply_text: str
    public_reply_text: str
    enabled: bool


def access_trigger(account: InstagramAccount, trigger_id: int | str) -> KeywordTrigger:
    """The account's trigger with this id, or Http404 (another workspace's or account's too)."""
    trigger: KeywordTrigger = (
        KeywordTrigger.objects.for_workspace(account.workspace)
        .filter(account=account)
        .select_related("media")
        .get_or_404("trigger", id=trigger_id)
    )
    return trigger


def trigger_save(
    *, account: InstagramAccount, actor: User, data: TriggerInput, trigger: KeywordTrigger | None
) -> KeywordTrigger:
    """Create or update a trigger. A comment-only post scope is dropped for DM triggers. The
    editor becomes the person on whose authority it sends (IG-8). No side effects beyond the row."""
    media = data.media if data.kind == KeywordTrigger.Kind.COMMENT_DM else None
    public_reply = data.public_reply_text if data.kind == KeywordTrigger.Kind.COMMENT_DM else ""
    fields = {
        "name": data.name,
        "kind": data.kind,
        "keywords": data.keywords,
        "match_mode": data.match_mode,
        "media": media,
        "reply_text": data.reply_text,
        "public_reply_text": public_reply,
        "enabled": data.enabled,
        "created_by": actor,
        "updated_at": timezone.now(),
    }
    if trigger is None:
        created: KeywordTrigger = KeywordTrigger.objects.create(
            workspace=account.workspace, account=account, **fields
        )
        return created
    for name, value in fields.items():
        setattr(trigger, name, value)
    trigger.save()
    return trigger


def triggers_switch(*, account: InstagramAccount, enabled: bool) -> None:
    """Switch every keyword trigger of the account on or off at once (IG-4)."""
    InstagramAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
        keyword_triggers_enabled=enabled
    )
    account.keyword_triggers_enabled = enabled


# --- receivers: only enqueue -----------------------------------------------------------------------
def on_comment_received(sender: Any, comment: InstagramComment, **kwargs: Any) -> None:
    from integrations.instagram.comment_tasks import keyword_triggers_match_comment

    keyword_triggers_match_comment.delay_on_commit(comment.workspace_id, comment.id)


def on_message_received(sender: Any, message: Message, **kwargs: Any) -> None:
    if message.channel != Conversation.Channel.INSTAGRAM:
        return
    from integrations.instagram.comment_tasks import keyword_triggers_match_message

    keyword_triggers_match_message.delay_on_commit(message.workspace_id, message.id)


# --- matching into firings ------------------------------------------------------------------------
def _live_triggers(account: InstagramAccount, kind: str) -> list[KeywordTrigger]:
    if not account.is_connected or not account.keyword_triggers_enabled:  # IG-4
        return []
    return list(
        KeywordTrigger.objects.for_workspace(account.workspace)
        .filter(account=account, kind=kind, enabled=True)
        .order_by("id")
    )


def _record_firing(trigger: KeywordTrigger, **target: Any) -> KeywordTriggerFiring | None:
    """The new firing, or None when this trigger already fired for this target."""
    try:
        with transaction.atomic():
            firing: KeywordTriggerFiring = KeywordTriggerFiring.objects.create(
                workspace=trigger.workspace, trigger=trigger, **target
            )
            return firing
    except IntegrityError:  # the unique (trigger, comment) / (trigger, message): fired already
        return None


def triggers_match_comment(*, comment: InstagramComment) -> list[KeywordTriggerFiring]:
    """Record a firing for each switched-on comment trigger the comment matches (once per
    trigger and comment) and send the firing tasks on commit. Our own comments never match."""
    from integrations.instagram.comment_tasks import keyword_trigger_fire

    account = comment.account
    if comment.is_ours or comment.from_id == account.ig_user_id:
        return []
    firings = []
    for trigger in _live_triggers(account, KeywordTrigger.Kind.COMMENT_DM):
        if trigger_matches_comment(trigger, comment):
            firing = _record_firing(trigger, comment=comment)
            if firing is not None:
                firings.append(firing)
                keyword_trigger_fire.delay_on_commit(firing.workspace_id, firing.id)
    return firings


def triggers_match_message(*, message: Message) -> list[KeywordTriggerFiring]:
    """Record a firing for each switched-on DM trigger an inbound DM matches (once per trigger
    and message) and send the firing tasks on commit. Echoes and our own messages never match."""
    from integrations.instagram.comment_tasks import keyword_trigger_fire

    if message.direction != Message.Direction.INBOUND or message.author != Message.Author.PARTY:
        return []
    conversation = message.conversation
    account = _account_of(conversation)
    if account is None or conversation.party_id == account.ig_user_id:
        return []
    firings = []
    for trigger in _live_triggers(account, KeywordTrigger.Kind.DM_REPLY):
        if text_matches(message.text, keyword_list(trigger.keywords), trigger.match_mode):
            firing = _record_firing(trigger, message=message)
            if firing is not None:
                firings.append(firing)
                keyword_trigger_fire.delay_on_commit(firing.workspace_id, firing.id)
    return firings


def _account_of(conversation: Conversation) -> InstagramAccount | None:
    return (
        InstagramAccount.objects.for_workspace(conversation.workspace)
        .filter(ig_user_id=conversation.channel_account)
        .exclude(status=InstagramAccount.Status.DISCONNECTED)
        .first()
    )


# --- firing ---------------------------------------------------------------------------------------
def firing_claim(*, firing_id: int, workspace: Any) -> KeywordTriggerFiring | None:
    """Claim a pending firing for this task (conditional UPDATE pending → sending): the firing,
    or None when another task has it or it is done."""
    claimed = (
        KeywordTriggerFiring.objects.for_workspace(workspace)
        .filter(id=firing_id, state=KeywordTriggerFiring.State.PENDING)
        .update(state=KeywordTriggerFiring.State.SENDING)
    )
    if not claimed:
        return None
    firing: KeywordTriggerFiring = (
        KeywordTriggerFiring.objects.for_workspace(workspace)
        .select_related("trigger__account", "comment__account", "message__conversation")
        .get(id=firing_id)
    )
    return firing


def firing_give_up(*, firing: KeywordTriggerFiring, error: InstagramError) -> None:
    """End a firing whose transient failures outlasted the retries: failed, with the reason."""
    _finish(firing, KeywordTriggerFiring.State.FAILED, f"Gave up after retries: {error.message}")


def _finish(firing: KeywordTriggerFiring, state: str, detail: str = "") -> None:
    firing.state = state
    firing.detail = detail[:300]
    firing.finished_at = timezone.now()
    firing.save(update_fields=["state", "detail", "finished_at", "reply_message", "public_reply"])


def _paused(conversation: Conversation | None) -> bool:
    until = conversation.automation_paused_until if conversation else None
    return until is not None and until > timezone.now()


def trigger_fire(*, firing: KeywordTriggerFiring) -> None:
    """Do what a claimed firing's trigger says: for a comment, the private reply DM (and the
    optional public reply); for a DM, the auto-reply. Re-checks IG-4 and the human pause first.
    Ends the firing sent, skipped or failed. External calls: the Send API, POST /replies.
    Raises InstagramError when transient (the firing is pending again, for the task's retry)."""
    trigger = firing.trigger
    account = trigger.account
    if not (account.is_connected and account.keyword_triggers_enabled and trigger.enabled):
        return _finish(firing, firing.State.SKIPPED, "Keyword triggers were switched off.")
    try:
        if firing.comment is not None:
            _fire_on_comment(firing, firing.comment)
        elif firing.message is not None:
            _fire_on_message(firing, firing.message)
    except ReplyRefused as refused:
        _finish(firing, firing.State.SKIPPED, refused.message)
    except InstagramError as exc:
        if exc.permanent:
            _finish(firing, firing.State.FAILED, exc.message)
        else:
            firing.state = firing.State.PENDING
            firing.save(update_fields=["state", "reply_message"])
            raise


def _fire_on_comment(firing: KeywordTriggerFiring, comment: InstagramComment) -> None:
    trigger = firing.trigger
    conversation = (
        Conversation.objects.for_workspace(firing.workspace)
        .filter(
            channel=Conversation.Channel.INSTAGRAM,
            channel_account=trigger.account.ig_user_id,
            party_id=comment.from_id,
        )
        .first()
    )
    if _paused(conversation):
        raise ReplyRefused("Paused: a person replied to this contact.")
    comment.account = trigger.account
    refusal = private_reply_refusal(comment)
    if refusal:
        raise ReplyRefused(refusal)
    firing.reply_message = comment_private_reply(
        comment=comment, text=trigger.reply_text, trigger=trigger
    )
    detail = ""
    if trigger.public_reply_text:
        try:
            firing.public_reply = comment_reply_public(
                comment=comment, text=trigger.public_reply_text, trigger=trigger
            )
        except (ReplyRefused, InstagramError) as exc:  # the DM went out; say what did not
            detail = f"The private reply went out; the public reply failed: {exc.message}"
    _finish(firing, firing.State.SENT, detail)


def _fire_on_message(firing: KeywordTriggerFiring, message: Message) -> None:
    """The DM auto-reply goes through the inbox's one sender (contacts.inbox.sending): the row is
    written first, the send task claims it, retries transient failures and records Meta's id or a
    failure the agent sees on the message with its Retry. The firing is done once it is queued."""
    conversation = message.conversation
    if _paused(conversation):
        raise ReplyRefused("Paused: a person replied to this contact.")
    trigger = firing.trigger
    text = with_disclosure(conversation, trigger.account, trigger.reply_text.strip())
    try:
        firing.reply_message = message_send(
            conversation=conversation,
            text=text,
            author=Message.Author.AUTOMATION,  # never HUMAN_AGENT-tagged (IG-8)
            sent_by=None,
            meta={"trigger_id": trigger.id},
        )
    except SendRefused as refused:  # the 24-hour window closed, the account went away, ...
        raise ReplyRefused(str(refused)) from refused
    _finish(firing, firing.State.SENT, "Queued in the thread; its delivery shows on the message.")
