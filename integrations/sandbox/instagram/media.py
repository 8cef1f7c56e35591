"""Posts, comment replies, content publishing and insights (EXTERNAL_APIS.md §3.7-§3.9).
Routes are added by the comments and publishing work, each in its own block."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram.core import (
    Comment,
    InstagramCore,
    Media,
    Token,
    graph_error,
    new_id,
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


def _does_not_exist(object_id: str) -> Response:
    return graph_error(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        type_="GraphMethodException",
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        return None


class InstagramMediaRoutes(InstagramCore):
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
            return _does_not_exist(comment_id)
        return comment

    @route("GET", r"/v\d+\.\d+/(?P<who>me|\d+)/media")
    def list_media(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        if match["who"] not in ("me", token.ig_user_id):
            return _does_not_exist(match["who"])
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
            return _does_not_exist(match["media_id"])
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
