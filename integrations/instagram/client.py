"""The only module that talks to Meta's Instagram API with Instagram Login (EXTERNAL_APIS.md §3).

Plain httpx through integrations/http.py (no official Python SDK for this API); every base URL
comes from settings. Functions take the token they need and return our own dataclasses. Errors
never leave as httpx exceptions or raw JSON: they become `InstagramError` (an IntegrationError)
keyed on Meta's `error.code` / `error_subcode`, never on the HTTP status, which Meta does not keep
consistent (§3.10, §9 item 13):

- code 190, 102          permanent, `needs_reconnect`: the token is dead (expired, revoked,
                         password changed); the account must be connected again
- code 10 / 2534022      permanent, `window_closed`: outside the 24-hour messaging window (§3.6)
- codes 4, 17, 32, 613, 80002, 1, 2, 368, `is_transient: true`, HTTP 5xx, timeouts and
                         connection errors: transient (the task retries with backoff)
- anything else          permanent, with Meta's message kept for staff and a plain one for people

The api.instagram.com code exchange answers errors in another shape
(`{"error_type", "code", "error_message"}`, §3.2, §9 item 14); `_raise_for` reads both.

Each feature adds its calls below the shared part, in its own section.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from alt.lib.errors import IntegrationError
from integrations.http import http_client

_TRANSIENT_CODES = {1, 2, 4, 17, 32, 368, 613, 80002}
_RECONNECT_CODES = {190, 102}
WINDOW_CLOSED_SUBCODE = 2534022


class InstagramError(IntegrationError):
    """A failed Instagram call. `meta_code` / `meta_subcode` are Meta's; `code` is ours:
    "needs_reconnect", "window_closed", "rate_limited", "transient" or "rejected"."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        meta_code: int | None = None,
        meta_subcode: int | None = None,
        meta_message: str = "",
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, code=code)
        self.meta_code = meta_code
        self.meta_subcode = meta_subcode
        self.meta_message = meta_message

    @property
    def needs_reconnect(self) -> bool:
        return self.code == "needs_reconnect"

    @property
    def window_closed(self) -> bool:
        return self.code == "window_closed"


def graph_client() -> httpx.Client:
    """An httpx client on graph.instagram.com (INSTAGRAM_GRAPH_API_URL). Use as a context manager."""
    return http_client(
        base_url_setting="INSTAGRAM_GRAPH_API_URL",
        timeout_setting="INSTAGRAM_HTTP_TIMEOUT_SECONDS",
    )


def versioned(path: str) -> str:
    """'/me' -> 'v23.0/me' (relative to the Graph base URL, whose path it keeps)."""
    return f"{settings.INSTAGRAM_GRAPH_API_VERSION}/{path.lstrip('/')}"


def error_from_body(status: int, body: Any) -> InstagramError:
    """Meta's error body (either shape) as an InstagramError."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # the Graph shape (§3.10)
        meta_code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        meta_message = str(error.get("message", ""))[:300]
        transient_flag = error.get("is_transient") is True
    elif isinstance(body, dict) and "error_type" in body:  # api.instagram.com (§3.2)
        meta_code = _int(body.get("code"))
        subcode = None
        meta_message = str(body.get("error_message", ""))[:300]
        transient_flag = False
    else:
        meta_code, subcode, meta_message, transient_flag = None, None, "", False
    if meta_code in _RECONNECT_CODES:
        return InstagramError(
            "Instagram no longer accepts ALT's access: connect the account again.",
            permanent=True,
            status=status,
            code="needs_reconnect",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    if meta_code == 10 and subcode == WINDOW_CLOSED_SUBCODE:
        return InstagramError(
            "Instagram only allows replies within 24 hours of the person's last message. "
            "Wait for them to write again.",
            permanent=True,
            status=status,
            code="window_closed",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    if (
        meta_code in _TRANSIENT_CODES
        or transient_flag
        or status >= 500
        or (meta_code is None and status == 429)
    ):
        return InstagramError(
            "Instagram is busy or limiting requests; ALT will try again shortly.",
            permanent=False,
            status=status,
            code="rate_limited" if meta_code in {4, 17, 32, 613, 80002} else "transient",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    return InstagramError(
        f"Instagram refused the request: {meta_message or f'HTTP {status}'}",
        permanent=True,
        status=status,
        code="rejected",
        meta_code=meta_code,
        meta_subcode=subcode,
        meta_message=meta_message,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    token: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """One call; the parsed JSON object on 2xx, else InstagramError. The token goes in the
    Authorization header (never in a URL that could be logged). Raises InstagramError."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses
        raise InstagramError(
            "Instagram could not be reached; ALT will try again shortly.",
            permanent=False,
            code="transient",
            meta_message=type(exc).__name__,
        ) from exc
    return _parse_json(response)


