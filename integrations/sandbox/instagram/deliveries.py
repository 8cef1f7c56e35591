"""Meta calling ALT: realistic Instagram webhook deliveries, signed as Meta signs them.

Builders return plain dicts in the shapes of EXTERNAL_APIS.md §3.5 (Meta's documented samples and
the "checked against real deliveries" list), keys in the order they were observed where that
differs from the docs. `deliver_signed` serialises with `meta_body` (non-ASCII as lowercase
\\uXXXX, "/" as "\\/") and signs those exact bytes with X-Hub-Signature-256 (§3.5, §9 item 12).

Compose: `delivery(entry(account_id, messaging=[message(...), echo(...)]), entry(...))`. Each
builder names its source. Times are milliseconds for messaging items and seconds for comment
entries, as in Meta's samples (§3.5); `timestamp_as_string` gives the string form Meta's
dashboard test sends.

Plain Python with httpx, no Django: usable from tests, benchmarks and the sandbox UI.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from integrations.sandbox.instagram.core import Comment
from integrations.sandbox.webhooks import deliver, meta_body, meta_signer

Payload = dict[str, Any]


def new_mid() -> str:
    """A message id shaped like Meta's (base64 of "ig_item:1:IGMessageID:...", §3.5)."""
    return "aWdfZAG1faXRlbToxOklHTWVzc2FnZA" + secrets.token_urlsafe(30)


def now_ms() -> int:
    return int(time.time() * 1000)


def _stamp(timestamp: int | None, as_string: bool) -> int | str:
    value = now_ms() if timestamp is None else timestamp
    return str(value) if as_string else value


# --- messaging items (entry.messaging[] / entry.standby[]) ---------------------------------------
def message(
    account_id: str,
    sender_id: str,
    text: str | None = "Hi, is this available?",
    *,
    mid: str | None = None,
    attachments: list[Payload] | None = None,
    timestamp: int | None = None,
    timestamp_as_string: bool = False,
    **extra: Any,
) -> Payload:
    """A customer's DM (§3.5 "Message event", Meta's sample shape). `extra` adds optional keys
    of `message` (reply_to, referral, quick_reply, is_deleted, is_unsupported, is_self)."""
    body: Payload = {"mid": mid or new_mid()}
    if text is not None:
        body["text"] = text
    if attachments:
        body["attachments"] = attachments
    body.update(extra)
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": account_id},
        "timestamp": _stamp(timestamp, timestamp_as_string),
        "message": body,
    }


def echo(
    account_id: str,
    recipient_id: str,
    text: str | None = "Yes, it is! Want to see it Saturday?",
    *,
    mid: str | None = None,
    timestamp: int | None = None,
    **extra: Any,
) -> Payload:
    """A message the business sent (from ALT or the Instagram app): `is_echo`, sender and
    recipient flipped (§3.5, §9 item 11)."""
    item = message(
        recipient_id, account_id, text, mid=mid, timestamp=timestamp, is_echo=True, **extra
    )
    item["sender"], item["recipient"] = {"id": account_id}, {"id": recipient_id}
    return item


def unsend(
    account_id: str,
    sender_id: str,
    mid: str,
    *,
    as_string: bool = False,
    timestamp: int | None = None,
) -> Payload:
    """The customer unsent a message: `is_deleted: true` (§3.5), or the string "true" seen in a
    2021 capture (§3.5 "checked against real deliveries")."""
    return message(
        account_id,
        sender_id,
        None,
        mid=mid,
        timestamp=timestamp,
        is_deleted="true" if as_string else True,
    )


def read(
    account_id: str,
    sender_id: str,
    mid: str,
    *,
    with_parties: bool = True,
    timestamp: int | None = None,
) -> Payload:
    """A read receipt (`messaging_seen`, §3.5); captured with no sender or recipient as well."""
    item: Payload = {"timestamp": _stamp(timestamp, False), "read": {"mid": mid}}
    if with_parties:
        item = {"sender": {"id": sender_id}, "recipient": {"id": account_id}, **item}
    return item


def reaction(
    account_id: str,
    sender_id: str,
    mid: str,
    *,
    action: str = "react",
    emoji: str = "\u2764\ufe0f",
    kind: str = "love",
    timestamp: int | None = None,
) -> Payload:
    """A reaction (`message_reactions`, §3.5): `reaction` and `emoji` are left out on unreact."""
    body: Payload = {"mid": mid, "action": action}
    if action == "react":
        body.update({"reaction": kind, "emoji": emoji})
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": account_id},
        "timestamp": _stamp(timestamp, False),
        "reaction": body,
    }


