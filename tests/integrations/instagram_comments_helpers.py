"""Helpers of the comments and keyword trigger tests: a connected account whose token the
emulator knows, posts and comments on both sides, and a comment "arriving" as the ingest
delivers it (the row stored, then `comment_received` sent)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from alt.accounts.models import User
from contacts.models import Conversation, Message
from integrations.instagram.models import (
    InstagramAccount,
    InstagramComment,
    InstagramMedia,
    KeywordTrigger,
)
from integrations.instagram.signals import comment_received
from integrations.sandbox.instagram.core import Comment, new_id
from tests.conftest import workspace_of


def connect(user: User, instagram: Any, *, triggers_on: bool = False) -> InstagramAccount:
    """`user`'s workspace connected to a fresh emulator account (@sunset_realty)."""
    remote = instagram.add_account("sunset_realty")
    token = instagram.issue_token(remote)
    return InstagramAccount.objects.create(
        workspace=workspace_of(user),
        connected_by=user,
        ig_user_id=remote.ig_user_id,
        username="sunset_realty",
        access_token=token.value,
        connected_at=timezone.now(),
        keyword_triggers_enabled=triggers_on,
    )


def post(
    account: InstagramAccount, instagram: Any, caption: str = "3 bed in Mission Hills"
) -> InstagramMedia:
    remote = instagram.add_media(instagram.accounts[account.ig_user_id], caption)
    return InstagramMedia.objects.create(
        workspace=account.workspace, account=account, media_id=remote.media_id, caption=caption,
        permalink=remote.permalink, posted_at=timezone.now(),
    )  # fmt: skip


def comment(
    media: InstagramMedia,
    instagram: Any,
    text: str,
    *,
    from_id: str = "6543210987654321",
    username: str = "maria.buys",
    at: float | None = None,
) -> InstagramComment:
    """A comment stored on both sides (Meta's and ALT's), without the signal."""
    at = time.time() if at is None else at
    remote = Comment(
        comment_id=new_id(), ig_user_id=media.account.ig_user_id, media_id=media.media_id,
        from_id=from_id, from_username=username, text=text, at=at,
    )  # fmt: skip
    instagram.customer_commented(remote)
    return InstagramComment.objects.create(
        workspace=media.workspace, account=media.account, media=media,
        comment_id=remote.comment_id, from_id=from_id, from_username=username, text=text,
        commented_at=datetime.fromtimestamp(at, tz=UTC),
    )  # fmt: skip


def arrives(capture: Any, row: InstagramComment) -> None:
    """The ingest's side: `comment_received` after its transaction committed."""
    with capture(execute=True):
        comment_received.send(sender=InstagramComment, comment=row)


def trigger(account: InstagramAccount, user: User, **fields: Any) -> KeywordTrigger:
    values: dict[str, Any] = {
        "kind": KeywordTrigger.Kind.COMMENT_DM, "keywords": "price, info",
        "match_mode": KeywordTrigger.MatchMode.ANY, "reply_text": "Hi! Here is the price list.",
        "enabled": True, "created_by": user,
    } | fields  # fmt: skip
    return KeywordTrigger.objects.create(workspace=account.workspace, account=account, **values)


def inbound_dm(
    account: InstagramAccount, instagram: Any, text: str, party_id: str = "6543210987654321"
) -> Message:
    """An inbound DM stored as the ingest stores it (the window opened on Meta's side too)."""
    instagram.customer_messaged(account.ig_user_id, party_id)
    conversation, _ = Conversation.objects.for_workspace(account.workspace).get_or_create(
        workspace=account.workspace, channel="instagram", channel_account=account.ig_user_id,
        party_id=party_id, defaults={"party_handle": "maria.buys"},
    )  # fmt: skip
    # As the ingest does: their message opens the 24-hour window on ALT's side too.
    Conversation.objects.for_workspace(account.workspace).filter(id=conversation.id).update(
        last_inbound_at=timezone.now()
    )
    return Message.objects.create(
        workspace=account.workspace, conversation=conversation, channel="instagram",
        direction=Message.Direction.INBOUND, author=Message.Author.PARTY,
        external_id="mid." + new_id(20), text=text, status=Message.Status.RECEIVED,
    )  # fmt: skip


def sent_private_replies(instagram: Any) -> list[Any]:
    return [m for m in instagram.sent if "comment_id" in m.recipient]
