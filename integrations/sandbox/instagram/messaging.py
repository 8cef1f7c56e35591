"""The Send API: DMs, the 24-hour window, private replies to comments (EXTERNAL_APIS.md §3.6).

POST /vNN/<IG_ID>/messages (or /vNN/me/messages), JSON body, Bearer token. Harsh where Meta is:
- a reply to a person needs their message within the last 24 hours; otherwise code 10 / subcode
  2534022, observed as HTTP 403 (§3.6, §9 item 13). The HUMAN_AGENT tag (`"messaging_type":
  "MESSAGE_TAG", "tag": "HUMAN_AGENT"`) stretches it to 7 days (§3.6);
- a person who never wrote to the account cannot be messaged at all (same error: the window was
  never open);
- text over 1000 characters is refused (code 100, §3.6 [O/U]); a message with neither text nor
  attachment is refused (code 100);
- a private reply (`recipient.comment_id`) needs a comment on one of the account's own posts,
  at most 7 days old, and only one per comment (§3.6 [O]: "A second attempt fails");
- the token must belong to the account in the path (code 190 from token_of, code 100 "Object
  does not exist" otherwise, §3.10).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram.core import InstagramCore, Token, graph_error

WINDOW_SECONDS = 24 * 3600
HUMAN_AGENT_WINDOW_SECONDS = 7 * 24 * 3600
PRIVATE_REPLY_MAX_AGE_SECONDS = 7 * 24 * 3600
MAX_TEXT = 1000


@dataclass
class SentMessage:
    ig_user_id: str
    message_id: str
    recipient: dict[str, str]
    text: str
    tag: str = ""
    attachment: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)


def _window_closed() -> Response:
    # The real body and status, from a production log (§3.6 [O]).
    return graph_error(
        10,
        "This message is sent outside of allowed window.",
        status=403,
        subcode=2534022,
        type_="IGApiException",
    )


class InstagramMessagingRoutes(InstagramCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[SentMessage] = []
        super().__init__(*args, **kwargs)

    def reset_state(self) -> None:
        self.sent.clear()
        super().reset_state()

    def sent_to(self, igsid: str) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.sent if m.recipient.get("id") == igsid]

    @route("POST", r"/v\d+\.\d+/(?P<who>me|\d+)/messages")
    def send_message(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_for(request, match["who"], method="post")
        if isinstance(token, Response):
            return token
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return graph_error(100, "Invalid JSON for postcard", type_="OAuthException")
        if not isinstance(body, dict):
            return graph_error(100, "(#100) param recipient must be non-empty.")
        recipient = body.get("recipient") or {}
        message = body.get("message") or {}
        if not isinstance(recipient, dict) or not recipient:
            return graph_error(100, "(#100) param recipient must be non-empty.")
        if not isinstance(message, dict):
            return graph_error(100, "(#100) param message must be an object.")
        text = str(message.get("text") or "")
        attachment = message.get("attachment")
        if not text and not attachment:
            return graph_error(
                100, "(#100) Message cannot be empty, must provide valid attachment or text"
            )
        if len(text) > MAX_TEXT:
            return graph_error(
                100, "(#100) Length of param message[text] must be less than or equal to 1000"
            )
        tag = str(body.get("tag") or "") if body.get("messaging_type") == "MESSAGE_TAG" else ""
        if "comment_id" in recipient:
            refused = self._private_reply_refused(token, str(recipient["comment_id"]))
        else:
            refused = self._window_refused(token, str(recipient.get("id") or ""), tag)
        if refused is not None:
            return refused
        sent = SentMessage(
            ig_user_id=token.ig_user_id,
            message_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZA" + secrets.token_urlsafe(24),
            recipient={k: str(v) for k, v in recipient.items()},
            text=text,
            tag=tag,
            attachment=attachment if isinstance(attachment, dict) else None,
        )
        with self.lock:
            self.sent.append(sent)
        answer: dict[str, str] = {"message_id": sent.message_id}
        if "id" in recipient:
            answer = {"recipient_id": str(recipient["id"]), **answer}
        return Response(json=answer)

    def _window_refused(self, token: Token, igsid: str, tag: str) -> Response | None:
        if not igsid:
            return graph_error(100, "(#100) param recipient[id] must be non-empty.")
        with self.lock:
            last = self.last_customer_message.get((token.ig_user_id, igsid))
        window = HUMAN_AGENT_WINDOW_SECONDS if tag == "HUMAN_AGENT" else WINDOW_SECONDS
        if last is None or time.time() - last > window:
            return _window_closed()
        return None

    def _private_reply_refused(self, token: Token, comment_id: str) -> Response | None:
        with self.lock:
            comment = self.comments.get(comment_id)
            if comment is None or comment.ig_user_id != token.ig_user_id:
                return graph_error(
                    100,
                    f"(#100) Unsupported post request. Object with ID '{comment_id}' does not exist.",
                    type_="GraphMethodException",
                )
            if time.time() - comment.at > PRIVATE_REPLY_MAX_AGE_SECONDS:
                # §3.6 [O]: private replies only within 7 days of the comment.
                return graph_error(
                    10,
                    "(#10) This message is sent outside of allowed window.",
                    status=403,
                    subcode=2534022,
                    type_="IGApiException",
                )
            if comment.private_replied:
                # §3.6 [O]: one private reply per comment; a second attempt fails. Its exact body
                # is not documented [U]: a policy refusal (code 10) without the window subcode,
                # so ALT must not read it as "outside the 24-hour window".
                return graph_error(
                    10,
                    "(#10) A private reply has already been sent to this comment.",
                    status=403,
                    type_="IGApiException",
                )
            comment.private_replied = True
        return None