def edit(
    account_id: str,
    sender_id: str,
    mid: str,
    *,
    num_edit: int = 1,
    text: str | None = None,
    timestamp: int | None = None,
) -> Payload:
    """An edit (`message_edit`): Instagram Login deliveries carry only `mid` and `num_edit`, no
    text (§3.5 "checked against real deliveries"); Messenger's docs show a `text`."""
    body: Payload = {"mid": mid, "num_edit": num_edit}
    if text is not None:
        body["text"] = text
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": account_id},
        "timestamp": _stamp(timestamp, False),
        "message_edit": body,
    }


def postback(
    account_id: str,
    sender_id: str,
    *,
    title: str = "Book a showing",
    payload: str = "BOOK_SHOWING",
    mid: str | None = None,
    timestamp: int | None = None,
) -> Payload:
    """A tapped button (`messaging_postbacks`, §3.5)."""
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": account_id},
        "timestamp": _stamp(timestamp, False),
        "postback": {"mid": mid or new_mid(), "title": title, "payload": payload},
    }


def ad_referral(ad_id: str = "6045246247433", ref: str = "spring-open-house") -> Payload:
    """The `referral` of a message sent from an ad (§3.5: ref, ad_id, source ADS, OPEN_THREAD)."""
    return {
        "ref": ref,
        "ad_id": ad_id,
        "source": "ADS",
        "type": "OPEN_THREAD",
        "ads_context_data": {
            "ad_title": "3-bed in Sunset, open house Saturday",
            "photo_url": "https://scontent.cdninstagram.com/ad/photo.jpg",
        },
    }


def referral(account_id: str, sender_id: str, *, timestamp: int | None = None) -> Payload:
    """A thread opened from an ad, before any message (`messaging_referral`, §3.5)."""
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": account_id},
        "timestamp": _stamp(timestamp, False),
        "referral": {"ref": "spring-open-house", "source": "ADS", "type": "OPEN_THREAD"},
    }


def story_reply(
    account_id: str,
    sender_id: str,
    text: str = "Is this one still for sale?",
    *,
    story_id: str = "17887498072083520",
    story_url: str = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17887498072083520",
    **kwargs: Any,
) -> Payload:
    """A reply to the account's story: `reply_to.story` with its url and id (§3.5)."""
    return message(
        account_id,
        sender_id,
        text,
        reply_to={"story": {"url": story_url, "id": story_id}},
        **kwargs,
    )


def story_mention(
    account_id: str,
    sender_id: str,
    *,
    story_url: str = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17999&signature=abc",
    **kwargs: Any,
) -> Payload:
    """The customer mentioned the account in their story: a message with no text and one
    `story_mention` attachment whose payload.url links the story (§3.5)."""
    return message(
        account_id,
        sender_id,
        None,
        attachments=[attachment("story_mention", url=story_url)],
        **kwargs,
    )


# --- attachments ---------------------------------------------------------------------------------
_CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="


def attachment(kind: str, **payload: Any) -> Payload:
    """One attachment of `message.attachments[]` as observed for each type (§3.5): most carry
    payload.url; ig_reel has reel_video_id/title/url; ig_post ig_post_media_id/title/url;
    ig_story story_media_id/story_media_url; template an empty generic.elements;
    unsupported_type no payload at all."""
    defaults: dict[str, Payload] = {
        "image": {"url": f"{_CDN}1001&type=image"},
        "video": {"url": f"{_CDN}1002&type=video"},
        "audio": {"url": f"{_CDN}1003&type=audio"},
        "file": {"url": f"{_CDN}1004&type=file"},
        "media": {"url": f"{_CDN}1005"},
        "share": {"url": "https://www.instagram.com/p/C1a2b3c4d5e/"},
        "reel": {"url": "https://www.instagram.com/reel/C9z8y7x6w5v/", "reel_video_id": "1798"},
        "story_mention": {"url": f"{_CDN}17999&signature=abc"},
        "ig_reel": {
            "reel_video_id": "18023456789012345",
            "title": "Sunset views from the deck",
            "url": "https://www.instagram.com/reel/C9z8y7x6w5v/",
        },
        "ig_post": {
            "ig_post_media_id": "17918195224117851",
            "title": "Just listed: 3 bed, 2 bath",
            "url": "https://www.instagram.com/p/C1a2b3c4d5e/",
        },
        "ig_story": {
            "story_media_id": "17887498072083520",
            "story_media_url": f"{_CDN}17887498072083520",
        },
        "template": {"generic": {"elements": []}},
    }
    if kind == "unsupported_type":
        return {"type": kind}
    return {"type": kind, "payload": {**defaults.get(kind, {}), **payload}}


ATTACHMENT_TYPES = (
    "image", "video", "audio", "file", "media", "share", "reel", "story_mention", "ig_reel",
    "ig_post", "ig_story", "template", "unsupported_type",
)  # fmt: skip