def _parse_json(response: httpx.Response, *, exact_ids: bool = False) -> dict[str, Any]:
    """The JSON object of a 2xx answer, else InstagramError (Meta's error, or transient for a
    body that is not a JSON object). `exact_ids` reads every integer as its digits (parse_int=str),
    so a user_id beyond 2^53 stays exact (§3.2, §9 item 9)."""
    try:
        body = json.loads(response.content, parse_int=str if exact_ids else int)
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    if response.is_success:
        raise InstagramError(
            "Instagram answered with something ALT does not understand.",
            permanent=False,
            status=response.status_code,
            code="transient",
        )
    raise error_from_body(response.status_code, body)


# --- Messaging ----------------------------------------------------------------------------------
HUMAN_AGENT_TAG = "HUMAN_AGENT"


@dataclass(frozen=True)
class SentMessage:
    """What the Send API answered: Meta's id of the new message (the `mid` its echo webhook will
    carry) and the recipient's IGSID (absent for private replies to comments)."""

    message_id: str
    recipient_id: str = ""


def send_message(
    *, token: str, ig_user_id: str, recipient_id: str, text: str, human_agent: bool = False
) -> SentMessage:
    """Send a text DM from the professional account `ig_user_id` to the IGSID `recipient_id`
    (POST /vNN/<ig_user_id>/messages, JSON, Bearer token; EXTERNAL_APIS.md §3.6).

    `human_agent=True` adds `"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"`, which lets a
    reply a person wrote go out up to 7 days after the customer's last message instead of 24 h.
    Only the caller knows who wrote it: it must never be set for automated messages (IG-8).

    Side effect: the message is delivered on Instagram. Raises InstagramError: `window_closed`
    (code 10 / 2534022), `needs_reconnect` (190), transient (rate limits, 5xx, timeouts) or
    `rejected` (e.g. text over 1000 characters, or a 200 without a message id).
    """
    body: dict[str, Any] = {"recipient": {"id": recipient_id}, "message": {"text": text}}
    if human_agent:
        body |= {"messaging_type": "MESSAGE_TAG", "tag": HUMAN_AGENT_TAG}
    with graph_client() as client:
        answer = request_json(
            client, "POST", versioned(f"/{ig_user_id}/messages"), token=token, json=body
        )
    message_id = answer.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        # It may have gone out: retrying could send it twice, so a person decides.
        raise InstagramError(
            "Instagram gave no message id: check on Instagram whether it arrived before retrying.",
            permanent=True,
            code="rejected",
        )
    return SentMessage(message_id=message_id, recipient_id=str(answer.get("recipient_id") or ""))


# --- Connect ---------------------------------------------------------------------------------
# The Instagram Login flow (EXTERNAL_APIS.md §3.1-§3.4): code -> short-lived token (api.instagram
# .com) -> long-lived token (graph.instagram.com, unversioned) -> /me -> webhook subscription.

# IG-1: exactly these five, in Instagram Login's names (the business_* ones were retired).
SCOPES = (
    "instagram_business_basic",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
)
# The webhook fields ALT subscribes each account to (§3.4).
WEBHOOK_FIELDS = ("messages", "comments")
ME_FIELDS = "user_id,username,name,account_type,profile_picture_url"


@dataclass(frozen=True)
class ShortLivedToken:
    access_token: str
    app_user_id: str  # the app-scoped id (§3.2), NOT the id webhooks use (§9 item 10)
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class LongLivedToken:
    access_token: str
    expires_at: datetime
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    ig_user_id: str  # /me user_id: the professional account id of webhooks' entry[].id (§3.4)
    app_user_id: str  # /me id
    username: str
    name: str
    account_type: str
    profile_picture_url: str


def _id_string(value: Any) -> str:
    """An id as Meta sent it (a string, or a JSON number beyond 2^53) as its exact digits."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):  # a float already lost the digits: refuse rather than store junk
        raise InstagramError(
            "Instagram sent an account id ALT cannot read.", permanent=True, code="rejected"
        )
    return str(value).strip()


def _permissions(value: Any) -> tuple[str, ...]:
    """`permissions` as an array (observed) or a comma-joined string (documented), §3.2."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list):
        return tuple(str(p).strip() for p in value if str(p).strip())
    return ()


