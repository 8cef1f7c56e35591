"""Instagram Login's authorization window and Meta's signed_request (EXTERNAL_APIS.md §3.1, §3.11).

- The authorize URL asks for exactly the five scopes of IG-1, with a random `state` kept in the
  session and checked once by the callback. Instagram Login has no PKCE: the code exchange is
  authenticated by the app secret, server to server.
- The callback's parameters may carry Meta's `#_` suffix when a person pastes the URL (§3.1):
  it is not part of the code.
- `signed_request` (deauthorize and data-deletion callbacks) is verified with HMAC-SHA256 over the
  encoded payload, with the Instagram app secret and, if set, the Meta app secret; base64url with
  or without `=` padding; `algorithm`, upper-cased, must be HMAC-SHA256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from integrations.instagram.client import SCOPES

SESSION_KEY = "instagram_oauth_state"

# What the callback's `error` / `error_reason` means, in words a person can act on.
CANCELLED = (
    "You cancelled on Instagram's screen, so Instagram is not connected. Click Connect Instagram "
    "again and choose Allow to answer your DMs and comments from ALT."
)


class OAuthError(Exception):
    """The connection could not be made; `message` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def authorization_url(session: Any) -> str:
    """The URL of Instagram's authorization window (§3.1), with exactly the IG-1 scopes. Keeps a
    fresh `state` in `session` for the callback to check."""
    state = secrets.token_urlsafe(32)
    session[SESSION_KEY] = state
    query = urlencode(
        {
            "client_id": settings.INSTAGRAM_APP_ID,
            "redirect_uri": settings.INSTAGRAM_OAUTH_REDIRECT_URL,
            "response_type": "code",
            "scope": ",".join(SCOPES),
            "state": state,
            # Instagram credentials, not a Facebook login (§3.1).
            "enable_fb_login": "0",
        }
    )
    return f"{settings.INSTAGRAM_OAUTH_AUTHORIZE_URL}?{query}"


def _clean(value: str) -> str:
    # §3.1: a pasted callback URL ends in "#_", which is not part of the code (or the state).
    return value.split("#", 1)[0].strip()


def callback_code(session: Any, params: dict[str, str]) -> str:
    """The authorization code of a callback, once its state matched the one this browser was
    given (used once: the session entry is dropped). Raises OAuthError when the state is missing
    or another one (a forged, replayed or stale callback), when the person cancelled, or when
    there is no code."""
    expected = str(session.pop(SESSION_KEY, "") or "")
    state = _clean(params.get("state", ""))
    if not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        raise OAuthError(
            "That Instagram sign-in did not start from this browser, or it expired. "
            "Click Connect Instagram to try again."
        )
    if params.get("error"):
        if params.get("error_reason") == "user_denied" or params["error"] == "access_denied":
            raise OAuthError(CANCELLED)
        raise OAuthError(
            f"Instagram did not connect your account ({params['error'][:60]}). "
            "Click Connect Instagram to try again."
        )
    code = _clean(params.get("code", ""))
    if not code:
        raise OAuthError(
            "Instagram did not send a sign-in code. Click Connect Instagram to try again."
        )
    return code


# --- signed_request (§3.11) ----------------------------------------------------------------------
@dataclass(frozen=True)
class SignedRequest:
    app_user_id: str  # the app-scoped id, InstagramAccount.app_user_id
    issued_at: int | None


class BadSignedRequest(ValueError):
    """Not a signed_request Meta could have sent with our secret (403, nothing changed)."""


def _b64url_decode(part: str) -> bytes:
    # Meta sends no `=` padding; some deliveries keep it. Either decodes the same.
    stripped = part.strip().rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSignedRequest("not base64url") from exc


def _secrets() -> list[bytes]:
    return [s.encode() for s in (settings.INSTAGRAM_APP_SECRET, settings.META_APP_SECRET) if s]


def signed_request_parse(value: str) -> SignedRequest:
    """Verify and decode Meta's `signed_request` form field. Pure. Raises BadSignedRequest for a
    missing, malformed or wrongly signed value, or a payload whose algorithm is not
    HMAC-SHA256 or that names no user."""
    signature_part, dot, payload_part = (value or "").partition(".")
    if not dot or not signature_part or not payload_part:
        raise BadSignedRequest("not a signed_request")
    signature = _b64url_decode(signature_part)
    # The HMAC covers the encoded payload (§3.11): as sent, or without the padding a relay added.
    candidates = {payload_part.strip().encode(), payload_part.strip().rstrip("=").encode()}
    if not any(
        hmac.compare_digest(signature, hmac.new(key, signed, hashlib.sha256).digest())
        for key in _secrets()
        for signed in candidates
    ):
        raise BadSignedRequest("bad signature")
    try:
        payload = json.loads(_b64url_decode(payload_part), parse_int=str)
    except ValueError as exc:
        raise BadSignedRequest("payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadSignedRequest("payload is not an object")
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise BadSignedRequest("unexpected algorithm")
    user_id = str(payload.get("user_id") or "").strip()
    if not user_id.isdigit():
        raise BadSignedRequest("no user_id")
    issued_at = str(payload.get("issued_at") or "")
    return SignedRequest(
        app_user_id=user_id, issued_at=int(issued_at) if issued_at.isdigit() else None
    )
