"""The state the Instagram emulator's parts share, and Meta's error shapes (EXTERNAL_APIS.md §3).

Harsh by default, where Meta is harsh (each place names its source):
- every Graph call needs a live token (Authorization: Bearer, or ?access_token=); a missing,
  unknown, revoked or expired one is code 190 with Meta's wording (§3.10), with HTTP 400 as Meta
  mostly answers (the status is not reliable, §3.10: key on error.code);
- ids are strings of digits that can exceed 2^53 (§3.2, §9 item 9);
- every timestamp comes from time.time(), so time-machine moves the emulator's clock too.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from integrations.sandbox.base import Emulator, RecordedRequest, Response

API_VERSION = "v23.0"
LONG_LIVED_SECONDS = 5_184_000  # 60 days (§3.3)
SHORT_LIVED_SECONDS = 3600  # 1 hour (§3.3)


def graph_error(
    code: int,
    message: str,
    *,
    status: int = 400,
    subcode: int | None = None,
    type_: str = "OAuthException",
    **extra: Any,
) -> Response:
    """Meta's Graph error body (§3.10), with a fresh fbtrace_id like the real one."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return Response(status, json={"error": error})


def no_such_object(object_id: str, *, method: str = "get") -> Response:
    """Graph's code 100 for an id that does not exist or is not the token's to reach: another
    account's post, comment or container reads the same as a missing one (§3.10)."""
    return graph_error(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        type_="GraphMethodException",
    )


def new_id(digits: int = 17) -> str:
    """A numeric id as Meta issues them: a string of digits, often beyond 2^53 (§3.2)."""
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


@dataclass
class Token:
    value: str
    ig_user_id: str
    expires_at: float
    issued_at: float = field(default_factory=time.time)
    long_lived: bool = True
    revoked: bool = False
    scopes: tuple[str, ...] = ()


@dataclass
class Account:
    """An Instagram professional account the emulator knows."""

    ig_user_id: str  # /me user_id: webhooks' entry.id (§3.4)
    app_user_id: str  # the token exchange's user_id (app-scoped, §3.2)
    username: str
    name: str = ""
    account_type: str = "BUSINESS"
    # Set when the app subscribed the account to webhooks (POST /me/subscribed_apps, §3.4).
    subscribed_fields: tuple[str, ...] = ()


@dataclass
class Comment:
    comment_id: str
    ig_user_id: str  # the account whose post it is on
    media_id: str
    from_id: str
    from_username: str
    text: str
    at: float = field(default_factory=time.time)
    private_replied: bool = False
    hidden: bool = False
    parent_id: str = ""


@dataclass
class Media:
    """A post of an account (GET /<IG_ID>/media, §3.7-§3.9)."""

    media_id: str
    ig_user_id: str
    caption: str = ""
    media_type: str = "IMAGE"  # IMAGE, VIDEO, CAROUSEL_ALBUM
    media_product_type: str = "FEED"  # FEED, STORY, REELS, AD
    permalink: str = ""
    at: float = field(default_factory=time.time)


class InstagramCore(Emulator):
    default_app_id: ClassVar[str] = "990602627938098"
    default_app_secret: ClassVar[str] = "sandbox-instagram-app-secret"
    default_verify_token: ClassVar[str] = "sandbox-instagram-verify-token"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.app_id = self.default_app_id
        self.app_secret = self.default_app_secret
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}
        # (ig_user_id, igsid) -> time of the customer's last message: the 24-hour window (§3.6).
        self.last_customer_message: dict[tuple[str, str], float] = {}
        self.comments: dict[str, Comment] = {}
        self.media: dict[str, Media] = {}
        super().__init__(*args, **kwargs)

    def reset_state(self) -> None:
        self.accounts.clear()
        self.tokens.clear()
        self.last_customer_message.clear()
        self.comments.clear()
        self.media.clear()
        super().reset_state()

    # -- test helpers ---------------------------------------------------------------------------
    def add_account(self, username: str = "sunset_realty", **fields: Any) -> Account:
        """An account the emulator knows, as if its owner had an Instagram professional account."""
        account = Account(
            ig_user_id=fields.pop("ig_user_id", None) or new_id(17),
            app_user_id=fields.pop("app_user_id", None) or new_id(17),
            username=username,
            **fields,
        )
        with self.lock:
            self.accounts[account.ig_user_id] = account
        return account

    def issue_token(
        self, account: Account, *, long_lived: bool = True, scopes: tuple[str, ...] = ()
    ) -> Token:
        """A token for `account` without the OAuth dance (tests of the parts after connect)."""
        now = time.time()
        lifetime = LONG_LIVED_SECONDS if long_lived else SHORT_LIVED_SECONDS
        token = Token(
            value="IGAA" + secrets.token_urlsafe(48),  # real ones start with IGAA (§3)
            ig_user_id=account.ig_user_id,
            expires_at=now + lifetime,
            issued_at=now,
            long_lived=long_lived,
            scopes=scopes,
        )
        with self.lock:
            self.tokens[token.value] = token
        return token

    def revoke_tokens(self, ig_user_id: str) -> None:
        """The user removed the app on Instagram: every token of the account stops working."""
        with self.lock:
            for token in self.tokens.values():
                if token.ig_user_id == ig_user_id:
                    token.revoked = True

    def customer_messaged(self, ig_user_id: str, igsid: str, at: float | None = None) -> None:
        """Record a customer's message to the account: it opens the 24-hour reply window (§3.6)."""
        with self.lock:
            self.last_customer_message[(ig_user_id, igsid)] = time.time() if at is None else at

    def customer_commented(self, comment: Comment) -> None:
        with self.lock:
            self.comments[comment.comment_id] = comment

    def add_media(self, account: Account, caption: str = "", **fields: Any) -> Media:
        """A post on `account`, as if its owner had published it on Instagram."""
        media_id = fields.pop("media_id", None) or new_id(17)
        media = Media(
            media_id=media_id,
            ig_user_id=account.ig_user_id,
            caption=caption,
            permalink=fields.pop("permalink", None) or f"https://www.instagram.com/p/{media_id}/",
            **fields,
        )
        with self.lock:
            self.media[media.media_id] = media
        return media

    # -- for the routes -------------------------------------------------------------------------
    def token_of(self, request: RecordedRequest) -> Token | Response:
        """The live token the request carries, or the 190 error Meta answers (§3.10)."""
        value = ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            value = auth[7:].strip()
        if not value:
            value = (request.query.get("access_token") or [""])[-1]
        if not value and request.body and "form" in request.headers.get("content-type", ""):
            value = request.form().get("access_token", "")
        if not value:
            return graph_error(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        with self.lock:
            token = self.tokens.get(value)
        if token is None:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if token.revoked:
            return graph_error(
                190,
                "Error validating access token: The user has not authorized application "
                f"{self.app_id}.",
                subcode=458,
            )
        if time.time() >= token.expires_at:
            return graph_error(
                190,
                "Error validating access token: Session has expired.",
                subcode=463,
            )
        return token

    def token_for(
        self, request: RecordedRequest, who: str, *, method: str = "get"
    ) -> Token | Response:
        """The live token, when the path's account (`who`: "me" or a professional id) is the
        token's own; else the 190 of token_of, or code 100 for another account (§3.10)."""
        token = self.token_of(request)
        if isinstance(token, Response) or who in ("me", token.ig_user_id):
            return token
        return no_such_object(who, method=method)

    def versioned(self, path: str) -> str:
        """A regex for a versioned Graph path: /v23.0/me (any vNN.N, as Meta accepts)."""
        return r"/v\d+\.\d+" + path