def parse_short_lived_token(body: dict[str, Any]) -> ShortLivedToken:
    """Read the code exchange's answer in either shape (§3.2, §9 item 9): the documented
    `{"data": [{...}]}` with a string user_id, or the observed flat object with a numeric one.
    Raises InstagramError (permanent) when neither carries a token and a user id."""
    item: Any = body
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        item = data[0]
    token = str(item.get("access_token") or "") if isinstance(item, dict) else ""
    user_id = _id_string(item.get("user_id")) if isinstance(item, dict) else ""
    if not token or not user_id.isdigit():
        raise InstagramError(
            "Instagram's answer to the sign-in had no access token.",
            permanent=True,
            code="rejected",
        )
    return ShortLivedToken(
        access_token=token, app_user_id=user_id, permissions=_permissions(item.get("permissions"))
    )


def code_exchange(code: str) -> ShortLivedToken:
    """Trade the callback's code for a short-lived token (POST api.instagram.com/oauth/
    access_token, §3.2). External call. Raises InstagramError: permanent for a used, expired or
    unknown code and a redirect_uri mismatch (api.instagram.com's error shape)."""
    form = {
        "client_id": settings.INSTAGRAM_APP_ID,
        "client_secret": settings.INSTAGRAM_APP_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": settings.INSTAGRAM_OAUTH_REDIRECT_URL,
        "code": code,
    }
    try:
        with httpx.Client(
            timeout=float(settings.INSTAGRAM_HTTP_TIMEOUT_SECONDS), follow_redirects=False
        ) as client:
            response = client.post(settings.INSTAGRAM_OAUTH_TOKEN_URL, data=form)
    except httpx.HTTPError as exc:
        raise InstagramError(
            "Instagram could not be reached; try again in a minute.",
            permanent=False,
            code="transient",
            meta_message=type(exc).__name__,
        ) from exc
    body = _parse_json(response, exact_ids=True)
    # The exchange's ids are numbers in the flat shape: parse_int kept them as digit strings.
    return parse_short_lived_token(body)


def _long_lived_from(body: dict[str, Any]) -> LongLivedToken:
    token = str(body.get("access_token") or "")
    try:
        expires_in = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in = 0
    if not token or expires_in <= 0:
        raise InstagramError(
            "Instagram's token answer had no token.", permanent=True, code="rejected"
        )
    return LongLivedToken(
        access_token=token,
        expires_at=timezone.now() + timedelta(seconds=expires_in),
        permissions=_permissions(body.get("permissions")),
    )


def long_lived_token_exchange(short_lived_token: str) -> LongLivedToken:
    """Trade a short-lived token (1 hour) for a long-lived one (60 days): GET graph.instagram.com
    /access_token?grant_type=ig_exchange_token (§3.3). The secret goes in the query as Meta
    requires; nothing logs these URLs. External call. Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            "access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": settings.INSTAGRAM_APP_SECRET,
                "access_token": short_lived_token,
            },
        )
    return _long_lived_from(body)


def long_lived_token_refresh(token: str) -> LongLivedToken:
    """A fresh 60-day token for a long-lived one at least 24 hours old and unexpired: GET
    /refresh_access_token?grant_type=ig_refresh_token (§3.3). External call. Raises
    InstagramError; `needs_reconnect` (code 190) when the token is expired or revoked."""
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            "refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": token},
        )
    return _long_lived_from(body)


def profile_fetch(token: str) -> Profile:
    """The connected professional account: GET /vNN/me?fields=user_id,username,... (§3.4).
    External call. Raises InstagramError."""
    with graph_client() as client:
        response = client.get(
            versioned("me"),
            params={"fields": ME_FIELDS},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = _parse_json(response, exact_ids=True)
    ig_user_id = _id_string(body.get("user_id"))
    if not ig_user_id.isdigit():
        raise InstagramError(
            "Instagram did not say which professional account this is.",
            permanent=True,
            code="rejected",
        )
    return Profile(
        ig_user_id=ig_user_id,
        app_user_id=_id_string(body.get("id")),
        username=str(body.get("username") or "")[:30],
        name=str(body.get("name") or "")[:150],
        account_type=str(body.get("account_type") or "")[:20],
        profile_picture_url=str(body.get("profile_picture_url") or "")[:1000],
    )


def webhooks_subscribe(token: str) -> None:
    """Subscribe the account to ALT's webhook fields (messages, comments): POST /vNN/me/
    subscribed_apps?subscribed_fields=... (§3.4). Without it Meta delivers nothing.
    External call. Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client,
            "POST",
            versioned("me/subscribed_apps"),
            token=token,
            params={"subscribed_fields": ",".join(WEBHOOK_FIELDS)},
        )
    if body.get("success") is not True:
        raise InstagramError(
            "Instagram did not confirm the webhook subscription.",
            permanent=False,
            code="transient",
        )


