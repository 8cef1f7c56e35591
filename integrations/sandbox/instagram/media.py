"""Posts, comment replies, content publishing and insights (EXTERNAL_APIS.md §3.7-§3.9).
Routes are added by the comments and publishing work, each in its own block."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram.core import (
    Comment,
    InstagramCore,
    Media,
    Token,
    graph_error,
    new_id,
    no_such_object,
)

# --- Comments (§3.7) -----------------------------------------------------------------------------
# GET /vNN/<IG_ID>/media, GET /vNN/<MEDIA_ID>/comments, POST /vNN/<COMMENT_ID>/replies,
# POST /vNN/<COMMENT_ID>?hide=true, DELETE /vNN/<COMMENT_ID>. Harsh where Meta is:
# - only the fields asked for come back, with `id` always (Meta's field expansion; no `fields`
#   gives the edge's defaults), and an unknown field is code 100 (§3.10);
# - lists are newest first and paged with opaque cursors and a `next` URL (Graph paging [D]);
# - timestamps look like 2019-04-05T07:56:32+0000 (§3.9 [D]);
# - a media's `comments` edge lists top-level comments only; replies hang off their parent
#   (Meta's IG Comment `replies` edge [D]);
# - an object of another account, or one deleted, is code 100 "does not exist" (§3.10);
# - a reply with no `message` is code 100; Instagram caps a comment at 2,200 characters [D].

MEDIA_FIELDS = ("id", "caption", "media_type", "media_product_type", "permalink", "timestamp")
MEDIA_DEFAULT_FIELDS = ("id",)
COMMENT_FIELDS = ("id", "text", "timestamp", "username", "from", "parent_id", "hidden", "media")
COMMENT_DEFAULT_FIELDS = ("id", "text", "timestamp")  # Meta's defaults for the comments edge
MAX_COMMENT_TEXT = 2200
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def graph_timestamp(at: float) -> str:
    """Meta's timestamp format: 2019-04-05T07:56:32+0000 (§3.9)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(at))


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        return None


