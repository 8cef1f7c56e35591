"""Connecting: the authorize page, both token exchanges, refresh, /me, subscribed_apps
(EXTERNAL_APIS.md §3.1-§3.4), and Meta's signed_request for the deauthorize and data-deletion
callbacks (§3.11).

Harsh by default, where Meta is harsh or where the sources disagree (each place names its source):
- the authorize page refuses an unknown client_id, a redirect_uri that is not an exact match of
  the registered ones (§3.1 "exact match ... watch trailing slash"), a response_type other than
  `code`, and scope names other than the five instagram_business_* ones; the old `business_*`
  names, deprecated on 2025-01-27, are refused (§3.1);
- approval redirects with `code=...&state=...#_`: the `#_` is not part of the code (§3.1), so a
  pasted callback URL carries it;
- codes live 1 hour and are single use (§3.1); the exchange needs the same redirect_uri (§3.2);
- the exchange answers the observed FLAT shape, `user_id` a JSON number beyond 2^53 and
  `permissions` an array (§3.2 [O], §9 item 9); `token_response_shape = "wrapped"` gives the
  documented `{"data": [...]}` shape with a string user_id and comma-joined permissions (§3.2 [D]);
- its errors are the api.instagram.com shape `{"error_type", "code", "error_message"}` (§3.2,
  §9 item 14); the graph.instagram.com ones are the Graph shape (§3.10);
- a refresh needs a long-lived token at least 24 hours old and unexpired (§3.3); under 24 hours
  Meta's answer is unclear [U], so the emulator refuses it (code 100) rather than hand the same
  token back;
- /me answers only the fields asked for, and its `user_id` (the professional id webhooks use) is
  not the exchange's app-scoped `user_id`, which /me gives as `id` (§3.4, §9 item 10).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram.core import (
    LONG_LIVED_SECONDS,
    Account,
    InstagramCore,
    Token,
    graph_error,
)

# The five permissions of Instagram API with Instagram Login (§3.1, IG-1).
SCOPES = (
    "instagram_business_basic",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
)
# The names Meta retired on 2025-01-27 (§3.1): refused.
RETIRED_SCOPES = {s.replace("instagram_", "", 1) for s in SCOPES}
SCOPE_DESCRIPTIONS = {
    "instagram_business_basic": "Access your profile and media",
    "instagram_business_manage_messages": "Access and manage your messages",
    "instagram_business_manage_comments": "Access and manage your comments",
    "instagram_business_content_publish": "Publish content",
    "instagram_business_manage_insights": "Access your insights",
}
# Webhook fields an Instagram Login app may subscribe an account to (Meta's webhooks reference).
SUBSCRIBABLE_FIELDS = {
    "comments",
    "live_comments",
    "mentions",
    "message_edit",
    "message_reactions",
    "messages",
    "messaging_handover",
    "messaging_optins",
    "messaging_postbacks",
    "messaging_referral",
    "messaging_seen",
    "standby",
    "story_insights",
}
ME_FIELDS = {
    "id",
    "user_id",
    "username",
    "name",
    "account_type",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
}
CODE_LIFETIME_SECONDS = 3600  # §3.1: the code lives 1 hour
REFRESH_MIN_AGE_SECONDS = 24 * 3600  # §3.3
SAMPLE_EXPIRES_IN = 5_183_944  # the docs' sample (§3.3); the real lifetime is 5,184,000 s


@dataclass
class AuthCode:
    code: str
    redirect_uri: str
    ig_user_id: str
    scopes: tuple[str, ...]
    issued_at: float
    used: bool = False


class AuthorizeError(ValueError):
    """The authorization request is invalid: Instagram shows an error instead of consent."""


def oauth_error(message: str, *, status: int = 400) -> Response:
    """api.instagram.com's error shape (§3.2, §9 item 14), not the Graph one."""
    return Response(
        status, json={"error_type": "OAuthException", "code": status, "error_message": message}
    )


def _b64url(raw: bytes, *, padded: bool) -> str:
    encoded = base64.urlsafe_b64encode(raw).decode()
    return encoded if padded else encoded.rstrip("=")


def signed_request(payload: dict[str, Any], app_secret: str, *, padded: bool = False) -> str:
    """Meta's `signed_request` form field (§3.11, §8): base64url(HMAC-SHA256 over the encoded
    payload) "." base64url(JSON payload). Meta sends both parts without `=` padding; `padded=True`
    keeps it, as some deliveries checked against real ones did (§3 "checked against real
    deliveries"), so ALT must accept both."""
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode(), padded=padded)
    digest = hmac.new(app_secret.encode(), body.encode(), hashlib.sha256).digest()
    return _b64url(digest, padded=padded) + "." + body