# --- Comments ---------------------------------------------------------------------------------
# Recent posts and their comments, public replies, private replies (EXTERNAL_APIS.md §3.6, §3.7),
# and the plain-text DM a keyword trigger sends (never with the HUMAN_AGENT tag: IG-8, §3.6).

MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp"
COMMENT_FIELDS = "id,text,timestamp,from,username,parent_id"


@dataclass(frozen=True)
class MediaItem:
    media_id: str
    caption: str
    media_type: str
    media_product_type: str
    permalink: str
    posted_at: datetime | None


@dataclass(frozen=True)
class CommentItem:
    comment_id: str
    text: str
    from_id: str
    from_username: str
    parent_id: str
    commented_at: datetime | None


def parse_graph_time(value: Any) -> datetime | None:
    """Meta's '2019-04-05T07:56:32+0000' (§3.9) as an aware datetime; None when absent or odd."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _paged(
    client: httpx.Client, url: str, *, token: str, params: dict[str, str], limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` rows of a Graph edge, following `paging.cursors.after` while `next` exists."""
    rows: list[dict[str, Any]] = []
    query = dict(params, limit=str(min(limit, 100)))
    while len(rows) < limit:
        body = request_json(client, "GET", url, token=token, params=query)
        data = body.get("data")
        page = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
        rows.extend(page)
        paging: dict[str, Any] = body["paging"] if isinstance(body.get("paging"), dict) else {}
        cursors = paging.get("cursors")
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if not page or not paging.get("next") or not after:
            break
        query = dict(query, after=str(after))
    return rows[:limit]


def recent_media(*, token: str, ig_user_id: str, limit: int = 25) -> list[MediaItem]:
    """The account's most recent posts, newest first (GET /<IG_ID>/media). No side effects.
    Raises InstagramError."""
    with graph_client() as client:
        rows = _paged(
            client,
            versioned(f"{ig_user_id}/media"),
            token=token,
            params={"fields": MEDIA_FIELDS},
            limit=limit,
        )
    return [
        MediaItem(
            media_id=str(row.get("id", "")),
            caption=str(row.get("caption") or ""),
            media_type=str(row.get("media_type") or ""),
            media_product_type=str(row.get("media_product_type") or ""),
            permalink=str(row.get("permalink") or ""),
            posted_at=parse_graph_time(row.get("timestamp")),
        )
        for row in rows
        if row.get("id")
    ]


def media_comments(*, token: str, media_id: str, limit: int = 50) -> list[CommentItem]:
    """A post's top-level comments, newest first (GET /<MEDIA_ID>/comments). No side effects.
    `from` is only there when the app may see the commenter; `username` is the fallback.
    Raises InstagramError."""
    with graph_client() as client:
        rows = _paged(
            client,
            versioned(f"{media_id}/comments"),
            token=token,
            params={"fields": COMMENT_FIELDS},
            limit=limit,
        )
    items = []
    for row in rows:
        if not row.get("id"):
            continue
        sender: dict[str, Any] = row["from"] if isinstance(row.get("from"), dict) else {}
        items.append(
            CommentItem(
                comment_id=str(row["id"]),
                text=str(row.get("text") or ""),
                from_id=str(sender.get("id") or ""),
                from_username=str(sender.get("username") or row.get("username") or ""),
                parent_id=str(row.get("parent_id") or ""),
                commented_at=parse_graph_time(row.get("timestamp")),
            )
        )
    return items