class CommentRoutes(InstagramCore):
    # --- Comments (§3.7) -----------------------------------------------------------------------
    def _fields(
        self, request: RecordedRequest, known: tuple[str, ...], default: tuple[str, ...], node: str
    ) -> tuple[str, ...] | Response:
        raw = (request.query.get("fields") or [""])[-1]
        asked = tuple(f.strip() for f in raw.split(",") if f.strip()) or default
        for name in asked:
            if name not in known:
                return graph_error(
                    100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
                )
        return ("id", *(f for f in asked if f != "id"))

    def _page(
        self, request: RecordedRequest, rows: list[dict[str, Any]]
    ) -> Response:  # Graph cursor paging [D]
        try:
            limit = int((request.query.get("limit") or [str(DEFAULT_LIMIT)])[-1])
        except ValueError:
            return graph_error(100, "(#100) Param limit must be an integer")
        limit = max(1, min(limit, MAX_LIMIT))
        after = (request.query.get("after") or [""])[-1]
        start = 0
        if after:
            offset = _offset(after)
            if offset is None:
                return graph_error(100, "(#100) The after cursor is invalid")
            start = offset
        page = rows[start : start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}
            }
            if start + len(page) < len(rows):
                query = {k: v[-1] for k, v in request.query.items() if k != "access_token"}
                query.update(after=_cursor(start + len(page)), limit=str(limit))
                paging["next"] = f"{self.base_url}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        return Response(json=body)

    def _comment_json(self, comment: Comment, fields: tuple[str, ...]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": comment.comment_id,
            "text": comment.text,
            "timestamp": graph_timestamp(comment.at),
            "username": comment.from_username,
            "from": {"id": comment.from_id, "username": comment.from_username},
            "hidden": comment.hidden,
            "media": {"id": comment.media_id},
        }
        if comment.parent_id:
            values["parent_id"] = comment.parent_id
        return {f: values[f] for f in fields if f in values}

    def _own_comment(self, token: Token, comment_id: str) -> Comment | Response:
        with self.lock:
            comment = self.comments.get(comment_id)
        if comment is None or comment.ig_user_id != token.ig_user_id:
            return no_such_object(comment_id)
        return comment

    @route("GET", r"/v\d+\.\d+/(?P<who>me|\d+)/media")
    def list_media(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_for(request, match["who"])
        if isinstance(token, Response):
            return token
        fields = self._fields(request, MEDIA_FIELDS, MEDIA_DEFAULT_FIELDS, "IGMedia")
        if isinstance(fields, Response):
            return fields
        with self.lock:
            media = sorted(
                (m for m in self.media.values() if m.ig_user_id == token.ig_user_id),
                key=lambda m: m.at,
                reverse=True,
            )
        rows = [self._media_json(m, fields) for m in media]
        return self._page(request, rows)

    def _media_json(self, media: Media, fields: tuple[str, ...]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": media.media_id,
            "caption": media.caption,
            "media_type": media.media_type,
            "media_product_type": media.media_product_type,
            "permalink": media.permalink,
            "timestamp": graph_timestamp(media.at),
        }
        if not media.caption:
            values.pop("caption")  # Meta omits a field that has no value
        return {f: values[f] for f in fields if f in values}

    @route("GET", r"/v\d+\.\d+/(?P<media_id>\d+)/comments")
    def list_comments(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        with self.lock:
            media = self.media.get(match["media_id"])
        if media is None or media.ig_user_id != token.ig_user_id:
            return no_such_object(match["media_id"])
        fields = self._fields(request, COMMENT_FIELDS, COMMENT_DEFAULT_FIELDS, "IGComment")
        if isinstance(fields, Response):
            return fields
        with self.lock:
            comments = sorted(
                (
                    c
                    for c in self.comments.values()
                    if c.media_id == media.media_id and not c.parent_id
                ),
                key=lambda c: c.at,
                reverse=True,
            )
        return self._page(request, [self._comment_json(c, fields) for c in comments])

    @route("POST", r"/v\d+\.\d+/(?P<comment_id>\d+)/replies")
    def reply_to_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        parent = self._own_comment(token, match["comment_id"])
        if isinstance(parent, Response):
            return parent
        text = self._message_param(request)
        if not text:
            return graph_error(100, "(#100) The parameter message is required")
        if len(text) > MAX_COMMENT_TEXT:
            return graph_error(100, "(#100) The comment is too long (2,200 characters at most)")
        with self.lock:
            account = self.accounts.get(token.ig_user_id)
            reply = Comment(
                comment_id=new_id(17),
                ig_user_id=token.ig_user_id,
                media_id=parent.media_id,
                from_id=token.ig_user_id,
                from_username=account.username if account else "",
                text=text,
                parent_id=parent.parent_id or parent.comment_id,  # Instagram threads one level
            )
            self.comments[reply.comment_id] = reply
        return Response(json={"id": reply.comment_id})

    def _message_param(self, request: RecordedRequest) -> str:
        """`message` from the query, a form body or a JSON body, as Meta accepts all three (§3.7)."""
        text = (request.query.get("message") or [""])[-1]
        content_type = request.headers.get("content-type", "")
        if not text and request.body and "json" in content_type:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = None
            if isinstance(body, dict):
                text = str(body.get("message") or "")
        elif not text and request.body:
            text = request.form().get("message", "")
        return text.strip()

    @route("POST", r"/v\d+\.\d+/(?P<comment_id>\d+)")
    def hide_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        comment = self._own_comment(token, match["comment_id"])
        if isinstance(comment, Response):
            return comment
        hide = (request.query.get("hide") or [""])[-1]
        if not hide and request.body:
            hide = request.form().get("hide", "")
        if hide not in ("true", "false"):
            return graph_error(100, "(#100) The parameter hide is required")
        with self.lock:
            comment.hidden = hide == "true"
        return Response(json={"success": True})

    @route("DELETE", r"/v\d+\.\d+/(?P<comment_id>\d+)")
    def delete_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        comment = self._own_comment(token, match["comment_id"])
        if isinstance(comment, Response):
            return comment  # a second DELETE: the comment no longer exists (§3.10)
        with self.lock:
            self.comments.pop(comment.comment_id, None)
            for reply in [c for c in self.comments.values() if c.parent_id == comment.comment_id]:
                self.comments.pop(reply.comment_id, None)
        return Response(json={"success": True})


# --- Publishing and insights (§3.8, §3.9) -------------------------------------------------------
# Harsh where Meta is (each rule names its source):
# - the image must be a JPEG Meta can fetch (§3.8 "JPEG only"). The emulator fetches nothing: a
#   URL whose path ends .jpg/.jpeg, or one a test registered with `register_jpeg()`, counts as a
#   JPEG; a URL a test marked with `register_bad_image()` or anything else is refused at container
#   create with 9004/2207052 (§3.8 [O]). `register_bad_image(url, at_status=True)` instead lets the
#   create succeed and the container end in status ERROR, the other way Meta reports it [U]: ALT
#   must handle both;
# - a container is IN_PROGRESS for `container_ready_after_polls` status reads (default 2) and/or
#   `container_ready_after_seconds`, then FINISHED (§3.8: "poll once a minute for up to 5
#   minutes"); a container not published within 24 h is EXPIRED (§3.8);
# - media_publish before FINISHED is 9007/2207027 with Meta's exact body (§3.8 [O]); a container
#   already published cannot be published again (code 100 [U]);
# - 100 API-published posts per rolling 24 h (§3.8); past it media_publish fails with code 9 /
#   subcode 2207042 (Meta's content-publishing error table), and content_publishing_limit tells;
# - insights: deprecated metrics (impressions, plays, video_views) are refused with code 100
#   (§3.9: deprecated since v22); account metrics need period and metric_type=total_value and a
#   since/until range of at most 30 days [D]; a media id in `media_without_data` answers an empty
#   `data` list (§3.9: "Missing data comes back as an empty data list, not 0"), one in
#   `media_with_few_viewers` answers code 10 "Not enough viewers" (§3.9); stories support only
#   reach, shares, total_interactions, views, replies, navigation (§3.9). Numbers are deterministic
#   (a hash of the id, metric and day), so tests can assert them.
QUOTA_TOTAL = 100
QUOTA_SECONDS = 86400
CONTAINER_LIFETIME_SECONDS = 24 * 3600
CAPTION_MAX = 2200
MAX_INSIGHTS_RANGE_SECONDS = 30 * 86400
DEPRECATED = {"impressions", "plays", "video_views"}
ACCOUNT_METRICS = {
    "reach", "views", "accounts_engaged", "total_interactions", "likes", "comments", "shares",
    "saves", "replies", "profile_links_taps", "follows_and_unfollows", "follower_count",
}  # fmt: skip
FEED_METRICS = {"reach", "likes", "comments", "saved", "shares", "total_interactions", "views"}
STORY_METRICS = {"reach", "shares", "total_interactions", "views", "replies", "navigation"}


@dataclass
class Container:
    container_id: str
    ig_user_id: str
    image_url: str
    caption: str
    media_type: str  # IMAGE or STORIES
    created_at: float = field(default_factory=time.time)
    polls: int = 0
    fails: bool = False  # ends in ERROR (a bad image reported through the status)
    media_id: str = ""  # set once published


@dataclass
class PublishedMedia:
    media_id: str
    ig_user_id: str
    media_product_type: str  # FEED or STORY
    caption: str = ""
    at: float = field(default_factory=time.time)


def _metric_value(*parts: str) -> int:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 900 + 10


class PublishingInsightsRoutes(InstagramCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.containers: dict[str, Container] = {}
        self.published: dict[str, PublishedMedia] = {}
        self.publish_times: dict[str, list[float]] = {}
        self.jpeg_urls: set[str] = set()
        self.bad_image_urls: dict[str, bool] = {}  # url -> reported at status (ERROR) or create
        self.container_ready_after_polls = 2
        self.container_ready_after_seconds: float | None = None
        self.media_without_data: set[str] = set()
        self.media_with_few_viewers: set[str] = set()
        self.account_days_without_data: set[int] = set()  # unix day starts
        super().__init__(*args, **kwargs)

    def reset_state(self) -> None:
        self.containers.clear()
        self.published.clear()
        self.publish_times.clear()
        self.jpeg_urls.clear()
        self.bad_image_urls.clear()
        self.container_ready_after_polls = 2
        self.container_ready_after_seconds = None
        self.media_without_data.clear()
        self.media_with_few_viewers.clear()
        self.account_days_without_data.clear()
        super().reset_state()

    # -- test helpers ---------------------------------------------------------------------------
    def register_jpeg(self, url: str) -> None:
        """Treat `url` as a JPEG Meta can fetch, whatever its path."""
        with self.lock:
            self.jpeg_urls.add(url)

    def register_bad_image(self, url: str, *, at_status: bool = False) -> None:
        """Meta cannot fetch `url` (or it is not a JPEG): 9004 at create, or ERROR at status."""
        with self.lock:
            self.bad_image_urls[url] = at_status

    def add_published_media(
        self, ig_user_id: str, *, story: bool = False, caption: str = ""
    ) -> str:
        """A post (or story) of the account that was not published through the API."""
        media = PublishedMedia(new_id(17), ig_user_id, "STORY" if story else "FEED", caption)
        with self.lock:
            self.published[media.media_id] = media
        return media.media_id

    def use_quota(self, ig_user_id: str, count: int) -> None:
        """As if `count` posts had been published through the API just now."""
        with self.lock:
            self.publish_times.setdefault(ig_user_id, []).extend([time.time()] * count)

    def quota_usage(self, ig_user_id: str) -> int:
        cutoff = time.time() - QUOTA_SECONDS
        with self.lock:
            return sum(1 for at in self.publish_times.get(ig_user_id, []) if at > cutoff)

    # -- helpers for the routes -----------------------------------------------------------------
    def _container_state(self, container: Container) -> str:
        if container.media_id:
            return "PUBLISHED"
        if time.time() - container.created_at > CONTAINER_LIFETIME_SECONDS:
            return "EXPIRED"
        ready_polls = container.polls >= self.container_ready_after_polls
        seconds = self.container_ready_after_seconds
        ready_time = seconds is not None and time.time() - container.created_at >= seconds
        if not (ready_polls or ready_time):
            return "IN_PROGRESS"
        return "ERROR" if container.fails else "FINISHED"

    def _is_jpeg(self, url: str) -> bool:
        path = urlsplit(url).path.lower()
        return url in self.jpeg_urls or path.endswith((".jpg", ".jpeg"))

    # -- routes ---------------------------------------------------------------------------------
    @route("POST", r"/v\d+\.\d+/(?P<who>me|\d+)/media")
    def media_container_create(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_for(request, match["who"])
        if isinstance(token, Response):
            return token
        params = _params(request)
        image_url = params.get("image_url", "")
        media_type = params.get("media_type", "IMAGE").upper()
        caption = params.get("caption", "")
        if media_type not in ("IMAGE", "STORIES"):
            # VIDEO, REELS and CAROUSEL exist (§3.8) but ALT publishes images only.
            return graph_error(100, f"(#100) The emulator does not model media_type {media_type}")
        if not image_url:
            return graph_error(100, "(#100) The parameter image_url is required")
        if len(caption) > CAPTION_MAX:
            return graph_error(100, "(#100) The caption is longer than 2200 characters.")  # [U]
        with self.lock:
            at_status = self.bad_image_urls.get(image_url)
        if (at_status is None and not self._is_jpeg(image_url)) or at_status is False:
            # §3.8 [O]: the image could not be fetched or is not JPEG.
            return graph_error(
                9004,
                "Only photo or video can be accepted as media type.",
                subcode=2207052,
                is_transient=False,
                error_user_title="Media download has failed.",
                error_user_msg="The media could not be fetched from this uri.",
            )
        container = Container(
            container_id=new_id(17),
            ig_user_id=token.ig_user_id,
            image_url=image_url,
            caption=caption,
            media_type=media_type,
            fails=bool(at_status),
        )
        with self.lock:
            self.containers[container.container_id] = container
        return Response(json={"id": container.container_id})

    # Not routed here: GET /vNN/<id> names a person, a container or a media alike; the emulator's
    # `graph_node` (__init__.py) dispatches on what the id is.
    def media_object(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        """A container's status (§3.8), or a published media's fields."""
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        object_id = match["object_id"]
        with self.lock:
            container = self.containers.get(object_id)
            media = self.published.get(object_id)
            if container is not None and container.ig_user_id == token.ig_user_id:
                if not container.media_id:
                    container.polls += 1
                state = self._container_state(container)
                body: dict[str, Any] = {"status_code": state, "id": object_id}
                if state == "ERROR":
                    body["status"] = "Error: Media upload has failed with error code 2207003"
                elif state == "EXPIRED":
                    body["status"] = "Expired: The container was not published within 24 hours"
                else:
                    body["status"] = f"{state.title().replace('_', ' ')}: "
                return Response(json=body)
            if media is not None and media.ig_user_id == token.ig_user_id:
                return Response(
                    json={
                        "id": media.media_id,
                        "caption": media.caption,
                        "media_type": "IMAGE",
                        "media_product_type": media.media_product_type,
                        "permalink": f"https://www.instagram.com/p/{media.media_id[-11:]}/",
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(media.at)),
                    }
                )
        return no_such_object(object_id)

    @route("POST", r"/v\d+\.\d+/(?P<who>me|\d+)/media_publish")
    def media_publish(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_for(request, match["who"])
        if isinstance(token, Response):
            return token
        creation_id = _params(request).get("creation_id", "")
        with self.lock:
            container = self.containers.get(creation_id)
            if container is None or container.ig_user_id != token.ig_user_id:
                return no_such_object(creation_id or "creation_id")
            if container.media_id:
                return graph_error(100, "(#100) This media has already been published.")  # [U]
            if self._container_state(container) != "FINISHED":
                # §3.8 [O]: the exact body Meta answers while the container is not ready.
                return graph_error(
                    9007,
                    "Media ID is not available",
                    subcode=2207027,
                    is_transient=False,
                    error_user_title="Cannot publish",
                    error_user_msg="The media is not ready to be published. Please wait a moment.",
                )
            if self.quota_usage(token.ig_user_id) >= QUOTA_TOTAL:
                return graph_error(
                    9,
                    "Application request limit reached",
                    subcode=2207042,
                    is_transient=False,
                    error_user_title="Publishing limit reached",
                    error_user_msg="You reached the maximum number of posts that is allowed to be "
                    "published by Content Publishing API.",
                )
            media = PublishedMedia(
                media_id=new_id(17),
                ig_user_id=token.ig_user_id,
                media_product_type="STORY" if container.media_type == "STORIES" else "FEED",
                caption=container.caption,
            )
            container.media_id = media.media_id
            self.published[media.media_id] = media
            self.publish_times.setdefault(token.ig_user_id, []).append(time.time())
        return Response(json={"id": media.media_id})

    @route("GET", r"/v\d+\.\d+/(?P<who>me|\d+)/content_publishing_limit")
    def content_publishing_limit(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_for(request, match["who"])
        if isinstance(token, Response):
            return token
        config = {"quota_total": QUOTA_TOTAL, "quota_duration": QUOTA_SECONDS}
        usage = self.quota_usage(token.ig_user_id)
        return Response(json={"data": [{"quota_usage": usage, "config": config}]})

    @route("GET", r"/v\d+\.\d+/(?P<object_id>me|\d+)/insights")
    def insights(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        object_id = match["object_id"]
        metrics = [m for m in _params(request).get("metric", "").split(",") if m]
        if not metrics:
            return graph_error(100, "(#100) The parameter metric is required")
        deprecated = [m for m in metrics if m in DEPRECATED]
        if deprecated:
            return graph_error(
                100,
                f"(#100) metric[{metrics.index(deprecated[0])}] must be one of the following "
                "values: reach, likes, comments, saved, shares, total_interactions, views",
            )
        if object_id in ("me", token.ig_user_id):
            return self._account_insights(request, token, metrics)
        with self.lock:
            media = self.published.get(object_id)
        if media is None or media.ig_user_id != token.ig_user_id:
            return no_such_object(object_id)
        return self._media_insights(media, metrics)

    def _account_insights(
        self, request: RecordedRequest, token: Token, metrics: list[str]
    ) -> Response:
        params = _params(request)
        unknown = [m for m in metrics if m not in ACCOUNT_METRICS]
        if unknown:
            return graph_error(100, f"(#100) metric[{metrics.index(unknown[0])}] is not valid")
        if params.get("period") != "day":
            return graph_error(100, "(#100) The parameter period is required")
        if params.get("metric_type") != "total_value":
            return graph_error(
                100,
                "(#100) The following metrics should be specified with parameter "
                "metric_type=total_value",
            )
        try:
            since = int(params.get("since", "0"))
            until = int(params.get("until", "0"))
        except ValueError:
            return graph_error(100, "(#100) since and until must be unix timestamps")
        if not since or not until or until <= since:
            return graph_error(100, "(#100) since and until must be a range")
        if until - since > MAX_INSIGHTS_RANGE_SECONDS:
            return graph_error(
                100, "(#100) There cannot be more than 30 days between since and until"
            )
        day = since - since % 86400
        if day in self.account_days_without_data:
            return Response(json={"data": []})
        data = [
            {
                "name": metric,
                "period": "day",
                "title": metric.replace("_", " ").capitalize(),
                "description": "",
                "total_value": {"value": _metric_value(token.ig_user_id, metric, str(day))},
                "id": f"{token.ig_user_id}/insights/{metric}/day",
            }
            for metric in metrics
        ]
        return Response(json={"data": data, "paging": {"previous": "", "next": ""}})

    def _media_insights(self, media: PublishedMedia, metrics: list[str]) -> Response:
        allowed = STORY_METRICS if media.media_product_type == "STORY" else FEED_METRICS
        unsupported = [m for m in metrics if m not in allowed]
        if unsupported:
            return graph_error(
                100,
                f"(#100) metric[{metrics.index(unsupported[0])}] must be one of the following "
                f"values: {', '.join(sorted(allowed))}",
            )
        if media.media_id in self.media_with_few_viewers:
            return graph_error(10, "(#10) Not enough viewers for the media to show insights")
        if media.media_id in self.media_without_data:
            return Response(json={"data": []})
        data = [
            {
                "name": metric,
                "period": "lifetime",
                "values": [{"value": _metric_value(media.media_id, metric)}],
                "title": metric.replace("_", " ").capitalize(),
                "description": "",
                "id": f"{media.media_id}/insights/{metric}/lifetime",
            }
            for metric in metrics
        ]
        return Response(json={"data": data})


def _params(request: RecordedRequest) -> dict[str, str]:
    """Graph parameters from the query, a form body or a JSON body (Meta takes all three)."""
    found = {k: v[-1] for k, v in request.query.items()}
    content_type = request.headers.get("content-type", "")
    if request.body and "json" in content_type:
        try:
            body = json.loads(request.body)
        except ValueError:
            body = {}
        if isinstance(body, dict):
            found.update({k: str(v) for k, v in body.items()})
    elif request.body:
        found.update({k: v[-1] for k, v in parse_qs(request.body.decode()).items()})
    return found


class InstagramMediaRoutes(CommentRoutes, PublishingInsightsRoutes):
    """Both blocks' routes. Their paths do not overlap: comments answer GET /<IG_ID>/media (the
    posts list), GET /<MEDIA_ID>/comments, POST/DELETE /<COMMENT_ID>; publishing answers POST
    /<IG_ID>/media (a container), GET /<ID> (a container's status or a published media),
    /media_publish, /content_publishing_limit and /insights."""