# --- comments (changes[] and the flat form) ------------------------------------------------------
def comment_value(
    *,
    comment_id: str,
    from_id: str,
    from_username: str,
    text: str = "How much?",
    media_id: str = "17918195224117851",
    media_product_type: str = "FEED",
    parent_id: str | None = None,
    id_key: str = "id",
) -> Payload:
    """A comment's `value` (§3.5): `id` (Instagram Login) or `comment_id` (the Facebook-Login
    variant), `parent_id` only on replies."""
    value: Payload = {
        id_key: comment_id,
        "from": {"id": from_id, "username": from_username},
        "text": text,
        "media": {"id": media_id, "media_product_type": media_product_type},
    }
    if parent_id:
        value["parent_id"] = parent_id
    return value


def comment_change(field: str = "comments", **value: Any) -> Payload:
    """One `changes[]` item as observed: `value` before `field` (§3.5 key order)."""
    return {"value": comment_value(**value), "field": field}


# --- envelopes -----------------------------------------------------------------------------------
def entry(
    account_id: str,
    *,
    messaging: list[Payload] | None = None,
    standby: list[Payload] | None = None,
    changes: list[Payload] | None = None,
    time_s: int | None = None,
    time_first: bool = False,
) -> Payload:
    """One `entry[]` of a delivery. Messaging entries carry `time` in ms, comment entries in
    seconds (Meta's samples, §3.5); `time_first` puts `time` before `id`, as observed."""
    when = int(time.time()) if time_s is None else time_s
    stamp = when if changes and not messaging else when * 1000
    out: Payload = (
        {"time": stamp, "id": account_id} if time_first else {"id": account_id, "time": stamp}
    )
    if messaging is not None:
        out["messaging"] = messaging
    if standby is not None:
        out["standby"] = standby
    if changes is not None:
        out["changes"] = changes
    return out


def flat_comment_entry(account_id: str, field: str = "comments", **value: Any) -> Payload:
    """The shape of the Business Login docs page: `field`/`value` on the entry itself, no
    `changes` wrapper (§3.5, §9 item 11)."""
    return {
        "id": account_id,
        "time": int(time.time()),
        "field": field,
        "value": comment_value(**value),
    }


def delivery(*entries: Payload, object_last: bool = False) -> Payload:
    """A whole POST body. `object_last` puts "object" after "entry", as observed in comment
    deliveries (§3.5 key order)."""
    if object_last:
        return {"entry": list(entries), "object": "instagram"}
    return {"object": "instagram", "entry": list(entries)}


# --- delivering ----------------------------------------------------------------------------------
def deliver_signed(
    url: str,
    payload: Payload | bytes,
    app_secret: str,
    *,
    emulator: Any = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST a delivery to ALT as Meta does: the body as Meta serialises it (or the exact bytes
    given) with X-Hub-Signature-256 over those bytes. Returns ALT's answer.

    With `emulator` (an InstagramEmulator), the emulator learns what the delivery says happened
    first, as Meta's side would: a customer's message opens the 24-hour window for the Send API
    (customer_messaged) and a comment becomes one that can get a private reply
    (customer_commented)."""
    body = payload if isinstance(payload, bytes) else meta_body(payload)
    if emulator is not None:
        emulator_observe(emulator, payload if isinstance(payload, dict) else None)
    return deliver(url, body, meta_signer(app_secret), timeout=timeout)


def emulator_observe(emulator: Any, payload: Payload | None) -> None:
    """Tell the emulator what a delivery says happened on Meta's side (see deliver_signed)."""
    if payload is None:
        return
    for item_entry in payload.get("entry") or []:
        account_id = str(item_entry.get("id", ""))
        for item in [*(item_entry.get("messaging") or []), *(item_entry.get("standby") or [])]:
            body = item.get("message") or {}
            if body and not body.get("is_echo") and not body.get("is_deleted"):
                sender = str((item.get("sender") or {}).get("id", ""))
                stamp = float(item.get("timestamp") or now_ms())
                emulator.customer_messaged(account_id, sender, stamp / 1000)
        changes = list(item_entry.get("changes") or [])
        if "field" in item_entry:
            changes.append({"field": item_entry["field"], "value": item_entry.get("value")})
        for change in changes:
            value = change.get("value") or {}
            if change.get("field") not in ("comments", "live_comments"):
                continue
            emulator.customer_commented(
                Comment(
                    comment_id=str(value.get("id") or value.get("comment_id")),
                    ig_user_id=account_id,
                    media_id=str((value.get("media") or {}).get("id", "")),
                    from_id=str((value.get("from") or {}).get("id", "")),
                    from_username=str((value.get("from") or {}).get("username", "")),
                    text=str(value.get("text", "")),
                    parent_id=str(value.get("parent_id") or ""),
                )
            )