def comment_reply(*, token: str, comment_id: str, text: str) -> str:
    """Reply publicly under a comment (POST /<COMMENT_ID>/replies, §3.7); returns the new
    comment's id. Side effect: the reply is public on Instagram. Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client, "POST", versioned(f"{comment_id}/replies"), token=token, data={"message": text}
        )
    reply_id = str(body.get("id") or "")
    if not reply_id:
        raise InstagramError(
            "Instagram did not confirm the reply.", permanent=False, code="transient"
        )
    return reply_id


def send_private_reply(*, token: str, ig_user_id: str, comment_id: str, text: str) -> SentMessage:
    """Send the one private reply a comment allows, as a DM to its author (Send API with
    `recipient.comment_id`, §3.6: within 7 days of the comment, once). Never tagged HUMAN_AGENT.
    Side effect: a DM on Instagram. Raises InstagramError (a refusal after 7 days is code 10 /
    2534022, `window_closed`; a second attempt is code 10 without that subcode, `rejected`)."""
    return _send(
        token=token,
        ig_user_id=ig_user_id,
        body={"recipient": {"comment_id": comment_id}, "message": {"text": text}},
    )


def _send(*, token: str, ig_user_id: str, body: dict[str, Any]) -> SentMessage:
    with graph_client() as client:
        answer = request_json(
            client, "POST", versioned(f"{ig_user_id}/messages"), token=token, json=body
        )
    message_id = str(answer.get("message_id") or "")
    if not message_id:
        raise InstagramError(
            "Instagram did not confirm the message.", permanent=False, code="transient"
        )
    return SentMessage(message_id=message_id, recipient_id=str(answer.get("recipient_id") or ""))


# --- Publishing ---------------------------------------------------------------------------------
# Content publishing, EXTERNAL_APIS.md §3.8: container create -> status poll -> media_publish, and
# the 100-posts-per-24-hours quota. Meta's publishing errors this section names:
# - 9007 / 2207027  the container is not ready yet (still IN_PROGRESS): poll again, then retry
# - 9004 / 2207052  the image could not be fetched, or is not a JPEG
# - 9 / 2207042     the account reached its publishing limit (Meta's publishing error table)
NOT_READY = (9007, 2207027)
BAD_IMAGE = (9004, 2207052)
QUOTA_REACHED_SUBCODE = 2207042


def is_not_ready(error: InstagramError) -> bool:
    """The container is still being processed (§3.8: 9007/2207027)."""
    return (error.meta_code, error.meta_subcode) == NOT_READY


def is_bad_image(error: InstagramError) -> bool:
    """Meta could not fetch the image, or it is not a JPEG (§3.8: 9004/2207052)."""
    return error.meta_code == BAD_IMAGE[0] or error.meta_subcode == BAD_IMAGE[1]


def is_quota_reached(error: InstagramError) -> bool:
    return error.meta_subcode == QUOTA_REACHED_SUBCODE


@dataclass(frozen=True)
class ContainerStatus:
    """A media container's state: IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED (§3.8)."""

    container_id: str
    status_code: str
    status: str = (
        ""  # Meta's free text, e.g. "Error: Media upload has failed with error code 2207003"
    )


@dataclass(frozen=True)
class PublishingQuota:
    used: int
    total: int
    duration_seconds: int

    @property
    def exhausted(self) -> bool:
        return self.used >= self.total


def media_container_create(
    *, token: str, ig_user_id: str, image_url: str, caption: str, story: bool
) -> str:
    """POST /<IG_ID>/media: a container for one image (feed post, or media_type=STORIES).
    Returns the container id. Meta fetches `image_url` itself, so it must be public and JPEG.
    A story carries no caption (the API takes none). Raises InstagramError."""
    data = {"image_url": image_url}
    if story:
        data["media_type"] = "STORIES"
    elif caption:
        data["caption"] = caption
    with graph_client() as client:
        body = request_json(
            client, "POST", versioned(f"{ig_user_id}/media"), token=token, data=data
        )
    return _required_id(body)


def media_container_status(*, token: str, container_id: str) -> ContainerStatus:
    """GET /<container>?fields=status_code,status. Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            versioned(container_id),
            token=token,
            params={"fields": "status_code,status"},
        )
    return ContainerStatus(
        container_id=str(body.get("id") or container_id),
        status_code=str(body.get("status_code") or "").upper(),
        status=str(body.get("status") or "")[:300],
    )


def media_publish(*, token: str, ig_user_id: str, container_id: str) -> str:
    """POST /<IG_ID>/media_publish creation_id=<container>: the post goes live. Returns the new
    media id. Raises InstagramError (9007/2207027 while the container is not ready)."""
    with graph_client() as client:
        body = request_json(
            client,
            "POST",
            versioned(f"{ig_user_id}/media_publish"),
            token=token,
            data={"creation_id": container_id},
        )
    return _required_id(body)


def publishing_quota(*, token: str, ig_user_id: str) -> PublishingQuota:
    """GET /<IG_ID>/content_publishing_limit?fields=quota_usage,config: posts published through
    the API in the rolling 24 hours, of 100 (§3.8). Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            versioned(f"{ig_user_id}/content_publishing_limit"),
            token=token,
            params={"fields": "quota_usage,config"},
        )
    rows = body.get("data")
    row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    config = row.get("config")
    if not isinstance(config, dict):
        config = {}
    return PublishingQuota(
        used=_int(row.get("quota_usage")) or 0,
        total=_int(config.get("quota_total")) or 100,
        duration_seconds=_int(config.get("quota_duration")) or 86400,
    )