class InstagramOAuthRoutes(InstagramCore):
    # Redirect URIs registered in the app's dashboard; None accepts any http(s) URI.
    default_redirect_uris: list[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.codes: dict[str, AuthCode] = {}
        self._configure_oauth()
        super().__init__(*args, **kwargs)

    def _configure_oauth(self) -> None:
        self.redirect_uris: list[str] | None = (
            list(self.default_redirect_uris) if self.default_redirect_uris is not None else None
        )
        # "flat" (observed, §3.2 [O]) or "wrapped" (documented, §3.2 [D]).
        self.token_response_shape = "flat"
        # The account the consent page signs in as when the form names none.
        self.login_username = "sunset_realty"

    def reset_state(self) -> None:
        with self.lock:
            self.codes.clear()
            self._configure_oauth()
        super().reset_state()

    # -- test helpers ---------------------------------------------------------------------------
    @staticmethod
    def _query_of(auth_url: str) -> dict[str, str]:
        query = urlsplit(auth_url).query if "?" in auth_url else auth_url
        return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def auto_approve(self, auth_url: str, *, username: str | None = None) -> str:
        """The URL a person clicking "Allow" is sent to (with its `#_`), without a browser.
        Raises AuthorizeError where Instagram would show an error instead of consent."""
        params = self._query_of(auth_url)
        self._validate(params)
        return self._approve(params, username or self.login_username)

    def auto_deny(self, auth_url: str) -> str:
        """The URL a person clicking "Cancel" is sent to."""
        params = self._query_of(auth_url)
        self._validate(params)
        return self._deny(params)

    def account_named(self, username: str) -> Account:
        """The known account with this username, created on first use."""
        with self.lock:
            for account in self.accounts.values():
                if account.username == username:
                    return account
        return self.add_account(username)

    def remove_app(self, account: Account, *, padded: bool = False) -> str:
        """The person removed the app in Instagram's settings: every token of the account dies,
        and this is the `signed_request` Meta posts to the deauthorize callback (§3.11)."""
        self.revoke_tokens(account.ig_user_id)
        return self.signed_request_for(account, padded=padded)

    def signed_request_for(self, account: Account, *, padded: bool = False) -> str:
        """A signed_request naming `account` by its app-scoped id, as both callbacks get it."""
        now = int(time.time())
        payload = {
            "algorithm": "HMAC-SHA256",
            "issued_at": now,
            "user_id": account.app_user_id,
            "expires": now + 3600,
        }
        return signed_request(payload, self.app_secret, padded=padded)

    def expire_codes(self) -> None:
        with self.lock:
            for code in self.codes.values():
                code.issued_at = time.time() - CODE_LIFETIME_SECONDS - 1

    # -- www.instagram.com: the authorization window (§3.1) --------------------------------------
    def _validate(self, params: dict[str, str]) -> list[str]:
        if params.get("client_id", "") != self.app_id:
            raise AuthorizeError("Invalid platform app")
        redirect_uri = params.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise AuthorizeError("Invalid redirect_uri")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            # §3.1: an exact match with the dashboard's list, trailing slash included.
            raise AuthorizeError("Error validating verification code. Please make sure your "
                                 "redirect_uri is identical to the one you used in the OAuth dialog request")  # fmt: skip
        if params.get("response_type") != "code":
            raise AuthorizeError("Invalid response_type: only 'code' is supported")
        scopes = [s for s in re.split(r"[,\s]+", params.get("scope", "")) if s]
        if not scopes:
            raise AuthorizeError("Invalid Scopes: scope is required")
        retired = [s for s in scopes if s in RETIRED_SCOPES]
        unknown = [s for s in scopes if s not in SCOPES]
        if retired or unknown:
            # §3.1: the business_* names were deprecated on 2025-01-27.
            raise AuthorizeError(f"Invalid Scopes: {', '.join(retired or unknown)}")
        return scopes

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str], fragment: str = "") -> str:
        parts = urlsplit(redirect_uri)
        extra = urlencode(params)
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))

    def _approve(self, params: dict[str, str], username: str) -> str:
        scopes = self._validate(params)
        account = self.account_named(username)
        code = "AQ" + secrets.token_urlsafe(96)
        with self.lock:
            self.codes[code] = AuthCode(
                code=code,
                redirect_uri=params["redirect_uri"],
                ig_user_id=account.ig_user_id,
                scopes=tuple(scopes),
                issued_at=time.time(),
            )
        query = {"code": code}
        if params.get("state"):
            query["state"] = params["state"]
        # §3.1: "{redirect_uri}?code=AQBx...&state=...#_"
        return self._redirect(params["redirect_uri"], query, fragment="_")

    def _deny(self, params: dict[str, str]) -> str:
        # §3.1: the cancel redirect.
        query = {
            "error": "access_denied",
            "error_reason": "user_denied",
            "error_description": "The user denied your request",
        }
        if params.get("state"):
            query["state"] = params["state"]
        return self._redirect(params["redirect_uri"], query)

    @route("GET", r"/oauth/authorize/?")
    def authorize(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        params = {k: v[-1] for k, v in request.query.items()}
        try:
            scopes = self._validate(params)
        except AuthorizeError as exc:
            return self._error_page(str(exc))
        return Response(
            200,
            body=self._consent_page(params, scopes).encode(),
            content_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )

    @route("POST", r"/oauth/authorize/approve")
    def approve(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        action = form.pop("action", "")
        username = form.pop("username", "").strip().lstrip("@") or self.login_username
        try:
            self._validate(form)
        except AuthorizeError as exc:
            return self._error_page(str(exc))
        location = self._approve(form, username) if action == "allow" else self._deny(form)
        return Response(302, headers={"Location": location})

    def _error_page(self, message: str) -> Response:
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            # No favicon request to this server (a 404 would show as a console error).
            '<link rel="icon" href="data:,">'
            "<title>Error - Instagram</title></head><body><main>"
            "<h1>Sorry, this page isn't available</h1>"
            f'<p id="error-message">{html.escape(message)}</p>'
            "</main></body></html>\n"
        )
        return Response(400, body=page.encode(), content_type="text/html; charset=utf-8")

    def _consent_page(self, params: dict[str, str], scopes: list[str]) -> str:
        items = "".join(
            f"<li><code>{html.escape(s)}</code> {html.escape(SCOPE_DESCRIPTIONS[s])}</li>"
            for s in scopes
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("action", "username")
        )
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            # No favicon request to this server (a 404 would show as a console error).
            '<link rel="icon" href="data:,">'
            "<title>Log in with Instagram</title></head><body><main>"
            "<h1>Instagram</h1>"
            f"<p>App <strong>{html.escape(params['client_id'])}</strong> would like to access "
            "your Instagram professional account.</p>"
            '<form method="post" action="/oauth/authorize/approve">'
            '<p><label for="username">Username</label> '
            f'<input id="username" name="username" value="{html.escape(self.login_username)}"></p>'
            f'<p>It will be able to:</p><ul id="scopes">{items}</ul>'
            f"{hidden}"
            '<button id="cancel" type="submit" name="action" value="cancel">Cancel</button> '
            '<button id="allow" type="submit" name="action" value="allow">Allow</button>'
            "</form></main></body></html>\n"
        )

    # -- api.instagram.com: code -> short-lived token (§3.2) -------------------------------------
    @route("POST", r"/oauth/access_token/?")
    def access_token(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        if form.get("client_id") != self.app_id:
            return oauth_error("Invalid platform app")
        if not secrets.compare_digest(form.get("client_secret", ""), self.app_secret):
            return oauth_error("Error validating client secret.")
        if form.get("grant_type") != "authorization_code":
            return oauth_error("Invalid grant_type: only authorization_code is supported")
        with self.lock:
            code = self.codes.get(form.get("code", ""))
            if code is None or code.used or time.time() > code.issued_at + CODE_LIFETIME_SECONDS:
                return oauth_error("Matching code was not found or was already used")  # §3.2
            if form.get("redirect_uri", "") != code.redirect_uri:
                # §3.2 [U]: same shape, a message about the redirect_uri.
                return oauth_error(
                    "Error validating verification code. Please make sure your redirect_uri "
                    "is identical to the one you used in the OAuth dialog request"
                )
            code.used = True
            account = self.accounts[code.ig_user_id]
        token = self.issue_token(account, long_lived=False, scopes=code.scopes)
        if self.token_response_shape == "wrapped":  # the documented shape (§3.2 [D])
            return Response(
                json={
                    "data": [
                        {
                            "access_token": token.value,
                            "user_id": account.app_user_id,
                            "permissions": ",".join(code.scopes),
                        }
                    ]
                }
            )
        # The observed flat shape (§3.2 [O], §9 item 9): a JSON number beyond 2^53.
        return Response(
            json={
                "access_token": token.value,
                "user_id": int(account.app_user_id),
                "permissions": list(code.scopes),
            }
        )

    # -- graph.instagram.com: long-lived token and refresh (§3.3) --------------------------------
    def _live_token(self, value: str) -> Token | Response:
        fake = RecordedRequest("GET", "", {"access_token": [value]}, {}, b"")
        return self.token_of(fake)

    def _long_lived(self, old: Token) -> Response:
        with self.lock:
            account = self.accounts[old.ig_user_id]
        token = self.issue_token(account, long_lived=True, scopes=old.scopes)
        return Response(
            json={
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": SAMPLE_EXPIRES_IN,
            }
        )

    @route("GET", r"/access_token")
    def exchange_token(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("grant_type") != "ig_exchange_token":
            return graph_error(100, "(#100) Unsupported grant_type")
        if not secrets.compare_digest(query.get("client_secret", ""), self.app_secret):
            return graph_error(101, "Error validating client secret.")
        token = self._live_token(query.get("access_token", ""))
        if isinstance(token, Response):
            return token
        if token.long_lived:
            return graph_error(100, "(#100) The access token is already a long-lived token")
        return self._long_lived(token)

    @route("GET", r"/refresh_access_token")
    def refresh_token(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("grant_type") != "ig_refresh_token":
            return graph_error(100, "(#100) Unsupported grant_type")
        token = self._live_token(query.get("access_token", ""))
        if isinstance(token, Response):
            return token  # expired or revoked: 190 (§3.3, §3.10)
        if not token.long_lived:
            return graph_error(100, "(#100) Only long-lived tokens can be refreshed")
        if time.time() - token.issued_at < REFRESH_MIN_AGE_SECONDS:
            # §3.3 [U]: under 24 hours; the harsher reading is an error, not the same token.
            return graph_error(
                100, "(#100) The access token can only be refreshed after it is 24 hours old"
            )
        if token.scopes and "instagram_business_basic" not in token.scopes:
            return graph_error(10, "(#10) instagram_business_basic permission is required")
        response = self._long_lived(token)
        # §3.3 [O]: a refresh answer may also carry the permissions. The old token keeps working
        # until its own expiry [U]: what Meta does is not documented.
        response.json["permissions"] = ",".join(token.scopes)
        response.json["expires_in"] = LONG_LIVED_SECONDS
        return response

    # -- graph.instagram.com: /me and the webhook subscription (§3.4) ----------------------------
    @route("GET", r"/v\d+\.\d+/me")
    def me(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        with self.lock:
            account = self.accounts[token.ig_user_id]
        asked = [f for f in (request.query.get("fields") or [""])[-1].split(",") if f]
        unknown = [f for f in asked if f not in ME_FIELDS]
        if unknown:
            return graph_error(
                100,
                f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (User)",
            )
        values: dict[str, Any] = {
            "user_id": account.ig_user_id,
            "username": account.username,
            "name": account.name,
            "account_type": account.account_type,
            "profile_picture_url": f"https://scontent.cdninstagram.com/{account.username}.jpg",
            "followers_count": 1234,
            "follows_count": 56,
            "media_count": 78,
        }
        # Only what was asked for; the app-scoped `id` always comes back (§3.4).
        answer = {f: values[f] for f in asked if f in values}
        answer["id"] = account.app_user_id
        return Response(json=answer)

    @route("POST", r"/v\d+\.\d+/me/subscribed_apps")
    def subscribed_apps(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        raw = (request.query.get("subscribed_fields") or [""])[-1]
        if not raw and request.body:
            raw = request.form().get("subscribed_fields", "")
        fields = tuple(f for f in raw.split(",") if f)
        if not fields:
            return graph_error(100, "(#100) The parameter subscribed_fields is required.")
        bad = [f for f in fields if f not in SUBSCRIBABLE_FIELDS]
        if bad:
            return graph_error(
                100, f"(#100) Param subscribed_fields must be one of {sorted(SUBSCRIBABLE_FIELDS)}"
            )
        with self.lock:
            self.accounts[token.ig_user_id].subscribed_fields = fields
        return Response(json={"success": True})  # §3.4 [O]