def _required_id(body: dict[str, Any]) -> str:
    value = body.get("id")
    if value in (None, ""):
        raise InstagramError("Instagram answered without an id.", permanent=False, code="transient")
    return str(value)


# --- Insights -----------------------------------------------------------------------------------
# EXTERNAL_APIS.md §3.9. Missing data is an empty `data` list, not 0: such a metric is left out of
# the result. impressions, plays and video_views are deprecated (v22, April 2025): never asked for.
ACCOUNT_METRICS = (
    "reach",
    "views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "profile_links_taps",
    "follows_and_unfollows",
)
POST_METRICS = ("reach", "likes", "comments", "saved", "shares", "total_interactions", "views")
# Stories have no likes, comments or saves; they have replies (§3.9).
STORY_METRICS = ("reach", "shares", "total_interactions", "views", "replies")
DEPRECATED_METRICS = frozenset({"impressions", "plays", "video_views"})


@dataclass(frozen=True)
class MediaInsights:
    """A post's metrics ({} when Meta has no data yet). `enough_viewers` is False when Meta
    refuses with code 10 "Not enough viewers": a fact about the post, not an error to retry."""

    metrics: dict[str, int]
    enough_viewers: bool = True


def account_insights(*, token: str, ig_user_id: str, since: int, until: int) -> dict[str, int]:
    """GET /<IG_ID>/insights, period=day, metric_type=total_value, for [since, until) in unix
    seconds: {metric: value} for the metrics Meta has data for. Raises InstagramError."""
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            versioned(f"{ig_user_id}/insights"),
            token=token,
            params={
                "metric": ",".join(ACCOUNT_METRICS),
                "period": "day",
                "metric_type": "total_value",
                "since": str(since),
                "until": str(until),
            },
        )
    return _metric_values(body)


def media_insights(*, token: str, media_id: str, story: bool) -> MediaInsights:
    """GET /<MEDIA_ID>/insights for a post's (or story's) metrics. Code 10 "Not enough viewers"
    comes back as MediaInsights(enough_viewers=False); other failures raise InstagramError."""
    metrics = STORY_METRICS if story else POST_METRICS
    try:
        with graph_client() as client:
            body = request_json(
                client,
                "GET",
                versioned(f"{media_id}/insights"),
                token=token,
                params={"metric": ",".join(metrics)},
            )
    except InstagramError as exc:
        if exc.meta_code == 10 and not exc.window_closed:
            return MediaInsights(metrics={}, enough_viewers=False)
        raise
    return MediaInsights(metrics=_metric_values(body))


def _metric_values(body: dict[str, Any]) -> dict[str, int]:
    """{name: value} from an insights answer: `total_value.value` or the last `values[].value`.
    A metric with no value (or an empty `data`) is left out: no data is not 0."""
    found: dict[str, int] = {}
    rows = body.get("data")
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not row.get("name"):
            continue
        value: Any = None
        total = row.get("total_value")
        if isinstance(total, dict):
            value = total.get("value")
        values = row.get("values")
        if value is None and isinstance(values, list) and values and isinstance(values[-1], dict):
            value = values[-1].get("value")
        number = _int(value) if not isinstance(value, bool) else None
        if number is not None:
            found[str(row["name"])] = number
    return found


# --- Ingest ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstagramProfile:
    """What the User Profile API tells about a person who wrote to the account."""

    igsid: str
    username: str  # "" when Meta leaves it out
    name: str  # "" when the person set none (Meta answers null)


def user_profile(*, token: str, igsid: str) -> InstagramProfile:
    """GET /vNN/<IGSID>?fields=name,username: the name and username of a person who messaged the
    account (Meta's User Profile API; allowed only once they wrote to it, else code 230 "User
    consent is required", a permanent refusal). No side effects.
    Raises InstagramError (needs_reconnect for a dead token, transient ones retried by the caller).
    """
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            versioned(f"/{igsid}"),
            token=token,
            params={"fields": "name,username"},
        )
    return InstagramProfile(
        igsid=str(body.get("id") or igsid),
        username=str(body.get("username") or "")[:64],
        name=str(body.get("name") or "")[:150],
    )
